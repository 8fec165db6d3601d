package io.jhv.http.client;

import io.jhv.testing.Allocations;
import io.jhv.core.loop.EventLoop;
import io.jhv.core.loop.EventLoopGroup;
import io.jhv.http.server.HttpServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.ServerSocket;
import java.net.InetAddress;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * {@link HttpClient#send(HttpRequest, ResponseCallback)}, the allocation-free form: the whole
 * response through a borrowed view on the loop thread, failures to onFailure, the recycled call
 * state clean from one call to the next (after failures and timeouts too), and a steady state that
 * allocates nothing on the client's loop.
 */
@Timeout(60)
class CallbackFormTest extends ClientsClosedAfterEach {
    static HttpServer server;
    static final Set<Long> connectionIds = ConcurrentHashMap.newKeySet();

    @BeforeAll
    static void start() {
        server = HttpServer.create("127.0.0.1", 0).threads(1)
                .get("/plaintext", (req, res) -> {
                    connectionIds.add(req.connection().id());
                    res.text("Hello, World!");
                })
                .get("/n/:n", (req, res) -> res.header("X-N", req.pathParam("n")).text("n=" + req.pathParam("n")))
                .get("/big", (req, res) -> res.bytes(new byte[300_000]))
                .get("/moved", (req, res) -> res.redirect("/n/7"))
                .get("/none", (req, res) -> res.sendStatus(204))
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

    /** Collects the outcome of one call, copying what the view shows while it is valid. */
    static final class One implements ResponseCallback {
        final CompletableFuture<String> done = new CompletableFuture<>();
        final AtomicReference<Thread> thread = new AtomicReference<>();
        volatile HttpResponse kept;
        volatile HttpRequest failedRequest;

        @Override
        public void onResponse(ResponseView r) {
            thread.set(Thread.currentThread());
            kept = r.toResponse();
            done.complete(r.status() + " " + r.version() + " " + r.header("content-type") + " " + r.body().readableBytes()
                    + " [" + r.bodyString() + "] " + r.request().uri().getPath());
        }

        @Override
        public void onFailure(HttpRequest request, Throwable error) {
            thread.set(Thread.currentThread());
            failedRequest = request;
            done.completeExceptionally(error);
        }

        String get() throws Exception {
            return done.get(10, TimeUnit.SECONDS);
        }

        Throwable failure() {
            try {
                done.get(10, TimeUnit.SECONDS);
            } catch (java.util.concurrent.ExecutionException e) {
                return e.getCause();
            } catch (Exception e) {
                throw new AssertionError(e);
            }
            throw new AssertionError("the call succeeded: " + done.join());
        }
    }

    @Test
    void aGetDeliversTheWholeResponseThroughTheViewOnTheLoop() throws Exception {
        HttpClient c = client(HttpClient.builder());
        One one = new One();
        c.send(HttpRequest.get(url("/plaintext")).build(), one);
        assertEquals("200 HTTP/1.1 text/plain; charset=utf-8 13 [Hello, World!] /plaintext", one.get());
        assertTrue(one.thread.get().getName().startsWith("jhv-http-client"), "on the client's loop: " + one.thread.get());
        HttpResponse kept = one.kept;
        assertEquals("Hello, World!", kept.bodyString(), "toResponse() is a copy that outlives the callback");
        assertEquals(200, kept.status());

        One empty = new One();
        c.send(HttpRequest.get(url("/none")).build(), empty);
        assertTrue(empty.get().startsWith("204 HTTP/1.1 null 0 []"), empty.get());

        One redirected = new One();
        c.send(HttpRequest.get(url("/moved")).build(), redirected);
        assertEquals("200 HTTP/1.1 text/plain; charset=utf-8 3 [n=7] /n/7", redirected.get(), "redirects are followed");

        One big = new One();
        c.send(HttpRequest.get(url("/big")).build(), big);
        assertTrue(big.get().startsWith("200 HTTP/1.1 application/octet-stream 300000 "), big.get());
    }

    @Test
    void callsChainedFromTheCallbackReuseOneConnectionAndSeeTheirOwnResponses() throws Exception {
        HttpClient c = client(HttpClient.builder());
        int n = 500;
        CountDownLatch end = new CountDownLatch(1);
        List<String> wrong = new CopyOnWriteArrayList<>();
        HttpRequest[] reqs = new HttpRequest[n];
        for (int i = 0; i < n; i++) reqs[i] = HttpRequest.get(url("/n/" + i)).build();
        ResponseCallback cb = new ResponseCallback() {
            int i;

            @Override
            public void onResponse(ResponseView r) {
                String want = "n=" + i;
                String got = r.body().toString(java.nio.charset.StandardCharsets.UTF_8);
                if (r.status() != 200 || !want.equals(got) || !String.valueOf(i).equals(r.header("X-N"))) wrong.add(i + ": " + got);
                if (++i < n) c.send(reqs[i], this);
                else end.countDown();
            }

            @Override
            public void onFailure(HttpRequest request, Throwable error) {
                wrong.add(request + ": " + error);
                end.countDown();
            }
        };
        c.send(reqs[0], cb);
        assertTrue(end.await(20, TimeUnit.SECONDS));
        assertEquals(List.of(), wrong);
        assertEquals(new PoolStats(1, 1, 0, 0), c.stats(), "one connection, idle again");
    }

    @Test
    void failuresReachOnFailureAndTheRecycledStateServesTheNextCall() throws Exception {
        int closed;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            closed = s.getLocalPort();
        }
        HttpClient c = client(HttpClient.builder().callTimeout(Duration.ofMillis(300)));
        One refused = new One();
        HttpRequest r = HttpRequest.get("http://127.0.0.1:" + closed + "/x").build();
        c.send(r, refused);
        assertInstanceOf(HttpConnectException.class, refused.failure());
        assertEquals(r, refused.failedRequest);

        CountDownLatch release = new CountDownLatch(1);
        try (RawServer hang = new RawServer(conn -> {
            conn.readHead();
            release.await();
        })) {
            One slow = new One();
            c.send(HttpRequest.get(hang.url("/slow")).build(), slow);
            HttpTimeoutException t = assertInstanceOf(HttpTimeoutException.class, slow.failure());
            assertEquals(HttpTimeoutException.Phase.CALL, t.phase());
            // the Call objects just used are free again: the next calls must start clean
            for (int i = 0; i < 5; i++) {
                One ok = new One();
                c.send(HttpRequest.get(url("/n/" + i)).build(), ok);
                assertEquals("200 HTTP/1.1 text/plain; charset=utf-8 3 [n=" + i + "] /n/" + i, ok.get());
            }
        } finally {
            release.countDown();
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (c.stats().acquired() != 0 || c.stats().pending() != 0) {
            if (System.nanoTime() > deadline) throw new AssertionError("stuck: " + c.stats());
            Thread.onSpinWait();
        }
    }

    @Test
    void deadlinesOfDifferentLengthsEachFireOnTime() throws Exception {
        // The callback form keeps its deadlines in one ordered list per loop with one timer: a
        // short per-request timeout sent after a long one must still fire first, and the long one
        // must fire too.
        HttpClient c = client(HttpClient.builder().callTimeout(Duration.ofMillis(1500)));
        CountDownLatch release = new CountDownLatch(1);
        try (RawServer hang = new RawServer(conn -> {
            conn.readHead();
            release.await();
        })) {
            long t0 = System.nanoTime();
            One slow = new One();
            c.send(HttpRequest.get(hang.url("/long")).build(), slow);
            One quick = new One();
            c.send(HttpRequest.get(hang.url("/short")).timeout(Duration.ofMillis(200)).build(), quick);
            HttpTimeoutException q = assertInstanceOf(HttpTimeoutException.class, quick.failure());
            long quickMs = (System.nanoTime() - t0) / 1_000_000;
            assertTrue(q.getMessage().contains("200 ms"), q.getMessage());
            assertTrue(quickMs >= 150 && quickMs < 1200, "the short deadline fired after " + quickMs + " ms");
            assertTrue(!slow.done.isDone(), "the long one still runs");
            HttpTimeoutException l = assertInstanceOf(HttpTimeoutException.class, slow.failure());
            long slowMs = (System.nanoTime() - t0) / 1_000_000;
            assertTrue(l.getMessage().contains("1500 ms"), l.getMessage());
            assertTrue(slowMs >= 1400 && slowMs < 5000, "the long deadline fired after " + slowMs + " ms");
        } finally {
            release.countDown();
        }
    }

    @Test
    void aRedirectToAnOriginOnAnotherLoopKeepsItsDeadline() throws Exception {
        // Two loops; origin B's pool is made first from this thread (one loop), then origin A's
        // (the next loop): a call to A redirected to B moves to B's loop, its deadline with it.
        try (EventLoopGroup g = EventLoopGroup.create(2).start();
             RawServer b = new RawServer(conn -> {
                 String h;
                 while ((h = conn.readHead()) != null) {
                     if (h.contains("/hang")) Thread.sleep(60_000);
                     conn.write(HostileServerTest.OK);
                 }
             })) {
            HttpClient c = client(HttpClient.builder().group(g).callTimeout(Duration.ofMillis(500)));
            assertEquals(200, c.get(b.url("/warm")).status());
            assertEquals(200, c.get(url("/plaintext")).status());
            java.util.Map<String, PoolStats> pools = c.statsByOrigin();
            assertEquals(2, pools.size(), pools.toString());

            One moved = new One();
            c.send(HttpRequest.get(url("/go?to=" + b.url("/ok"))).build(), moved);
            assertEquals("200 HTTP/1.1 null 2 [ok] /ok", moved.get());

            long t0 = System.nanoTime();
            One hung = new One();
            c.send(HttpRequest.get(url("/go?to=" + b.url("/hang"))).build(), hung);
            HttpTimeoutException t = assertInstanceOf(HttpTimeoutException.class, hung.failure());
            long ms = (System.nanoTime() - t0) / 1_000_000;
            assertEquals(HttpTimeoutException.Phase.CALL, t.phase());
            assertTrue(t.getMessage().contains("1 redirects followed"), t.getMessage());
            assertTrue(ms >= 450 && ms < 3000, "the deadline fired after " + ms + " ms");
            // and the recycled state still works on both loops
            One again = new One();
            c.send(HttpRequest.get(url("/go?to=" + b.url("/ok"))).build(), again);
            assertEquals("200 HTTP/1.1 null 2 [ok] /ok", again.get());
            c.close();
        }
    }

    @Test
    void anExceptionFromTheCallbackGoesToTheLoopsErrorHandlerAndTheClientGoesOn() throws Exception {
        List<Throwable> reported = new CopyOnWriteArrayList<>();
        EventLoop loop = EventLoop.builder().name("cb-errors").errorHandler((t, e) -> reported.add(e)).build();
        try (EventLoopGroup g = EventLoopGroup.of(EventLoopGroup.Balance.ROUND_ROBIN, loop).start()) {
            HttpClient c = client(HttpClient.builder().group(g));
            c.send(HttpRequest.get(url("/plaintext")).build(), new ResponseCallback() {
                @Override public void onResponse(ResponseView r) { throw new IllegalStateException("callback bug"); }
                @Override public void onFailure(HttpRequest request, Throwable error) { }
            });
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (reported.isEmpty()) {
                if (System.nanoTime() > deadline) throw new AssertionError("the error was not reported");
                Thread.onSpinWait();
            }
            assertEquals("callback bug", reported.get(0).getMessage());
            One next = new One();
            c.send(HttpRequest.get(url("/plaintext")).build(), next);
            assertTrue(next.get().startsWith("200 "), next.get());
            assertEquals(1, c.stats().open(), "the connection was pooled, not broken by the callback's exception");
            c.close();
        }
    }

    @Test
    void sixtyFourInFlightFromAnotherThreadAllComplete() throws Exception {
        HttpClient c = client(HttpClient.builder());
        int n = 2000;
        CountDownLatch end = new CountDownLatch(n);
        AtomicInteger ok = new AtomicInteger();
        List<Throwable> errors = new CopyOnWriteArrayList<>();
        HttpRequest req = HttpRequest.get(url("/plaintext")).build();
        java.util.concurrent.Semaphore window = new java.util.concurrent.Semaphore(64);
        ResponseCallback cb = new ResponseCallback() {
            @Override
            public void onResponse(ResponseView r) {
                if (r.status() == 200 && r.body().readableBytes() == 13) ok.incrementAndGet();
                window.release();
                end.countDown();
            }

            @Override
            public void onFailure(HttpRequest request, Throwable error) {
                errors.add(error);
                window.release();
                end.countDown();
            }
        };
        for (int i = 0; i < n; i++) {
            window.acquire();
            c.send(req, cb);
        }
        assertTrue(end.await(30, TimeUnit.SECONDS));
        assertEquals(List.of(), errors);
        assertEquals(n, ok.get());
    }

    @Test
    void theSteadyStateAllocatesNothingPerCallOnTheClientsLoop() throws Exception {
        steadyState(HttpClient.builder().decompress(false));
    }

    @Test
    void withACallTimeoutTooTheSteadyStateAllocatesNothing() throws Exception {
        steadyState(HttpClient.builder().decompress(false).callTimeout(Duration.ofSeconds(10)));
    }

    private void steadyState(HttpClient.Builder b) throws Exception {
        HttpClient c = client(b);
        HttpRequest req = HttpRequest.get(url("/plaintext")).build();
        final class Chain implements ResponseCallback {
            int left;
            CountDownLatch end;
            Thread loop;
            volatile Throwable error;

            void run(int n) throws InterruptedException {
                left = n;
                end = new CountDownLatch(1);
                c.send(req, this);
                assertTrue(end.await(30, TimeUnit.SECONDS));
                assertNull(error);
            }

            @Override
            public void onResponse(ResponseView r) {
                loop = Thread.currentThread();
                if (r.status() != 200 || r.body().readableBytes() != 13) error = new AssertionError(r.toString());
                if (--left > 0 && error == null) c.send(req, this);
                else end.countDown();
            }

            @Override
            public void onFailure(HttpRequest request, Throwable e) {
                error = e;
                end.countDown();
            }
        }
        Chain chain = new Chain();
        chain.run(20_000); // warm up: the JIT, the pool, the free list
        long before = Allocations.threadAllocatedBytes(chain.loop);
        assumeTrue(before >= 0, "this JDK does not count per-thread allocation");
        int n = 20_000;
        chain.run(n);
        long perCall = (Allocations.threadAllocatedBytes(chain.loop) - before) / n;
        // The server's Date header changes once a second (a new String and header list then);
        // everything else is reused: well under a byte per call on average.
        assertTrue(perCall < 8, "the client's loop allocated " + perCall + " B per call");
    }
}
