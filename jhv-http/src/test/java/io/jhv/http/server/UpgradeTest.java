package io.jhv.http.server;


import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.List;
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
class UpgradeTest extends UpgradeFixture {
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
