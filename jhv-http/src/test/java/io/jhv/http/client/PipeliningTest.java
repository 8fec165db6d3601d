package io.jhv.http.client;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Opt-in pipelining of body-less GET/HEAD: requests go out before earlier responses, answers come back in order. */
@Timeout(20)
class PipeliningTest {

    static String ok(String body) {
        return "HTTP/1.1 200 OK\r\nContent-Length: " + body.length() + "\r\n\r\n" + body;
    }

    static String path(String head) {
        return head.substring(head.indexOf(' ') + 1, head.indexOf(" HTTP/"));
    }

    @Test
    void fourGetsGoOutBeforeTheFirstAnswer() throws Exception {
        // The server reads four requests before it answers any: without pipelining this never ends.
        try (RawServer s = new RawServer(c -> {
            while (true) {
                List<String> paths = new ArrayList<>();
                for (int i = 0; i < 4; i++) {
                    String h = c.readHead();
                    if (h == null) return;
                    paths.add(path(h));
                }
                StringBuilder out = new StringBuilder();
                for (String p : paths) out.append(ok(p));
                c.write(out.toString());
            }
        }); HttpClient client = HttpClient.builder().pipelining(4).maxConnectionsPerHost(1).build()) {
            List<CompletableFuture<HttpResponse>> fs = new ArrayList<>();
            for (int i = 0; i < 8; i++) fs.add(client.getAsync(s.url("/r" + i)));
            for (int i = 0; i < 8; i++) assertEquals("/r" + i, fs.get(i).get(5, TimeUnit.SECONDS).bodyString());
            assertEquals(1, s.connections.get());
            assertEquals(0, client.stats().acquired());
        }
    }

    @Test
    void requestsQueuedBehindABrokenResponseAreRetriedOnAFreshConnection() throws Exception {
        try (RawServer s = new RawServer(c -> {
            if (c.index == 1) {
                List<String> paths = new ArrayList<>();
                for (int i = 0; i < 3; i++) paths.add(path(c.readHead()));
                c.write(ok(paths.get(0))); // answers the first, then drops the rest
                return;
            }
            String h;
            while ((h = c.readHead()) != null) c.write(ok(path(h)));
        }); HttpClient client = HttpClient.builder().pipelining(3).maxConnectionsPerHost(1).build()) {
            List<CompletableFuture<HttpResponse>> fs = new ArrayList<>();
            for (int i = 0; i < 3; i++) fs.add(client.getAsync(s.url("/q" + i)));
            for (int i = 0; i < 3; i++) assertEquals("/q" + i, fs.get(i).get(5, TimeUnit.SECONDS).bodyString());
            assertEquals(2, s.connections.get());
            assertEquals(5, s.requests.get(), "the two lost requests went again, once each");
        }
    }

    @Test
    void aPostIsNeverPipelined() throws Exception {
        try (RawServer s = new RawServer(c -> {
            String h;
            while ((h = c.readHead()) != null) {
                c.readBody(h);
                c.write(ok(h.substring(0, h.indexOf(' '))));
            }
        }); HttpClient client = HttpClient.builder().pipelining(4).maxConnectionsPerHost(1).build()) {
            CompletableFuture<HttpResponse> get = client.getAsync(s.url("/g"));
            CompletableFuture<HttpResponse> post = client.sendAsync(HttpRequest.post(s.url("/p")).body("x").build());
            assertEquals("GET", get.get(5, TimeUnit.SECONDS).bodyString());
            assertEquals("POST", post.get(5, TimeUnit.SECONDS).bodyString());
            assertTrue(client.stats().pending() == 0);
        }
    }
}
