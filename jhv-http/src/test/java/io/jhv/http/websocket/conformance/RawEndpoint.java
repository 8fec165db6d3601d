package io.jhv.http.websocket.conformance;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.Map;

import io.jhv.http.websocket.conformance.Wire.Frame;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * One raw end of a WebSocket connection, for the conformance tests: writes bytes as asked and reads
 * the other side's frames strictly. A client end ({@link RawWsClient}) masks what it sends and
 * requires unmasked frames; a server end ({@link RawWsServer.Peer}) the opposite (RFC 6455 5.1).
 */
abstract class RawEndpoint implements AutoCloseable {
    final Socket socket;
    final InputStream in;
    final OutputStream out;
    /** True for a client end: sends masked, expects unmasked. */
    final boolean client;
    /** permessage-deflate as agreed (null: not agreed). */
    Pmd pmd;
    /** The payload (as on the wire, fragments joined) of the last compressed message read. */
    byte[] lastCompressedPayload;
    /** The mask keys of the frames read (server end): to see that they vary. */
    final java.util.List<byte[]> maskKeys = new java.util.ArrayList<>();

    /** The agreed permessage-deflate parameters and this end's codec. */
    static final class Pmd {
        final String header;
        final boolean serverNoContextTakeover, clientNoContextTakeover;
        final int serverMaxWindowBits, clientMaxWindowBits;
        final Wire.Compressor out;
        final Wire.Decompressor in;

        Pmd(String header, boolean client) {
            this.header = header;
            Map<String, String> p = Negotiation.params(header);
            serverNoContextTakeover = p.containsKey("server_no_context_takeover");
            clientNoContextTakeover = p.containsKey("client_no_context_takeover");
            serverMaxWindowBits = p.containsKey("server_max_window_bits") && !p.get("server_max_window_bits").isEmpty()
                    ? Integer.parseInt(p.get("server_max_window_bits")) : 15;
            clientMaxWindowBits = p.containsKey("client_max_window_bits") && !p.get("client_max_window_bits").isEmpty()
                    ? Integer.parseInt(p.get("client_max_window_bits")) : 15;
            // Deflater cannot narrow its window: below 15 bits, reset per message (and the tests
            // keep such messages shorter than the window).
            boolean myNoCtx = client ? clientNoContextTakeover || clientMaxWindowBits < 15 : serverNoContextTakeover || serverMaxWindowBits < 15;
            boolean peerNoCtx = client ? serverNoContextTakeover : clientNoContextTakeover;
            out = new Wire.Compressor(myNoCtx);
            in = new Wire.Decompressor(peerNoCtx);
        }
    }

    RawEndpoint(Socket s, boolean client) throws IOException {
        this.socket = s;
        this.client = client;
        s.setTcpNoDelay(true);
        s.setSoTimeout(5000);
        this.in = new BufferedInputStream(s.getInputStream());
        this.out = s.getOutputStream();
    }

    /** A frame as this end sends them: masked from a client, unmasked from a server. */
    byte[] f(boolean fin, int rsv, int opcode, byte[] payload) {
        return Wire.frame(fin, rsv, opcode, payload, client);
    }

    // ------------------------------------------------------------------ writing

    RawEndpoint send(byte[] bytes) throws IOException {
        out.write(bytes);
        out.flush();
        return this;
    }

    /** Writes {@code bytes} in TCP writes of {@code chunk} bytes (Nagle off: separate segments in practice). */
    RawEndpoint sendInChunks(byte[] bytes, int chunk) throws IOException {
        for (int i = 0; i < bytes.length; i += chunk) {
            try {
                out.write(bytes, i, Math.min(chunk, bytes.length - i));
                out.flush();
            } catch (java.net.SocketException peerGone) {
                // A peer that fails fast (at a bad byte) closes before the rest arrives: the rest
                // is moot, and what it answered is still there to read.
                if (i == 0) throw peerGone;
                break;
            }
        }
        return this;
    }

    RawEndpoint sendByteByByte(byte[] bytes) throws IOException {
        return sendInChunks(bytes, 1);
    }

    RawEndpoint frame(boolean fin, int rsv, int opcode, byte[] payload) throws IOException {
        return send(f(fin, rsv, opcode, payload));
    }

    RawEndpoint text(String s) throws IOException {
        return frame(true, 0, Wire.TEXT, Wire.utf8(s));
    }

    RawEndpoint close(int code, String reason) throws IOException {
        return frame(true, 0, Wire.CLOSE, Wire.closePayload(code, reason));
    }

    /** A whole message compressed with the agreed permessage-deflate, in one frame with RSV1. */
    byte[] compressedFrame(int opcode, byte[] message) {
        return f(true, Wire.RSV1, opcode, pmd.out.compress(message));
    }

    // ------------------------------------------------------------------ reading

    /** The next frame; fails on wrong masking or unexpected RSV bits. */
    Frame readFrame() throws IOException {
        Frame f;
        try {
            f = Wire.readFrame(in);
        } catch (SocketTimeoutException e) {
            throw new AssertionError("no frame from the " + peer() + " within " + socket.getSoTimeout() + " ms", e);
        }
        if (client && f.masked()) fail("server sent a masked frame (RFC 6455 5.1): " + f);
        if (!client && !f.masked()) fail("client sent an unmasked frame (RFC 6455 5.1): " + f);
        if (f.masked()) maskKeys.add(f.maskKey());
        int allowed = pmd != null && (f.opcode() == Wire.TEXT || f.opcode() == Wire.BINARY) ? Wire.RSV1 : 0;
        if ((f.rsv() & ~allowed) != 0) fail(peer() + " sent reserved bits it may not: " + f);
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
                assertTrue(f.fin(), "fragmented control frame from the " + peer());
                assertTrue(f.payload().length <= 125, "control frame over 125 bytes from the " + peer());
                return new Event(f.opcode(), f.payload(), false, f.payload().length);
            }
            if (msg == null) {
                if (f.opcode() == Wire.CONT) fail("continuation without a message from the " + peer());
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
                        throw new AssertionError(peer() + "'s compressed message does not inflate", e);
                    }
                }
                if (op == Wire.TEXT) assertTrue(Wire.validUtf8(p), peer() + " sent invalid UTF-8 text");
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
     * Expects the peer to fail or close the connection: the next event is a close frame with
     * {@code code}. A client end answers it with a close frame of its own, then the server must
     * close TCP (RFC 6455 7.1.1: the server closes first) with nothing more sent. A server end
     * answers it and closes TCP itself.
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
            send(f(true, 0, Wire.CLOSE, Wire.closePayload(e.closeCode() == 1005 ? 1000 : e.closeCode(), "")));
        } catch (IOException gone) {
            // the server closed first: fine
        }
        if (client) {
            expectTcpClosed();
        } else {
            try {
                socket.shutdownOutput();
            } catch (IOException gone) {
                // the client closed first
            }
            expectTcpClosed();
        }
        return e;
    }

    /** Expects the connection to end (EOF or reset) within the read timeout, with no more bytes. */
    void expectTcpClosed() throws IOException {
        try {
            int b = in.read();
            if (b >= 0) {
                fail(peer() + " sent more after its close frame (first byte 0x" + Integer.toHexString(b) + ")");
            }
        } catch (SocketTimeoutException e) {
            fail(peer() + " did not close the TCP connection within " + socket.getSoTimeout() + " ms");
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
            fail(b < 0 ? peer() + " closed the connection" : peer() + " sent something (0x" + Integer.toHexString(b) + ")");
        } catch (SocketTimeoutException expected) {
            // silent
        } finally {
            socket.setSoTimeout(old);
        }
    }

    String peer() {
        return client ? "server" : "client";
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
