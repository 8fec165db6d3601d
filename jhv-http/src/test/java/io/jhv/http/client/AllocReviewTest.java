package io.jhv.http.client;

import io.jhv.core.buffer.Buffer;
import io.jhv.core.loop.EventLoop;
import io.jhv.core.loop.EventLoopGroup;
import io.jhv.http.server.HttpServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Adversarial review of the allocation-free callback form ({@link HttpClient#send(HttpRequest,
 * ResponseCallback)}): the recycled Call state, the borrowed view and body, the per-loop deadline
 * list, and {@link HttpClient.Builder#dns}. Real sockets on 127.0.0.1: the jhv server and
 * hand-written {@link RawServer}s.
 */
@Timeout(120)
class AllocReviewTest extends ClientsClosedAfterEach {
    static HttpServer server;
    static final byte[] FOUR_MB = new byte[4_000_000];

    @BeforeAll
    static void start() {
        server = HttpServer.create("127.0.0.1", 0).threads(1)
                .get("/n/:n", (req, res) -> res.header("X-N", req.pathParam("n")).text("n=" + req.pathParam("n")))
                .get("/go", (req, res) -> res.redirect(req.queryParam("to")))
                .start();
    }

    @AfterAll
    static void stop() {
        server.close();
    }


    static String url(String path) {
        return "http://127.0.0.1:" + server.port() + path;
    }

    static void await(BooleanSupplier cond, long ms, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(ms);
        while (!cond.getAsBoolean()) {
            if (System.nanoTime() > deadline) throw new AssertionError("timed out waiting: " + what);
            Thread.sleep(5); // polling with a deadline
        }
    }

    static void assertPoolAtRest(HttpClient c) throws InterruptedException {
        await(() -> c.stats().acquired() == 0 && c.stats().pending() == 0, 10_000, "pool at rest: " + c.stats());
    }

    /** Copies what the view shows while it is valid; one outcome per call (a second one is recorded). */
    static final class One implements ResponseCallback {
        final CompletableFuture<String> done = new CompletableFuture<>();
        final AtomicInteger outcomes = new AtomicInteger();
        volatile Thread thread;

        @Override
        public void onResponse(ResponseView r) {
            outcomes.incrementAndGet();
            thread = Thread.currentThread();
            done.complete(r.status() + " " + r.bodyString());
        }

        @Override
        public void onFailure(HttpRequest request, Throwable error) {
            outcomes.incrementAndGet();
            thread = Thread.currentThread();
            done.completeExceptionally(error);
        }

        Throwable failure(long ms) throws Exception {
            try {
                String s = done.get(ms, TimeUnit.MILLISECONDS);
                throw new AssertionError("the call succeeded: " + s);
            } catch (ExecutionException e) {
                return e.getCause();
            }
        }
    }

    // ------------------------------------------------------------------ the borrowed view

    /**
     * Was a DEFECT: a view kept past its callback was not detected. After onResponse returned, the
     * kept view still answered status() (200), answered request() with null (the recycled Call
     * dropped its hop) and toString() threw NullPointerException; the kept body buffer showed the
     * next response's bytes. Now every accessor of a view whose onResponse has returned throws
     * IllegalStateException, toString() says it is no longer valid, and the kept body Buffer reads
     * as empty. (A later call may get the same view object, LIFO recycling: it is then that
     * call's live view, which without allocating a view per call cannot be told from a stale one;
     * the reviewer's first version of this test asked for that, which the fix cannot give.)
     */
    @Test
    void aViewKeptPastItsCallbackFailsLoudly() throws Exception {
        HttpClient c = client(HttpClient.builder());
        AtomicReference<ResponseView> kept = new AtomicReference<>();
        AtomicReference<Buffer> keptBody = new AtomicReference<>();
        CompletableFuture<String> seenBetween = new CompletableFuture<>();
        CompletableFuture<String> seenDuringSecond = new CompletableFuture<>();
        ResponseCallback second = new ResponseCallback() {
            @Override public void onResponse(ResponseView r) {
                String seen = r.header("X-N") + " " + r.bodyString();
                // completed once this callback has returned (the view is no longer live then)
                EventLoop.current().execute(() -> seenDuringSecond.complete(seen));
            }
            @Override public void onFailure(HttpRequest request, Throwable error) { seenDuringSecond.completeExceptionally(error); }
        };
        HttpRequest req2 = HttpRequest.get(url("/n/2")).build();
        c.send(HttpRequest.get(url("/n/1")).build(), new ResponseCallback() {
            @Override public void onResponse(ResponseView r) {
                kept.set(r);
                keptBody.set(r.body());
                // once this callback has returned: the kept view must refuse, then the next call
                // (which takes the same recycled Call: the free list is LIFO)
                EventLoop.current().execute(() -> {
                    ResponseView stale = kept.get();
                    List<String> answered = new ArrayList<>();
                    List<Runnable> uses = List.of(stale::status, () -> stale.header("X-N"), stale::request, stale::body,
                            stale::bodyString, stale::toResponse, stale::headerCount, stale::isSuccessful);
                    for (int i = 0; i < uses.size(); i++) {
                        try {
                            uses.get(i).run();
                            answered.add("use " + i + " answered");
                        } catch (IllegalStateException expected) {
                            // refused
                        } catch (RuntimeException e) {
                            answered.add("use " + i + ": " + e);
                        }
                    }
                    String text = stale.toString(); // never throws
                    seenBetween.complete(answered + " " + keptBody.get().readableBytes() + " " + text.contains("no longer valid"));
                    c.send(req2, second);
                });
            }
            @Override public void onFailure(HttpRequest request, Throwable error) { seenDuringSecond.completeExceptionally(error); }
        });
        assertEquals("[] 0 true", seenBetween.get(10, TimeUnit.SECONDS),
                "a view used after its callback: accessors that answered, the kept body's readable bytes, toString says so");
        assertEquals("2 n=2", seenDuringSecond.get(10, TimeUnit.SECONDS));
        assertThrows(IllegalStateException.class, kept.get()::status, "a view used after its callback must fail, not answer");
    }

    // ------------------------------------------------------------------ memory

    private static long usedHeapAfterGc() throws InterruptedException {
        long used = Long.MAX_VALUE;
        for (int i = 0; i < 4; i++) {
            System.gc();
            Thread.sleep(50);
            used = Math.min(used, Runtime.getRuntime().totalMemory() - Runtime.getRuntime().freeMemory());
        }
        return used;
    }

    /**
     * DEFECT: the free list keeps each recycled Call's body buffer at whatever size its last
     * response needed (the cap RECYCLED_SINK is applied only when a Call is reused, and LIFO
     * reuse never reaches the deeper ones). One burst of 32 concurrent 4 MB responses leaves
     * ~128 MB pinned for the life of the client, and small calls afterwards do not give it back.
     * With 1,024 free Calls and maxResponseBody 64 MB the bound is tens of GB.
     */
    @Test
    void aBurstOfBigResponsesDoesNotPinMemoryInTheFreeList() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        try (RawServer big = new RawServer(conn -> {
            while (conn.readHead() != null) {
                conn.write("HTTP/1.1 200 OK\r\nContent-Length: " + FOUR_MB.length + "\r\n\r\n");
                conn.write(FOUR_MB);
            }
        })) {
            HttpClient c = client(HttpClient.builder().maxConnectionsPerHost(32));
            HttpRequest small = HttpRequest.get(url("/n/0")).build();
            One warm = new One();
            c.send(small, warm);
            warm.done.get(10, TimeUnit.SECONDS);
            long before = usedHeapAfterGc();

            int n = 32;
            CountDownLatch all = new CountDownLatch(n);
            AtomicInteger ok = new AtomicInteger();
            ResponseCallback cb = new ResponseCallback() {
                @Override public void onResponse(ResponseView r) {
                    if (r.body().readableBytes() == FOUR_MB.length) ok.incrementAndGet();
                    all.countDown();
                }
                @Override public void onFailure(HttpRequest request, Throwable error) { all.countDown(); }
            };
            HttpRequest req = HttpRequest.get(big.url("/big")).build();
            for (int i = 0; i < n; i++) c.send(req, cb);
            assertTrue(all.await(60, TimeUnit.SECONDS));
            assertEquals(n, ok.get());
            // small calls afterwards: the steady state of a long-lived client
            for (int i = 0; i < 50; i++) {
                One o = new One();
                c.send(small, o);
                o.done.get(10, TimeUnit.SECONDS);
            }
            long retained = usedHeapAfterGc() - before;
            assertTrue(retained < (32L << 20), "the client still pins " + (retained >> 20) + " MB after the burst ("
                    + c.stats() + ")");
        } finally {
            release.countDown();
        }
    }

    // ------------------------------------------------------------------ deadlines

    /** Holds: a call whose deadline passes while it waits for a connection leaves the queue and fails once; the pool comes back to rest. */
    @Test
    void aDeadlineFiringWhileQueuedForAConnectionEndsTheCallOnce() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        try (RawServer hang = new RawServer(conn -> {
            String h;
            while ((h = conn.readHead()) != null) {
                if (h.contains("/hang")) release.await();
                conn.write(HostileServerTest.OK);
            }
        })) {
            HttpClient c = client(HttpClient.builder().maxConnectionsPerHost(1).callTimeout(Duration.ofMillis(1500)));
            One holder = new One();
            c.send(HttpRequest.get(hang.url("/hang")).build(), holder);
            await(() -> c.stats().acquired() == 1, 5000, "the only connection busy");
            One queued = new One();
            long t0 = System.nanoTime();
            c.send(HttpRequest.get(hang.url("/q")).timeout(Duration.ofMillis(200)).build(), queued);
            await(() -> c.stats().pending() == 1 || queued.done.isDone(), 5000, "queued");
            HttpTimeoutException t = assertInstanceOf(HttpTimeoutException.class, queued.failure(5000));
            long ms = (System.nanoTime() - t0) / 1_000_000;
            assertEquals(HttpTimeoutException.Phase.CALL, t.phase());
            assertTrue(ms >= 190 && ms < 1400, "fired after " + ms + " ms");
            assertEquals(0, c.stats().pending(), "left the queue: " + c.stats());
            HttpTimeoutException h = assertInstanceOf(HttpTimeoutException.class, holder.failure(5000));
            assertEquals(HttpTimeoutException.Phase.CALL, h.phase());
            assertPoolAtRest(c);
            One after = new One();
            c.send(HttpRequest.get(hang.url("/ok")).build(), after);
            assertEquals("200 ok", after.done.get(5, TimeUnit.SECONDS));
            assertEquals(1, holder.outcomes.get());
            assertEquals(1, queued.outcomes.get());
        } finally {
            release.countDown();
        }
    }

    /**
     * Holds: 10,000 calls with random deadlines (50..3000 ms) against a server with random
     * delays and 16 connections: many expire in the pending queue, many in flight, the rest
     * succeed, in no particular order; every tenth expired one sends a follow-up from inside
     * onFailure (added to the deadline list while it is being walked). Every call hears exactly
     * one outcome, a success carries its own body, a timeout never fires early nor very late,
     * and the pool comes back to rest.
     */
    @Test
    void tenThousandCallsWithDeadlinesInAnyOrderEachEndOnceAndOnTime() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        try (RawServer s = new RawServer(conn -> {
            String h;
            while ((h = conn.readHead()) != null) {
                String path = h.substring(h.indexOf(' ') + 1, h.indexOf(' ', h.indexOf(' ') + 1));
                String[] p = path.split("/"); // "", "d", ms, id
                long ms = Long.parseLong(p[2]);
                if (ms > 0 && release.await(ms, TimeUnit.MILLISECONDS)) return;
                conn.write("HTTP/1.1 200 OK\r\nContent-Length: " + p[3].length() + "\r\n\r\n" + p[3]);
            }
        })) {
            HttpClient c = client(HttpClient.builder().maxConnectionsPerHost(16).maxPendingAcquires(20_000)
                    .acquireTimeout(Duration.ofSeconds(60)).retryPolicy(RetryPolicy.none()));
            int n = 10_000;
            ThreadLocalRandom rnd = ThreadLocalRandom.current();
            HttpRequest[] reqs = new HttpRequest[n];
            long[] timeoutMs = new long[n];
            for (int i = 0; i < n; i++) {
                timeoutMs[i] = 50 + rnd.nextInt(2950);
                int delay = rnd.nextInt(100) < 97 ? rnd.nextInt(3) : 50 + rnd.nextInt(2000);
                reqs[i] = HttpRequest.get(s.url("/d/" + delay + "/" + i)).timeout(Duration.ofMillis(timeoutMs[i])).build();
            }
            AtomicIntegerArray outcomes = new AtomicIntegerArray(n);
            long[] sentAt = new long[n];
            List<String> wrong = new CopyOnWriteArrayList<>();
            AtomicInteger timeouts = new AtomicInteger(), successes = new AtomicInteger();
            AtomicInteger followUps = new AtomicInteger();
            AtomicInteger followUpOutcomes = new AtomicInteger();
            CountDownLatch all = new CountDownLatch(n);
            ResponseCallback followUp = new ResponseCallback() {
                @Override public void onResponse(ResponseView r) { followUpOutcomes.incrementAndGet(); }
                @Override public void onFailure(HttpRequest request, Throwable error) { followUpOutcomes.incrementAndGet(); }
            };
            final class Cb implements ResponseCallback {
                final int i;
                Cb(int i) { this.i = i; }

                @Override
                public void onResponse(ResponseView r) {
                    if (outcomes.incrementAndGet(i) != 1) wrong.add(i + ": a second outcome (response)");
                    String body = r.body().toString(StandardCharsets.US_ASCII);
                    if (!body.equals(String.valueOf(i)) || r.request() != reqs[i]) wrong.add(i + ": got body " + body + " for " + r.request());
                    successes.incrementAndGet();
                    all.countDown();
                }

                @Override
                public void onFailure(HttpRequest request, Throwable error) {
                    long ms = (System.nanoTime() - sentAt[i]) / 1_000_000;
                    if (outcomes.incrementAndGet(i) != 1) wrong.add(i + ": a second outcome (" + error + ")");
                    if (request != reqs[i]) wrong.add(i + ": failure names another request " + request);
                    if (!(error instanceof HttpTimeoutException t) || t.phase() != HttpTimeoutException.Phase.CALL) {
                        wrong.add(i + ": " + error);
                    } else {
                        timeouts.incrementAndGet();
                        if (ms < timeoutMs[i] - 5) wrong.add(i + ": timeout of " + timeoutMs[i] + " ms fired after " + ms + " ms");
                        if (ms > timeoutMs[i] + 5000) wrong.add(i + ": timeout of " + timeoutMs[i] + " ms fired late, after " + ms + " ms");
                        if (i % 10 == 0 && followUps.get() < n / 10) {
                            followUps.incrementAndGet();
                            c.send(HttpRequest.get(s.url("/d/60000/f" + i)).timeout(Duration.ofMillis(1 + i % 7)).build(), followUp);
                        }
                    }
                    all.countDown();
                }
            }
            for (int i = 0; i < n; i++) {
                sentAt[i] = System.nanoTime();
                c.send(reqs[i], new Cb(i));
            }
            assertTrue(all.await(90, TimeUnit.SECONDS), "outcomes missing: " + all.getCount() + " of " + n + " " + c.stats());
            await(() -> followUpOutcomes.get() == followUps.get(), 20_000, "follow-ups " + followUpOutcomes.get() + "/" + followUps.get());
            // one more call through the same pool: any late second outcome would show by now
            One last = new One();
            c.send(HttpRequest.get(s.url("/d/0/last")).build(), last);
            assertEquals("200 last", last.done.get(10, TimeUnit.SECONDS));
            for (int i = 0; i < n; i++) if (outcomes.get(i) != 1) wrong.add(i + ": " + outcomes.get(i) + " outcomes");
            assertEquals(List.of(), wrong.size() > 20 ? wrong.subList(0, 20) : wrong, wrong.size() + " wrong");
            assertEquals(n, timeouts.get() + successes.get());
            assertTrue(timeouts.get() > 100 && successes.get() > 100, timeouts + " timeouts, " + successes + " successes");
            assertEquals(followUps.get(), followUpOutcomes.get());
            assertPoolAtRest(c);
        } finally {
            release.countDown();
        }
    }

    /**
     * Holds: many concurrent calls redirected from the jhv server (one loop) to a raw origin on
     * the other loop, half of them hanging there: the deadlines move with the calls, each call
     * ends once, the ones that hang time out with "1 redirects followed".
     */
    @Test
    void concurrentCrossLoopRedirectsKeepTheirDeadlines() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        try (EventLoopGroup g = EventLoopGroup.create(2).start();
             RawServer b = new RawServer(conn -> {
                 String h;
                 while ((h = conn.readHead()) != null) {
                     if (h.contains("/hang")) {
                         release.await();
                         return;
                     }
                     String id = h.substring(h.indexOf("/ok/") + 4, h.indexOf(' ', h.indexOf("/ok/")));
                     conn.write("HTTP/1.1 200 OK\r\nContent-Length: " + id.length() + "\r\n\r\n" + id);
                 }
             })) {
            HttpClient c = client(HttpClient.builder().group(g).maxConnectionsPerHost(100).callTimeout(Duration.ofMillis(1500)));
            assertEquals(200, c.get(b.url("/ok/warm")).status()); // B's pool on one loop
            assertEquals(200, c.get(url("/n/0")).status());        // A's on the other
            int n = 80; // RawServer's backlog is 100: more connects at once would wait for SYN retransmits
            CountDownLatch all = new CountDownLatch(n);
            AtomicIntegerArray outcomes = new AtomicIntegerArray(n);
            List<String> wrong = new CopyOnWriteArrayList<>();
            for (int i = 0; i < n; i++) {
                int id = i;
                boolean hangs = i % 2 == 0;
                String to = hangs ? b.url("/hang/" + i) : b.url("/ok/" + i);
                c.send(HttpRequest.get(url("/go?to=" + to)).build(), new ResponseCallback() {
                    @Override public void onResponse(ResponseView r) {
                        if (outcomes.incrementAndGet(id) != 1) wrong.add(id + ": twice");
                        String body = r.body().toString(StandardCharsets.US_ASCII);
                        if (hangs || !body.equals(String.valueOf(id))) wrong.add(id + ": got " + r.status() + " " + body);
                        all.countDown();
                    }
                    @Override public void onFailure(HttpRequest request, Throwable error) {
                        if (outcomes.incrementAndGet(id) != 1) wrong.add(id + ": twice");
                        if (!hangs || !(error instanceof HttpTimeoutException t) || t.phase() != HttpTimeoutException.Phase.CALL
                                || !error.getMessage().contains("1 redirects followed")) wrong.add(id + ": " + error);
                        all.countDown();
                    }
                });
            }
            assertTrue(all.await(30, TimeUnit.SECONDS), all.getCount() + " missing");
            assertEquals(List.of(), wrong);
            assertPoolAtRest(c);
            c.close();
        } finally {
            release.countDown();
        }
    }

    /**
     * A "practically no deadline" timeout (1,000 years, or Duration.ofMillis(Long.MAX_VALUE)) on a
     * call answered after 200 ms: the callback form computes nanoTime + ms * 1_000_000, which
     * overflows, and the call fails at once with a CALL timeout. The future form is checked alongside.
     */
    @Test
    void aVeryLongTimeoutDoesNotFireAtOnce() throws Exception {
        try (RawServer s = new RawServer(conn -> {
            while (conn.readHead() != null) {
                Thread.sleep(200); // a slow server: the call must simply wait for it
                conn.write(HostileServerTest.OK);
            }
        })) {
            HttpClient c = client(HttpClient.builder());
            List<String> results = new ArrayList<>();
            for (Duration d : List.of(Duration.ofDays(365_000), Duration.ofMillis(Long.MAX_VALUE))) {
                HttpRequest r = HttpRequest.get(s.url("/slow")).timeout(d).build();
                String future;
                try {
                    future = c.sendAsync(r).get(10, TimeUnit.SECONDS).bodyString();
                } catch (ExecutionException e) {
                    future = String.valueOf(e.getCause());
                }
                One o = new One();
                c.send(r, o);
                String callback;
                try {
                    callback = o.done.get(10, TimeUnit.SECONDS);
                } catch (ExecutionException e) {
                    callback = String.valueOf(e.getCause());
                }
                results.add(d + ": future " + future + ", callback " + callback);
            }
            for (String r : results) assertTrue(r.endsWith("future ok, callback 200 ok"), results.toString());
        }
    }

    /**
     * DEFECT: Deadlines.add scans from the tail for its place: O(1) when deadlines arrive in
     * order, O(n) per insert when a new call's deadline is earlier than those already listed. The
     * common shape: most calls run under a long callTimeout and some carry a short per-request
     * timeout; each short one walks past every long one in flight. Measured: the loop time to
     * admit N calls queued behind one busy connection, with increasing deadlines, then with
     * decreasing ones (after the first batch). 40,000 + 40,000: 0.3-0.4 s vs 26-29 s of a
     * blocked loop (every connection on it stalls meanwhile).
     */
    @Test
    void admittingCallsWithShrinkingDeadlinesDoesNotStallTheLoop() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        try (EventLoopGroup g = EventLoopGroup.create(1).start();
             RawServer s = new RawServer(conn -> {
                 conn.readHead();
                 release.await();
             })) {
            HttpClient c = client(HttpClient.builder().group(g).maxConnectionsPerHost(1).maxPendingAcquires(100_000)
                    .acquireTimeout(Duration.ofMinutes(10)));
            EventLoop loop = g.loops().get(0);
            ResponseCallback ignore = new ResponseCallback() {
                @Override public void onResponse(ResponseView r) { }
                @Override public void onFailure(HttpRequest request, Throwable error) { }
            };
            int n = 20_000;
            long[] took = new long[2];
            for (int order = 0; order < 2; order++) {
                HttpRequest[] reqs = new HttpRequest[n];
                for (int i = 0; i < n; i++) {
                    long ms = order == 0 ? 500_000 + i : 500_000 - i; // increasing, then decreasing deadlines
                    reqs[i] = HttpRequest.get(s.url("/q" + order)).timeout(Duration.ofMillis(ms)).build();
                }
                int o = order;
                long t0 = System.nanoTime();
                loop.submit(() -> {
                    for (HttpRequest r : reqs) c.send(r, ignore); // on the loop: each send is admitted at once
                    took[o] = (System.nanoTime() - t0) / 1_000_000;
                    return null;
                }).get(120, TimeUnit.SECONDS);
            }
            assertTrue(took[1] < Math.max(500, took[0] * 10), "admitting " + n + " calls took " + took[0]
                    + " ms with increasing deadlines and " + took[1] + " ms with decreasing ones (the loop was blocked that long)");
        } finally {
            release.countDown();
        }
    }

    /**
     * Pool.removePending was a linear ArrayDeque.remove: 60,000 calls with short timeouts queued
     * behind 60,000 with long ones each scanned the long ones when their deadline expired (3.6e9
     * steps; measured ~1.2 s of a blocked loop). Now the queue is intrusive (O(1) removal):
     * expiring the short ones takes the loop well under 100 ms past their deadline here.
     */
    @Test
    void expiringCallsDeepInALongQueueDoNotStallTheLoop() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        try (EventLoopGroup g = EventLoopGroup.create(1).start();
             RawServer s = new RawServer(conn -> {
                 conn.readHead();
                 release.await();
             })) {
            HttpClient c = client(HttpClient.builder().group(g).maxConnectionsPerHost(1).maxPendingAcquires(100_000)
                    .acquireTimeout(Duration.ofMinutes(10)));
            EventLoop loop = g.loops().get(0);
            int n = 60_000;
            CountDownLatch shortOnes = new CountDownLatch(n);
            ResponseCallback ignore = new ResponseCallback() {
                @Override public void onResponse(ResponseView r) { }
                @Override public void onFailure(HttpRequest request, Throwable error) { }
            };
            ResponseCallback counted = new ResponseCallback() {
                @Override public void onResponse(ResponseView r) { }
                @Override public void onFailure(HttpRequest request, Throwable error) { shortOnes.countDown(); }
            };
            HttpRequest longer = HttpRequest.get(s.url("/long")).timeout(Duration.ofMinutes(5)).build();
            HttpRequest shorter = HttpRequest.get(s.url("/short")).timeout(Duration.ofMillis(300)).build();
            long[] admitted = new long[1];
            loop.submit(() -> {
                for (int i = 0; i < n; i++) c.send(longer, ignore); // the first takes the only connection
                for (int i = 0; i < n; i++) c.send(shorter, counted);
                admitted[0] = System.nanoTime();
                return null;
            }).get(60, TimeUnit.SECONDS);
            assertTrue(shortOnes.await(60, TimeUnit.SECONDS));
            long ms = (System.nanoTime() - admitted[0]) / 1_000_000 - 300;
            assertTrue(ms < 400, "expiring " + n + " queued calls behind " + n + " others took the loop ~" + ms + " ms");
            await(() -> c.stats().pending() == n - 1, 5000, "the long ones still wait: " + c.stats());
        } finally {
            release.countDown();
        }
    }

    // ------------------------------------------------------------------ retries, sharing, mixing

    /** Holds: a connection closed mid-body is retried on a fresh one and the view shows only the second, whole body. */
    @Test
    void aConnectionClosedMidBodyNeverMixesTwoAttempts() throws Exception {
        try (RawServer s = new RawServer(conn -> {
            conn.readHead();
            if (conn.index == 1) {
                conn.write("HTTP/1.1 200 OK\r\nContent-Length: 10\r\nX-Try: 1\r\n\r\nAAAAA");
                return; // closes mid-body
            }
            conn.write("HTTP/1.1 200 OK\r\nContent-Length: 10\r\nX-Try: 2\r\n\r\nBBBBBBBBBB");
            conn.readHead();
        })) {
            HttpClient c = client(HttpClient.builder());
            CompletableFuture<String> got = new CompletableFuture<>();
            c.send(HttpRequest.get(s.url("/x")).build(), new ResponseCallback() {
                @Override public void onResponse(ResponseView r) {
                    got.complete(r.header("X-Try") + " " + r.body().toString(StandardCharsets.US_ASCII));
                }
                @Override public void onFailure(HttpRequest request, Throwable error) { got.complete("failed " + error); }
            });
            String r = got.get(10, TimeUnit.SECONDS);
            assertTrue(r.equals("2 BBBBBBBBBB") || r.startsWith("failed "), r);
            assertPoolAtRest(c);
        }
    }

    /**
     * Holds: the same request objects sent at once from 8 threads (each thread its own request,
     * plus one request shared by all): every view names the request it answers and shows that
     * request's body.
     */
    @Test
    void theSameRequestsSentFromManyThreadsAtOnceEachSeeTheirOwnResponse() throws Exception {
        HttpClient c = client(HttpClient.builder().maxPendingAcquires(10_000));
        int threads = 8, per = 300;
        HttpRequest shared = HttpRequest.get(url("/n/shared")).build();
        CountDownLatch all = new CountDownLatch(threads * per * 2);
        List<String> wrong = new CopyOnWriteArrayList<>();
        CountDownLatch go = new CountDownLatch(1);
        List<Thread> ts = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            HttpRequest own = HttpRequest.get(url("/n/" + t)).build();
            String want = "n=" + t;
            ResponseCallback check = new ResponseCallback() {
                @Override public void onResponse(ResponseView r) {
                    String expect = r.request() == own ? want : r.request() == shared ? "n=shared" : null;
                    String body = r.body().toString(StandardCharsets.UTF_8);
                    if (expect == null || !expect.equals(body) || !expect.substring(2).equals(r.header("X-N"))) {
                        wrong.add(r.request() + " -> " + body + " / " + r.header("X-N"));
                    }
                    all.countDown();
                }
                @Override public void onFailure(HttpRequest request, Throwable error) {
                    wrong.add(request + ": " + error);
                    all.countDown();
                }
            };
            ts.add(Thread.ofPlatform().start(() -> {
                try {
                    go.await();
                } catch (InterruptedException e) {
                    return;
                }
                for (int i = 0; i < per; i++) {
                    c.send(own, check);
                    c.send(shared, check);
                }
            }));
        }
        go.countDown();
        for (Thread t : ts) t.join();
        assertTrue(all.await(60, TimeUnit.SECONDS), all.getCount() + " missing " + c.stats());
        assertEquals(List.of(), wrong.size() > 20 ? wrong.subList(0, 20) : wrong);
        assertPoolAtRest(c);
    }

    /**
     * Holds: futures (pipelined, depth 4) and callbacks interleaved on one pool of 2 connections
     * from 4 threads: every answer goes to its own caller; the pool comes back to rest.
     */
    @Test
    void futuresAndCallbacksInterleavedOnOnePipelinedPoolEachGetTheirOwnAnswer() throws Exception {
        HttpClient c = client(HttpClient.builder().maxConnectionsPerHost(2).pipelining(4).maxPendingAcquires(5000));
        int threads = 4, per = 400;
        List<String> wrong = new CopyOnWriteArrayList<>();
        CountDownLatch callbacks = new CountDownLatch(threads * per / 2);
        List<CompletableFuture<HttpResponse>> futures = new CopyOnWriteArrayList<>();
        List<Thread> ts = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            int base = t * per;
            ts.add(Thread.ofPlatform().start(() -> {
                for (int i = base; i < base + per; i++) {
                    HttpRequest r = HttpRequest.get(url("/n/" + i)).build();
                    if (i % 2 == 0) {
                        futures.add(c.sendAsync(r));
                        continue;
                    }
                    String want = "n=" + i;
                    c.send(r, new ResponseCallback() {
                        @Override public void onResponse(ResponseView v) {
                            String body = v.body().toString(StandardCharsets.UTF_8);
                            if (!want.equals(body) || v.request() != r) wrong.add(want + " got " + body);
                            callbacks.countDown();
                        }
                        @Override public void onFailure(HttpRequest request, Throwable error) {
                            wrong.add(want + ": " + error);
                            callbacks.countDown();
                        }
                    });
                }
            }));
        }
        for (Thread t : ts) t.join();
        assertTrue(callbacks.await(60, TimeUnit.SECONDS), callbacks.getCount() + " callbacks missing " + c.stats());
        for (CompletableFuture<HttpResponse> f : futures) {
            HttpResponse r = f.get(30, TimeUnit.SECONDS);
            String want = "n=" + r.request().uri().getPath().substring(3);
            if (!want.equals(r.bodyString())) wrong.add("future " + want + " got " + r.bodyString());
        }
        assertEquals(threads * per / 2, futures.size());
        assertEquals(List.of(), wrong);
        assertPoolAtRest(c);
    }

    /**
     * Holds: futures cancelled at random moments (before, during and after their exchange) while
     * callback calls share the same 4 connections: every callback gets its own body, the aborted
     * connections never carry a callback's answer, and the pool comes back to rest.
     */
    @Test
    void cancelledFuturesAmongCallbacksNeverHandACallbackAnotherAnswer() throws Exception {
        try (RawServer s = new RawServer(conn -> {
            conn.s.setTcpNoDelay(true); // the body's second part must not wait for a delayed ACK
            String h;
            while ((h = conn.readHead()) != null) {
                String id = h.substring(h.indexOf("/id/") + 4, h.indexOf(' ', h.indexOf("/id/")));
                String body = "id=" + id;
                conn.write("HTTP/1.1 200 OK\r\nContent-Length: " + body.length() + "\r\n\r\n" + body.substring(0, 3));
                Thread.sleep(ThreadLocalRandom.current().nextInt(3)); // the body arrives in two parts
                conn.write(body.substring(3));
            }
        })) {
            HttpClient c = client(HttpClient.builder().maxConnectionsPerHost(4).maxPendingAcquires(10_000));
            int n = 1500;
            List<String> wrong = new CopyOnWriteArrayList<>();
            CountDownLatch callbacks = new CountDownLatch(n);
            List<CompletableFuture<HttpResponse>> futures = new ArrayList<>();
            ThreadLocalRandom rnd = ThreadLocalRandom.current();
            for (int i = 0; i < n; i++) {
                HttpRequest fr = HttpRequest.get(s.url("/id/f" + i)).build();
                CompletableFuture<HttpResponse> f = c.sendAsync(fr);
                futures.add(f);
                String want = "id=c" + i;
                HttpRequest cr = HttpRequest.get(s.url("/id/c" + i)).build();
                c.send(cr, new ResponseCallback() {
                    @Override public void onResponse(ResponseView v) {
                        String body = v.body().toString(StandardCharsets.US_ASCII);
                        if (!want.equals(body) || v.request() != cr) wrong.add(want + " got " + body);
                        callbacks.countDown();
                    }
                    @Override public void onFailure(HttpRequest request, Throwable error) {
                        wrong.add(want + ": " + error);
                        callbacks.countDown();
                    }
                });
                if (rnd.nextInt(3) == 0) {
                    CompletableFuture<HttpResponse> victim = futures.get(rnd.nextInt(futures.size()));
                    victim.cancel(true);
                }
            }
            assertTrue(callbacks.await(60, TimeUnit.SECONDS), callbacks.getCount() + " callbacks missing " + c.stats());
            String statsAfterCallbacks = c.stats() + " after the callbacks, server saw " + s.connections.get() + " connections, "
                    + s.requests.get() + " requests";
            for (int i = 0; i < n; i++) {
                CompletableFuture<HttpResponse> f = futures.get(i);
                if (f.isCancelled()) continue;
                HttpResponse r;
                try {
                    r = f.get(30, TimeUnit.SECONDS);
                } catch (ExecutionException e) {
                    throw new AssertionError("future f" + i + " failed: " + e.getCause() + "; " + statsAfterCallbacks + "; now " + c.stats()
                            + "; incomplete futures: " + futures.stream().filter(x -> !x.isDone()).count(), e.getCause());
                }
                if (!("id=f" + i).equals(r.bodyString())) wrong.add("future f" + i + " got " + r.bodyString());
            }
            assertEquals(List.of(), wrong.size() > 20 ? wrong.subList(0, 20) : wrong);
            assertPoolAtRest(c);
        }
    }

    /** Holds: a deadline that fires mid-body ends the call once, closes that connection (never pooled), and the next call is clean. */
    @Test
    void aDeadlineMidBodyClosesTheConnectionAndTheNextCallIsClean() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        try (RawServer s = new RawServer(conn -> {
            String h;
            while ((h = conn.readHead()) != null) {
                if (h.contains("/half")) {
                    conn.write("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nHALF!");
                    release.await();
                    conn.write("REST!");
                    continue;
                }
                conn.write(HostileServerTest.OK);
            }
        })) {
            HttpClient c = client(HttpClient.builder().callTimeout(Duration.ofMillis(300)));
            One half = new One();
            c.send(HttpRequest.get(s.url("/half")).build(), half);
            HttpTimeoutException t = assertInstanceOf(HttpTimeoutException.class, half.failure(5000));
            assertEquals(HttpTimeoutException.Phase.CALL, t.phase());
            release.countDown(); // the rest now arrives on a connection the client dropped
            await(() -> c.stats().open() == 0, 5000, "the cut connection is closed: " + c.stats());
            One next = new One();
            c.send(HttpRequest.get(s.url("/ok")).build(), next);
            assertEquals("200 ok", next.done.get(5, TimeUnit.SECONDS));
            assertEquals(2, s.connections.get(), "the next call used a new connection");
            assertEquals(1, half.outcomes.get());
            assertPoolAtRest(c);
        } finally {
            release.countDown();
        }
    }

    // ------------------------------------------------------------------ callbacks that misbehave

    /** Holds: an Error from onResponse and an exception from onFailure reach the loop's error handler; the loop and the pool go on. */
    @Test
    void throwingCallbacksDoNotBreakTheLoopOrThePool() throws Exception {
        List<Throwable> reported = new CopyOnWriteArrayList<>();
        EventLoop loop = EventLoop.builder().name("alloc-review").errorHandler((t, e) -> reported.add(e)).build();
        int refused;
        try (java.net.ServerSocket ss = new java.net.ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            refused = ss.getLocalPort();
        }
        try (EventLoopGroup g = EventLoopGroup.of(EventLoopGroup.Balance.ROUND_ROBIN, loop).start()) {
            HttpClient c = client(HttpClient.builder().group(g));
            c.send(HttpRequest.get(url("/n/1")).build(), new ResponseCallback() {
                @Override public void onResponse(ResponseView r) { throw new AssertionError("an Error in onResponse"); }
                @Override public void onFailure(HttpRequest request, Throwable error) { }
            });
            c.send(HttpRequest.get("http://127.0.0.1:" + refused + "/").build(), new ResponseCallback() {
                @Override public void onResponse(ResponseView r) { }
                @Override public void onFailure(HttpRequest request, Throwable error) { throw new IllegalStateException("onFailure bug"); }
            });
            await(() -> reported.size() >= 2, 10_000, "both reported: " + reported);
            assertTrue(reported.stream().anyMatch(e -> "an Error in onResponse".equals(e.getMessage())), reported.toString());
            assertTrue(reported.stream().anyMatch(e -> "onFailure bug".equals(e.getMessage())), reported.toString());
            One next = new One();
            c.send(HttpRequest.get(url("/n/2")).build(), next);
            assertEquals("200 n=2", next.done.get(10, TimeUnit.SECONDS));
            assertPoolAtRest(c);
            c.close();
        }
    }

    /**
     * DEFECT: closing the client with callback calls in flight: the one waiting for its head and
     * the one queued for the pool's only connection each hear onFailure, but the one whose
     * connect is still inside a (slow) DNS lookup hears nothing: Pool.shutdown() neither cancels
     * the call's connect attempt nor fails the call, and the loop that would run the connect
     * timeout stops. The call stays silent until the lookup itself returns (for ever, for a
     * lookup that hangs), and then its outcome arrives on the lookup's virtual thread.
     */
    @Test
    void closingTheClientEndsEveryCallbackCallInFlight() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        CountDownLatch inLookup = new CountDownLatch(1);
        Dns hanging = host -> {
            if (!host.equals("hang.invalid")) return Dns.SYSTEM.lookup(host);
            inLookup.countDown();
            try {
                release.await();
            } catch (InterruptedException e) {
                throw new UnknownHostException("interrupted");
            }
            throw new UnknownHostException(host);
        };
        try (RawServer s = new RawServer(conn -> {
            conn.readHead();
            release.await();
        })) {
            HttpClient c = HttpClient.builder().maxConnectionsPerHost(1).dns(hanging).build();
            One inFlight = new One(), queued = new One(), resolving = new One();
            c.send(HttpRequest.get(s.url("/a")).build(), inFlight);
            await(() -> s.requests.get() == 1, 5000, "the first request arrived");
            c.send(HttpRequest.get(s.url("/b")).build(), queued);
            await(() -> c.stats().pending() == 1, 5000, "the second queued");
            c.send(HttpRequest.get("http://hang.invalid:" + s.port() + "/c").build(), resolving);
            assertTrue(inLookup.await(5, TimeUnit.SECONDS));
            c.close();
            List<String> missing = new ArrayList<>();
            String[] names = {"in flight", "queued", "resolving"};
            One[] all = {inFlight, queued, resolving};
            for (int i = 0; i < 3; i++) {
                try {
                    all[i].failure(10_000);
                } catch (TimeoutException e) {
                    missing.add(names[i]);
                }
            }
            assertEquals(List.of(), missing, "calls that never heard an outcome after close()");
            for (One o : all) assertEquals(1, o.outcomes.get());
        } finally {
            release.countDown();
        }
    }

    /** DEFECT (same root, the future form): close() during the lookup leaves sendAsync's future incomplete. */
    @Test
    void closingTheClientDuringALookupEndsTheFutureToo() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        CountDownLatch inLookup = new CountDownLatch(1);
        Dns hanging = host -> {
            inLookup.countDown();
            try {
                release.await();
            } catch (InterruptedException e) {
                throw new UnknownHostException("interrupted");
            }
            throw new UnknownHostException(host);
        };
        try {
            HttpClient c = HttpClient.builder().dns(hanging).build();
            CompletableFuture<HttpResponse> f = c.sendAsync(HttpRequest.get("http://hang.invalid:" + server.port() + "/n/1").build());
            assertTrue(inLookup.await(5, TimeUnit.SECONDS));
            c.close();
            try {
                f.get(10, TimeUnit.SECONDS);
                fail("succeeded");
            } catch (ExecutionException expected) {
                // ended
            } catch (TimeoutException e) {
                fail("the future is still incomplete 10 s after close()");
            }
        } finally {
            release.countDown();
        }
    }

    /**
     * DEFECT: on a shared group (the loops outlive the client), close() while a call's lookup is
     * running; the lookup then answers and the connect succeeds: Pool.connected() sees the pool
     * closed, aborts the new connection and returns without telling the call. With no
     * callTimeout the call (callback or future) never ends.
     */
    @Test
    void aConnectCompletingAfterCloseOnASharedGroupStillEndsTheCall() throws Exception {
        CountDownLatch release = new CountDownLatch(2);
        CountDownLatch inLookup = new CountDownLatch(2);
        Dns slow = host -> {
            inLookup.countDown();
            try {
                release.await();
            } catch (InterruptedException e) {
                throw new UnknownHostException("interrupted");
            }
            return List.of(InetAddress.getByName("127.0.0.1"));
        };
        try (EventLoopGroup g = EventLoopGroup.create(1).start()) {
            HttpClient c = HttpClient.builder().group(g).dns(slow).build();
            One cb = new One();
            c.send(HttpRequest.get("http://slow-a.invalid:" + server.port() + "/n/1").build(), cb);
            CompletableFuture<HttpResponse> f = c.sendAsync(HttpRequest.get("http://slow-b.invalid:" + server.port() + "/n/2").build());
            assertTrue(inLookup.await(5, TimeUnit.SECONDS));
            c.close();
            release.countDown();
            release.countDown();
            List<String> silent = new ArrayList<>();
            try {
                cb.done.get(5, TimeUnit.SECONDS);
            } catch (ExecutionException ended) {
                // ended
            } catch (TimeoutException e) {
                silent.add("callback");
            }
            try {
                f.get(5, TimeUnit.SECONDS);
            } catch (ExecutionException ended) {
                // ended
            } catch (TimeoutException e) {
                silent.add("future");
            }
            assertEquals(List.of(), silent, "calls with no outcome 5 s after their connect completed on a closed client");
        }
    }

    /**
     * Was a DEFECT (contract): ResponseCallback promises both methods run on the connection's loop
     * thread, but a call that failed before reaching a loop (the client is closed) heard
     * onFailure synchronously on the caller's thread, inside send(); a callback that "retries on
     * failure" then recursed until StackOverflowError. Now send() on a closed client throws
     * IllegalStateException (documented) and the callback never runs; a callback that resends
     * from onFailure ends with that exception, not a recursion.
     */
    @Test
    void onFailureAfterCloseDoesNotRunOnTheCallersThreadInsideSend() throws Exception {
        HttpClient c = HttpClient.builder().build();
        c.close();
        One o = new One();
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> c.send(HttpRequest.get(url("/n/1")).build(), o));
        assertTrue(e.getMessage().contains("closed"), e.getMessage());
        assertEquals(0, o.outcomes.get(), "no callback after send() threw");
        // a shared group outlives the client: the same
        try (EventLoopGroup g = EventLoopGroup.create(1).start()) {
            HttpClient shared = HttpClient.builder().group(g).build();
            One first = new One();
            shared.send(HttpRequest.get(url("/n/1")).build(), first);
            assertEquals("200 n=1", first.done.get(10, TimeUnit.SECONDS));
            shared.close();
            One after = new One();
            assertThrows(IllegalStateException.class, () -> shared.send(HttpRequest.get(url("/n/2")).build(), after));
            assertEquals(0, after.outcomes.get());
        }
    }

    /**
     * Holds: 1,000 callback calls to 200 names whose lookups hang until interrupted, cut by a
     * 300 ms callTimeout (in the deadline list, some while queued behind a lookup): each call
     * fails once with a CALL timeout, every lookup thread ends, every pool comes back to rest.
     */
    @Test
    void aThousandCallsCutDuringHangingLookupsLeaveNoLookupAndNoPoolCount() throws Exception {
        AtomicInteger inside = new AtomicInteger(), entered = new AtomicInteger();
        Dns hanging = host -> {
            entered.incrementAndGet();
            inside.incrementAndGet();
            try {
                new CountDownLatch(1).await();
                throw new UnknownHostException(host);
            } catch (InterruptedException e) {
                throw new UnknownHostException("interrupted");
            } finally {
                inside.decrementAndGet();
            }
        };
        HttpClient c = client(HttpClient.builder().dns(hanging).maxConnectionsPerHost(2).callTimeout(Duration.ofMillis(300)));
        int n = 1000;
        CountDownLatch all = new CountDownLatch(n);
        AtomicIntegerArray outcomes = new AtomicIntegerArray(n);
        List<String> wrong = new CopyOnWriteArrayList<>();
        for (int i = 0; i < n; i++) {
            int id = i;
            c.send(HttpRequest.get("http://h" + (i % 200) + ".invalid:" + server.port() + "/n/" + i).build(), new ResponseCallback() {
                @Override public void onResponse(ResponseView r) {
                    outcomes.incrementAndGet(id);
                    wrong.add(id + ": answered " + r);
                    all.countDown();
                }
                @Override public void onFailure(HttpRequest request, Throwable error) {
                    if (outcomes.incrementAndGet(id) != 1) wrong.add(id + ": twice");
                    if (!(error instanceof HttpTimeoutException t) || t.phase() != HttpTimeoutException.Phase.CALL) wrong.add(id + ": " + error);
                    all.countDown();
                }
            });
        }
        assertTrue(all.await(30, TimeUnit.SECONDS), all.getCount() + " missing " + c.stats());
        assertEquals(List.of(), wrong.size() > 20 ? wrong.subList(0, 20) : wrong);
        await(() -> inside.get() == 0, 10_000, inside.get() + " lookups still running of " + entered.get());
        assertTrue(entered.get() >= 200, "every name was looked up: " + entered.get());
        assertPoolAtRest(c);
        await(() -> c.stats().open() == 0, 10_000, "no connection counted: " + c.stats());
    }

    /** DEFECT (HTTP side of ResolverReviewTest): a Dns that throws an Error stalls the call for the whole connect timeout, then blames a timeout. */
    @Test
    void aDnsThatThrowsAnErrorFailsTheCallAtOnce() throws Exception {
        HttpClient c = client(HttpClient.builder().connectTimeout(Duration.ofSeconds(5)).dns(host -> {
            throw new StackOverflowError("a Dns that delegates to itself");
        }));
        One o = new One();
        long t0 = System.nanoTime();
        c.send(HttpRequest.get("http://loop.invalid:" + server.port() + "/n/1").build(), o);
        Throwable t;
        try {
            t = o.failure(2000);
        } catch (TimeoutException e) {
            Throwable later = o.failure(10_000);
            throw new AssertionError("no outcome within 2 s; after " + (System.nanoTime() - t0) / 1_000_000 + " ms: " + later);
        }
        assertInstanceOf(HttpConnectException.class, t);
        assertInstanceOf(UnknownHostException.class, t.getCause());
        assertPoolAtRest(c);
    }

}
