package io.jhv.http.client;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A RetryPolicy that always says yes is capped at {@link RetryPolicy#MAX_ATTEMPTS} and by the call deadline. */
@Timeout(30)
class RetryCapTest {
    final List<AutoCloseable> closeables = new ArrayList<>();
    final AtomicInteger asked = new AtomicInteger();
    final RetryPolicy always = f -> {
        asked.incrementAndGet();
        return true;
    };

    @AfterEach
    void close() throws Exception {
        for (AutoCloseable c : closeables) c.close();
    }

    /** Reads each request head and resets the connection (RST) without an answer. */
    RawServer resetter() throws Exception {
        RawServer s = new RawServer(c -> {
            if (c.readHead() == null) return;
            c.s.setSoLinger(true, 0);
        });
        closeables.add(s);
        return s;
    }

    @Test
    void anAlwaysRetryPolicyStopsAfterTheCapWithTheLastError() throws Exception {
        RawServer s = resetter();
        try (HttpClient client = HttpClient.builder().retryPolicy(always).build()) {
            long t0 = System.nanoTime();
            // a POST too: the policy, not the method, decides, and the cap holds for both
            for (HttpRequest req : List.of(HttpRequest.get(s.url("/a")).build(), HttpRequest.post(s.url("/b")).body("x").build())) {
                asked.set(0);
                int before = s.requests.get();
                ExecutionException e = assertThrows(ExecutionException.class, () -> client.sendAsync(req).get(20, TimeUnit.SECONDS));
                ConnectionClosedException last = assertInstanceOf(ConnectionClosedException.class, e.getCause(), () -> "got " + e.getCause());
                assertEquals(RetryPolicy.MAX_ATTEMPTS, s.requests.get() - before, "requests the server saw for " + req);
                assertEquals(RetryPolicy.MAX_ATTEMPTS, asked.get(), "the policy is asked after each failed attempt");
                assertTrue(java.util.Arrays.stream(last.getSuppressed()).anyMatch(x -> x.getMessage().contains("MAX_ATTEMPTS")),
                        "says why it stopped: " + java.util.Arrays.toString(last.getSuppressed()));
            }
            assertTrue(System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(10), "bounded time");
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (client.stats().open() != 0 && System.nanoTime() < deadline) Thread.sleep(10);
            assertEquals(new PoolStats(0, 0, 0, 0), client.stats());
        }
    }

    @Test
    void theCallbackFormIsCappedToo() throws Exception {
        RawServer s = resetter();
        try (HttpClient client = HttpClient.builder().retryPolicy(always).build()) {
            CompletableFuture<Throwable> failure = new CompletableFuture<>();
            client.send(HttpRequest.get(s.url("/cb")).build(), new ResponseCallback() {
                @Override
                public void onResponse(ResponseView response) { failure.completeExceptionally(new AssertionError(response.toString())); }

                @Override
                public void onFailure(HttpRequest request, Throwable error) { failure.complete(error); }
            });
            assertInstanceOf(ConnectionClosedException.class, failure.get(20, TimeUnit.SECONDS));
            assertEquals(RetryPolicy.MAX_ATTEMPTS, s.requests.get());
        }
    }

    /**
     * A server that answers each attempt with a reset only after 150 ms: ten attempts would take
     * 1.5 s, but a 400 ms call deadline ends the call after about three, with the deadline's
     * error, and no attempt starts after it.
     */
    @Test
    void theCallDeadlineStopsTheRetries() throws Exception {
        RawServer s = new RawServer(c -> {
            if (c.readHead() == null) return;
            Thread.sleep(150); // a slow failure is the point of this server
            c.s.setSoLinger(true, 0);
        });
        closeables.add(s);
        try (HttpClient client = HttpClient.builder().retryPolicy(always).callTimeout(Duration.ofMillis(400)).build()) {
            long t0 = System.nanoTime();
            ExecutionException e = assertThrows(ExecutionException.class, () -> client.sendAsync(HttpRequest.get(s.url("/slow")).build()).get(20, TimeUnit.SECONDS));
            long ms = (System.nanoTime() - t0) / 1_000_000;
            HttpTimeoutException t = assertInstanceOf(HttpTimeoutException.class, e.getCause(), () -> "got " + e.getCause());
            assertEquals(HttpTimeoutException.Phase.CALL, t.phase());
            assertTrue(ms < 3000, "took " + ms + " ms");
            int seen = s.requests.get();
            assertTrue(seen >= 1 && seen <= 4, "attempts within the deadline: " + seen);
            Thread.sleep(500); // nothing may start after the call ended: give a stray attempt time to show
            assertEquals(seen, s.requests.get(), "an attempt after the deadline");
        }
    }
}
