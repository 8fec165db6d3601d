package io.jhv.core.net;

import io.jhv.core.loop.EventLoop;
import io.jhv.core.loop.Probes;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.DataInputStream;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Per-connection timeouts, heartbeat, maxConnections, server close, connections() and broadcast. */
@Timeout(60)
class TimeoutTest {

    private static byte[] filled(int n, char c) {
        byte[] b = new byte[n];
        Arrays.fill(b, (byte) c);
        return b;
    }

    private static final class Timed {
        final CompletableFuture<CloseCause> cause = new CompletableFuture<>();
        final AtomicLong upAt = new AtomicLong();
        volatile long closedAt;

        void up() { upAt.compareAndSet(0, System.nanoTime()); }

        void closed(CloseCause c) {
            closedAt = System.nanoTime();
            cause.complete(c);
        }

        long millisOpen() { return (closedAt - upAt.get()) / 1_000_000; }
    }

    @Test
    void readTimeoutClosesASilentConnectionButNotAnActiveOne() throws Exception {
        Timed silent = new Timed(), active = new Timed();
        Socket talker = new Socket();
        talker.bind(new InetSocketAddress("127.0.0.1", 0));
        int talkerPort = talker.getLocalPort(); // tells the two connections apart on the server
        try (TcpServer server = TcpServer.create("127.0.0.1", 0).threads(1).readTimeout(Duration.ofMillis(1000))
                .onConnection(c -> { if (c.isConnected()) pick(c, talkerPort, silent, active).up(); })
                .onMessage((c, buf) -> buf.skip(buf.readableBytes()))
                .onClose((c, cause) -> pick(c, talkerPort, silent, active).closed(cause))
                .start();
             Socket quiet = new Socket("127.0.0.1", server.port());
             talker) {
            talker.connect(new InetSocketAddress("127.0.0.1", server.port()));
            // talks every 100 ms for ~1.6 s, well past the timeout; a gap would have to last 1 s (a
            // loaded machine's scheduling delays are far shorter) to let the active one time out
            for (int i = 0; i < 16; i++) {
                talker.getOutputStream().write('.');
                Thread.sleep(100); // pacing the peer's traffic, not synchronisation
            }
            CloseCause c = silent.cause.get(5, TimeUnit.SECONDS);
            assertEquals(CloseCause.Kind.TIMEOUT, c.kind());
            assertEquals("read timeout", c.detail());
            assertTrue(silent.millisOpen() >= 990, "closed after " + silent.millisOpen() + " ms");
            assertFalse(active.cause.isDone(), "an active connection must stay open");
            assertEquals(CloseCause.Kind.TIMEOUT, active.cause.get(5, TimeUnit.SECONDS).kind(), "... until it goes quiet");
        }
    }

    private static Timed pick(Connection c, int talkerPort, Timed silent, Timed active) {
        InetSocketAddress peer = (InetSocketAddress) c.remoteAddress();
        return peer != null && peer.getPort() == talkerPort ? active : silent;
    }

    @Test
    void writeTimeoutClosesWhenTheQueueDoesNotDrain() throws Exception {
        Timed t = new Timed();
        CompletableFuture<Connection> serverSide = new CompletableFuture<>();
        try (TcpServer server = TcpServer.create("127.0.0.1", 0).threads(1).writeTimeout(Duration.ofMillis(300))
                .onConnection(c -> {
                    if (!c.isConnected()) return;
                    serverSide.complete(c);
                    t.up();
                    c.write(filled(32 << 20, 'w')); // the peer never reads
                })
                .onClose((c, cause) -> t.closed(cause))
                .start();
             Socket s = new Socket("127.0.0.1", server.port())) {
            CloseCause c = t.cause.get(5, TimeUnit.SECONDS);
            assertEquals(CloseCause.Kind.TIMEOUT, c.kind());
            assertEquals("write timeout", c.detail());
            assertTrue(t.millisOpen() >= 290, "closed after " + t.millisOpen() + " ms");
        }
        // With nothing queued, the write timeout never fires.
        Timed idle = new Timed();
        try (TcpServer server = TcpServer.create("127.0.0.1", 0).threads(1).writeTimeout(Duration.ofMillis(100))
                .onClose((c, cause) -> idle.closed(cause))
                .start();
             Socket s = new Socket("127.0.0.1", server.port())) {
            assertTrue(Probes.await(() -> server.connectionCount() == 1, Duration.ofSeconds(5)));
            CountDownLatch never = new CountDownLatch(1);
            assertFalse(never.await(350, TimeUnit.MILLISECONDS));
            assertFalse(idle.cause.isDone(), "closed without a queue: " + idle.cause.getNow(null));
        }
    }

    @Test
    void keepaliveTimeoutClosesAConnectionWithNoIoAtAll() throws Exception {
        Timed t = new Timed();
        try (TcpServer server = TcpServer.create("127.0.0.1", 0).threads(1).keepAliveTimeout(Duration.ofMillis(400))
                .onConnection(c -> { if (c.isConnected()) t.up(); })
                .onMessage((c, buf) -> c.write(buf))
                .onClose((c, cause) -> t.closed(cause))
                .start();
             Socket s = new Socket("127.0.0.1", server.port())) {
            // Traffic (an echo: reads and writes) for ~500 ms keeps it open ...
            long lastIo = 0;
            for (int i = 0; i < 6; i++) {
                if (i > 0) Thread.sleep(100); // pacing the peer's traffic, not synchronisation
                s.getOutputStream().write('k');
                assertEquals('k', s.getInputStream().read());
                lastIo = System.nanoTime();
            }
            assertFalse(t.cause.isDone(), "closed while active: " + t.cause.getNow(null));
            // ... then silence closes it.
            CloseCause c = t.cause.get(5, TimeUnit.SECONDS);
            assertEquals(CloseCause.Kind.TIMEOUT, c.kind());
            assertEquals("keepalive timeout", c.detail());
            long quietMs = (t.closedAt - lastIo) / 1_000_000;
            assertTrue(quietMs >= 390, "closed " + quietMs + " ms after the last IO");
            assertEquals(-1, s.getInputStream().read());
        }
    }

    @Test
    void heartbeatSendsTheSuppliersOutputAtTheInterval() throws Exception {
        try (TcpServer server = TcpServer.create("127.0.0.1", 0).threads(1)
                .heartbeat(Duration.ofMillis(100), () -> "hb\n")
                .start();
             Socket s = new Socket("127.0.0.1", server.port())) {
            long start = System.nanoTime();
            byte[] five = new byte[15];
            new DataInputStream(s.getInputStream()).readFully(five);
            long ms = (System.nanoTime() - start) / 1_000_000;
            assertEquals("hb\n".repeat(5), new String(five, StandardCharsets.US_ASCII));
            assertTrue(ms >= 450, "five heartbeats at 100 ms took only " + ms + " ms");
            assertTrue(ms < 3_000, "five heartbeats at 100 ms took " + ms + " ms");
        }
    }

    @Test
    void maxConnectionsRejectsAndCountsTheExtraOnes() throws Exception {
        try (TcpServer server = TcpServer.create("127.0.0.1", 0).threads(1).maxConnections(2).start()) {
            List<Socket> sockets = new ArrayList<>();
            try {
                for (int i = 0; i < 2; i++) sockets.add(new Socket("127.0.0.1", server.port()));
                assertTrue(Probes.await(() -> server.connectionCount() == 2, Duration.ofSeconds(5)));
                for (int i = 0; i < 3; i++) {
                    Socket extra = new Socket("127.0.0.1", server.port());
                    sockets.add(extra);
                    extra.setSoTimeout(5_000);
                    assertTrue(endsAtOnce(extra.getInputStream()), "an extra connection is closed at once");
                }
                assertEquals(3, server.rejectedCount());
                assertEquals(5, server.acceptedCount());
                assertEquals(2, server.connectionCount());
                assertEquals(2, server.connections().size());
                // a slot frees up when one closes
                sockets.get(0).close();
                assertTrue(Probes.await(() -> server.connectionCount() == 1, Duration.ofSeconds(5)));
                Socket again = new Socket("127.0.0.1", server.port());
                sockets.add(again);
                assertTrue(Probes.await(() -> server.connectionCount() == 2, Duration.ofSeconds(5)));
                assertEquals(3, server.rejectedCount());
            } finally {
                for (Socket s : sockets) s.close();
            }
        }
    }

    private static boolean endsAtOnce(InputStream in) throws Exception {
        try {
            return in.read() < 0;
        } catch (java.net.SocketException reset) {
            return true;
        }
    }

    @Test
    void closeFromAnotherThreadFlushesConnectionsAndReleasesThePort() throws Exception {
        int size = 8 << 20;
        List<CloseCause> causes = new java.util.concurrent.CopyOnWriteArrayList<>();
        TcpServer server = TcpServer.create("127.0.0.1", 0).threads(2)
                .onConnection(c -> { if (c.isConnected()) c.write(filled(size, 'z')); })
                .onClose((c, cause) -> causes.add(cause))
                .start();
        int port = server.port();
        List<Socket> clients = new ArrayList<>();
        List<CompletableFuture<byte[]>> reads = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            Socket s = new Socket("127.0.0.1", port);
            clients.add(s);
        }
        assertTrue(Probes.await(() -> server.connectionCount() == 3, Duration.ofSeconds(5)));
        // The clients read only after close() has begun: the queues are full when it starts.
        CountDownLatch closing = new CountDownLatch(1);
        for (Socket s : clients) {
            reads.add(CompletableFuture.supplyAsync(() -> {
                try {
                    closing.await();
                    Thread.sleep(100);
                    return s.getInputStream().readAllBytes();
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            }));
        }
        // two closers at once: both return only when the server is closed
        List<Integer> closedWhenReturned = new java.util.concurrent.CopyOnWriteArrayList<>();
        List<Thread> closers = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            Thread closer = new Thread(() -> {
                closing.countDown();
                server.close(Duration.ofSeconds(10));
                closedWhenReturned.add(causes.size());
            });
            closer.start();
            closers.add(closer);
        }
        for (Thread closer : closers) {
            closer.join(15_000);
            assertFalse(closer.isAlive());
        }
        assertEquals(List.of(3, 3), closedWhenReturned);
        for (CompletableFuture<byte[]> r : reads) assertArrayEquals(filled(size, 'z'), r.get(10, TimeUnit.SECONDS));
        assertEquals(3, causes.size());
        for (CloseCause c : causes) assertEquals(CloseCause.Kind.NORMAL, c.kind());
        for (EventLoop l : server.group().loops()) assertFalse(l.isRunning());
        // the port is free again as soon as close() returns
        try (ServerSocket again = new ServerSocket()) {
            again.bind(new InetSocketAddress("127.0.0.1", port));
        }
        for (Socket s : clients) s.close();
    }

    @Test
    void closeAbortsWhatIsStillQueuedAtTheDeadline() throws Exception {
        List<CloseCause> causes = new java.util.concurrent.CopyOnWriteArrayList<>();
        TcpServer server = TcpServer.create("127.0.0.1", 0).threads(1)
                .onConnection(c -> { if (c.isConnected()) c.write(filled(32 << 20, 'z')); })
                .onClose((c, cause) -> causes.add(cause))
                .start();
        try (Socket s = new Socket("127.0.0.1", server.port())) { // never reads
            assertTrue(Probes.await(() -> server.connectionCount() == 1, Duration.ofSeconds(5)));
            long start = System.nanoTime();
            server.close(Duration.ofMillis(300));
            long ms = (System.nanoTime() - start) / 1_000_000;
            assertTrue(ms >= 290 && ms < 5_000, "close took " + ms + " ms");
            assertEquals(1, causes.size());
            assertEquals("aborted", causes.get(0).detail());
        }
    }

    @Test
    void connectionsAndBroadcastReachEveryLiveConnection() throws Exception {
        try (TcpServer server = TcpServer.create("127.0.0.1", 0).threads(2).start()) {
            List<Socket> clients = new ArrayList<>();
            try {
                for (int i = 0; i < 4; i++) clients.add(new Socket("127.0.0.1", server.port()));
                assertTrue(Probes.await(() -> server.connections().size() == 4, Duration.ofSeconds(5)));
                java.util.Set<Long> ids = new java.util.HashSet<>();
                for (Connection c : server.connections()) ids.add(c.id());
                assertEquals(4, ids.size(), "connection ids are unique");
                server.broadcast("hi\n");
                server.broadcast(new byte[] {'b', '\n'});
                server.broadcast(io.jhv.core.buffer.Buffer.of("buf\n"));
                for (Socket s : clients) {
                    byte[] got = new byte[9];
                    new DataInputStream(s.getInputStream()).readFully(got);
                    assertEquals("hi\nb\nbuf\n", new String(got, StandardCharsets.US_ASCII));
                }
            } finally {
                for (Socket s : clients) s.close();
            }
            assertTrue(Probes.await(() -> server.connections().isEmpty(), Duration.ofSeconds(5)));
        }
    }

    @Test
    void closeCalledFromALoopThreadFinishesInTheBackground() throws Exception {
        AtomicLong closes = new AtomicLong();
        TcpServer[] self = new TcpServer[1];
        TcpServer server = TcpServer.create("127.0.0.1", 0).threads(2)
                .onMessage((c, buf) -> {
                    if (buf.readString().startsWith("quit")) self[0].close(Duration.ofSeconds(5)); // on a loop thread
                })
                .onClose((c, cause) -> closes.incrementAndGet())
                .start();
        self[0] = server;
        List<Socket> clients = new ArrayList<>();
        try {
            for (int i = 0; i < 3; i++) clients.add(new Socket("127.0.0.1", server.port()));
            assertTrue(Probes.await(() -> server.connectionCount() == 3, Duration.ofSeconds(5)));
            clients.get(0).getOutputStream().write("quit".getBytes(StandardCharsets.US_ASCII));
            for (Socket s : clients) {
                s.setSoTimeout(5_000);
                assertEquals(-1, s.getInputStream().read(), "every connection is closed");
            }
            assertTrue(Probes.await(() -> {
                for (EventLoop l : server.group().loops()) if (l.isRunning()) return false;
                return true;
            }, Duration.ofSeconds(5)), "the server's own loops stop");
            // isRunning() turns false when stop is asked; the last onClose may still be running then
            assertTrue(Probes.await(() -> closes.get() == 3, Duration.ofSeconds(5)), "onClose calls: " + closes.get());
        } finally {
            for (Socket s : clients) s.close();
        }
    }
}
