package io.jhv.http.client;

import io.jhv.core.buffer.Buffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Pool limits, waiting with a timeout, cancellation at every phase, the whole-call deadline: nothing stuck, nothing leaked. */
@Timeout(20)
class PoolAndCancellationTest extends ClientsClosedAfterEach {


    static void await(BooleanSupplier cond, String what) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (!cond.getAsBoolean()) {
            if (System.nanoTime() > deadline) throw new AssertionError("timed out waiting for " + what);
            Thread.onSpinWait();
        }
    }

    static Throwable cause(CompletableFuture<?> f) {
        ExecutionException e = assertThrows(ExecutionException.class, () -> f.get(5, TimeUnit.SECONDS));
        return e.getCause();
    }

    @Test
    void aFullPoolMakesCallsWaitThenFailAfterTheAcquireTimeout() throws Exception {
        HttpClient c = client(HttpClient.builder().maxConnectionsPerHost(1).acquireTimeout(Duration.ofMillis(200)));
        CountDownLatch answer = new CountDownLatch(1);
        try (RawServer s = new RawServer(conn -> {
            while (conn.readHead() != null) {
                answer.await();
                conn.write(HostileServerTest.OK);
            }
        })) {
            CompletableFuture<HttpResponse> first = c.getAsync(s.url("/slow"));
            await(() -> s.requests.get() == 1, "the first request");
            CompletableFuture<HttpResponse> second = c.getAsync(s.url("/waits"));
            Throwable t = cause(second);
            assertTrue(t instanceof PoolExhaustedException, "got " + t);
            assertTrue(t.getMessage().contains("within 200 ms"), t.getMessage());
            assertEquals(0, c.stats().pending(), "no waiter left behind");
            answer.countDown();
            assertEquals(200, first.get(5, TimeUnit.SECONDS).status());
            assertEquals(0, c.stats().acquired());
            // and the pool works again
            assertEquals(200, c.get(s.url("/again")).status());
        }
    }

    @Test
    void aWaiterGetsTheConnectionAsSoonAsItIsReleased() throws Exception {
        HttpClient c = client(HttpClient.builder().maxConnectionsPerHost(1));
        try (RawServer s = new RawServer(conn -> {
            while (conn.readHead() != null) conn.write(HostileServerTest.OK);
        })) {
            List<CompletableFuture<HttpResponse>> fs = new ArrayList<>();
            for (int i = 0; i < 50; i++) fs.add(c.getAsync(s.url("/" + i)));
            for (CompletableFuture<HttpResponse> f : fs) assertEquals(200, f.get(5, TimeUnit.SECONDS).status());
            assertEquals(1, s.connections.get(), "one connection carried all 50");
        }
    }

    @Test
    void aFullWaitQueueRefusesAtOnce() throws Exception {
        HttpClient c = client(HttpClient.builder().maxConnectionsPerHost(1).maxPendingAcquires(0));
        CountDownLatch answer = new CountDownLatch(1);
        try (RawServer s = new RawServer(conn -> {
            conn.readHead();
            answer.await();
            conn.write(HostileServerTest.OK);
        })) {
            CompletableFuture<HttpResponse> first = c.getAsync(s.url("/slow"));
            await(() -> s.requests.get() == 1, "the first request");
            Throwable t = cause(c.getAsync(s.url("/refused")));
            assertTrue(t instanceof PoolExhaustedException && t.getMessage().contains("maxPendingAcquires"), "got " + t);
            answer.countDown();
            first.get(5, TimeUnit.SECONDS);
        }
    }

    @Test
    void cancellingWhileConnectingAbandonsTheAttempt() throws Exception {
        // A listener whose accept queue is full: the kernel drops our SYN, so the connect hangs.
        try (ServerSocket full = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            List<Socket> fillers = new ArrayList<>();
            try {
                for (int i = 0; i < 8; i++) {
                    Socket f = new Socket();
                    try {
                        f.connect(full.getLocalSocketAddress(), 200);
                        fillers.add(f);
                    } catch (java.io.IOException e) {
                        f.close();
                        break; // the queue is full now
                    }
                }
                HttpClient c = client(HttpClient.builder());
                CompletableFuture<HttpResponse> f = c.getAsync("http://127.0.0.1:" + full.getLocalPort() + "/");
                await(() -> c.stats().open() == 1, "the connect attempt");
                Thread.sleep(100); // give a wrongly completing connect the time to show (not for ordering)
                assertEquals(0, c.stats().acquired(), "still connecting: " + c.stats());
                assertTrue(f.cancel(true));
                await(() -> c.stats().open() == 0, "the attempt to be abandoned");
                assertEquals(0, c.stats().acquired());
            } finally {
                for (Socket f : fillers) f.close();
            }
        }
    }

    @Test
    void cancellingWhileWaitingForTheHeadClosesTheConnection() throws Exception {
        HttpClient c = client(HttpClient.builder());
        CountDownLatch clientGone = new CountDownLatch(1);
        try (RawServer s = new RawServer(conn -> {
            conn.readHead();
            if (conn.in.read() < 0) clientGone.countDown(); // EOF: the client closed it
        })) {
            CompletableFuture<HttpResponse> f = c.getAsync(s.url("/never"));
            await(() -> s.requests.get() == 1, "the request");
            assertTrue(f.cancel(true));
            assertTrue(clientGone.await(5, TimeUnit.SECONDS), "the server saw the connection close");
            await(() -> c.stats().open() == 0 && c.stats().acquired() == 0, "an empty pool: " + c.stats());
        }
    }

    @Test
    void cancellingMidBodyClosesTheConnectionInsteadOfPoolingIt() throws Exception {
        HttpClient c = client(HttpClient.builder());
        CountDownLatch clientGone = new CountDownLatch(1);
        try (RawServer s = new RawServer(conn -> {
            conn.readHead();
            conn.write("HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n");
            conn.write(new byte[1000]);
            InputStream in = conn.in;
            if (in.read() < 0) clientGone.countDown();
        })) {
            CompletableFuture<Void> firstChunk = new CompletableFuture<>();
            CompletableFuture<Throwable> error = new CompletableFuture<>();
            CompletableFuture<HttpResponse> f = c.sendAsync(HttpRequest.get(s.url("/big")).build(), new ResponseHandler() {
                public void onHead(HttpResponse head, ResponseStream stream) { }
                public void onBody(Buffer chunk) { firstChunk.complete(null); }
                public void onComplete(HttpResponse response) { }
                public void onError(Throwable e) { error.complete(e); }
            });
            firstChunk.get(5, TimeUnit.SECONDS);
            assertTrue(f.cancel(true));
            assertTrue(error.get(5, TimeUnit.SECONDS) instanceof CancellationException);
            assertTrue(clientGone.await(5, TimeUnit.SECONDS), "the half-read connection was closed");
            await(() -> c.stats().open() == 0 && c.stats().idle() == 0, "an empty pool: " + c.stats());
        }
    }

    @Test
    void cancellingAWaitingCallFreesItsPlaceInTheQueue() throws Exception {
        HttpClient c = client(HttpClient.builder().maxConnectionsPerHost(1));
        CountDownLatch answer = new CountDownLatch(1);
        try (RawServer s = new RawServer(conn -> {
            while (conn.readHead() != null) {
                answer.await();
                conn.write(HostileServerTest.OK);
            }
        })) {
            CompletableFuture<HttpResponse> first = c.getAsync(s.url("/slow"));
            await(() -> s.requests.get() == 1, "the first request");
            CompletableFuture<HttpResponse> second = c.getAsync(s.url("/waits"));
            await(() -> c.stats().pending() == 1, "a waiter");
            second.cancel(true);
            await(() -> c.stats().pending() == 0, "the waiter gone");
            answer.countDown();
            first.get(5, TimeUnit.SECONDS);
            assertEquals(1, s.requests.get(), "the cancelled call was never sent");
        }
    }

    @Test
    void theCallDeadlineCoversTheWholeRedirectChain() throws Exception {
        HttpClient c = client(HttpClient.builder().callTimeout(Duration.ofMillis(500)));
        try (RawServer s = new RawServer(conn -> {
            String h;
            while ((h = conn.readHead()) != null) {
                int n = Integer.parseInt(h.substring(h.indexOf("/hop") + 4, h.indexOf(" HTTP/")));
                Thread.sleep(150); // a slow server: each hop costs 150 ms
                conn.write("HTTP/1.1 302 Found\r\nLocation: /hop" + (n + 1) + "\r\nContent-Length: 0\r\n\r\n");
            }
        })) {
            long t0 = System.nanoTime();
            HttpTimeoutException e = assertThrows(HttpTimeoutException.class, () -> c.get(s.url("/hop0")));
            long ms = (System.nanoTime() - t0) / 1_000_000;
            assertEquals(HttpTimeoutException.Phase.CALL, e.phase());
            assertTrue(e.getMessage().contains("redirects followed"), e.getMessage());
            assertTrue(ms >= 450 && ms < 3000, "took " + ms + " ms");
            assertTrue(s.requests.get() >= 3 && s.requests.get() <= 5, "hops " + s.requests.get());
            await(() -> c.stats().acquired() == 0, "nothing acquired");
        }
    }

    @Test
    void aRequestTimeoutOverridesTheClientsCallTimeout() throws Exception {
        HttpClient c = client(HttpClient.builder());
        CountDownLatch end = new CountDownLatch(1);
        try (RawServer s = new RawServer(conn -> {
            conn.readHead();
            end.await();
        })) {
            HttpTimeoutException e = assertThrows(HttpTimeoutException.class,
                    () -> c.send(HttpRequest.get(s.url("/")).timeout(Duration.ofMillis(200)).build()));
            assertEquals(HttpTimeoutException.Phase.CALL, e.phase());
        } finally {
            end.countDown();
        }
    }

    @Test
    void interruptingABlockedCallerCancelsTheCall() throws Exception {
        HttpClient c = client(HttpClient.builder());
        CountDownLatch clientGone = new CountDownLatch(1);
        try (RawServer s = new RawServer(conn -> {
            conn.readHead();
            if (conn.in.read() < 0) clientGone.countDown();
        })) {
            CompletableFuture<Throwable> thrown = new CompletableFuture<>();
            Thread t = Thread.ofVirtual().start(() -> {
                try {
                    c.get(s.url("/"));
                    thrown.complete(null);
                } catch (Throwable e) {
                    thrown.complete(e);
                }
            });
            await(() -> s.requests.get() == 1, "the request");
            t.interrupt();
            assertTrue(thrown.get(5, TimeUnit.SECONDS) instanceof java.io.InterruptedIOException);
            assertTrue(clientGone.await(5, TimeUnit.SECONDS));
        }
    }

    @Test
    void idleConnectionsHonourTheServersKeepAliveTimeout() throws Exception {
        HttpClient c = client(HttpClient.builder().idleTimeout(Duration.ofSeconds(30)));
        try (RawServer s = new RawServer(conn -> {
            while (conn.readHead() != null) {
                conn.write("HTTP/1.1 200 OK\r\nKeep-Alive: timeout=1\r\nContent-Length: 2\r\n\r\nok");
            }
        })) {
            assertEquals(200, c.get(s.url("/")).status());
            assertEquals(1, c.stats().idle());
            long t0 = System.nanoTime();
            await(() -> c.stats().open() == 0, "the pool to drop the connection before the server's 1 s");
            long ms = (System.nanoTime() - t0) / 1_000_000;
            assertTrue(ms < 1000, "dropped after " + ms + " ms");
        }
    }

    @Test
    void connectionsOlderThanTheMaximumLifetimeAreNotReused() throws Exception {
        HttpClient c = client(HttpClient.builder().maxConnectionLifetime(Duration.ofMillis(1)));
        try (RawServer s = new RawServer(conn -> {
            while (conn.readHead() != null) conn.write(HostileServerTest.OK);
        })) {
            for (int i = 0; i < 3; i++) {
                assertEquals(200, c.get(s.url("/")).status());
                // older than 1 ms, counted from the end of the call (a slow call on a loaded machine
                // may have connected less than 1 ms before it returned)
                long t0 = System.nanoTime();
                while (System.nanoTime() - t0 < 2_000_000) Thread.onSpinWait();
            }
            assertEquals(3, s.connections.get());
        }
    }

    @Test
    void theCallDeadlineAbandonsAConnectThatHangs() throws Exception {
        try (ServerSocket full = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            List<Socket> fillers = new ArrayList<>();
            try {
                for (int i = 0; i < 8; i++) {
                    Socket f = new Socket();
                    try {
                        f.connect(full.getLocalSocketAddress(), 200);
                        fillers.add(f);
                    } catch (java.io.IOException e) {
                        f.close();
                        break;
                    }
                }
                HttpClient c = client(HttpClient.builder().callTimeout(Duration.ofMillis(300)));
                HttpTimeoutException e = assertThrows(HttpTimeoutException.class,
                        () -> c.get("http://127.0.0.1:" + full.getLocalPort() + "/"));
                assertEquals(HttpTimeoutException.Phase.CALL, e.phase());
                await(() -> c.stats().open() == 0, "the connect attempt to be abandoned: " + c.stats());
            } finally {
                for (Socket f : fillers) f.close();
            }
        }
    }

    @Test
    void statsPerOriginAndEvictingIdleConnections() throws Exception {
        HttpClient c = client(HttpClient.builder());
        try (RawServer a = new RawServer(conn -> {
            while (conn.readHead() != null) conn.write(HostileServerTest.OK);
        }); RawServer b = new RawServer(conn -> {
            while (conn.readHead() != null) conn.write(HostileServerTest.OK);
        })) {
            c.get(a.url("/"));
            c.get(b.url("/"));
            var byOrigin = c.statsByOrigin();
            assertEquals(new PoolStats(1, 1, 0, 0), byOrigin.get("http://127.0.0.1:" + a.port()));
            assertEquals(new PoolStats(1, 1, 0, 0), byOrigin.get("http://127.0.0.1:" + b.port()));
            assertEquals(new PoolStats(2, 2, 0, 0), c.stats());
            c.evictIdle();
            await(() -> c.stats().open() == 0, "idle connections closed");
        }
    }

    @Test
    void cancellingAtRandomMomentsLeavesNothingAcquiredOrWaiting() throws Exception {
        io.jhv.http.server.HttpServer server = io.jhv.http.server.HttpServer.create("127.0.0.1", 0).threads(1)
                .get("/chunks", (req, res) -> {
                    var w = res.stream();
                    for (int i = 0; i < 20; i++) w.write(new byte[4096]);
                    w.close();
                })
                .start();
        try {
            for (int depth : new int[] {1, 4}) cancelAtRandom(client(HttpClient.builder().maxConnectionsPerHost(4).pipelining(depth)),
                    "http://127.0.0.1:" + server.port() + "/chunks");
        } finally {
            server.close();
        }
    }

    private static void cancelAtRandom(HttpClient c, String url) throws Exception {
        {
            java.util.Random rnd = new java.util.Random(42);
            List<CompletableFuture<HttpResponse>> fs = new ArrayList<>();
            for (int i = 0; i < 300; i++) {
                CompletableFuture<HttpResponse> f = c.getAsync(url);
                fs.add(f);
                if (rnd.nextBoolean()) {
                    long spin = rnd.nextInt(300_000);
                    long t0 = System.nanoTime();
                    while (System.nanoTime() - t0 < spin) Thread.onSpinWait();
                    f.cancel(true);
                }
            }
            int ok = 0;
            for (CompletableFuture<HttpResponse> f : fs) {
                try {
                    if (f.get(10, TimeUnit.SECONDS).body().length == 20 * 4096) ok++;
                } catch (CancellationException cancelled) {
                    // expected for some
                }
            }
            assertTrue(ok > 0, "some calls completed");
            await(() -> c.stats().acquired() == 0 && c.stats().pending() == 0, "nothing acquired or waiting: " + c.stats());
            assertTrue(c.stats().open() <= 4, c.stats().toString());
            assertEquals(20 * 4096, c.get(url).body().length, "the pool still works");
        }
    }
}
