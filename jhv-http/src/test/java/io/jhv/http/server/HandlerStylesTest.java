package io.jhv.http.server;

import io.jhv.http.Cookie;
import io.jhv.http.JsonCodec;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The three handler styles (on the loop, blocking on virtual threads, answering later from any
 * thread), streaming and Server-Sent Events, and the request/response conveniences.
 */
@Timeout(30)
class HandlerStylesTest {
    static HttpServer server;
    static final ExecutorService pool = Executors.newFixedThreadPool(2);

    public record Item(String name, int count, List<String> tags) {}

    @BeforeAll
    static void start() {
        // Started with the class (and shut down with it), not lazily inside whichever test first
        // uses the pool: LeakCheck would see them as threads that test left behind.
        ((java.util.concurrent.ThreadPoolExecutor) pool).prestartAllCoreThreads();
        server = HttpServer.create("127.0.0.1", 0).threads(1) // one loop: a blocked loop would show
                .get("/loop", (req, res) -> res.text("loop=" + req.loop().inLoop() + " virtual=" + Thread.currentThread().isVirtual()))
                .get("/slow", Handler.blocking((req, res) -> {
                    Thread.sleep(1000);
                    res.text("slept virtual=" + Thread.currentThread().isVirtual());
                }))
                .post("/blocking-echo", Handler.blocking((req, res) -> res.text(req.bodyString())))
                .get("/fast", (req, res) -> res.text("fast"))
                .get("/later", (req, res) -> {
                    String who = req.queryParam("who");
                    res.defer();
                    pool.execute(() -> {
                        sleep(50);
                        res.header("X-Thread", Thread.currentThread().getName()).text("later " + who);
                    });
                })
                .get("/timer", (req, res) -> {
                    res.defer();
                    req.loop().setTimeout(30, () -> res.text("from a timer"));
                })
                .get("/stream", (req, res) -> {
                    Response.ChunkedWriter w = res.contentType("text/plain").stream();
                    pool.execute(() -> {
                        for (int i = 0; i < 5; i++) {
                            w.write("part" + i + ";");
                            sleep(10);
                        }
                        w.close();
                    });
                })
                .get("/sse", (req, res) -> {
                    Response.SseEmitter sse = res.sse();
                    pool.execute(() -> {
                        sse.retry(Duration.ofSeconds(3));
                        sse.send("hello");
                        sse.send("update", "line1\nline2", "7");
                        sse.comment("keep-alive");
                        sse.close();
                    });
                })
                .get("/redirect", (req, res) -> res.redirect("/fast"))
                .get("/moved", (req, res) -> res.redirect("https://example.com/new", 301))
                .get("/cookies", (req, res) -> {
                    res.cookie("plain", "1");
                    res.cookie(Cookie.of("session", "abc123").maxAge(Duration.ofHours(1)).secure(true).path("/app"));
                    res.text(req.cookie("a") + "," + req.cookie("b") + "," + req.cookies().size());
                })
                .get("/query", (req, res) -> res.text(req.queryParam("name") + "|" + req.queryParam("x") + "|"
                        + req.queryParams("m") + "|" + req.queryParam("missing") + "|" + req.queryParam("flag")))
                .post("/form", (req, res) -> {
                    Map<String, String> f = req.form();
                    res.text(f.get("a") + "|" + f.get("b") + "|" + f.get("c"));
                })
                .post("/json", (req, res) -> {
                    Item in = req.json(Item.class);
                    res.json(Map.of("name", in.name().toUpperCase(), "double", in.count() * 2, "tags", in.tags().size()));
                })
                .get("/html", (req, res) -> res.html("<p>hi</p>"))
                .get("/bytes", (req, res) -> res.bytes(new byte[] {0, 1, 2, (byte) 255}))
                .get("/no-content", (req, res) -> res.status(204).text("this body must not be sent"))
                .get("/not-modified", (req, res) -> res.status(304).text("nor this one"))
                .get("/empty", (req, res) -> res.status(202))
                .start();
    }

    @AfterAll
    static void stop() throws InterruptedException {
        server.close(Duration.ofSeconds(2));
        pool.shutdown();
        pool.awaitTermination(5, TimeUnit.SECONDS);
    }

    static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    static RawClient.Resp get(String path, String... headers) throws IOException {
        StringBuilder sb = new StringBuilder("GET " + path + " HTTP/1.1\r\nHost: t\r\n");
        for (String h : headers) sb.append(h).append("\r\n");
        return RawClient.once(server.port(), sb.append("\r\n").toString(), null);
    }

    static RawClient.Resp post(String path, String contentType, byte[] body) throws IOException {
        try (RawClient c = RawClient.connect(server.port())) {
            c.send("POST " + path + " HTTP/1.1\r\nHost: t\r\nContent-Type: " + contentType + "\r\nContent-Length: " + body.length + "\r\n\r\n");
            c.send(body);
            return c.read();
        }
    }

    @Test
    void loopHandlersRunOnTheLoop() throws IOException {
        assertEquals("loop=true virtual=false", get("/loop").text());
    }

    @Test
    void aBlockingHandlerDoesNotDelayOtherConnections() throws Exception {
        CompletableFuture<RawClient.Resp> slow = CompletableFuture.supplyAsync(() -> {
            try {
                return get("/slow");
            } catch (IOException e) {
                throw new RuntimeException(e);
            }
        }, pool);
        Thread.sleep(100); // the slow request is in its handler now
        long t0 = System.nanoTime();
        RawClient.Resp fast = get("/fast");
        long fastMs = (System.nanoTime() - t0) / 1_000_000;
        assertEquals("fast", fast.text());
        assertTrue(fastMs < 300, "a request on another connection took " + fastMs + " ms while a blocking handler slept");
        assertFalse(slow.isDone(), "the slow handler cannot be done yet");
        assertEquals("slept virtual=true", slow.get(5, TimeUnit.SECONDS).text());
    }

    @Test
    void blockingHandlersReadTheBody() throws IOException {
        assertEquals("body for a virtual thread", post("/blocking-echo", "text/plain", "body for a virtual thread".getBytes(StandardCharsets.UTF_8)).text());
    }

    @Test
    void deferredResponsesFromAnotherThread() throws IOException {
        RawClient.Resp r = get("/later?who=pool");
        assertEquals("later pool", r.text());
        assertTrue(r.header("X-Thread").startsWith("pool-"), r.header("X-Thread"));
        assertEquals("from a timer", get("/timer").text());
    }

    @Test
    void aChunkedStreamFedFromAnotherThread() throws IOException {
        RawClient.Resp r = get("/stream");
        assertEquals("chunked", r.header("Transfer-Encoding"));
        assertEquals("part0;part1;part2;part3;part4;", r.text());
    }

    @Test
    void aStreamToHttp10IsDelimitedByClose() throws IOException {
        boolean[] closed = new boolean[1];
        RawClient.Resp r = RawClient.once(server.port(), "GET /stream HTTP/1.0\r\n\r\n", closed);
        assertNull(r.header("Transfer-Encoding"));
        assertEquals("part0;part1;part2;part3;part4;", r.text());
        assertTrue(r.closes());
    }

    @Test
    void serverSentEvents() throws IOException {
        RawClient.Resp r = get("/sse");
        assertEquals("text/event-stream; charset=utf-8", r.header("Content-Type"));
        assertEquals("no-cache", r.header("Cache-Control"));
        assertEquals("retry: 3000\n\ndata: hello\n\nid: 7\nevent: update\ndata: line1\ndata: line2\n\n: keep-alive\n\n", r.text());
    }

    @Test
    void redirects() throws IOException {
        RawClient.Resp r = get("/redirect");
        assertEquals(302, r.status());
        assertEquals("/fast", r.header("Location"));
        RawClient.Resp m = get("/moved");
        assertEquals(301, m.status());
        assertEquals("https://example.com/new", m.header("Location"));
    }

    @Test
    void cookies() throws IOException {
        RawClient.Resp r = get("/cookies", "Cookie: a=1; b=two", "Cookie: c=3");
        assertEquals("1,two,3", r.text());
        List<String> set = r.headerValues("Set-Cookie");
        assertEquals(2, set.size(), set.toString());
        assertTrue(set.get(0).startsWith("plain=1"), set.get(0));
        assertTrue(set.get(1).startsWith("session=abc123"), set.get(1));
        assertTrue(set.get(1).contains("Max-Age=3600") && set.get(1).contains("Secure") && set.get(1).contains("Path=/app"), set.get(1));
    }

    @Test
    void queryParametersAreDecoded() throws IOException {
        assertEquals("J\u00f6rg|a b&c|[1, 2]|null|", get("/query?name=J%C3%B6rg&x=a+b%26c&m=1&m=2&flag").text());
    }

    @Test
    void formBodies() throws IOException {
        RawClient.Resp r = post("/form", "application/x-www-form-urlencoded", "a=1&b=hello+world&c=%26%3D".getBytes(StandardCharsets.US_ASCII));
        assertEquals("1|hello world|&=", r.text());
    }

    @Test
    void jsonBodies() throws IOException {
        RawClient.Resp r = post("/json", "application/json", "{\"name\":\"box\",\"count\":21,\"tags\":[\"a\",\"b\"]}".getBytes(StandardCharsets.UTF_8));
        assertEquals(200, r.status(), r.toString());
        assertEquals("application/json", r.header("Content-Type"));
        Map<?, ?> m = JsonCodec.builtIn().parse(r.text(), Map.class);
        assertEquals("BOX", m.get("name"));
        assertEquals(42, ((Number) m.get("double")).intValue());
        assertEquals(2, ((Number) m.get("tags")).intValue());
    }

    @Test
    void otherBodies() throws IOException {
        RawClient.Resp h = get("/html");
        assertEquals("text/html; charset=utf-8", h.header("Content-Type"));
        assertEquals("<p>hi</p>", h.text());
        RawClient.Resp b = get("/bytes");
        assertEquals("application/octet-stream", b.header("Content-Type"));
        assertEquals(4, b.body().length);
        RawClient.Resp e = get("/empty");
        assertEquals(202, e.status());
        assertEquals("0", e.header("Content-Length"));
    }

    @Test
    void statusesWithoutABodySendNone() throws IOException {
        try (RawClient c = RawClient.connect(server.port())) {
            for (String path : new String[] {"/no-content", "/not-modified"}) {
                RawClient.Resp r = c.exchange("GET " + path + " HTTP/1.1\r\nHost: t\r\n\r\n");
                assertNull(r.header("Content-Length"), r.toString());
                assertNull(r.header("Transfer-Encoding"), r.toString());
                // a body would be read as the next response's status line
                assertEquals("fast", c.exchange("GET /fast HTTP/1.1\r\nHost: t\r\n\r\n").text(), "after " + path);
            }
        }
    }
}
