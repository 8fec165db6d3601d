package io.jhv.http.websocket.conformance;

import io.jhv.http.websocket.conformance.Wire.Frame;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * A WebSocket client written by hand over a plain {@link Socket}, to drive a server with exactly
 * the bytes a case asks for: the handshake as text, frames masked (or not) as built by
 * {@link Wire}, written whole, in pieces or byte by byte. Reads what the server answers strictly:
 * every frame from a server must be unmasked, with RSV bits only for permessage-deflate.
 */
final class RawWsClient implements AutoCloseable {
    final Socket socket;
    final InputStream in;
    final OutputStream out;
    /** The handshake's response: status and headers (lower-case names). */
    int status;
    final Map<String, String> headers = new LinkedHashMap<>();
    /** permessage-deflate as agreed (null: not agreed). */
    Pmd pmd;
    /** The payload (as on the wire, fragments joined) of the last compressed message read. */
    byte[] lastCompressedPayload;

    /** The agreed permessage-deflate parameters and this side's codec. */
    static final class Pmd {
        final String header;
        final boolean serverNoContextTakeover, clientNoContextTakeover;
        final int serverMaxWindowBits, clientMaxWindowBits;
        final Wire.Compressor out;
        final Wire.Decompressor in;

        Pmd(String header) {
            this.header = header;
            Map<String, String> p = Negotiation.params(header);
            serverNoContextTakeover = p.containsKey("server_no_context_takeover");
            clientNoContextTakeover = p.containsKey("client_no_context_takeover");
            serverMaxWindowBits = p.containsKey("server_max_window_bits") ? Integer.parseInt(p.get("server_max_window_bits")) : 15;
            clientMaxWindowBits = p.containsKey("client_max_window_bits") ? Integer.parseInt(p.get("client_max_window_bits")) : 15;
            // Deflater cannot narrow its window: with a client window below 15 bits, reset per message
            // (and the tests keep such messages shorter than the window).
            out = new Wire.Compressor(clientNoContextTakeover || clientMaxWindowBits < 15);
            in = new Wire.Decompressor(serverNoContextTakeover);
        }
    }

    private RawWsClient(Socket s) throws IOException {
        this.socket = s;
        s.setTcpNoDelay(true);
        s.setSoTimeout(5000);
        this.in = new BufferedInputStream(s.getInputStream());
        this.out = s.getOutputStream();
    }

    static RawWsClient tcp(int port) throws IOException {
        Socket s = new Socket();
        s.connect(new InetSocketAddress("127.0.0.1", port), 5000);
        return new RawWsClient(s);
    }

    /** Connects and upgrades with a valid handshake plus {@code extraHeaders} ("Name: value" lines); asserts 101. */
    static RawWsClient open(int port, String path, String... extraHeaders) throws IOException {
        RawWsClient c = tcp(port);
        c.handshake(path, extraHeaders);
        assertEquals(101, c.status, () -> "handshake answered " + c.status + " " + c.headers);
        return c;
    }

    /** Writes a valid upgrade request and reads the response head; sets status, headers and pmd. */
    RawWsClient handshake(String path, String... extraHeaders) throws IOException {
        String key = Wire.newKey();
        StringBuilder req = new StringBuilder("GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                + "Connection: Upgrade\r\nSec-WebSocket-Key: " + key + "\r\nSec-WebSocket-Version: 13\r\n");
        for (String h : extraHeaders) req.append(h).append("\r\n");
        req.append("\r\n");
        send(req.toString().getBytes(StandardCharsets.ISO_8859_1));
        readHead();
        if (status == 101) {
            assertEquals(Wire.acceptFor(key), headers.get("sec-websocket-accept"), "Sec-WebSocket-Accept");
            String ext = headers.get("sec-websocket-extensions");
            if (ext != null) pmd = new Pmd(ext);
        }
        return this;
    }

    /** Reads a response head (status line and headers) byte by byte, so no frame bytes are consumed. */
    void readHead() throws IOException {
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        boolean first = true;
        while (true) {
            int b = in.read();
            if (b < 0) throw new EOFException("connection closed in the response head");
            if (b != '\n') {
                if (b != '\r') line.write(b);
                continue;
            }
            String l = line.toString(StandardCharsets.ISO_8859_1);
            line.reset();
            if (first) {
                String[] parts = l.split(" ", 3);
                status = Integer.parseInt(parts[1]);
                first = false;
            } else if (l.isEmpty()) {
                return;
            } else {
                int colon = l.indexOf(':');
                String name = l.substring(0, colon).trim().toLowerCase(Locale.ROOT);
                String value = l.substring(colon + 1).trim();
                headers.merge(name, value, (a, v) -> a + ", " + v);
            }
        }
    }

    /** Reads and discards the body of a non-101 response (Content-Length framed), returning it. */
    String readBody() throws IOException {
        String cl = headers.get("content-length");
        if (cl == null) return "";
        return new String(in.readNBytes(Integer.parseInt(cl)), StandardCharsets.UTF_8);
    }

    // ------------------------------------------------------------------ writing

    RawWsClient send(byte[] bytes) throws IOException {
        out.write(bytes);
        out.flush();
        return this;
    }

    /** Writes {@code bytes} in TCP writes of {@code chunk} bytes (Nagle off: separate segments in practice). */
    RawWsClient sendInChunks(byte[] bytes, int chunk) throws IOException {
        for (int i = 0; i < bytes.length; i += chunk) {
            out.write(bytes, i, Math.min(chunk, bytes.length - i));
            out.flush();
        }
        return this;
    }

    RawWsClient sendByteByByte(byte[] bytes) throws IOException {
        return sendInChunks(bytes, 1);
    }

    /** A masked frame. */
    RawWsClient frame(boolean fin, int rsv, int opcode, byte[] payload) throws IOException {
        return send(Wire.frame(fin, rsv, opcode, payload, true));
    }

    RawWsClient text(String s) throws IOException {
        return frame(true, 0, Wire.TEXT, Wire.utf8(s));
    }

    RawWsClient close(int code, String reason) throws IOException {
        return frame(true, 0, Wire.CLOSE, Wire.closePayload(code, reason));
    }

    /** A whole message compressed with the agreed permessage-deflate, in one frame with RSV1. */
    byte[] compressedFrame(int opcode, byte[] message) {
        return Wire.frame(true, Wire.RSV1, opcode, pmd.out.compress(message), true);
    }

    // ------------------------------------------------------------------ reading

    /** The next frame; fails on a masked frame or unexpected RSV bits (a server's frames must have neither). */
    Frame readFrame() throws IOException {
        Frame f;
        try {
            f = Wire.readFrame(in);
        } catch (SocketTimeoutException e) {
            throw new AssertionError("no frame from the server within " + socket.getSoTimeout() + " ms", e);
        }
        if (f.masked()) fail("server sent a masked frame (RFC 6455 5.1): " + f);
        int allowed = pmd != null && (f.opcode() == Wire.TEXT || f.opcode() == Wire.BINARY) ? Wire.RSV1 : 0;
        if ((f.rsv() & ~allowed) != 0) fail("server sent reserved bits it may not: " + f);
        return f;
    }

    /** A message (opcode TEXT/BINARY, whole, inflated) or a control frame, as read next. */
    record Event(int opcode, byte[] payload, boolean compressed, int wireBytes) {
        String text() {
            return new String(payload, StandardCharsets.UTF_8);
        }

        int closeCode() {
            return payload.length < 2 ? 1005 : ((payload[0] & 0xff) << 8) | (payload[1] & 0xff);
        }

        @Override
        public String toString() {
            return "Event[op=" + opcode + (opcode == Wire.CLOSE ? " code=" + closeCode() : "") + " " + payload.length + " bytes"
                    + (compressed ? " compressed" : "") + "]";
        }
    }

    /** Reads frames up to a whole message or a control frame; control frames in a message come first. */
    Event next() throws IOException {
        ByteArrayOutputStream msg = null;
        int op = -1;
        boolean compressed = false;
        int wire = 0;
        while (true) {
            Frame f = readFrame();
            if (f.isControl()) {
                assertTrue(f.fin(), "fragmented control frame from the server");
                assertTrue(f.payload().length <= 125, "control frame over 125 bytes from the server");
                return new Event(f.opcode(), f.payload(), false, f.payload().length);
            }
            if (msg == null) {
                if (f.opcode() == Wire.CONT) fail("continuation without a message from the server");
                op = f.opcode();
                compressed = (f.rsv() & Wire.RSV1) != 0;
                msg = new ByteArrayOutputStream();
            } else {
                assertEquals(Wire.CONT, f.opcode(), "new data frame inside a fragmented message");
                assertEquals(0, f.rsv(), "RSV1 on a continuation frame");
            }
            msg.write(f.payload(), 0, f.payload().length);
            wire += f.payload().length;
            if (f.fin()) {
                byte[] p = msg.toByteArray();
                if (compressed) {
                    lastCompressedPayload = p;
                    try {
                        p = pmd.in.decompress(p, Integer.MAX_VALUE - 64);
                    } catch (java.util.zip.DataFormatException e) {
                        throw new AssertionError("server's compressed message does not inflate", e);
                    }
                }
                if (op == Wire.TEXT) assertTrue(Wire.validUtf8(p), "server sent invalid UTF-8 text");
                return new Event(op, p, compressed, wire);
            }
        }
    }

    /** Expects the next event to be the echo of a message: same type, same bytes. */
    Event expectEcho(int opcode, byte[] payload) throws IOException {
        Event e = next();
        assertEquals(opcode, e.opcode(), () -> "expected the echo of a message, got " + e);
        if (!java.util.Arrays.equals(payload, e.payload())) {
            fail("echo differs: sent " + payload.length + " bytes, got " + e.payload().length);
        }
        return e;
    }

    Event expectEcho(String text) throws IOException {
        return expectEcho(Wire.TEXT, Wire.utf8(text));
    }

    void expectPong(byte[] payload) throws IOException {
        Event e = next();
        assertEquals(Wire.PONG, e.opcode(), () -> "expected a pong, got " + e);
        assertTrue(java.util.Arrays.equals(payload, e.payload()), "pong payload differs from the ping's");
    }

    /**
     * Expects the server to fail or close the connection: the next event is a close frame with
     * {@code code}; this side answers it with a close frame of its own (as a client does), then the
     * server must close TCP (RFC 6455 7.1.1: the server closes first) with nothing more sent.
     */
    Event expectClose(int code) throws IOException {
        Event e = next();
        assertEquals(Wire.CLOSE, e.opcode(), () -> "expected a close frame with " + code + ", got " + e);
        assertEquals(code, e.closeCode(), () -> "close code (reason: " + reasonOf(e) + ")");
        if (e.payload().length > 2) {
            byte[] reason = java.util.Arrays.copyOfRange(e.payload(), 2, e.payload().length);
            assertTrue(Wire.validUtf8(reason), "close reason from the server is not UTF-8");
        }
        try {
            send(Wire.frame(true, 0, Wire.CLOSE, Wire.closePayload(e.closeCode() == 1005 ? 1000 : e.closeCode(), ""), true));
        } catch (IOException gone) {
            // the server closed first: fine
        }
        expectTcpClosed();
        return e;
    }

    /** Expects the connection to end (EOF or reset) within the read timeout, with no more bytes. */
    void expectTcpClosed() throws IOException {
        try {
            int b = in.read();
            if (b >= 0) {
                fail("server sent more after its close frame (first byte 0x" + Integer.toHexString(b) + ")");
            }
        } catch (SocketTimeoutException e) {
            fail("server did not close the TCP connection within " + socket.getSoTimeout() + " ms");
        } catch (SocketException reset) {
            // reset: closed too
        }
    }

    /** True when nothing arrives within {@code millis} (the connection stays open and silent). */
    void expectSilence(int millis) throws IOException {
        int old = socket.getSoTimeout();
        socket.setSoTimeout(millis);
        try {
            int b = in.read();
            fail(b < 0 ? "server closed the connection" : "server sent something (0x" + Integer.toHexString(b) + ")");
        } catch (SocketTimeoutException expected) {
            // silent
        } finally {
            socket.setSoTimeout(old);
        }
    }

    private static String reasonOf(Event e) {
        return e.payload().length <= 2 ? "" : new String(e.payload(), 2, e.payload().length - 2, StandardCharsets.UTF_8);
    }

    @Override
    public void close() throws IOException {
        if (pmd != null) {
            pmd.out.end();
            pmd.in.end();
        }
        socket.close();
    }
}
