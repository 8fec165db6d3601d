package io.jhv.http.server;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Regression tests for cross-talk between requests and connections: output owned by one connection,
 * a {@code Response} bound to its own exchange for life, and the handlers of one connection run one
 * at a time.
 */
@Timeout(30)
class CrossTalkTest {
    private HttpServer server;

    @AfterEach
    void stop() {
        if (server != null) server.close();
    }

    private static void await(java.util.function.BooleanSupplier cond, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!cond.getAsBoolean()) {
            if (System.nanoTime() > deadline) fail("timed out waiting for " + what);
            Thread.sleep(2);
        }
    }

    /**
     * Connection A's handler completes deferred responses of connection B, which has more pipelined
     * requests parked: B's next requests run while A's batch is open. A's answer must go to A only.
     */
    @Test
    void responseOfOneConnectionNeverReachesAnother_batchOwnedByOneConnection() throws Exception {
        Queue<Response> polls = new ConcurrentLinkedQueue<>();
        server = HttpServer.create("127.0.0.1", 0).threads(1)
                .get("/poll", (req, res) -> polls.add(res.defer()))
                .get("/steal", (req, res) -> res.text("steal"))
                .get("/x", (req, res) -> res.text("secret-of-A"))
                .post("/publish", (req, res) -> {
                    int n = 0;
                    for (Response r; (r = polls.poll()) != null; n++) r.text("pub");
                    res.text("published " + n);
                })
                .start();
        int polled = 64;
        try (RawClient a = RawClient.connect(server.port()); RawClient b = RawClient.connect(server.port())) {
            StringBuilder pipeline = new StringBuilder();
            for (int i = 0; i < polled; i++) pipeline.append("GET /poll HTTP/1.1\r\nHost: x\r\n\r\n");
            pipeline.append("GET /steal HTTP/1.1\r\nHost: x\r\n\r\n");
            b.send(pipeline.toString());
            int published = 0;
            while (published < polled) {
                await(() -> !polls.isEmpty(), "a parked poll");
                a.send("GET /x HTTP/1.1\r\nHost: x\r\n\r\nPOST /publish HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
                assertEquals("secret-of-A", a.read().text());
                String p = a.read().text();
                assertTrue(p.startsWith("published "), p);
                published += Integer.parseInt(p.substring(10));
            }
            for (int i = 0; i < polled; i++) assertEquals("pub", b.read().text(), "response " + i + " on B");
            assertEquals("steal", b.read().text());
            assertTrue(b.socket.getInputStream().available() == 0 || !b.closedByServer(200), "nothing more on B");
        }
    }

    /** A deferred handler answers after a timeout already did: the late call fails, the next request is not answered by it. */
    @Test
    void staleResponseNeverAnswersTheNextRequest() throws Exception {
        AtomicReference<Response> first = new AtomicReference<>();
        AtomicReference<Response> second = new AtomicReference<>();
        server = HttpServer.create("127.0.0.1", 0).threads(1)
                .get("/slow", (req, res) -> {
                    first.set(res.defer());
                    req.loop().setTimeout(20, () -> res.status(503).text("timeout"));
                })
                .get("/next", (req, res) -> second.set(res.defer()))
                .start();
        try (RawClient c = RawClient.connect(server.port())) {
            RawClient.Resp r = c.exchange("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
            assertEquals(503, r.status());
            c.send("GET /next HTTP/1.1\r\nHost: x\r\n\r\n");
            await(() -> second.get() != null, "the second request's handler");
            Response stale = first.get();
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> stale.text("late answer of /slow"));
            assertTrue(e.getMessage().contains("already"), e.getMessage());
            assertThrows(IllegalStateException.class, () -> stale.header("X-Late", "1"));
            assertThrows(IllegalStateException.class, () -> stale.status(200));
            second.get().text("answer of /next");
            assertEquals("answer of /next", c.read().text());
        }
    }

    /** Two threads answer the same deferred response at once: exactly one wins, and one response goes out. */
    @Test
    void concurrentAnswersToOneResponse_exactlyOneWins() throws Exception {
        AtomicReference<Response> held = new AtomicReference<>();
        server = HttpServer.create("127.0.0.1", 0).threads(1)
                .get("/d", (req, res) -> held.set(res.defer()))
                .start();
        AtomicInteger failures = new AtomicInteger();
        try (RawClient c = RawClient.connect(server.port())) {
            for (int round = 0; round < 200; round++) {
                held.set(null);
                c.send("GET /d HTTP/1.1\r\nHost: x\r\n\r\n");
                await(() -> held.get() != null, "the handler");
                Response res = held.get();
                CyclicBarrier go = new CyclicBarrier(2);
                List<Thread> ts = new ArrayList<>();
                List<String> wins = Collections.synchronizedList(new ArrayList<>());
                for (String who : List.of("one", "two")) {
                    Thread t = Thread.ofPlatform().start(() -> {
                        try {
                            go.await();
                            res.text(who);
                            wins.add(who);
                        } catch (IllegalStateException e) {
                            failures.incrementAndGet();
                        } catch (Exception e) {
                            throw new RuntimeException(e);
                        }
                    });
                    ts.add(t);
                }
                for (Thread t : ts) t.join();
                assertEquals(1, wins.size(), "round " + round + ": " + wins);
                assertEquals(wins.get(0), c.read().text());
            }
            assertEquals(200, failures.get());
            c.send("GET /d HTTP/1.1\r\nHost: x\r\n\r\n"); // still in step: the next request is answered by its own response
            await(() -> held.get() != null, "the handler");
        }
    }

    /** RFC 9112 9.3.2: pipelined unsafe requests of one connection run one after the other. */
    @Test
    void pipelinedHandlersOfOneConnectionRunOneAtATime() throws Exception {
        Queue<String> events = new ConcurrentLinkedQueue<>();
        Handler h = Handler.blocking((req, res) -> {
            String p = req.path();
            events.add("start " + p);
            Thread.sleep(100);
            events.add("end " + p);
            res.text(p);
        });
        server = HttpServer.create("127.0.0.1", 0).threads(1)
                .post("/a", h).post("/b", h).get("/c", h)
                .start();
        try (RawClient c = RawClient.connect(server.port())) {
            c.send("POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nA"
                    + "POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nB"
                    + "GET /c HTTP/1.1\r\nHost: x\r\n\r\n");
            assertEquals("/a", c.read().text());
            assertEquals("/b", c.read().text());
            assertEquals("/c", c.read().text());
        }
        assertEquals(List.of("start /a", "end /a", "start /b", "end /b", "start /c", "end /c"), new ArrayList<>(events));
    }

    /** With pipelinedSafeParallel(true), GET/HEAD handlers may overlap; an unsafe one still waits for them. */
    @Test
    void safeMethodsMayRunInParallelWhenAskedFor() throws Exception {
        CountDownLatch both = new CountDownLatch(2);
        Queue<String> events = new ConcurrentLinkedQueue<>();
        Handler h = Handler.blocking((req, res) -> {
            events.add("start " + req.path());
            both.countDown();
            if (!both.await(5, TimeUnit.SECONDS)) throw new IllegalStateException("the GETs did not overlap");
            events.add("end " + req.path());
            res.text(req.path());
        });
        server = HttpServer.create("127.0.0.1", 0).threads(1)
                .pipelinedSafeParallel(true)
                .get("/g1", h).get("/g2", h)
                .post("/p", Handler.blocking((req, res) -> {
                    events.add("start /p");
                    res.text("/p");
                }))
                .start();
        try (RawClient c = RawClient.connect(server.port())) {
            c.send("GET /g1 HTTP/1.1\r\nHost: x\r\n\r\nGET /g2 HTTP/1.1\r\nHost: x\r\n\r\n"
                    + "POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
            assertEquals("/g1", c.read().text());
            assertEquals("/g2", c.read().text());
            assertEquals("/p", c.read().text());
        }
        List<String> ev = new ArrayList<>(events);
        assertEquals("start /p", ev.get(ev.size() - 1), ev.toString());
    }
}
