package io.jhv.http.client;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * {@code Keep-Alive: max=N}: the server takes only so many more requests on a connection. The
 * servers here close after their quota and count any request that still arrives on a spent
 * connection (they read it and close without an answer, as a server that already decided to close
 * does): the pool must retire the connection instead, so no call fails or is retried.
 */
@Timeout(30)
class PoolKeepAliveMaxTest {
    final List<AutoCloseable> closeables = new ArrayList<>();
    final HttpClient client = HttpClient.builder().retryPolicy(RetryPolicy.none()).build();
    final AtomicInteger violations = new AtomicInteger();

    @AfterEach
    void close() throws Exception {
        client.close();
        for (AutoCloseable c : closeables) c.close();
    }

    /**
     * Serves {@code quota} requests per connection, the k-th answered with {@code Keep-Alive:
     * timeout=5, max=quota-k+1} (so the last says max=1), then waits to see whether the client
     * sends one more before it closes; without {@code announce}, no Keep-Alive header.
     */
    RawServer quotaServer(int quota, boolean announce) throws Exception {
        RawServer s = new RawServer(c -> {
            for (int k = 1; k <= quota; k++) {
                String head = c.readHead();
                if (head == null) return;
                c.readBody(head);
                String body = "conn " + c.index + " req " + k;
                c.write("HTTP/1.1 200 OK\r\nContent-Length: " + body.length() + "\r\n"
                        + (announce ? "Keep-Alive: timeout=5, max=" + (quota - k + 1) + "\r\n" : "") + "\r\n" + body);
            }
            // Spent: a request now would cross our close on the wire. Count it, answer nothing.
            c.s.setSoTimeout(300);
            try {
                if (c.readHead() != null) violations.incrementAndGet();
            } catch (java.net.SocketTimeoutException quiet) {
                // the client retired the connection (or just kept it idle): fine
            }
        });
        closeables.add(s);
        return s;
    }

    @Test
    void theConnectionIsRetiredAfterTheAnnouncedMax() throws Exception {
        RawServer s = quotaServer(3, true);
        Set<String> seen = ConcurrentHashMap.newKeySet();
        for (int i = 0; i < 20; i++) {
            // POSTs too: a non-idempotent request on a spent connection could not be retried
            HttpRequest req = i % 2 == 0 ? HttpRequest.get(s.url("/" + i)).build() : HttpRequest.post(s.url("/" + i)).body("x" + i).build();
            HttpResponse r = client.send(req);
            assertEquals(200, r.status());
            seen.add(r.bodyString());
        }
        assertEquals(20, seen.size(), "every answer from a distinct (connection, request) slot");
        assertEquals(0, violations.get(), "requests sent on a connection past its Keep-Alive max");
        assertEquals(20, s.requests.get());
        assertEquals(7, s.connections.get(), "3 requests per connection: ceil(20 / 3)");
    }

    @Test
    void theCallbackFormRetiresItToo() throws Exception {
        RawServer s = quotaServer(2, true);
        HttpRequest req = HttpRequest.get(s.url("/cb")).build();
        for (int i = 0; i < 9; i++) {
            CompletableFuture<Integer> status = new CompletableFuture<>();
            client.send(req, new ResponseCallback() {
                @Override
                public void onResponse(ResponseView response) { status.complete(response.status()); }

                @Override
                public void onFailure(HttpRequest request, Throwable error) { status.completeExceptionally(error); }
            });
            assertEquals(200, status.get(10, TimeUnit.SECONDS));
        }
        assertEquals(0, violations.get());
        assertEquals(9, s.requests.get());
        assertEquals(5, s.connections.get());
    }

    @Test
    void maxZeroAndMaxOneMeanThisWasTheLast() throws Exception {
        for (String max : new String[] {"0", "1"}) {
            AtomicInteger extra = new AtomicInteger();
            RawServer s = new RawServer(c -> {
                String head = c.readHead();
                if (head == null) return;
                c.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nKeep-Alive: timeout=5, max=" + max + "\r\n\r\nok");
                c.s.setSoTimeout(300);
                try {
                    if (c.readHead() != null) extra.incrementAndGet();
                } catch (java.net.SocketTimeoutException quiet) {
                    // retired
                }
            });
            closeables.add(s);
            for (int i = 0; i < 4; i++) assertEquals("ok", client.get(s.url("/")).bodyString());
            assertEquals(0, extra.get(), "max=" + max);
            assertEquals(4, s.connections.get(), "max=" + max + ": a connection per request");
        }
    }

    /** The control: without the header the same server's connections are reused, and the test server does catch an overrun. */
    @Test
    void withoutTheHeaderTheConnectionIsReusedAndTheServerCatchesTheOverrun() throws Exception {
        RawServer s = quotaServer(3, false);
        for (int i = 0; i < 3; i++) assertEquals(200, client.get(s.url("/")).status());
        HttpClientException e = org.junit.jupiter.api.Assertions.assertThrows(HttpClientException.class, () -> client.get(s.url("/")));
        assertEquals(1, s.connections.get(), "one connection for the first three: " + e);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (violations.get() == 0 && System.nanoTime() < deadline) Thread.sleep(10);
        assertEquals(1, violations.get(), "the fourth request went to the spent connection");
    }
}
