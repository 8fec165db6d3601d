package io.jhv.http.server;

import io.jhv.core.buffer.Buffer;
import io.jhv.core.net.CloseCause;
import io.jhv.core.net.Connection;
import io.jhv.core.net.ProtocolHandler;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * HTTP/1.1 handing its connection to another protocol after {@code 101 Switching Protocols}
 * (the WebSocket and h2c path), with bytes the client pipelined behind the upgrade request. Real sockets.
 */
@Timeout(20)
class UpgradeTest {
    private static final String UPGRADE = "GET /lines HTTP/1.1\r\nHost: t\r\nUpgrade: lines\r\nConnection: Upgrade\r\n\r\n";

    private HttpServer server;
    private Socket socket;
    private InputStream in;

    /** A toy line protocol: answers each line with "L:" + line. */
    static final class Lines implements ProtocolHandler {
        final List<String> events = new ArrayList<>();
        final CompletableFuture<CloseCause> closed = new CompletableFuture<>();

        @Override
        public void onAttach(Connection conn) { events.add("attach"); }

        @Override
        public void onData(Connection conn, Buffer data) {
            int eol;
            while ((eol = data.indexOf(new byte[] {'\n'}, 0)) >= 0) {
                String line = data.readString(eol, StandardCharsets.ISO_8859_1);
                data.skip(1);
                conn.write("L:" + line + "\n");
            }
        }

        @Override
        public void onClose(Connection conn, CloseCause cause) { closed.complete(cause); }
    }

    private void start(HttpServer s) throws IOException {
        server = s.start();
        socket = new Socket("127.0.0.1", server.port());
        socket.setSoTimeout(5000);
        in = new BufferedInputStream(socket.getInputStream());
    }

    @AfterEach
    void stop() throws IOException {
        if (socket != null) socket.close();
        if (server != null) server.close(Duration.ofSeconds(1));
    }

    private void send(String s) throws IOException {
        OutputStream out = socket.getOutputStream();
        out.write(s.getBytes(StandardCharsets.ISO_8859_1));
        out.flush();
    }

    private String line() throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        int c;
        while ((c = in.read()) != '\n') {
            if (c < 0) return b.size() == 0 ? null : b.toString(StandardCharsets.ISO_8859_1);
            b.write(c);
        }
        String s = b.toString(StandardCharsets.ISO_8859_1);
        return s.endsWith("\r") ? s.substring(0, s.length() - 1) : s;
    }

    /** Reads a status line and headers (and a Content-Length body); returns status line, lower-case headers, body. */
    private List<String> response() throws IOException {
        List<String> r = new ArrayList<>();
        r.add(line());
        int length = 0;
        for (String h; !(h = line()).isEmpty(); ) {
            r.add(h.toLowerCase(Locale.ROOT));
            if (h.toLowerCase(Locale.ROOT).startsWith("content-length:")) length = Integer.parseInt(h.substring(15).trim());
        }
        r.add(new String(in.readNBytes(length), StandardCharsets.ISO_8859_1));
        return r;
    }

    private static HttpServer upgrading(Lines lines) {
        return HttpServer.create("127.0.0.1", 0).threads(1)
                .get("/lines", (req, res) -> {
                    if (!"lines".equals(req.header("Upgrade"))) {
                        res.status(400).text("no");
                        return;
                    }
                    res.header("Upgrade", "lines").upgrade(lines);
                })
                .get("/a", (req, res) -> res.text("A"));
    }

    /** The protocol's first lines come in the same TCP write as the upgrade request: HTTP has read them already. */
    @Test
    void upgradeWithPipelinedBytesAlreadyRead() throws Exception {
        Lines lines = new Lines();
        start(upgrading(lines).keepAliveTimeout(Duration.ofMillis(200)).headerTimeout(Duration.ofMillis(200)));
        send(UPGRADE + "one\ntwo\n");
        List<String> r = response();
        assertEquals("HTTP/1.1 101 Switching Protocols", r.get(0));
        assertTrue(r.contains("upgrade: lines"), r.toString());
        assertTrue(r.contains("connection: upgrade"), r.toString());
        assertEquals("L:one", line());
        assertEquals("L:two", line());
        // No HTTP timer is left: the connection outlives the keep-alive and header timeouts
        // (checked from the server's loop, well after both would have fired).
        CompletableFuture<Boolean> open = new CompletableFuture<>();
        server.group().get(0).setTimeout(700, () -> open.complete(!lines.closed.isDone()));
        assertTrue(open.get(5, TimeUnit.SECONDS), "closed by an HTTP timer after the upgrade: " + lines.closed.getNow(null));
        send("GET / HTTP/1.1\r\n\r\n"); // not HTTP any more: lines
        assertEquals("L:GET / HTTP/1.1", line());
        assertEquals("L:", line());
        assertEquals(List.of("attach"), lines.events);
    }

    /** The upgrade request behind another pipelined request: the answers stay in order, then the protocol changes. */
    @Test
    void upgradeBehindAPipelinedRequest() throws Exception {
        Lines lines = new Lines();
        start(upgrading(lines));
        send("GET /a HTTP/1.1\r\nHost: t\r\n\r\n" + UPGRADE + "x\n");
        List<String> a = response();
        assertEquals("HTTP/1.1 200 OK", a.get(0));
        assertEquals("A", a.get(a.size() - 1));
        assertEquals("HTTP/1.1 101 Switching Protocols", response().get(0));
        assertEquals("L:x", line());
    }

    /** A deferred 101 from another thread: bytes arriving meanwhile are kept for the new protocol, not parsed as HTTP. */
    @Test
    void deferredUpgradeKeepsBytesForTheNextProtocol() throws Exception {
        Lines lines = new Lines();
        CompletableFuture<Response> pendingAnswer = new CompletableFuture<>();
        start(HttpServer.create("127.0.0.1", 0).threads(1)
                .get("/lines", (req, res) -> pendingAnswer.complete(res.defer())));
        send(UPGRADE + "GET /not-http HTTP/1.1\r\nHost: t\r\n\r\n");
        Response res = pendingAnswer.get(5, TimeUnit.SECONDS);
        send("later\n");
        Thread.ofVirtual().start(() -> res.header("Upgrade", "lines").upgrade(lines)).join();
        assertEquals("HTTP/1.1 101 Switching Protocols", response().get(0));
        assertEquals("L:GET /not-http HTTP/1.1", line());
        assertEquals("L:Host: t", line());
        assertEquals("L:", line());
        assertEquals("L:later", line());
    }

    /** Refused (answered normally): HTTP goes on with the request pipelined behind the upgrade request. */
    @Test
    void refusedUpgradeGoesOnAsHttp() throws Exception {
        start(HttpServer.create("127.0.0.1", 0).threads(1)
                .get("/lines", (req, res) -> res.status(426).text("no"))
                .get("/a", (req, res) -> res.text("A")));
        send(UPGRADE + "GET /a HTTP/1.1\r\nHost: t\r\n\r\n");
        assertEquals("HTTP/1.1 426 Upgrade Required", response().get(0));
        List<String> a = response();
        assertEquals("HTTP/1.1 200 OK", a.get(0));
        assertEquals("A", a.get(a.size() - 1));
    }

    /** upgrade() without an Upgrade header in the request is misuse: the handler fails (500), no switch. */
    @Test
    void upgradeWithoutAnUpgradeHeaderIsRefused() throws Exception {
        Lines lines = new Lines();
        CompletableFuture<Throwable> thrown = new CompletableFuture<>();
        start(HttpServer.create("127.0.0.1", 0).threads(1)
                .get("/x", (req, res) -> {
                    try {
                        res.upgrade(lines);
                    } catch (IllegalStateException e) {
                        thrown.complete(e);
                        throw e;
                    }
                }));
        send("GET /x HTTP/1.1\r\nHost: t\r\n\r\n");
        assertEquals("HTTP/1.1 500 Internal Server Error", response().get(0));
        assertTrue(thrown.get(5, TimeUnit.SECONDS).getMessage().contains("Upgrade header"));
        assertFalse(lines.closed.isDone());
        assertTrue(lines.events.isEmpty());
    }
}
