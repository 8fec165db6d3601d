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
 * attacked: bodies on the upgrade request, HEAD, upgrade after an answer, parallel pipelining. Real sockets.
 */
@Timeout(20)
class UpgradeAttackTest {
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
                .any("/lines", (req, res) -> res.header("Upgrade", "lines").upgrade(lines))
                .get("/a", (req, res) -> res.text("A"));
    }

    /** The upgrade request has a Content-Length body: HTTP reads the body, the new protocol gets only what follows it. */
    @Test
    void upgradeRequestWithABody() throws Exception {
        Lines lines = new Lines();
        start(upgrading(lines));
        send("POST /lines HTTP/1.1\r\nHost: t\r\nUpgrade: lines\r\nConnection: Upgrade\r\nContent-Length: 6\r\n\r\nbody!\none\n");
        assertEquals("HTTP/1.1 101 Switching Protocols", response().get(0));
        assertEquals("L:one", line());
    }

    /** The body of the upgrade request arrives in a later segment than its head. */
    @Test
    void upgradeRequestWithABodyInALaterSegment() throws Exception {
        Lines lines = new Lines();
        start(upgrading(lines));
        send("POST /lines HTTP/1.1\r\nHost: t\r\nUpgrade: lines\r\nConnection: Upgrade\r\nContent-Length: 6\r\n\r\nbo");
        Thread.sleep(100); // not for correctness: makes the head and the body separate reads
        send("dy!\none\n");
        assertEquals("HTTP/1.1 101 Switching Protocols", response().get(0));
        assertEquals("L:one", line());
    }

    /** A chunked body on the upgrade request. */
    @Test
    void upgradeRequestWithAChunkedBody() throws Exception {
        Lines lines = new Lines();
        start(upgrading(lines));
        send("POST /lines HTTP/1.1\r\nHost: t\r\nUpgrade: lines\r\nConnection: Upgrade\r\nTransfer-Encoding: chunked\r\n\r\n"
                + "5\r\nhello\r\n0\r\n\r\none\n");
        assertEquals("HTTP/1.1 101 Switching Protocols", response().get(0));
        assertEquals("L:one", line());
    }

    /** HEAD with an Upgrade header: a 101 (no body either way), then the protocol. */
    @Test
    void upgradeOfAHeadRequest() throws Exception {
        Lines lines = new Lines();
        start(upgrading(lines));
        send("HEAD /lines HTTP/1.1\r\nHost: t\r\nUpgrade: lines\r\nConnection: Upgrade\r\n\r\none\n");
        assertEquals("HTTP/1.1 101 Switching Protocols", response().get(0));
        assertEquals("L:one", line());
    }

    /** upgrade() after text(): refused (committed), no switch; what follows stays HTTP or the connection ends, never lines. */
    @Test
    void upgradeAfterAnAnswerIsRefused() throws Exception {
        Lines lines = new Lines();
        CompletableFuture<Throwable> thrown = new CompletableFuture<>();
        start(HttpServer.create("127.0.0.1", 0).threads(1)
                .get("/lines", (req, res) -> {
                    res.text("T");
                    try {
                        res.upgrade(lines);
                        thrown.complete(null);
                    } catch (IllegalStateException e) {
                        thrown.complete(e);
                    }
                })
                .get("/a", (req, res) -> res.text("A")));
        send(UPGRADE + "GET /a HTTP/1.1\r\nHost: t\r\n\r\n");
        List<String> r = response();
        assertEquals("HTTP/1.1 200 OK", r.get(0));
        assertEquals("T", r.get(r.size() - 1));
        assertTrue(thrown.get(5, TimeUnit.SECONDS) instanceof IllegalStateException);
        List<String> a = response();
        assertEquals("HTTP/1.1 200 OK", a.get(0));
        assertEquals("A", a.get(a.size() - 1));
        assertTrue(lines.events.isEmpty());
    }

    /** With pipelinedSafeParallel the upgrade request runs beside a slow GET: answers in order, then the switch. */
    @Test
    void upgradeBesideASlowParallelGet() throws Exception {
        Lines lines = new Lines();
        CompletableFuture<Response> slow = new CompletableFuture<>();
        start(HttpServer.create("127.0.0.1", 0).threads(1).pipelinedSafeParallel(true)
                .get("/slow", (req, res) -> slow.complete(res.defer()))
                .get("/lines", (req, res) -> res.header("Upgrade", "lines").upgrade(lines)));
        send("GET /slow HTTP/1.1\r\nHost: t\r\n\r\n" + UPGRADE + "one\n");
        Response s = slow.get(5, TimeUnit.SECONDS);
        Thread.ofVirtual().start(() -> s.text("S")).join();
        List<String> r = response();
        assertEquals("HTTP/1.1 200 OK", r.get(0));
        assertEquals("S", r.get(r.size() - 1));
        assertEquals("HTTP/1.1 101 Switching Protocols", response().get(0));
        assertEquals("L:one", line());
    }

    /** The upgrade request is not the last one pipelined: everything behind it belongs to the new protocol. */
    @Test
    void requestsPipelinedBehindTheUpgradeAreNotRun() throws Exception {
        Lines lines = new Lines();
        java.util.concurrent.atomic.AtomicInteger ran = new java.util.concurrent.atomic.AtomicInteger();
        start(HttpServer.create("127.0.0.1", 0).threads(1)
                .get("/lines", (req, res) -> res.header("Upgrade", "lines").upgrade(lines))
                .get("/a", (req, res) -> { ran.incrementAndGet(); res.text("A"); }));
        send(UPGRADE + "GET /a HTTP/1.1\r\nHost: t\r\n\r\n");
        assertEquals("HTTP/1.1 101 Switching Protocols", response().get(0));
        assertEquals("L:GET /a HTTP/1.1", line());
        assertEquals(0, ran.get());
    }

    /** The server lists the upgraded connection (it is still open) and closes it on close(). */
    @Test
    void serverCloseEndsAnUpgradedConnection() throws Exception {
        Lines lines = new Lines();
        start(upgrading(lines));
        send(UPGRADE + "one\n");
        assertEquals("HTTP/1.1 101 Switching Protocols", response().get(0));
        assertEquals("L:one", line());
        assertEquals(1, server.connections().size());
        server.close(Duration.ofSeconds(2));
        server.closeFuture().get(5, TimeUnit.SECONDS);
        lines.closed.get(5, TimeUnit.SECONDS);
        assertEquals(-1, in.read());
        server = null;
    }
}
