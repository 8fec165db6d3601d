package io.jhv.http.server;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The access log line carries the final status and body size, also for deferred and streamed answers. */
@Timeout(20)
class AccessLogDoneTest {
    @Test
    void deferredStreamedAndFailingResponsesAreLoggedWhenDone() throws Exception {
        BlockingQueue<String> lines = new LinkedBlockingQueue<>();
        HttpServer server = HttpServer.create("127.0.0.1", 0).threads(1)
                .use(AccessLog.common().to(lines::add))
                .get("/later", (req, res) -> {
                    res.defer();
                    req.loop().setTimeout(50, () -> res.status(201).text("made it"));
                })
                .get("/stream", (req, res) -> {
                    Response.ChunkedWriter w = res.stream();
                    w.write("abc");
                    w.write("defg");
                    w.close();
                })
                .get("/boom", (req, res) -> { throw new IllegalStateException("boom"); })
                .start();
        try (HttpClient client = HttpClient.newHttpClient()) {
            String base = "http://127.0.0.1:" + server.port();
            assertEquals(201, client.send(HttpRequest.newBuilder(URI.create(base + "/later")).build(), HttpResponse.BodyHandlers.ofString()).statusCode());
            String later = lines.poll(5, TimeUnit.SECONDS);
            assertTrue(later.endsWith("\"GET /later HTTP/1.1\" 201 7"), later);
            client.send(HttpRequest.newBuilder(URI.create(base + "/stream")).build(), HttpResponse.BodyHandlers.ofString());
            String stream = lines.poll(5, TimeUnit.SECONDS);
            assertTrue(stream.endsWith("\"GET /stream HTTP/1.1\" 200 7"), stream);
            assertEquals(500, client.send(HttpRequest.newBuilder(URI.create(base + "/boom")).build(), HttpResponse.BodyHandlers.ofString()).statusCode());
            String boom = lines.poll(5, TimeUnit.SECONDS);
            assertTrue(boom.endsWith("\"GET /boom HTTP/1.1\" 500 21"), boom);
        } finally {
            server.close();
        }
    }
}
