package io.jhv.http.server;

import io.jhv.http.Cookie;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every rule of RFC 9112 the server promises, over a real socket: raw bytes in, the status line and
 * whether the server closed the connection out.
 */
@Timeout(60)
class Http1ProtocolTest {
    static final String H = "Host: test\r\n";
    static HttpServer server;
    static final AtomicReference<Throwable> headerError = new AtomicReference<>();
    static final java.util.concurrent.atomic.AtomicInteger counted = new java.util.concurrent.atomic.AtomicInteger();

    @BeforeAll
    static void start() {
        server = HttpServer.create("127.0.0.1", 0)
                .threads(1)
                .maxRequestLine(1024)
                .maxHeaderSize(4096)
                .maxHeaderCount(20)
                .maxBodySize(1000)
                .get("/hello", (req, res) -> res.text("hello"))
                .get("/len", (req, res) -> res.text("0123456789"))
                .post("/echo", (req, res) -> res.contentType("application/x-echo").bytes(req.body()))
                .post("/ignore", (req, res) -> res.text("ignored"))
                .get("/sync", (req, res) -> res.text(req.queryParam("id")))
                .get("/deferred", (req, res) -> {
                    String id = req.queryParam("id");
                    res.defer();
                    req.loop().setTimeout(Long.parseLong(req.queryParam("ms")), () -> res.text(id));
                })
                .get("/blocking", Handler.blocking((req, res) -> {
                    Thread.sleep(Long.parseLong(req.queryParam("ms")));
                    res.text(req.queryParam("id"));
                }))
                .get("/stream", (req, res) -> {
                    Response.ChunkedWriter w = res.stream();
                    w.write("ab").write("cd");
                    w.close();
                })
.post("/deferred-echo", (req, res) -> {
                    res.defer();
                    req.loop().setTimeout(20, () -> res.bytes(req.body()));
                })
                .get("/stream-from-thread", (req, res) -> {
                    Response.ChunkedWriter w = res.stream();
                    Thread.ofVirtual().start(() -> {
                        for (int i = 0; i < 3; i++) {
                            try {
                                Thread.sleep(15);
                            } catch (InterruptedException e) {
                                return;
                            }
                            w.write("s" + i);
                        }
                        w.close();
                    });
                })
                .get("/close-me", (req, res) -> res.closeConnection().text("bye"))
                .get("/count", (req, res) -> res.text(Integer.toString(counted.incrementAndGet())))
                .get("/badheader", (req, res) -> {
                    try {
                        res.header("X-Evil", "a\r\nSet-Cookie: x=y");
                    } catch (IllegalArgumentException e) {
                        headerError.set(e);
                        throw e;
                    }
                    res.text("should not get here");
                })
                .start();
    }

    @AfterAll
    static void stop() {
        server.close(Duration.ofSeconds(2));
    }

    static int port() {
        return server.port();
    }

    static String get(String path) {
        return "GET " + path + " HTTP/1.1\r\n" + H + "\r\n";
    }

    // ---------------------------------------------------------------- persistence

    @Test
    void keepAliveIsTheDefaultInHttp11() throws IOException {
        try (RawClient c = RawClient.connect(port())) {
            for (int i = 0; i < 3; i++) {
                RawClient.Resp r = c.exchange(get("/hello"));
                assertEquals(200, r.status());
                assertEquals("hello", r.text());
                assertNull(r.header("Connection"), "no Connection header needed in 1.1: " + r);
            }
            assertFalse(c.closedByServer(200));
        }
    }

    @Test
    void http10ClosesUnlessKeepAlive() throws IOException {
        boolean[] closed = new boolean[1];
        RawClient.Resp r = RawClient.once(port(), "GET /hello HTTP/1.0\r\n\r\n", closed);
        assertEquals(200, r.status());
        assertEquals("hello", r.text());
        assertTrue(r.closes(), r.toString());
        assertTrue(closed[0], "HTTP/1.0 without keep-alive must close");
    }

    @Test
    void http10WithKeepAliveStaysOpen() throws IOException {
        try (RawClient c = RawClient.connect(port())) {
            for (int i = 0; i < 2; i++) {
                RawClient.Resp r = c.exchange("GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
                assertEquals(200, r.status());
                assertEquals("keep-alive", r.header("Connection"));
                assertEquals("5", r.header("Content-Length"));
            }
            RawClient.Resp last = c.exchange("GET /hello HTTP/1.0\r\n\r\n");
            assertTrue(last.closes());
            assertTrue(c.closedByServer(2000));
        }
    }

    @Test
    void connectionCloseIsHonoured() throws IOException {
        try (RawClient c = RawClient.connect(port())) {
            assertEquals(200, c.exchange(get("/hello")).status());
            RawClient.Resp r = c.exchange("GET /hello HTTP/1.1\r\n" + H + "Connection: close\r\n\r\n");
            assertEquals(200, r.status());
            assertTrue(r.closes(), r.toString());
            assertTrue(c.closedByServer(2000));
        }
    }

    @Test
    void connectionCloseInATokenList() throws IOException {
        boolean[] closed = new boolean[1];
        RawClient.Resp r = RawClient.once(port(), "GET /hello HTTP/1.1\r\n" + H + "Connection: foo, Close\r\n\r\n", closed);
        assertTrue(r.closes());
        assertTrue(closed[0]);
    }

    @Test
    void keepAliveTimeoutClosesAnIdleConnection() throws IOException {
        try (HttpServer s = HttpServer.create("127.0.0.1", 0).threads(1)
                .keepAliveTimeout(Duration.ofMillis(300))
                .get("/hello", (req, res) -> res.text("hello")).start();
             RawClient c = RawClient.connect(s.port())) {
            assertEquals(200, c.exchange(get("/hello")).status());
            long t0 = System.nanoTime();
            assertTrue(c.closedByServer(3000), "idle connection not closed");
            long ms = (System.nanoTime() - t0) / 1_000_000;
            assertTrue(ms >= 200 && ms < 2500, "closed after " + ms + " ms");
        }
    }

    @Test
    void maxRequestsPerConnection() throws IOException {
        try (HttpServer s = HttpServer.create("127.0.0.1", 0).threads(1)
                .maxRequestsPerConnection(3)
                .get("/hello", (req, res) -> res.text("hello")).start();
             RawClient c = RawClient.connect(s.port())) {
            assertFalse(c.exchange(get("/hello")).closes());
            assertFalse(c.exchange(get("/hello")).closes());
            RawClient.Resp third = c.exchange(get("/hello"));
            assertEquals(200, third.status());
            assertTrue(third.closes(), third.toString());
            assertTrue(c.closedByServer(2000));
        }
    }

    // ---------------------------------------------------------------- pipelining

    @Test
    void pipelinedRequestsAreAnsweredInOrder() throws IOException {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 50; i++) sb.append(get("/sync?id=" + i));
        try (RawClient c = RawClient.connect(port())) {
            c.send(sb.toString());
            for (int i = 0; i < 50; i++) assertEquals(Integer.toString(i), c.read().text());
            assertEquals("hello", c.exchange(get("/hello")).text());
        }
    }

    @Test
    void pipelinedAsyncResponsesOutOfOrderAreSentInOrder() throws IOException {
        // Deferred answers with decreasing delays finish last-first; blocking ones on virtual
        // threads and synchronous ones are mixed in; the wire order must still be the request order.
        StringBuilder sb = new StringBuilder();
        int n = 24;
        List<String> expected = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            String id = "r" + i;
            expected.add(id);
            int delay = (n - i) * 8;
            switch (i % 3) {
                case 0 -> sb.append(get("/deferred?id=" + id + "&ms=" + delay));
                case 1 -> sb.append(get("/blocking?id=" + id + "&ms=" + delay / 2));
                default -> sb.append(get("/sync?id=" + id));
            }
        }
        sb.append("POST /echo HTTP/1.1\r\n" + H + "Content-Length: 4\r\n\r\nlast");
        expected.add("last");
        try (RawClient c = RawClient.connect(port())) {
            c.send(sb.toString());
            List<String> got = new ArrayList<>();
            for (int i = 0; i <= n; i++) got.add(c.read().text());
            assertEquals(expected, got);
        }
    }

    @Test
    void pipelinedRequestsSplitAcrossWritesAreAnsweredInOrder() throws IOException, InterruptedException {
        String all = get("/deferred?id=a&ms=60") + get("/sync?id=b") + "POST /echo HTTP/1.1\r\n" + H + "Content-Length: 3\r\n\r\nxyz" + get("/sync?id=d");
        try (RawClient c = RawClient.connect(port())) {
            byte[] b = all.getBytes(StandardCharsets.ISO_8859_1);
            for (int i = 0; i < b.length; i += 7) {
                c.send(java.util.Arrays.copyOfRange(b, i, Math.min(b.length, i + 7)));
                if (i % 35 == 0) Thread.sleep(2); // let some segments arrive on their own
            }
            assertEquals("a", c.read().text());
            assertEquals("b", c.read().text());
            assertEquals("xyz", c.read().text());
            assertEquals("d", c.read().text());
        }
    }

    @Test
    void pipelinedBodiesForDeferredHandlersAreKept() throws IOException {
        // each body is in the read buffer only while its request is parsed; a deferred handler
        // reads it 20 ms later, after the buffer was reused for the requests behind it
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 5; i++) {
            String body = ("body-" + i + "-").repeat(i + 1);
            sb.append("POST /deferred-echo HTTP/1.1\r\n" + H + "Content-Length: " + body.length() + "\r\n\r\n").append(body);
        }
        try (RawClient c = RawClient.connect(port())) {
            c.send(sb + get("/sync?id=end"));
            for (int i = 0; i < 5; i++) assertEquals(("body-" + i + "-").repeat(i + 1), c.read().text());
            assertEquals("end", c.read().text());
        }
    }

    @Test
    void aStreamFromAnotherThreadKeepsItsPlaceInThePipeline() throws IOException {
        try (RawClient c = RawClient.connect(port())) {
            c.send(get("/sync?id=before") + get("/stream-from-thread") + get("/sync?id=after"));
            assertEquals("before", c.read().text());
            assertEquals("s0s1s2", c.read().text());
            assertEquals("after", c.read().text());
        }
    }

    @Test
    void aSmallPipelineLimitStillAnswersEverythingInOrder() throws IOException {
        try (HttpServer s = HttpServer.create("127.0.0.1", 0).threads(1).maxPipelined(2)
                .get("/deferred", (req, res) -> {
                    String id = req.queryParam("id");
                    res.defer();
                    req.loop().setTimeout(Long.parseLong(req.queryParam("ms")), () -> res.text(id));
                }).start();
             RawClient c = RawClient.connect(s.port())) {
            StringBuilder sb = new StringBuilder();
            for (int i = 0; i < 10; i++) sb.append(get("/deferred?id=" + i + "&ms=" + (10 - i) * 3));
            c.send(sb.toString());
            for (int i = 0; i < 10; i++) assertEquals(Integer.toString(i), c.read().text());
        }
    }

    // ---------------------------------------------------------------- bodies

    @Test
    void contentLengthBody() throws IOException {
        try (RawClient c = RawClient.connect(port())) {
            RawClient.Resp r = c.exchange("POST /echo HTTP/1.1\r\n" + H + "Content-Length: 11\r\n\r\nhello world");
            assertEquals(200, r.status());
            assertEquals("hello world", r.text());
            assertEquals("application/x-echo", r.header("Content-Type"));
            assertEquals("hello", c.exchange(get("/hello")).text());
        }
    }

    @Test
    void contentLengthBodyArrivingLater() throws IOException, InterruptedException {
        try (RawClient c = RawClient.connect(port())) {
            c.send("POST /echo HTTP/1.1\r\n" + H + "Content-Length: 11\r\n\r\nhel");
            Thread.sleep(50);
            c.send("lo wor");
            Thread.sleep(50);
            c.send("ld" + get("/hello"));
            assertEquals("hello world", c.read().text());
            assertEquals("hello", c.read().text());
        }
    }

    @Test
    void chunkedBodyWithExtensionsAndTrailers() throws IOException {
        try (RawClient c = RawClient.connect(port())) {
            RawClient.Resp r = c.exchange("POST /echo HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked\r\n\r\n"
                    + "5;name=value\r\nhello\r\n"
                    + "6 ; quoted=\"a;b\"\r\n world\r\n"
                    + "A\r\n, chunked!\r\n"
                    + "0;last\r\nX-Trailer: one\r\nX-Other: two\r\n\r\n");
            assertEquals(200, r.status(), r.toString());
            assertEquals("hello world, chunked!", r.text());
            assertEquals("hello", c.exchange(get("/hello")).text(), "the request after a chunked body parses");
        }
    }

    @Test
    void expectContinueIsAnsweredBeforeTheBodyIsRead() throws IOException {
        try (RawClient c = RawClient.connect(port())) {
            c.send("POST /echo HTTP/1.1\r\n" + H + "Content-Length: 5\r\nExpect: 100-continue\r\n\r\n");
            RawClient.Resp interim = c.read();
            assertEquals(100, interim.status(), interim.toString());
            c.send("12345");
            RawClient.Resp r = c.read();
            assertEquals(200, r.status());
            assertEquals("12345", r.text());
            assertEquals("hello", c.exchange(get("/hello")).text());
        }
    }

    @Test
    void expectContinueWithChunkedBody() throws IOException {
        try (RawClient c = RawClient.connect(port())) {
            c.send("POST /echo HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n");
            assertEquals(100, c.read().status());
            c.send("3\r\nabc\r\n0\r\n\r\n");
            assertEquals("abc", c.read().text());
        }
    }

    @Test
    void expectContinueForAnUnknownRouteGetsTheFinalStatusWithoutReadingTheBody() throws IOException {
        try (RawClient c = RawClient.connect(port())) {
            c.send("POST /nowhere HTTP/1.1\r\n" + H + "Content-Length: 500\r\nExpect: 100-continue\r\n\r\n");
            RawClient.Resp r = c.read();
            assertEquals(404, r.status(), "no 100 for a request that will be refused: " + r);
            assertTrue(r.closes(), "the unread body cannot be told from the next request: " + r);
            assertTrue(c.closedByServer(2000));
        }
    }

    @Test
    void expectContinueForAWrongMethodGets405WithoutReadingTheBody() throws IOException {
        try (RawClient c = RawClient.connect(port())) {
            c.send("PUT /hello HTTP/1.1\r\n" + H + "Content-Length: 500\r\nExpect: 100-continue\r\n\r\n");
            RawClient.Resp r = c.read();
            assertEquals(405, r.status(), r.toString());
            assertNotNull(r.header("Allow"));
        }
    }

    @Test
    void expectContinueWithATooLargeBodyGets413WithoutReadingIt() throws IOException {
        try (RawClient c = RawClient.connect(port())) {
            c.send("POST /echo HTTP/1.1\r\n" + H + "Content-Length: 5000\r\nExpect: 100-continue\r\n\r\n");
            RawClient.Resp r = c.read();
            assertEquals(413, r.status(), r.toString());
            assertTrue(c.closedByServer(2000));
        }
    }

    @Test
    void aBodyTheHandlerIgnoresIsSkipped() throws IOException {
        try (RawClient c = RawClient.connect(port())) {
            c.send("POST /ignore HTTP/1.1\r\n" + H + "Content-Length: 20\r\n\r\nGET /hello HTTP/1.1\r\n"
                    + "POST /ignore HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked\r\n\r\n4\r\nGET \r\n0\r\n\r\n"
                    + get("/sync?id=after"));
            assertEquals("ignored", c.read().text());
            assertEquals("ignored", c.read().text());
            assertEquals("after", c.read().text());
        }
    }

    // ---------------------------------------------------------------- errors

    static Stream<Arguments> badRequests() {
        String longTarget = "/" + "a".repeat(2000);
        StringBuilder many = new StringBuilder();
        for (int i = 0; i < 25; i++) many.append("X-H").append(i).append(": v\r\n");
        String big = "X-Big: " + "b".repeat(5000) + "\r\n";
        return Stream.of(
                Arguments.of("missing Host", "GET /hello HTTP/1.1\r\n\r\n", 400),
                Arguments.of("duplicate Host", "GET /hello HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
                Arguments.of("invalid header name", "GET /hello HTTP/1.1\r\n" + H + "Bad[Name]: x\r\n\r\n", 400),
                Arguments.of("header name with non-ASCII", "GET /hello HTTP/1.1\r\n" + H + "N\u00e4me: x\r\n\r\n", 400),
                Arguments.of("empty header name", "GET /hello HTTP/1.1\r\n" + H + ": x\r\n\r\n", 400),
                Arguments.of("space before colon", "GET /hello HTTP/1.1\r\nHost : test\r\n\r\n", 400),
                Arguments.of("tab before colon", "GET /hello HTTP/1.1\r\n" + H + "X-A\t: 1\r\n\r\n", 400),
                Arguments.of("obs-fold", "GET /hello HTTP/1.1\r\n" + H + "X-Folded: a\r\n  b\r\n\r\n", 400),
                Arguments.of("obs-fold with tab", "GET /hello HTTP/1.1\r\n" + H + "X-Folded: a\r\n\tb\r\n\r\n", 400),
                Arguments.of("bare CR in a value", "GET /hello HTTP/1.1\r\n" + H + "X-A: a\rb\r\n\r\n", 400),
                Arguments.of("bare CR in the request line", "GET /hello\r HTTP/1.1\r\n" + H + "\r\n", 400),
                Arguments.of("bare LF line end", "GET /hello HTTP/1.1\r\n" + H + "X-A: a\nX-B: b\r\n\r\n", 400),
                Arguments.of("NUL in a value", "GET /hello HTTP/1.1\r\n" + H + "X-A: a\0b\r\n\r\n", 400),
                Arguments.of("control character in a value", "GET /hello HTTP/1.1\r\n" + H + "X-A: a\u0001b\r\n\r\n", 400),
                Arguments.of("DEL in a value", "GET /hello HTTP/1.1\r\n" + H + "X-A: a\u007fb\r\n\r\n", 400),
                Arguments.of("escape in a value", "GET /hello HTTP/1.1\r\n" + H + "X-A: \u001b[31m\r\n\r\n", 400),
                Arguments.of("NUL in the target", "GET /he\0llo HTTP/1.1\r\n" + H + "\r\n", 400),
                Arguments.of("Content-Length and Transfer-Encoding",
                        "POST /echo HTTP/1.1\r\n" + H + "Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", 400),
                Arguments.of("Transfer-Encoding and Content-Length",
                        "POST /echo HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n3\r\nabc\r\n0\r\n\r\n", 400),
                Arguments.of("differing Content-Lengths", "POST /echo HTTP/1.1\r\n" + H + "Content-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", 400),
                Arguments.of("differing Content-Length list", "POST /echo HTTP/1.1\r\n" + H + "Content-Length: 3, 4\r\n\r\nabcd", 400),
                Arguments.of("malformed Content-Length", "POST /echo HTTP/1.1\r\n" + H + "Content-Length: abc\r\n\r\n", 400),
                Arguments.of("negative Content-Length", "POST /echo HTTP/1.1\r\n" + H + "Content-Length: -1\r\n\r\n", 400),
                Arguments.of("signed Content-Length", "POST /echo HTTP/1.1\r\n" + H + "Content-Length: +3\r\n\r\nabc", 400),
                Arguments.of("hex Content-Length", "POST /echo HTTP/1.1\r\n" + H + "Content-Length: 0x3\r\n\r\nabc", 400),
                Arguments.of("two numbers Content-Length", "POST /echo HTTP/1.1\r\n" + H + "Content-Length: 1 2\r\n\r\nabc", 400),
                Arguments.of("empty Content-Length", "POST /echo HTTP/1.1\r\n" + H + "Content-Length:\r\n\r\n", 400),
                Arguments.of("huge Content-Length", "POST /echo HTTP/1.1\r\n" + H + "Content-Length: 99999999999999999999999\r\n\r\n", 400),
                Arguments.of("invalid chunk size", "POST /echo HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n", 400),
                Arguments.of("negative chunk size", "POST /echo HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked\r\n\r\n-3\r\nabc\r\n0\r\n\r\n", 400),
                Arguments.of("chunk size overflow", "POST /echo HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked\r\n\r\n1000000000000000003\r\nabc\r\n0\r\n\r\n", 400),
                Arguments.of("chunk without CRLF after data", "POST /echo HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n0\r\n\r\n", 400),
                Arguments.of("Transfer-Encoding chunked twice", "POST /echo HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
                Arguments.of("chunked then another coding", "POST /echo HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n0\r\n\r\n", 400),
                Arguments.of("unknown transfer coding", "POST /echo HTTP/1.1\r\n" + H + "Transfer-Encoding: gzip, chunked\r\n\r\n", 501),
                Arguments.of("transfer coding not ending in chunked", "POST /echo HTTP/1.1\r\n" + H + "Transfer-Encoding: identity\r\n\r\n", 501),
                Arguments.of("request target too long", "GET " + longTarget + " HTTP/1.1\r\n" + H + "\r\n", 414),
                Arguments.of("headers too large", "GET /hello HTTP/1.1\r\n" + H + big + "\r\n", 431),
                Arguments.of("too many headers", "GET /hello HTTP/1.1\r\n" + H + many + "\r\n", 431),
                Arguments.of("body above the limit", "POST /echo HTTP/1.1\r\n" + H + "Content-Length: 1001\r\n\r\n" + "x".repeat(1001), 413),
                Arguments.of("chunked body above the limit", "POST /echo HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked\r\n\r\n"
                        + "200\r\n" + "x".repeat(512) + "\r\n200\r\n" + "x".repeat(512) + "\r\n0\r\n\r\n", 413),
                Arguments.of("unknown method", "FOO /hello HTTP/1.1\r\n" + H + "\r\n", 501),
                Arguments.of("lower-case method", "get /hello HTTP/1.1\r\n" + H + "\r\n", 501),
                Arguments.of("HTTP/2.0 request line", "GET /hello HTTP/2.0\r\n" + H + "\r\n", 505),
                Arguments.of("HTTP/0.9 style", "GET /hello HTTP/0.9\r\n" + H + "\r\n", 505),
                Arguments.of("malformed version", "GET /hello HTTX/1.1\r\n" + H + "\r\n", 400),
                Arguments.of("missing version", "GET /hello\r\n" + H + "\r\n", 400),
                Arguments.of("two spaces", "GET  /hello HTTP/1.1\r\n" + H + "\r\n", 400),
                Arguments.of("relative target", "GET hello HTTP/1.1\r\n" + H + "\r\n", 400),
                Arguments.of("invalid Host", "GET /hello HTTP/1.1\r\nHost: a b\r\n\r\n", 400),
                Arguments.of("Transfer-Encoding in HTTP/1.0", "POST /echo HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
                Arguments.of("unsupported expectation", "POST /echo HTTP/1.1\r\n" + H + "Expect: something\r\nContent-Length: 1\r\n\r\nx", 417),
                Arguments.of("bad percent-escape in the path", "GET /he%zzllo HTTP/1.1\r\n" + H + "\r\n", 400),
                Arguments.of("encoded NUL in the path", "GET /he%00llo HTTP/1.1\r\n" + H + "\r\n", 400));
    }

    @ParameterizedTest(name = "{0} -> {2}")
    @MethodSource("badRequests")
    void badRequestsGetTheirStatusAndTheConnectionCloses(String name, String request, int status) throws IOException {
        try (RawClient c = RawClient.connect(port())) {
            c.send(request.getBytes(StandardCharsets.UTF_8));
            RawClient.Resp r = c.read();
            assertEquals(status, r.status(), name + ": " + r);
            assertTrue(r.closes(), name + ": the response must say Connection: close: " + r);
            assertNotNull(r.header("Date"));
            assertTrue(c.closedByServer(2000), name + ": the connection must be closed");
        }
    }

    @Test
    void aBadRequestAfterAGoodOneClosesAfterAnsweringTheGoodOne() throws IOException {
        try (RawClient c = RawClient.connect(port())) {
            c.send(get("/deferred?id=first&ms=50") + "GET /hello HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n" + get("/hello"));
            RawClient.Resp first = c.read();
            assertEquals("first", first.text());
            assertFalse(first.closes());
            RawClient.Resp bad = c.read();
            assertEquals(400, bad.status());
            assertTrue(c.closedByServer(2000));
        }
    }

    @Test
    void anErrorAfterAHeadRequestStillHasItsBody() throws IOException {
        try (RawClient c = RawClient.connect(port())) {
            assertEquals("10", c.exchange("HEAD /len HTTP/1.1\r\n" + H + "\r\n").header("Content-Length"));
            c.send("GET /" + "x".repeat(2000) + " HTTP/1.1\r\n" + H + "\r\n");
            RawClient.Resp r = c.read(); // a 414 that announces a body and sends none would fail here
            assertEquals(414, r.status());
            assertTrue(r.body().length > 0);
            assertTrue(c.closedByServer(2000));
        }
    }

    @Test
    void closeConnectionStopsPipelinedRequestsBehindIt() throws IOException {
        int before = counted.get();
        try (RawClient c = RawClient.connect(port())) {
            // behind a deferred answer, so the closing response cannot close at once
            c.send(get("/deferred?id=first&ms=50") + get("/close-me") + get("/count") + get("/count"));
            assertEquals("first", c.read().text());
            RawClient.Resp r = c.read();
            assertEquals("bye", r.text());
            assertTrue(r.closes());
            assertTrue(c.closedByServer(2000));
        }
        assertEquals(before, counted.get(), "requests behind a closing response must not run");
    }

    @Test
    void expectContinueInHttp10IsIgnored() throws IOException {
        try (RawClient c = RawClient.connect(port())) {
            c.send("POST /echo HTTP/1.0\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
            assertFalse(c.closedByServer(300), "no 100 (nor anything else) for HTTP/1.0");
            c.send("hello");
            RawClient.Resp r = c.read();
            assertEquals(200, r.status());
            assertEquals("hello", r.text());
        }
    }

    @Test
    void aBodyThatStopsArrivingTimesOut() throws IOException {
        try (HttpServer s = HttpServer.create("127.0.0.1", 0).threads(1)
                .headerTimeout(Duration.ofMillis(300))
                .post("/echo", (req, res) -> res.bytes(req.body())).start();
             RawClient c = RawClient.connect(s.port())) {
            c.send("POST /echo HTTP/1.1\r\n" + H + "Content-Length: 10\r\n\r\nabc");
            long t0 = System.nanoTime();
            RawClient.Resp r = c.read();
            long ms = (System.nanoTime() - t0) / 1_000_000;
            assertEquals(408, r.status());
            assertTrue(c.closedByServer(2000));
            assertTrue(ms >= 200 && ms < 2500, "after " + ms + " ms");
        }
    }

    @Test
    void absoluteFormTargetsAreAccepted() throws IOException {
        try (RawClient c = RawClient.connect(port())) {
            RawClient.Resp r = c.exchange("GET http://test/hello HTTP/1.1\r\n" + H + "\r\n");
            assertEquals(200, r.status(), r.toString());
            assertEquals("hello", r.text());
            RawClient.Resp q = c.exchange("GET HTTP://test:8080/sync?id=abs HTTP/1.1\r\n" + H + "\r\n");
            assertEquals("abs", q.text());
        }
    }

    @Test
    void emptyLinesBeforeARequestAreIgnored() throws IOException {
        try (RawClient c = RawClient.connect(port())) {
            assertEquals("hello", c.exchange("\r\n\r\n" + get("/hello")).text());
        }
    }

    // ---------------------------------------------------------------- response framing

    @Test
    void headGetsTheHeadersOfGetWithoutABody() throws IOException {
        try (RawClient c = RawClient.connect(port())) {
            RawClient.Resp g = c.exchange(get("/len"));
            RawClient.Resp h = c.exchange("HEAD /len HTTP/1.1\r\n" + H + "\r\n");
            assertEquals(200, h.status());
            assertEquals("10", g.header("Content-Length"));
            assertEquals(g.header("Content-Length"), h.header("Content-Length"));
            assertEquals(g.header("Content-Type"), h.header("Content-Type"));
            // had the server sent a body, it would be read as the next response's status line
            assertEquals("hello", c.exchange(get("/hello")).text());
            RawClient.Resp hs = c.exchange("HEAD /stream HTTP/1.1\r\n" + H + "\r\n");
            assertEquals(200, hs.status());
            assertEquals("hello", c.exchange(get("/hello")).text());
        }
    }

    @Test
    void responsesCarryDateServerAndFraming() throws IOException {
        try (RawClient c = RawClient.connect(port())) {
            RawClient.Resp r = c.exchange(get("/hello"));
            assertTrue(r.header("Date").matches("[A-Z][a-z]{2}, \\d{2} [A-Z][a-z]{2} \\d{4} \\d{2}:\\d{2}:\\d{2} GMT"), r.header("Date"));
            assertEquals("jhv", r.header("Server"));
            assertEquals("5", r.header("Content-Length"));
            assertEquals(1, r.count("Date"));
            RawClient.Resp s = c.exchange(get("/stream"));
            assertEquals("chunked", s.header("Transfer-Encoding"));
            assertNull(s.header("Content-Length"));
            assertNotNull(s.header("Date"));
            assertEquals("abcd", s.text());
            RawClient.Resp nf = c.exchange(get("/nope"));
            assertEquals(404, nf.status());
            assertNotNull(nf.header("Content-Length"));
            assertNotNull(nf.header("Date"));
        }
    }

    @Test
    void aResponseHeaderWithCrLfIsRefused() throws IOException {
        headerError.set(null);
        try (RawClient c = RawClient.connect(port())) {
            RawClient.Resp r = c.exchange(get("/badheader"));
            assertEquals(500, r.status());
            assertNull(r.header("X-Evil"));
            assertNull(r.header("Set-Cookie"));
            assertTrue(headerError.get() instanceof IllegalArgumentException, String.valueOf(headerError.get()));
            assertEquals("hello", c.exchange(get("/hello")).text(), "a handler error is not a protocol error");
        }
    }

    // ---------------------------------------------------------------- slow and many clients

    @Test
    void headerReadTimeoutClosesADribblingClient() throws Exception {
        try (HttpServer s = HttpServer.create("127.0.0.1", 0).threads(1)
                .headerTimeout(Duration.ofMillis(400))
                .get("/hello", (req, res) -> res.text("hello")).start();
             RawClient c = RawClient.connect(s.port())) {
            byte[] head = ("GET /hello HTTP/1.1\r\n" + H + "X-Slow: " + "s".repeat(100) + "\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1);
            long t0 = System.nanoTime();
            Thread dribbler = Thread.ofVirtual().start(() -> {
                try {
                    for (byte b : head) {
                        c.send(new byte[] {b}); // each byte well inside any idle timeout
                        Thread.sleep(50);
                    }
                } catch (IOException | InterruptedException e) {
                    // the server closed: expected
                }
            });
            RawClient.Resp r = c.read();
            long ms = (System.nanoTime() - t0) / 1_000_000;
            assertEquals(408, r.status(), r.toString());
            assertTrue(r.closes());
            assertTrue(c.closedByServer(2000));
            assertTrue(ms >= 300 && ms < 3000, "closed after " + ms + " ms");
            dribbler.interrupt();
            dribbler.join();
        }
    }

    @Test
    void maxConnectionsIsEnforced() throws Exception {
        try (HttpServer s = HttpServer.create("127.0.0.1", 0).threads(1).maxConnections(2)
                .get("/hello", (req, res) -> res.text("hello")).start();
             RawClient a = RawClient.connect(s.port());
             RawClient b = RawClient.connect(s.port())) {
            assertEquals(200, a.exchange(get("/hello")).status());
            assertEquals(200, b.exchange(get("/hello")).status());
            try (RawClient third = RawClient.connect(s.port())) {
                assertTrue(third.closedByServer(2000), "a third connection must be refused");
            }
            a.close();
            // once one closed, a new connection is served again
            long end = System.nanoTime() + 3_000_000_000L;
            while (true) {
                try (RawClient again = RawClient.connect(s.port())) {
                    again.send(get("/hello"));
                    assertEquals(200, again.read().status());
                    break;
                } catch (IOException e) {
                    if (System.nanoTime() > end) throw e;
                    Thread.sleep(20);
                }
            }
        }
    }
}
