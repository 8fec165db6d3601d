package io.jhv.http.server;

import io.jhv.http.HttpException;
import io.jhv.http.internal.http1.HttpConnection;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Middleware order (global and by prefix), early answers, and error handling. */
@Timeout(30)
class MiddlewareTest {
    static final List<String> trace = new CopyOnWriteArrayList<>();
    static final List<LogRecord> logged = new CopyOnWriteArrayList<>();
    static final Logger connLogger = Logger.getLogger(HttpConnection.class.getName());
    static final Logger responseLogger = Logger.getLogger("io.jhv.http.internal.http1.Http1Response");
    static final Handler capture = new Handler() {
        @Override public void publish(LogRecord r) { logged.add(r); }
        @Override public void flush() {}
        @Override public void close() {}
    };
    static HttpServer server, custom, timed;
    static Path file;
    static final java.util.concurrent.atomic.AtomicReference<IllegalStateException> lateHeaderError = new java.util.concurrent.atomic.AtomicReference<>();

    static Middleware tracing(String name) {
        return (req, res, chain) -> {
            trace.add(name + ">");
            chain.next();
            trace.add("<" + name);
        };
    }

    @BeforeAll
    static void start() throws IOException {
        connLogger.addHandler(capture);
        responseLogger.addHandler(capture);
        startTimed();
        server = HttpServer.create("127.0.0.1", 0).threads(1)
                .use(tracing("g1"))
                .use("/api", tracing("api"))
                .use(tracing("g2"))
                .use("/admin", (req, res, chain) -> {
                    if (!"secret".equals(req.header("X-Token"))) {
                        trace.add("refused");
                        res.status(401).text("no");
                        return;
                    }
                    chain.next();
                })
                .use((req, res, chain) -> {
                    res.header("X-Before", "set before the handler");
                    chain.next();
                })
                .get("/api/x", (req, res) -> {
                    trace.add("handler");
                    res.text("x");
                })
                .get("/apix", (req, res) -> {
                    trace.add("handler");
                    res.text("apix");
                })
                .get("/plain", (req, res) -> {
                    trace.add("handler");
                    res.text("plain");
                })
                .get("/admin/panel", (req, res) -> {
                    trace.add("handler");
                    res.text("panel");
                })
                .get("/boom", (req, res) -> {
                    throw new IllegalStateException("boom");
                })
                .get("/teapot", (req, res) -> {
                    throw new HttpException(418, "short and stout");
                })
                .get("/deferred-boom", (req, res) -> {
                    res.defer();
                    throw new HttpException(409, "conflict before answering");
                })
                .start();
        custom = HttpServer.create("127.0.0.1", 0).threads(1)
                .use((req, res, chain) -> {
                    if (req.path().equals("/mw-boom")) throw new IllegalArgumentException("from middleware");
                    chain.next();
                })
                .errorHandler((req, res, error) -> {
                    if (error instanceof UnsupportedOperationException) throw new IllegalStateException("error handler failed too");
                    int status = error instanceof HttpException he ? he.status() : 503;
                    res.status(status).contentType("application/json").text("{\"error\":\"" + error.getMessage() + "\"}");
                })
                .get("/boom", (req, res) -> {
                    throw new IllegalStateException("custom boom");
                })
                .get("/gone", (req, res) -> {
                    throw new HttpException(410, "gone");
                })
                .get("/double", (req, res) -> {
                    throw new UnsupportedOperationException("first");
                })
                .get("/mw-boom", (req, res) -> res.text("never"))
                .start();
    }

    /** The server of the beforeCommit tests: the Middleware Javadoc example first. */
    static void startTimed() throws IOException {
        file = Files.createTempFile("jhv-mw", ".txt");
        Files.writeString(file, "file body\n".repeat(1000));
        HttpServer server = HttpServer.create("127.0.0.1", 0).threads(1);
        // ---- verbatim from the Middleware Javadoc
        server.use((req, res, chain) -> {
            long t0 = System.nanoTime();
            res.header("X-Served-By", "jhv"); // before next(): the handler has not answered yet
            res.beforeCommit(r -> r.header("X-Response-Time", (System.nanoTime() - t0) / 1000 + "us"));
            chain.next();
        });
        // ----
        timed = server
                .use("/late", (req, res, chain) -> {
                    chain.next();
                    try {
                        res.header("X-Late", "too late");
                    } catch (IllegalStateException e) {
                        lateHeaderError.set(e);
                    }
                })
                .use("/hook", (req, res, chain) -> {
                    res.beforeCommit(r -> r.status(r.status() == 200 ? 203 : r.status()).setHeader("X-Hook", "ran"));
                    chain.next();
                })
                .use("/fail", (req, res, chain) -> {
                    res.beforeCommit(r -> {
                        throw new IllegalStateException("hook failed");
                    });
                    chain.next();
                })
                .get("/loop", (req, res) -> res.text("loop"))
                .get("/late/x", (req, res) -> res.text("late"))
                .get("/hook/order", (req, res) -> {
                    res.beforeCommit(r -> r.setHeader("X-Hook", "inner"));
                    res.text("order");
                })
                .get("/deferred", (req, res) -> {
                    res.defer();
                    Thread.ofVirtual().start(() -> res.text("deferred"));
                })
                .get("/blocking", io.jhv.http.server.Handler.blocking((req, res) -> res.text("blocking")))
                .get("/stream", io.jhv.http.server.Handler.blocking((req, res) -> {
                    try (Response.ChunkedWriter w = res.stream()) {
                        w.write("one,");
                        w.write("two");
                    }
                }))
                .get("/file", (req, res) -> res.file(file))
                .get("/fail/x", (req, res) -> res.text("never"))
                .get("/fail/stream", (req, res) -> {
                    Response.ChunkedWriter w = res.stream();
                    w.write("dropped");
                    w.close();
                })
                .get("/fail/blocking-stream", io.jhv.http.server.Handler.blocking((req, res) -> {
                    try (Response.ChunkedWriter w = res.stream()) {
                        for (int i = 0; i < 50; i++) w.write("dropped");
                    }
                }))
                .get("/fail/file", (req, res) -> res.file(file))
                .start();
    }

    @AfterAll
    static void stop() {
        if (timed != null) timed.close(Duration.ofSeconds(1));
        connLogger.removeHandler(capture);
        responseLogger.removeHandler(capture);
        server.close(Duration.ofSeconds(1));
        custom.close(Duration.ofSeconds(1));
    }

    @BeforeEach
    void clear() {
        trace.clear();
        logged.clear();
    }

    static RawClient.Resp get(HttpServer s, String path, String... headers) throws IOException {
        StringBuilder sb = new StringBuilder("GET " + path + " HTTP/1.1\r\nHost: t\r\n");
        for (String h : headers) sb.append(h).append("\r\n");
        return RawClient.once(s.port(), sb.append("\r\n").toString(), null);
    }

    @Test
    void middlewareRunsInOrderBeforeAndAfterTheHandler() throws IOException {
        RawClient.Resp r = get(server, "/api/x");
        assertEquals("x", r.text());
        assertEquals(List.of("g1>", "api>", "g2>", "handler", "<g2", "<api", "<g1"), trace);
        assertEquals("set before the handler", r.header("X-Before"));
    }

    @Test
    void prefixMiddlewareAppliesOnlyBelowItsPrefix() throws IOException {
        assertEquals("plain", get(server, "/plain").text());
        assertEquals(List.of("g1>", "g2>", "handler", "<g2", "<g1"), trace);
        trace.clear();
        assertEquals("apix", get(server, "/apix").text(), "/api does not cover /apix");
        assertEquals(List.of("g1>", "g2>", "handler", "<g2", "<g1"), trace);
    }

    @Test
    void middlewareRunsFor404Too() throws IOException {
        assertEquals(404, get(server, "/api/none").status());
        assertEquals(List.of("g1>", "api>", "g2>", "<g2", "<api", "<g1"), trace);
    }

    @Test
    void middlewareCanAnswerEarly() throws IOException {
        RawClient.Resp r = get(server, "/admin/panel");
        assertEquals(401, r.status());
        assertEquals("no", r.text());
        assertEquals(List.of("g1>", "g2>", "refused", "<g2", "<g1"), trace);
        trace.clear();
        RawClient.Resp ok = get(server, "/admin/panel", "X-Token: secret");
        assertEquals("panel", ok.text());
        assertTrue(trace.contains("handler"));
    }

    @Test
    void anExceptionGives500AndIsLogged() throws IOException {
        RawClient.Resp r = get(server, "/boom");
        assertEquals(500, r.status());
        assertEquals("Internal Server Error", r.text(), "no exception details leak to the client");
        assertTrue(logged.stream().anyMatch(l -> l.getThrown() instanceof IllegalStateException && "boom".equals(l.getThrown().getMessage())),
                "the exception must be logged: " + logged);
        assertEquals(List.of("g1>", "g2>"), trace, "the after-part of middleware does not run when the handler throws");
    }

    @Test
    void anHttpExceptionGivesItsStatus() throws IOException {
        RawClient.Resp r = get(server, "/teapot");
        assertEquals(418, r.status());
        assertEquals("short and stout", r.text());
        assertNull(r.header("X-Before"), "an error response starts from scratch");
        RawClient.Resp d = get(server, "/deferred-boom");
        assertEquals(409, d.status(), "a throw after defer() is still answered");
    }

    @Test
    void aHandlerErrorOnAConnectionCloseRequestStillCloses() throws IOException {
        try (RawClient c = RawClient.connect(server.port())) {
            RawClient.Resp r = c.exchange("GET /boom HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
            assertEquals(500, r.status());
            assertTrue(r.closes(), r.toString());
            assertTrue(c.closedByServer(2000));
        }
    }

    @Test
    void aCustomErrorHandler() throws IOException {
        RawClient.Resp r = get(custom, "/boom");
        assertEquals(503, r.status());
        assertEquals("{\"error\":\"custom boom\"}", r.text());
        assertEquals("application/json", r.header("Content-Type"));
        assertEquals(410, get(custom, "/gone").status());
        assertEquals("{\"error\":\"from middleware\"}", get(custom, "/mw-boom").text());
        RawClient.Resp d = get(custom, "/double");
        assertEquals(500, d.status(), "an error handler that throws falls back to the default");
    }

    // ---------------------------------------------------------------- after the handler, before the head

    static void assertTimed(RawClient.Resp r) {
        assertEquals("jhv", r.header("X-Served-By"), r.toString());
        assertNotNull(r.header("X-Response-Time"), "the beforeCommit hook of the Javadoc example ran: " + r);
        assertTrue(r.header("X-Response-Time").matches("\\d+us"), r.toString());
    }

    @Test
    void middlewareJavadocExampleAddsTheHeaderForALoopHandler() throws IOException {
        RawClient.Resp r = get(timed, "/loop");
        assertEquals(200, r.status());
        assertEquals("loop", r.text());
        assertTimed(r);
    }

    @Test
    void middlewareJavadocExampleWorksForDeferredBlockingStreamedAndFileResponses() throws IOException {
        try (RawClient c = RawClient.connect(timed.port())) {
            RawClient.Resp d = c.exchange("GET /deferred HTTP/1.1\r\nHost: t\r\n\r\n");
            assertEquals("deferred", d.text());
            assertTimed(d);
            RawClient.Resp b = c.exchange("GET /blocking HTTP/1.1\r\nHost: t\r\n\r\n");
            assertEquals("blocking", b.text());
            assertTimed(b);
            RawClient.Resp s = c.exchange("GET /stream HTTP/1.1\r\nHost: t\r\n\r\n");
            assertEquals("one,two", s.text());
            assertEquals("chunked", s.header("Transfer-Encoding"));
            assertTimed(s);
            RawClient.Resp f = c.exchange("GET /file HTTP/1.1\r\nHost: t\r\n\r\n");
            assertEquals(Files.readString(file), f.text());
            assertTimed(f);
            RawClient.Resp h = c.exchange("HEAD /file HTTP/1.1\r\nHost: t\r\n\r\n");
            assertEquals(200, h.status());
            assertTimed(h);
        }
    }

    @Test
    void aBeforeCommitHookMayChangeStatusAndHeadersAndRunsInnermostFirst() throws IOException {
        RawClient.Resp r = get(timed, "/hook/order");
        assertEquals(203, r.status(), r.toString());
        assertEquals("order", r.text());
        assertEquals(List.of("ran"), r.headerValues("X-Hook"), "the middleware's hook (outer) runs after the handler's (inner)");
        assertTimed(r);
    }

    @Test
    void aHeaderAddedAfterTheHandlerAnsweredSaysWhatToDo() throws IOException {
        lateHeaderError.set(null);
        RawClient.Resp r = get(timed, "/late/x");
        assertEquals("late", r.text());
        IllegalStateException e = lateHeaderError.get();
        assertNotNull(e, "a header after the response was committed is refused");
        assertTrue(e.getMessage().contains("before next()") && e.getMessage().contains("beforeCommit"), e.getMessage());
    }

    @Test
    void aBeforeCommitHookThatThrowsGives500AndTheConnectionGoesOn() throws IOException {
        for (String path : List.of("/fail/x", "/fail/stream", "/fail/blocking-stream", "/fail/file")) {
            logged.clear();
            try (RawClient c = RawClient.connect(timed.port())) {
                RawClient.Resp r = c.exchange("GET " + path + " HTTP/1.1\r\nHost: t\r\n\r\n");
                assertEquals(500, r.status(), path + ": " + r);
                assertEquals("Internal Server Error", r.text(), path);
                assertNull(r.header("X-Served-By"), "an error response starts from scratch: " + r);
                assertTrue(logged.stream().anyMatch(l -> l.getThrown() != null && "hook failed".equals(l.getThrown().getMessage())),
                        "the hook's exception is logged: " + logged);
                // the same connection (and loop) serves the next request
                RawClient.Resp next = c.exchange("GET /loop HTTP/1.1\r\nHost: t\r\n\r\n");
                assertEquals("loop", next.text(), path);
                assertTimed(next);
            }
        }
        // pipelined: the failing response does not disturb the ones around it
        try (RawClient c = RawClient.connect(timed.port())) {
            c.send("GET /loop HTTP/1.1\r\nHost: t\r\n\r\nGET /fail/stream HTTP/1.1\r\nHost: t\r\n\r\nGET /blocking HTTP/1.1\r\nHost: t\r\n\r\n");
            assertEquals("loop", c.read().text());
            assertEquals(500, c.read().status());
            assertEquals("blocking", c.read().text());
        }
    }
}
