package io.jhv.http.server;


import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * HTTP/1.1 handing its connection to another protocol after {@code 101 Switching Protocols}
 * attacked: bodies on the upgrade request, HEAD, upgrade after an answer, parallel pipelining. Real sockets.
 */
@Timeout(20)
class UpgradeAttackTest extends UpgradeFixture {
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
