package io.jhv.http.server;

import io.jhv.http.server.StaticFilesTest.Reply;

import io.jhv.http.Headers;
import io.jhv.http.HttpException;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.time.Duration;
import java.time.ZoneOffset;
import java.util.List;
import java.util.ArrayList;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@link Cors} and {@link AccessLog} in a running server. */
@Timeout(20)
class CorsTest {
    HttpServer server;
    final AtomicInteger handled = new AtomicInteger();

    @AfterEach
    void stop() {
        if (server != null) server.close(Duration.ofSeconds(1));
    }

    private HttpServer start(Middleware... mw) {
        HttpServer s = HttpServer.create("127.0.0.1", 0).threads(1);
        for (Middleware m : mw) s.use(m);
        s.get("/api/data", (req, res) -> {
            handled.incrementAndGet();
            res.header("X-Id", "42").text("data");
        });
        s.route("OPTIONS", "/api/data", (req, res) -> {
            handled.incrementAndGet();
            res.text("options handler");
        });
        s.post("/api/fail", (req, res) -> {
            throw new HttpException(409, "conflict");
        });
        server = s.start();
        return s;
    }

    private Reply send(String method, String path, String... headers) throws IOException {
        StringBuilder sb = new StringBuilder(method).append(' ').append(path).append(" HTTP/1.1\r\nHost: test");
        for (String h : headers) sb.append("\r\n").append(h);
        return StaticFilesTest.raw(server.port(), sb.toString());
    }

    @Test
    void preflightIsAnsweredWithoutTheHandler() throws IOException {
        start(Cors.builder().allowOrigins("https://a.example", "https://B.example:8443")
                .allowHeaders("Content-Type", "X-Token").exposeHeaders("X-Id").allowCredentials(true)
                .maxAge(Duration.ofHours(1)).build());
        Reply r = send("OPTIONS", "/api/data", "Origin: https://a.example", "Access-Control-Request-Method: PUT",
                "Access-Control-Request-Headers: content-type, x-token");
        assertEquals(204, r.status());
        assertEquals("https://a.example", r.header("Access-Control-Allow-Origin"));
        assertEquals("GET, HEAD, POST, PUT, PATCH, DELETE", r.header("Access-Control-Allow-Methods"));
        assertEquals("Content-Type, X-Token", r.header("Access-Control-Allow-Headers"));
        assertEquals("true", r.header("Access-Control-Allow-Credentials"));
        assertEquals("3600", r.header("Access-Control-Max-Age"));
        assertTrue(r.header("Vary").contains("Origin"), r.header("Vary"));
        assertEquals(0, handled.get(), "the chain is not called for a preflight");

        assertEquals(204, send("OPTIONS", "/api/data", "Origin: https://b.example:8443",
                "Access-Control-Request-Method: GET").status(), "origins compare case-insensitively");
        assertEquals(403, send("OPTIONS", "/api/data", "Origin: https://evil.example",
                "Access-Control-Request-Method: GET").status());
        assertEquals(403, send("OPTIONS", "/api/data", "Origin: https://a.example",
                "Access-Control-Request-Method: TRACE").status());
        Reply badHeader = send("OPTIONS", "/api/data", "Origin: https://a.example",
                "Access-Control-Request-Method: GET", "Access-Control-Request-Headers: X-Other");
        assertEquals(403, badHeader.status());
        assertTrue(badHeader.text().contains("X-Other"), badHeader.text());
        assertEquals(0, handled.get());

        // A plain OPTIONS (no Access-Control-Request-Method) is not a preflight: it reaches the route.
        Reply plain = send("OPTIONS", "/api/data", "Origin: https://a.example");
        assertEquals("options handler", plain.text());
        assertEquals(1, handled.get());
    }

    @Test
    void normalResponsesGetAllowOriginForAllowedOrigins() throws IOException {
        start(Cors.builder().allowOrigins(List.of("https://a.example")).exposeHeaders("X-Id").allowCredentials(true).build());
        Reply r = send("GET", "/api/data", "Origin: https://a.example");
        assertEquals(200, r.status());
        assertEquals("data", r.text());
        assertEquals("https://a.example", r.header("Access-Control-Allow-Origin"));
        assertEquals("true", r.header("Access-Control-Allow-Credentials"));
        assertEquals("X-Id", r.header("Access-Control-Expose-Headers"));
        assertEquals("Origin", r.header("Vary"));

        Reply other = send("GET", "/api/data", "Origin: https://evil.example");
        assertEquals(200, other.status());
        assertNull(other.header("Access-Control-Allow-Origin"));
        assertEquals("Origin", other.header("Vary"));

        Reply none = send("GET", "/api/data");
        assertNull(none.header("Access-Control-Allow-Origin"));
        assertEquals("Origin", none.header("Vary"), "caches must not reuse it for a cross-origin request");
    }

    @Test
    void anyOrigin() throws IOException {
        start(Cors.allowAll());
        Reply r = send("GET", "/api/data", "Origin: https://whoever.example");
        assertEquals("*", r.header("Access-Control-Allow-Origin"));
        assertNull(r.header("Vary"));
        Reply p = send("OPTIONS", "/api/data", "Origin: https://whoever.example", "Access-Control-Request-Method: DELETE",
                "Access-Control-Request-Headers: X-Anything");
        assertEquals(204, p.status());
        assertEquals("*", p.header("Access-Control-Allow-Origin"));
        assertEquals("X-Anything", p.header("Access-Control-Allow-Headers"), "reflected when not configured");
        assertEquals("600", p.header("Access-Control-Max-Age"));
    }

    @Test
    void builderRefusesBadConfig() {
        assertThrows(IllegalStateException.class, () -> Cors.builder().build());
        assertThrows(IllegalArgumentException.class, () -> Cors.builder().allowOrigins("https://a.example/"));
        assertThrows(IllegalArgumentException.class, () -> Cors.builder().allowHeaders("bad header"));
        assertThrows(IllegalArgumentException.class, () -> Cors.builder().allowOrigins("https://a\r\nX: y"));
    }

    @Test
    void accessLogWritesCommonAndCombinedLines() throws Exception {
        // The line is written when the chain returns, which may be just after the client got the answer.
        BlockingQueue<String> commonQ = new LinkedBlockingQueue<>();
        BlockingQueue<String> combinedQ = new LinkedBlockingQueue<>();
        start(AccessLog.common().to(commonQ::add).zone(ZoneOffset.UTC), AccessLog.combined().to(combinedQ::add));
        List<String> lines = new ArrayList<>();
        List<String> combined = new ArrayList<>();
        send("GET", "/api/data?x=1");
        lines.add(commonQ.poll(5, TimeUnit.SECONDS));
        combined.add(combinedQ.poll(5, TimeUnit.SECONDS));
        send("POST", "/api/fail", "Content-Length: 0");
        lines.add(commonQ.poll(5, TimeUnit.SECONDS));
        combined.add(combinedQ.poll(5, TimeUnit.SECONDS));
        send("GET", "/nowhere", "User-Agent: evil\"agent", "Referer: http://ref.example/");
        lines.add(commonQ.poll(5, TimeUnit.SECONDS));
        combined.add(combinedQ.poll(5, TimeUnit.SECONDS));
        assertTrue(commonQ.isEmpty() && combinedQ.isEmpty(), "one line per request");
        String l = lines.get(0);
        assertTrue(l.matches("127\\.0\\.0\\.1 - - \\[\\d\\d/\\w{3}/\\d{4}:\\d\\d:\\d\\d:\\d\\d \\+0000] \"GET /api/data\\?x=1 HTTP/1\\.1\" 200 (-|\\d+)"), l);
        assertTrue(lines.get(1).contains("\"POST /api/fail HTTP/1.1\" 409 "), lines.get(1));
        assertTrue(lines.get(2).contains("\"GET /nowhere HTTP/1.1\" 404 "), lines.get(2));
        assertTrue(combined.get(2).endsWith("\"http://ref.example/\" \"evil\\\"agent\""), combined.get(2));
        assertTrue(combined.get(0).endsWith("\"-\" \"-\""), combined.get(0));
    }
}
