package io.jhv.core.net;

import io.jhv.core.loop.Probes;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.DataInputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/** close(), abort(), half-close, one onClose per connection with its cause, and no leaks. */
@Timeout(60)
class CloseTest {

    /** Records every onClose, per connection. */
    static final class Closes implements CloseHandler {
        final Map<Long, List<CloseCause>> byConn = new ConcurrentHashMap<>();
        final CompletableFuture<CloseCause> first = new CompletableFuture<>();
        final AtomicInteger total = new AtomicInteger();

        @Override
        public void onClose(Connection c, CloseCause cause) {
            byConn.computeIfAbsent(c.id(), k -> new CopyOnWriteArrayList<>()).add(cause);
            total.incrementAndGet();
            first.complete(cause);
        }

        CloseCause await() throws Exception {
            return first.get(5, TimeUnit.SECONDS);
        }

        void assertOncePerConnection() {
            for (Map.Entry<Long, List<CloseCause>> e : byConn.entrySet()) {
                assertEquals(1, e.getValue().size(), "onClose calls for c" + e.getKey() + ": " + e.getValue());
            }
        }
    }

    private static byte[] filled(int n, char c) {
        byte[] b = new byte[n];
        Arrays.fill(b, (byte) c);
        return b;
    }

    private static long drain(InputStream in) throws Exception {
        byte[] buf = new byte[64 * 1024];
        long total = 0;
        try {
            for (int n; (n = in.read(buf)) >= 0; ) total += n;
        } catch (java.net.SocketException reset) {
            // an aborted peer may reset
        }
        return total;
    }

    @Test
    void closeFlushesTheQueueThenCloses() throws Exception {
        int size = 16 << 20;
        Closes closes = new Closes();
        try (TcpServer server = TcpServer.create("127.0.0.1", 0).threads(1)
                .onConnection(c -> {
                    if (!c.isConnected()) return;
                    c.write(filled(size, 'q'));
                    c.close();
                    // closing: further writes fail at once, with a message that says so
                    IllegalStateException e = assertThrows(IllegalStateException.class, () -> c.write("late"));
                    assertTrue(e.getMessage().contains("closing"), e.getMessage());
                })
                .onClose(closes)
                .start();
             Socket s = new Socket("127.0.0.1", server.port())) {
            byte[] got = new byte[size];
            new DataInputStream(s.getInputStream()).readFully(got);
            assertArrayEquals(filled(size, 'q'), got);
            assertEquals(-1, s.getInputStream().read(), "EOF after the queued data");
            CloseCause cause = closes.await();
            assertEquals(CloseCause.Kind.NORMAL, cause.kind());
            closes.assertOncePerConnection();
        }
    }

    @Test
    void abortClosesAtOnceDroppingTheQueue() throws Exception {
        int size = 64 << 20;
        Closes closes = new Closes();
        try (TcpServer server = TcpServer.create("127.0.0.1", 0).threads(1)
                .onConnection(c -> {
                    if (!c.isConnected()) return;
                    c.write(filled(size, 'q'));
                    c.abort();
                })
                .onClose(closes)
                .start();
             Socket s = new Socket("127.0.0.1", server.port())) {
            // onClose comes before the client has read anything: abort does not wait for the queue
            assertEquals(CloseCause.Kind.ABORTED, closes.await().kind());
            long got = drain(s.getInputStream());
            assertTrue(got < size, "abort must drop the queue, but all " + got + " bytes arrived");
            closes.assertOncePerConnection();
        }
    }

    @Test
    void shutdownOutputHalfClosesAndTheConnectionStillReads() throws Exception {
        Closes closes = new Closes();
        CompletableFuture<String> received = new CompletableFuture<>();
        CompletableFuture<String> writeAfterShutdown = new CompletableFuture<>();
        try (TcpServer server = TcpServer.create("127.0.0.1", 0).threads(1)
                .onConnection(c -> {
                    if (!c.isConnected()) return;
                    c.write("hello");
                    c.shutdownOutput();
                    try {
                        c.write("too late");
                        writeAfterShutdown.complete("no error");
                    } catch (IllegalStateException e) {
                        writeAfterShutdown.complete(e.getMessage());
                    }
                })
                .onMessage((c, buf) -> received.complete(buf.readString()))
                .onClose(closes)
                .start();
             Socket s = new Socket("127.0.0.1", server.port())) {
            InputStream in = s.getInputStream();
            byte[] hello = new byte[5];
            new DataInputStream(in).readFully(hello);
            assertEquals("hello", new String(hello, StandardCharsets.US_ASCII));
            assertEquals(-1, in.read(), "the server's FIN");
            assertTrue(writeAfterShutdown.get(5, TimeUnit.SECONDS).contains("shutdownOutput"));
            s.getOutputStream().write("still here".getBytes(StandardCharsets.US_ASCII));
            assertEquals("still here", received.get(5, TimeUnit.SECONDS));
            assertFalse(closes.first.isDone(), "a half-closed connection stays open");
            s.shutdownOutput(); // now both directions are done
            assertEquals(CloseCause.Kind.PEER_CLOSED, closes.await().kind());
            closes.assertOncePerConnection();
        }
    }

    @Test
    void whenBothSidesHaveShutDownTheConnectionClosesEvenWithAPeerShutdownHandler() throws Exception {
        Closes closes = new Closes();
        AtomicInteger peerShutdowns = new AtomicInteger();
        try (TcpServer server = TcpServer.create("127.0.0.1", 0).threads(1)
                .onConnection(c -> { if (c.isConnected()) c.shutdownOutput(); })
                .onPeerShutdown(c -> peerShutdowns.incrementAndGet())
                .onClose(closes)
                .start();
             Socket s = new Socket("127.0.0.1", server.port())) {
            assertEquals(-1, s.getInputStream().read(), "the server's FIN");
            s.shutdownOutput();
            assertEquals(CloseCause.Kind.PEER_CLOSED, closes.await().kind());
            assertEquals(1, peerShutdowns.get(), "the peer's half-close is still reported");
            assertTrue(Probes.await(() -> server.connectionCount() == 0, Duration.ofSeconds(5)));
            closes.assertOncePerConnection();
        }
    }

    @Test
    void aClosingConnectionIsNoLongerListedWhenItsHandlersRun() throws Exception {
        CompletableFuture<String> seen = new CompletableFuture<>();
        TcpServer[] self = new TcpServer[1];
        try (TcpServer server = TcpServer.create("127.0.0.1", 0).threads(1)
                .onClose((c, cause) -> seen.complete(self[0].connectionCount() + " " + self[0].connections().contains(c)))
                .start()) {
            self[0] = server;
            new Socket("127.0.0.1", server.port()).close();
            assertEquals("0 false", seen.get(5, TimeUnit.SECONDS));
        }
    }

    @Test
    void aPeersHalfCloseIsReportedAndWritesStillDrain() throws Exception {
        int size = 8 << 20;
        Closes closes = new Closes();
        CountDownLatch reported = new CountDownLatch(1);
        try (TcpServer server = TcpServer.create("127.0.0.1", 0).threads(1)
                .onPeerShutdown(c -> {
                    reported.countDown();
                    c.write(filled(size, 'r')); // answer after the peer's FIN
                    c.close();
                })
                .onClose(closes)
                .start();
             Socket s = new Socket("127.0.0.1", server.port())) {
            s.getOutputStream().write("request".getBytes(StandardCharsets.US_ASCII));
            s.shutdownOutput();
            assertTrue(reported.await(5, TimeUnit.SECONDS));
            byte[] got = new byte[size];
            new DataInputStream(s.getInputStream()).readFully(got);
            assertArrayEquals(filled(size, 'r'), got);
            assertEquals(-1, s.getInputStream().read());
            assertEquals(CloseCause.Kind.NORMAL, closes.await().kind());
            closes.assertOncePerConnection();
        }
    }

    @Test
    void withoutAHandlerAPeersHalfCloseClosesAfterTheEchoDrained() throws Exception {
        int size = 8 << 20;
        Closes closes = new Closes();
        try (TcpServer server = TcpServer.create("127.0.0.1", 0).threads(1)
                .onMessage((c, buf) -> c.write(buf))
                .onClose(closes)
                .start();
             Socket s = new Socket("127.0.0.1", server.port())) {
            CompletableFuture<Long> read = CompletableFuture.supplyAsync(() -> {
                try {
                    return drain(s.getInputStream());
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            });
            OutputStream out = s.getOutputStream();
            out.write(filled(size, 'e'));
            s.shutdownOutput();
            assertEquals(size, read.get(20, TimeUnit.SECONDS), "every echoed byte before the EOF");
            assertEquals(CloseCause.Kind.PEER_CLOSED, closes.await().kind());
            closes.assertOncePerConnection();
        }
    }

    @Test
    void everyCloseKindIsReportedExactlyOnce() throws Exception {
        Closes closes = new Closes();
        Map<String, CompletableFuture<CloseCause>> byTag = new ConcurrentHashMap<>();
        for (String tag : List.of("normal", "peer", "reset", "timeout", "error")) byTag.put(tag, new CompletableFuture<>());
        try (TcpServer server = TcpServer.create("127.0.0.1", 0).threads(1)
                .readTimeout(Duration.ofMillis(1_000))
                .onMessage((c, buf) -> {
                    String tag = buf.readString().trim();
                    c.context(tag);
                    switch (tag) {
                        case "normal" -> c.close();
                        case "error" -> throw new IllegalArgumentException("bad input");
                        default -> { } // peer / reset: the client acts; timeout: nobody does
                    }
                })
                .onClose((c, cause) -> {
                    closes.onClose(c, cause);
                    String tag = c.context();
                    if (tag != null) byTag.get(tag).complete(cause);
                })
                .start()) {
            List<Socket> sockets = new ArrayList<>();
            try {
                for (String tag : List.of("normal", "peer", "reset", "timeout", "error")) {
                    Socket s = new Socket("127.0.0.1", server.port());
                    sockets.add(s);
                    s.getOutputStream().write(tag.getBytes(StandardCharsets.US_ASCII));
                    s.getOutputStream().flush();
                }
                // the server must have read every tag before the client side acts
                byTag.get("normal").get(5, TimeUnit.SECONDS);
                byTag.get("error").get(5, TimeUnit.SECONDS);
                assertTrue(Probes.await(() -> {
                    int tagged = 0;
                    for (Connection c : server.connections()) if (c.context() != null) tagged++;
                    return tagged == 3;
                }, Duration.ofSeconds(5)));
                sockets.get(1).close();                 // peer: FIN
                sockets.get(2).setSoLinger(true, 0);    // reset: RST
                sockets.get(2).close();
                assertEquals(CloseCause.Kind.NORMAL, byTag.get("normal").get(5, TimeUnit.SECONDS).kind());
                assertEquals(CloseCause.Kind.PEER_CLOSED, byTag.get("peer").get(5, TimeUnit.SECONDS).kind());
                assertEquals(CloseCause.Kind.RESET, byTag.get("reset").get(5, TimeUnit.SECONDS).kind());
                CloseCause timeout = byTag.get("timeout").get(5, TimeUnit.SECONDS);
                assertEquals(CloseCause.Kind.TIMEOUT, timeout.kind());
                assertTrue(timeout.detail().contains("read"), timeout.toString());
                CloseCause error = byTag.get("error").get(5, TimeUnit.SECONDS);
                assertEquals(CloseCause.Kind.ERROR, error.kind());
                assertNotNull(error.error());
                assertEquals("bad input", error.error().getMessage());
                assertTrue(Probes.await(() -> server.connectionCount() == 0, Duration.ofSeconds(5)));
                assertEquals(5, closes.total.get());
                closes.assertOncePerConnection();
            } finally {
                for (Socket s : sockets) s.close();
            }
        }
    }

    @Test
    void writeAfterCloseThrowsAClearError() throws Exception {
        Closes closes = new Closes();
        CompletableFuture<Connection> serverSide = new CompletableFuture<>();
        try (TcpServer server = TcpServer.create("127.0.0.1", 0).threads(1)
                .onConnection(c -> { if (c.isConnected()) serverSide.complete(c); })
                .onClose(closes)
                .start();
             Socket s = new Socket("127.0.0.1", server.port())) {
            Connection c = serverSide.get(5, TimeUnit.SECONDS);
            c.close();
            closes.await();
            assertTrue(c.isClosed());
            assertFalse(c.isConnected());
            for (Runnable write : List.<Runnable>of(() -> c.write("x"), () -> c.write(new byte[1]),
                    () -> c.write(java.nio.ByteBuffer.allocate(1)), () -> c.write(io.jhv.core.buffer.Buffer.of("x")))) {
                IllegalStateException e = assertThrows(IllegalStateException.class, write::run);
                assertTrue(e.getMessage().contains("closed") && e.getMessage().contains("c" + c.id()), e.getMessage());
                assertTrue(e.getMessage().contains("127.0.0.1"), "the message names the peer: " + e.getMessage());
            }
            c.close();  // idempotent
            c.abort();
            CompletableFuture<Integer> onLoop = new CompletableFuture<>();
            c.loop().post(() -> onLoop.complete(closes.total.get()));
            assertEquals(1, onLoop.get(5, TimeUnit.SECONDS));
        }
    }

    @Test
    void writesFromOtherThreadsRacingWithCloseNeverTearOrReorder() throws Exception {
        for (int round = 0; round < 20; round++) {
            Closes closes = new Closes();
            CompletableFuture<Connection> serverSide = new CompletableFuture<>();
            try (TcpServer server = TcpServer.create("127.0.0.1", 0).threads(1)
                    .onConnection(c -> { if (c.isConnected()) serverSide.complete(c); })
                    .onClose(closes)
                    .start();
                 Socket s = new Socket("127.0.0.1", server.port())) {
                Connection c = serverSide.get(5, TimeUnit.SECONDS);
                AtomicLong unexpected = new AtomicLong();
                List<Thread> writers = new ArrayList<>();
                CountDownLatch go = new CountDownLatch(1);
                for (int t = 0; t < 4; t++) {
                    int id = t;
                    Thread w = new Thread(() -> {
                        try {
                            go.await();
                            for (int i = 0; i < 100_000; i++) c.write("w" + id + String.format("%05d", i % 100_000) + "\n");
                        } catch (IllegalStateException closed) {
                            // expected once close() has been seen
                        } catch (Throwable other) {
                            unexpected.incrementAndGet();
                        }
                    });
                    w.start();
                    writers.add(w);
                }
                go.countDown();
                c.close();
                byte[] all = s.getInputStream().readAllBytes();
                for (Thread w : writers) w.join();
                assertEquals(0, unexpected.get());
                assertEquals(0, all.length % 8, "torn message");
                int[] next = new int[4];
                for (int off = 0; off < all.length; off += 8) {
                    assertEquals('w', all[off]);
                    int id = all[off + 1] - '0';
                    int seq = Integer.parseInt(new String(all, off + 2, 5, StandardCharsets.US_ASCII));
                    assertEquals(next[id]++, seq, "writer " + id);
                }
                closes.await();
                closes.assertOncePerConnection();
            }
        }
    }

    @Test
    void serverCloseOnASharedGroupWhileClientsConnectLeavesNothingOpen() throws Exception {
        io.jhv.core.loop.EventLoopGroup group = io.jhv.core.loop.EventLoopGroup.create(2).start();
        try {
            for (int round = 0; round < 5; round++) {
                TcpServer server = TcpServer.create("127.0.0.1", 0).group(group).start();
                List<Socket> sockets = new CopyOnWriteArrayList<>();
                CountDownLatch some = new CountDownLatch(20);
                Thread connector = new Thread(() -> {
                    try {
                        while (true) {
                            sockets.add(new Socket("127.0.0.1", server.port()));
                            some.countDown();
                        }
                    } catch (java.io.IOException refused) {
                        // the server has stopped listening
                    }
                });
                connector.start();
                assertTrue(some.await(5, TimeUnit.SECONDS));
                server.close(Duration.ofSeconds(5)); // while connects keep coming
                // the port is free the moment close() returns, though the group goes on
                try (java.net.ServerSocket again = new java.net.ServerSocket()) {
                    again.setReuseAddress(true);
                    again.bind(new java.net.InetSocketAddress("127.0.0.1", server.port()));
                }
                connector.join(5_000);
                assertEquals(0, server.connectionCount(), "round " + round);
                for (io.jhv.core.loop.EventLoop l : group.loops()) {
                    assertTrue(Probes.await(() -> l.load() == 0, Duration.ofSeconds(5)), "connections left on " + l.name() + ": " + l.load());
                    assertTrue(l.isRunning(), "a shared group is not the server's to stop");
                }
                for (Socket s : sockets) assertNothingOpenBehind(s);
            }
        } finally {
            assertTrue(group.shutdownGracefully(Duration.ofSeconds(5)));
        }
    }

    /**
     * Asserts the server end of {@code s} is gone: EOF or a reset within 5 s. The client sends a
     * byte first because a connect that races with the listener's close can leave the client
     * connected to nothing: Linux completes the handshake, then drops the half-made connection
     * without a reset when the listener goes away (counted in TcpExtListenDrops; plain
     * java.net.ServerSocket does the same), so the client only hears of it when it sends and the
     * kernel answers with a reset. A server-side socket that stayed open takes the byte and says
     * nothing, and this times out.
     */
    private static void assertNothingOpenBehind(Socket s) throws Exception {
        s.setSoTimeout(5_000);
        try {
            s.getOutputStream().write(0);
        } catch (java.net.SocketException reset) {
            // the server end is gone already
        }
        try {
            drain(s.getInputStream()); // to EOF (or a reset)
        } catch (java.net.SocketTimeoutException open) {
            fail("the server end of " + s.getLocalSocketAddress() + " -> " + s.getRemoteSocketAddress() + " is still open");
        }
        s.close();
    }

    @Test
    void startOnAPortInUseFailsCleanly() throws Exception {
        try (TcpServer first = TcpServer.create("127.0.0.1", 0).threads(1).start()) {
            int before = Probes.threadsNamed("jhv-g");
            java.io.UncheckedIOException e = assertThrows(java.io.UncheckedIOException.class,
                    () -> TcpServer.create("127.0.0.1", first.port()).threads(2).start());
            assertTrue(e.getMessage().contains("cannot listen on 127.0.0.1:" + first.port()), e.getMessage());
            assertTrue(Probes.settle(() -> Probes.threadsNamed("jhv-g"), before, Duration.ofSeconds(5)) <= before,
                    "the failed server's loops must stop");
            assertThrows(IllegalStateException.class, first::start);
        }
    }

    @Test
    void tenThousandConnectCloseCyclesLeakNoDescriptors() throws Exception {
        Closes closes = new Closes();
        AtomicInteger up = new AtomicInteger();
        try (TcpServer server = TcpServer.create("127.0.0.1", 0).threads(1)
                .onConnection(c -> { if (c.isConnected()) up.incrementAndGet(); })
                .onClose(closes)
                .start()) {
            int warm = 100, cycles = 10_000;
            for (int i = 0; i < warm; i++) cycle(server.port(), i);
            assertTrue(Probes.await(() -> closes.total.get() == warm, Duration.ofSeconds(10)));
            int fds0 = Probes.canCountFds() ? Probes.openFds() : 0;
            for (int i = 0; i < cycles; i++) cycle(server.port(), i);
            assertTrue(Probes.await(() -> closes.total.get() == warm + cycles, Duration.ofSeconds(20)),
                    "closed " + closes.total.get() + " of " + (warm + cycles));
            assertEquals(warm + cycles, up.get());
            assertEquals(0, server.connectionCount());
            closes.assertOncePerConnection();
            if (Probes.canCountFds()) {
                int fds = Probes.settle(Probes::openFds, fds0, Duration.ofSeconds(5));
                assertTrue(fds <= fds0, "descriptors: " + fds0 + " before, " + fds + " after");
            }
        }
    }

    private static void cycle(int port, int i) throws Exception {
        Socket s = new Socket("127.0.0.1", port);
        // Every other connection ends with a reset: no TIME_WAIT left behind, and the RST path runs.
        if (i % 2 == 1) s.setSoLinger(true, 0);
        s.close();
    }

    @Test
    void clientConnectCloseCyclesLeakNoDescriptorsOrThreads() throws Exception {
        try (TcpServer server = TcpServer.create("127.0.0.1", 0).threads(1).start()) {
            for (int i = 0; i < 20; i++) clientCycle(server.port());
            int fds0 = Probes.canCountFds() ? Probes.openFds() : 0;
            int threads0 = Probes.threads();
            for (int i = 0; i < 300; i++) clientCycle(server.port());
            assertEquals(0, Probes.settle(() -> Probes.threadsNamed("jhv-client-"), 0, Duration.ofSeconds(5)));
            int threads = Probes.settle(Probes::threads, threads0, Duration.ofSeconds(5));
            assertTrue(threads <= threads0, "threads: " + threads0 + " before, " + threads + " after");
            assertTrue(Probes.await(() -> server.connectionCount() == 0, Duration.ofSeconds(5)));
            if (Probes.canCountFds()) {
                int fds = Probes.settle(Probes::openFds, fds0, Duration.ofSeconds(5));
                assertTrue(fds <= fds0, "descriptors: " + fds0 + " before, " + fds + " after");
            }
        }
    }

    private static void clientCycle(int port) throws Exception {
        CompletableFuture<Connection> connected = new CompletableFuture<>();
        TcpClient client = TcpClient.create("127.0.0.1", port)
                .onConnection(c -> { if (c.isConnected()) connected.complete(c); })
                .start();
        connected.get(5, TimeUnit.SECONDS);
        client.close();
        assertTrue(client.awaitTermination(Duration.ofSeconds(5)));
    }
}
