package io.jhv.http.client;

import io.jhv.core.loop.EventLoop;
import io.jhv.http.server.HttpServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The client against jhv's own server: requests, responses, keep-alive reuse, threading. */
@Timeout(20)
class HttpClientBasicsTest {
    static HttpServer server;
    static HttpClient client;
    static final Set<Long> connectionIds = ConcurrentHashMap.newKeySet();

    @BeforeAll
    static void start() {
        server = HttpServer.create("127.0.0.1", 0).threads(1)
                .get("/hello", (req, res) -> {
                    connectionIds.add(req.connection().id());
                    res.header("X-Multi", "a").header("X-Multi", "b").text("hello " + req.header("User-Agent"));
                })
                .post("/echo", (req, res) -> res.contentType(req.header("Content-Type")).bytes(req.body()))
                .put("/echo", (req, res) -> res.text(req.method() + " " + req.bodyString()))
                .get("/nocontent", (req, res) -> res.sendStatus(204))
                .get("/head", (req, res) -> res.text("some body"))
                .post("/json", (req, res) -> res.json(Map.of("got", req.bodyString())))
                .get("/stream", (req, res) -> {
                    var w = res.stream();
                    for (int i = 0; i < 5; i++) w.write(("part" + i + ";").getBytes());
                    w.close();
                })
                .start();
        client = HttpClient.builder().build();
    }

    @AfterAll
    static void stop() {
        client.close();
        server.close();
    }

    String url(String path) {
        return "http://127.0.0.1:" + server.port() + path;
    }

    @Test
    void aGetReturnsStatusHeadersAndBody() throws IOException {
        HttpResponse r = client.get(url("/hello"));
        assertEquals(200, r.status());
        assertEquals("HTTP/1.1", r.version());
        assertEquals("hello jhv", r.bodyString());
        assertEquals(List.of("a", "b"), r.headers("x-multi"));
        assertEquals("a", r.header("X-MULTI"));
        assertEquals(url("/hello"), r.url().toString());
        assertNull(r.previous());
    }

    @Test
    void sequentialRequestsReuseOneKeepAliveConnection() throws IOException {
        HttpClient c = HttpClient.create();
        try {
            connectionIds.clear();
            for (int i = 0; i < 20; i++) assertEquals(200, c.get(url("/hello")).status());
            assertEquals(1, connectionIds.size(), "one connection for 20 sequential requests");
            PoolStats st = c.stats();
            assertEquals(1, st.open());
            assertEquals(1, st.idle());
            assertEquals(0, st.acquired());
        } finally {
            c.close();
        }
    }

    @Test
    void aPostSendsItsBodyWithContentLength() throws IOException {
        byte[] body = new byte[100_000];
        for (int i = 0; i < body.length; i++) body[i] = (byte) i;
        HttpResponse r = client.send(HttpRequest.post(url("/echo")).header("Content-Type", "application/x-test").body(body).build());
        assertEquals(200, r.status());
        assertArrayEquals(body, r.body());
        assertEquals("application/x-test", r.header("Content-Type"));
        assertEquals("PUT abc", client.put(url("/echo"), "abc").bodyString());
    }

    @Test
    void jsonBodiesGoThroughTheCodec() throws IOException {
        HttpResponse r = client.send(HttpRequest.post(url("/json")).json(List.of(1, 2)).build());
        assertEquals("[1,2]", r.json(Map.class).get("got"));
    }

    @Test
    void headAndNoContentResponsesHaveNoBody() throws IOException {
        HttpResponse h = client.head(url("/head"));
        assertEquals(200, h.status());
        assertEquals(0, h.body().length);
        assertEquals("9", h.header("Content-Length"));
        HttpResponse n = client.get(url("/nocontent"));
        assertEquals(204, n.status());
        assertEquals(0, n.body().length);
        // the connection is still good afterwards
        assertEquals("hello jhv", client.get(url("/hello")).bodyString());
    }

    @Test
    void aChunkedResponseIsReassembled() throws IOException {
        assertEquals("part0;part1;part2;part3;part4;", client.get(url("/stream")).bodyString());
    }

    @Test
    void asyncFuturesCompleteOnTheConnectionsLoop() throws Exception {
        CompletableFuture<String> thread = client.getAsync(url("/hello")).thenApply(r -> Thread.currentThread().getName());
        String name = thread.get(5, TimeUnit.SECONDS);
        assertTrue(name.startsWith("jhv-http-client-"), "completed on " + name);
    }

    @Test
    void theBlockingSendRefusesToRunOnALoopThread() throws Exception {
        CompletableFuture<Throwable> f = client.getAsync(url("/hello")).handle((r, e) -> {
            try {
                client.get(url("/hello"));
                return null;
            } catch (Throwable t) {
                return t;
            }
        });
        Throwable t = f.get(5, TimeUnit.SECONDS);
        assertTrue(t instanceof IllegalStateException, "got " + t);
        assertTrue(t.getMessage().contains("event loop"), t.getMessage());
    }

    @Test
    void aRequestFromALoopCallbackIsSentFromThere() throws Exception {
        HttpResponse r = client.getAsync(url("/hello"))
                .thenCompose(first -> client.getAsync(url("/hello")))
                .get(5, TimeUnit.SECONDS);
        assertEquals(200, r.status());
        assertTrue(EventLoop.current() == null);
    }

    @Test
    void manyConcurrentCallsShareTheBoundedPool() throws Exception {
        HttpClient c = HttpClient.builder().maxConnectionsPerHost(4).build();
        try {
            CompletableFuture<?>[] fs = new CompletableFuture<?>[200];
            for (int i = 0; i < fs.length; i++) fs[i] = c.getAsync(url("/hello"));
            CompletableFuture.allOf(fs).get(10, TimeUnit.SECONDS);
            for (CompletableFuture<?> f : fs) assertEquals(200, ((HttpResponse) f.get()).status());
            PoolStats st = c.stats();
            assertTrue(st.open() <= 4, "open " + st);
            assertEquals(0, st.acquired());
            assertEquals(0, st.pending());
        } finally {
            c.close();
        }
    }

    @Test
    void aBadUrlIsRefusedWithAClearMessage() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> HttpRequest.get("ftp://x/y"));
        assertTrue(e.getMessage().contains("http"), e.getMessage());
    }
}
