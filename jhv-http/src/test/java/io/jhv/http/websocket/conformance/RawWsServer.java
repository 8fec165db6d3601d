package io.jhv.http.websocket.conformance;

import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A WebSocket server written by hand over a {@link ServerSocket} on 127.0.0.1, to drive a client
 * with exactly the bytes a case asks for: it reads the upgrade request, answers with a correct or
 * a broken handshake, then writes unmasked frames (or masked ones, to see them refused).
 */
final class RawWsServer implements AutoCloseable {
    final ServerSocket listener;

    RawWsServer() throws IOException {
        listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        listener.setSoTimeout(10000);
    }

    int port() {
        return listener.getLocalPort();
    }

    String url(String path) {
        return "ws://127.0.0.1:" + port() + path;
    }

    /** Accepts the next connection and reads its upgrade request. */
    Peer accept() throws IOException {
        Peer p = new Peer(listener.accept());
        p.readRequest();
        return p;
    }

    @Override
    public void close() throws IOException {
        listener.close();
    }

    /** One accepted connection, the server end. */
    static final class Peer extends RawEndpoint {
        String requestLine;
        /** Request headers, lower-case names, repeated ones joined with ", ". */
        final Map<String, String> headers = new LinkedHashMap<>();

        Peer(Socket s) throws IOException {
            super(s, false);
        }

        void readRequest() throws IOException {
            ByteArrayOutputStream line = new ByteArrayOutputStream();
            while (true) {
                int b = in.read();
                if (b < 0) throw new EOFException("client closed in the request head");
                if (b != '\n') {
                    if (b != '\r') line.write(b);
                    continue;
                }
                String l = line.toString(StandardCharsets.ISO_8859_1);
                line.reset();
                if (requestLine == null) {
                    requestLine = l;
                } else if (l.isEmpty()) {
                    return;
                } else {
                    int colon = l.indexOf(':');
                    headers.merge(l.substring(0, colon).trim().toLowerCase(Locale.ROOT), l.substring(colon + 1).trim(), (a, v) -> a + ", " + v);
                }
            }
        }

        String header(String name) {
            return headers.get(name.toLowerCase(Locale.ROOT));
        }

        /** Checks the client's request is a valid RFC 6455 4.1 opening handshake. */
        void assertValidRequest(String path) {
            assertEquals("GET " + path + " HTTP/1.1", requestLine);
            assertNotNull(header("host"), "Host");
            assertEquals("websocket", header("upgrade").toLowerCase(Locale.ROOT));
            assertTrue(header("connection").toLowerCase(Locale.ROOT).contains("upgrade"), "Connection: " + header("connection"));
            assertEquals("13", header("sec-websocket-version"));
            byte[] key = java.util.Base64.getDecoder().decode(header("sec-websocket-key"));
            assertEquals(16, key.length, "Sec-WebSocket-Key is 16 random bytes");
        }

        /** The correct Sec-WebSocket-Accept for this request. */
        String accept() {
            return Wire.acceptFor(header("sec-websocket-key"));
        }

        /** Answers 101 with the right accept and {@code extra} header lines; an extension line agrees permessage-deflate. */
        Peer switching(String... extra) throws IOException {
            StringBuilder r = new StringBuilder("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    + "Sec-WebSocket-Accept: " + accept() + "\r\n");
            for (String h : extra) {
                r.append(h).append("\r\n");
                if (h.toLowerCase(Locale.ROOT).startsWith("sec-websocket-extensions:")) {
                    pmd = new Pmd(h.substring(h.indexOf(':') + 1).trim(), false);
                }
            }
            r.append("\r\n");
            send(r.toString().getBytes(StandardCharsets.ISO_8859_1));
            return this;
        }

        /** Writes a response head exactly as given (lines joined with CRLF, an empty line added). */
        Peer respondRaw(String... lines) throws IOException {
            send((String.join("\r\n", lines) + "\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
            return this;
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
}
