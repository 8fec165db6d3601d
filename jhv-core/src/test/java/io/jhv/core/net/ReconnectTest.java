package io.jhv.core.net;

import io.jhv.core.loop.EventLoop;
import io.jhv.core.loop.Probes;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.DataInputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Reconnect policies, and a client that survives a server going away, or going silent. */
@Timeout(60)
class ReconnectTest {

    @Test
    void policyDelaysGrowAsConfigured() {
        ReconnectPolicy fixed = ReconnectPolicy.fixed(Duration.ofMillis(100));
        for (int r = 1; r <= 5; r++) assertEquals(100, fixed.delayMs(r));

        ReconnectPolicy linear = ReconnectPolicy.linear(Duration.ofMillis(100), Duration.ofMillis(350));
        assertEquals(List.of(100L, 200L, 300L, 350L, 350L), delays(linear, 5));

        ReconnectPolicy exp = ReconnectPolicy.exponential(Duration.ofMillis(100), Duration.ofSeconds(1));
        assertEquals(List.of(100L, 200L, 400L, 800L, 1_000L, 1_000L), delays(exp, 6));
        assertEquals(1_000, exp.delayMs(63), "no overflow for late retries");
        assertEquals(1_000, exp.delayMs(Integer.MAX_VALUE));
        assertEquals(Long.MAX_VALUE / 2, ReconnectPolicy.linear(Duration.ofMillis(Long.MAX_VALUE / 4), Duration.ofMillis(Long.MAX_VALUE / 2)).delayMs(1_000), "saturates");

        ReconnectPolicy limited = exp.maxRetries(3);
        assertTrue(limited.allows(3));
        assertFalse(limited.allows(4));
        assertTrue(exp.allows(1_000_000), "infinite by default");
        assertEquals(3, limited.maxRetries());

        ReconnectPolicy jittered = ReconnectPolicy.fixed(Duration.ofSeconds(1)).jitter(0.2);
        Set<Long> seen = new HashSet<>();
        for (int i = 0; i < 1_000; i++) {
            long d = jittered.delayMs(1);
            assertTrue(d >= 800 && d <= 1_200, "jitter out of bounds: " + d);
            seen.add(d);
        }
        assertTrue(seen.size() > 10, "jitter should spread the delays");
        ReconnectPolicy expJitter = ReconnectPolicy.exponential(Duration.ofMillis(100), Duration.ofSeconds(1)).jitter(0.5);
        for (int i = 0; i < 200; i++) {
            long d = expJitter.delayMs(10);
            assertTrue(d >= 500 && d <= 1_500, "jitter around the capped delay: " + d);
        }

        assertThrows(IllegalArgumentException.class, () -> ReconnectPolicy.linear(Duration.ofMillis(500), Duration.ofMillis(100)));
        assertThrows(IllegalArgumentException.class, () -> ReconnectPolicy.fixed(Duration.ofMillis(-1)));
        assertThrows(IllegalArgumentException.class, () -> ReconnectPolicy.fixed(Duration.ofMillis(1)).jitter(1.5));
        assertThrows(IllegalArgumentException.class, () -> ReconnectPolicy.fixed(Duration.ofMillis(1)).maxRetries(-2));
    }

    private static List<Long> delays(ReconnectPolicy p, int n) {
        List<Long> out = new java.util.ArrayList<>();
        for (int r = 1; r <= n; r++) out.add(p.delayMs(r));
        return out;
    }

    /** A port that was free a moment ago (bound by a server that is closed again). */
    private static int freePort() {
        TcpServer probe = TcpServer.create("127.0.0.1", 0).threads(1).start();
        int port = probe.port();
        probe.close();
        return port;
    }

    @Test
    void retriesWithBackoffWhileTheServerIsDownAndReconnectsWhenItIsBack() throws Exception {
        int port = freePort();
        List<CloseCause> causes = new CopyOnWriteArrayList<>();
        AtomicInteger ups = new AtomicInteger();
        TcpClient client = TcpClient.create("127.0.0.1", port)
                .reconnect(ReconnectPolicy.exponential(Duration.ofMillis(20), Duration.ofMillis(100)))
                .onConnection(c -> { if (c.isConnected()) ups.incrementAndGet(); })
                .onClose((c, cause) -> causes.add(cause))
                .start();
        try {
            assertTrue(Probes.await(() -> client.retries() >= 3, Duration.ofSeconds(5)), "retries: " + client.retries());
            assertFalse(client.isConnected());
            for (CloseCause c : causes) assertEquals(CloseCause.Kind.ERROR, c.kind(), "a refused connect: " + c);
            assertThrows(IllegalStateException.class, () -> client.write("x"));

            // The server comes back on the same port.
            TcpServer server = TcpServer.create("127.0.0.1", port).threads(1)
                    .onMessage((c, buf) -> c.write(buf))
                    .start();
            try {
                assertTrue(Probes.await(client::isConnected, Duration.ofSeconds(5)));
                assertEquals(1, client.connectCount());
                assertEquals(0, client.retries(), "a successful connect resets the retries");
                CompletableFuture<String> echo = new CompletableFuture<>();
                Connection conn = client.connection();
                conn.loop().submit(() -> { conn.onMessage((c, buf) -> echo.complete(buf.readString())); return null; })
                        .get(5, TimeUnit.SECONDS); // a loop-thread-only setter
                client.write("ping");
                assertEquals("ping", echo.get(5, TimeUnit.SECONDS));
            } finally {
                server.close(); // goes away again ...
            }
            assertTrue(Probes.await(() -> !client.isConnected(), Duration.ofSeconds(5)));
            // ... and comes back once more.
            TcpServer again = TcpServer.create("127.0.0.1", port).threads(1).start();
            try {
                assertTrue(Probes.await(() -> client.connectCount() == 2 && client.isConnected(), Duration.ofSeconds(5)));
                assertEquals(2, ups.get());
            } finally {
                again.close();
            }
        } finally {
            client.close();
            assertTrue(client.awaitTermination(Duration.ofSeconds(5)));
        }
    }

    @Test
    void aServerThatStopsAnsweringIsDetectedByTheReadTimeoutAndTheClientReconnects() throws Exception {
        List<Socket> held = new CopyOnWriteArrayList<>();
        try (ServerSocket silent = new ServerSocket()) {
            silent.bind(new InetSocketAddress("127.0.0.1", 0));
            Thread acceptor = new Thread(() -> {
                try {
                    while (true) held.add(silent.accept()); // accepts, never reads, never answers, never closes
                } catch (java.io.IOException closed) {
                    // the test is over
                }
            }, "silent-acceptor");
            acceptor.start();
            List<CloseCause> causes = new CopyOnWriteArrayList<>();
            TcpClient client = TcpClient.create("127.0.0.1", silent.getLocalPort())
                    .heartbeat(Duration.ofMillis(50), () -> "ping\n")
                    .readTimeout(Duration.ofMillis(300))
                    .reconnect(ReconnectPolicy.fixed(Duration.ofMillis(50)))
                    .onClose((c, cause) -> causes.add(cause))
                    .start();
            try {
                assertTrue(Probes.await(() -> client.connectCount() >= 2 && held.size() >= 2, Duration.ofSeconds(10)),
                        "connects " + client.connectCount() + ", accepted " + held.size());
                CloseCause first = causes.get(0);
                assertEquals(CloseCause.Kind.TIMEOUT, first.kind());
                assertEquals("read timeout", first.detail());
                // the heartbeat was sent on the first connection while it lived
                byte[] ping = new byte[5];
                new DataInputStream(held.get(0).getInputStream()).readFully(ping);
                assertEquals("ping\n", new String(ping, StandardCharsets.US_ASCII));
            } finally {
                client.close();
                assertTrue(client.awaitTermination(Duration.ofSeconds(5)));
                silent.close();
                for (Socket s : held) s.close();
                acceptor.join(5_000);
            }
        }
    }

    @Test
    void closeDuringBackoffEndsTheClientCleanly() throws Exception {
        AtomicInteger accepts = new AtomicInteger();
        try (ServerSocket rude = new ServerSocket()) {
            rude.bind(new InetSocketAddress("127.0.0.1", 0));
            Thread acceptor = new Thread(() -> {
                try {
                    while (true) {
                        rude.accept().close(); // hangs up at once: the client backs off
                        accepts.incrementAndGet();
                    }
                } catch (java.io.IOException closed) {
                    // the test is over
                }
            }, "rude-acceptor");
            acceptor.start();
            CountDownLatch lost = new CountDownLatch(1);
            String threadName = "jhv-client-127.0.0.1:" + rude.getLocalPort();
            TcpClient client = TcpClient.create("127.0.0.1", rude.getLocalPort())
                    .reconnect(ReconnectPolicy.fixed(Duration.ofMillis(400)))
                    .onClose((c, cause) -> lost.countDown())
                    .start();
            assertTrue(lost.await(5, TimeUnit.SECONDS));
            assertEquals(1, Probes.threadsNamed(threadName));
            // now within the 400 ms back-off
            client.close();
            assertTrue(client.awaitTermination(Duration.ofSeconds(2)));
            assertFalse(client.loop().isRunning());
            assertEquals(0, Probes.settle(() -> Probes.threadsNamed(threadName), 0, Duration.ofSeconds(2)), "the client's own loop thread ended");
            int seen = accepts.get();
            CountDownLatch never = new CountDownLatch(1);
            assertFalse(never.await(600, TimeUnit.MILLISECONDS)); // longer than the back-off
            assertEquals(seen, accepts.get(), "no connect attempt after close()");
            client.close(); // idempotent
            rude.close();
            acceptor.join(5_000);
        }
    }

    @Test
    void closeWhileResolvingOrConnectingEndsTheClientCleanly() throws Exception {
        // a name: resolved on another thread, close() may land before or after the result
        for (int i = 0; i < 20; i++) {
            TcpClient c = TcpClient.create("localhost", 9).reconnect(ReconnectPolicy.fixed(Duration.ofMillis(10))).start();
            c.close();
            assertTrue(c.awaitTermination(Duration.ofSeconds(5)));
        }
        // a connect that may hang (a black-holed address) or fail at once (no route): either way
        TcpClient c = TcpClient.create("192.0.2.1", 9).connectTimeout(Duration.ofSeconds(5)).start();
        CountDownLatch moment = new CountDownLatch(1);
        assertFalse(moment.await(50, TimeUnit.MILLISECONDS));
        long start = System.nanoTime();
        c.close();
        assertTrue(c.awaitTermination(Duration.ofSeconds(2)));
        assertTrue((System.nanoTime() - start) / 1_000_000 < 2_000);
        assertEquals(0, Probes.settle(() -> Probes.threadsNamed("jhv-client-localhost") + Probes.threadsNamed("jhv-client-192.0.2.1"),
                0, Duration.ofSeconds(2)));

        // closed before it started: start() refuses, nothing is left running
        TcpClient never = TcpClient.create("127.0.0.1", 9);
        never.close();
        assertTrue(never.awaitTermination(Duration.ofSeconds(1)));
        assertThrows(IllegalStateException.class, never::start);
    }

    @Test
    void closeRacingWithStartNeverLeavesALoopRunning() throws Exception {
        for (int i = 0; i < 50; i++) {
            TcpClient c = TcpClient.create("127.0.0.1", 9).reconnect(ReconnectPolicy.fixed(Duration.ofMillis(5)));
            Thread starter = new Thread(() -> {
                try {
                    c.start();
                } catch (IllegalStateException closedFirst) {
                    // fine: close() won the race
                }
            });
            starter.start();
            c.close();
            starter.join();
            assertTrue(c.awaitTermination(Duration.ofSeconds(5)), "round " + i);
        }
        assertEquals(0, Probes.settle(() -> Probes.threadsNamed("jhv-client-127.0.0.1:9"), 0, Duration.ofSeconds(5)));
    }

    @Test
    void aHostNameIsResolvedOffTheLoopAndWorks() throws Exception {
        try (TcpServer server = TcpServer.create(0).threads(1).onMessage((c, buf) -> c.write(buf)).start()) {
            CompletableFuture<String> echo = new CompletableFuture<>();
            TcpClient client = TcpClient.create("localhost", server.port())
                    .onConnection(c -> { if (c.isConnected()) c.write("over a name"); })
                    .onMessage((c, buf) -> echo.complete(buf.readString()))
                    .start();
            try {
                assertEquals("over a name", echo.get(5, TimeUnit.SECONDS));
            } finally {
                client.close();
                assertTrue(client.awaitTermination(Duration.ofSeconds(5)));
            }
        }
    }

    @Test
    void aClientOnASharedLoopLeavesTheLoopRunningWhenClosedFromItsCallback() throws Exception {
        EventLoop loop = EventLoop.builder().name("jhv-shared-client-loop").build().start();
        try (TcpServer server = TcpServer.create("127.0.0.1", 0).threads(1).onMessage((c, buf) -> c.write(buf)).start()) {
            TcpClient[] self = new TcpClient[1];
            CountDownLatch closed = new CountDownLatch(1);
            self[0] = TcpClient.create("127.0.0.1", server.port()).loop(loop)
                    .reconnect(ReconnectPolicy.fixed(Duration.ofMillis(10)))
                    .onConnection(c -> { if (c.isConnected()) c.write("bye"); })
                    .onMessage((c, buf) -> { buf.skip(buf.readableBytes()); self[0].close(); }) // on the loop thread
                    .onClose((c, cause) -> closed.countDown());
            self[0].start(); // after the assignment: the handlers use it
            assertTrue(closed.await(5, TimeUnit.SECONDS));
            assertTrue(self[0].awaitTermination(Duration.ofSeconds(5)));
            assertTrue(loop.isRunning(), "a shared loop is not the client's to stop");
            assertEquals(1, self[0].connectCount(), "no reconnect after close()");
        } finally {
            loop.close();
        }
    }

    @Test
    void aClientBindsToTheLocalAddressItIsGiven() throws Exception {
        int local = freePort();
        CompletableFuture<java.net.SocketAddress> seen = new CompletableFuture<>();
        try (TcpServer server = TcpServer.create("127.0.0.1", 0).threads(1)
                .onConnection(c -> { if (c.isConnected()) seen.complete(c.remoteAddress()); })
                .start()) {
            TcpClient client = TcpClient.create("127.0.0.1", server.port())
                    .bind(new InetSocketAddress("127.0.0.1", local))
                    .start();
            try {
                assertEquals(new InetSocketAddress("127.0.0.1", local), seen.get(5, TimeUnit.SECONDS));
                assertTrue(Probes.await(client::isConnected, Duration.ofSeconds(5)));
                assertEquals(local, ((InetSocketAddress) client.connection().localAddress()).getPort());
            } finally {
                client.close();
                assertTrue(client.awaitTermination(Duration.ofSeconds(5)));
            }
        }
    }

    @Test
    void aConnectThatFailsBeforeRegistrationLeavesTheLoopsLoadAlone() throws Exception {
        EventLoop loop = EventLoop.builder().name("jhv-load-check").build().start();
        try (TcpServer server = TcpServer.create("127.0.0.1", 0).threads(1).start()) {
            CompletableFuture<CloseCause> cause = new CompletableFuture<>();
            // binding to the server's own listening address fails before the channel is registered
            TcpClient client = TcpClient.create("127.0.0.1", server.port()).loop(loop)
                    .bind(new InetSocketAddress("127.0.0.1", server.port()))
                    .onClose((c, why) -> cause.complete(why))
                    .start();
            assertEquals(CloseCause.Kind.ERROR, cause.get(5, TimeUnit.SECONDS).kind());
            CompletableFuture<Integer> load = new CompletableFuture<>();
            loop.post(() -> load.complete(loop.load()));
            assertEquals(0, load.get(5, TimeUnit.SECONDS), "load counts registered connections only");
            client.close();
            assertTrue(client.awaitTermination(Duration.ofSeconds(5)));
        } finally {
            loop.close();
        }
    }

    @Test
    void theClientGivesUpAfterMaxRetries() throws Exception {
        int port = freePort();
        AtomicInteger attempts = new AtomicInteger();
        TcpClient client = TcpClient.create("127.0.0.1", port)
                .reconnect(ReconnectPolicy.fixed(Duration.ofMillis(20)).maxRetries(2))
                .onClose((c, cause) -> attempts.incrementAndGet())
                .start();
        try {
            assertTrue(Probes.await(() -> attempts.get() == 3, Duration.ofSeconds(5)), "first try and 2 retries");
            CountDownLatch never = new CountDownLatch(1);
            assertFalse(never.await(200, TimeUnit.MILLISECONDS));
            assertEquals(3, attempts.get(), "no attempt after the last retry");
            assertEquals(2, client.retries());
        } finally {
            client.close();
            assertTrue(client.awaitTermination(Duration.ofSeconds(5)));
        }
    }
}
