package io.jhv.http.websocket.conformance;

import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * A WebSocket client written by hand over a plain {@link Socket}, to drive a server with exactly
 * the bytes a case asks for: the handshake as text, frames masked (or not) as built by
 * {@link Wire}, written whole, in pieces or byte by byte. Reads what the server answers strictly:
 * every frame from a server must be unmasked, with RSV bits only for permessage-deflate.
 */
final class RawWsClient extends RawEndpoint {
    /** The handshake's response: status and headers (lower-case names). */
    int status;
    final Map<String, String> headers = new LinkedHashMap<>();

    private RawWsClient(Socket s) throws IOException {
        super(s, true);
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

    /** Writes {@code head} as given (an HTTP request head, CRLF lines) and reads the response head. */
    RawWsClient request(String head) throws IOException {
        headers.clear();
        send(head.getBytes(StandardCharsets.ISO_8859_1));
        readHead();
        return this;
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
            if (ext != null) pmd = new Pmd(ext, true);
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

}
