package io.jhv.core.net;

import io.jhv.core.loop.EventLoop;
import io.jhv.core.loop.Probes;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.lang.reflect.Field;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.StandardSocketOptions;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Hostile review of the TcpServer (Acceptor, ConnectionRegistry), UdpSocket (UdpChannel,
 * DatagramQueue, DatagramReceiver) and Connection (Inbound, Outbound, LayerLink, ConnectionTimers)
 * splits: behaviour that must not have changed, on real loopback sockets.
 */
@Timeout(30)
class SplitReviewTest {

    private static Object field(Object o, String name) throws ReflectiveOperationException {
        Field f = o.getClass().getDeclaredField(name);
        f.setAccessible(true);
        return f.get(o);
    }

    /**
     * Before the split, option() checked {@code closed} inside the options lock, which the channel's
     * close also takes: an option() that raced with close() either reached a live socket before it
     * closed or was refused. After the split the check is outside the lock: an option() that passed
     * it and then waited for the lock while the socket closed is silently accepted (set on a socket
     * already closed, or stored for a start that never comes).
     */
    @Test
    void udpOptionRacingCloseIsRefused() throws Exception {
        EventLoop loop = EventLoop.create().start();
        try {
            UdpSocket s = UdpSocket.bind("127.0.0.1", 0).loop(loop).start();
            Object lock = field(field(s, "channel"), "options");
            AtomicReference<Throwable> outcome = new AtomicReference<>();
            CountDownLatch done = new CountDownLatch(1);
            Thread setter;
            synchronized (lock) {
                setter = new Thread(() -> {
                    try {
                        s.option(StandardSocketOptions.SO_RCVBUF, 8192);
                    } catch (Throwable t) {
                        outcome.set(t);
                    }
                    done.countDown();
                }, "option-setter");
                setter.start();
                // The setter is past any check done before the lock, and waits for it.
                assertTrue(Probes.await(() -> setter.getState() == Thread.State.BLOCKED, Duration.ofSeconds(5)));
                s.close(); // closed = true now; the channel closes on the loop, once the lock is free
                assertTrue(s.isClosed());
            }
            assertTrue(done.await(5, TimeUnit.SECONDS));
            assertInstanceOf(IllegalStateException.class, outcome.get(), "option() on a closed UDP socket must be refused");
        } finally {
            loop.close();
        }
    }

    @Test
    void udpOptionsBeforeAndAfterStartReachTheSocket() throws Exception {
        EventLoop loop = EventLoop.create().start();
        try (UdpSocket s = UdpSocket.bind("127.0.0.1", 0).loop(loop)) {
            s.option(StandardSocketOptions.SO_BROADCAST, true); // stored, applied at start
            s.start();
            s.option(StandardSocketOptions.SO_BROADCAST, false); // on the live socket
            s.close();
            assertThrows(IllegalStateException.class, () -> s.option(StandardSocketOptions.SO_BROADCAST, true));
        } finally {
            loop.close();
        }
    }

    /** Multicast membership calls on a socket not started, or closed, are refused (join) or report false (leave). */
    @Test
    void multicastOnASocketNotRunning() throws Exception {
        java.net.NetworkInterface lo = java.net.NetworkInterface.getByName("lo");
        org.junit.jupiter.api.Assumptions.assumeTrue(lo != null, "no interface named lo");
        java.net.InetAddress group = java.net.InetAddress.getByName("239.255.78.9");
        UdpSocket s = UdpSocket.bind("127.0.0.1", 0);
        assertThrows(IllegalStateException.class, () -> s.joinGroup(group, lo));
        assertFalse(s.leaveGroup(group, lo));
        s.start();
        s.close();
        assertThrows(IllegalStateException.class, () -> s.joinGroup(group, lo));
        assertFalse(s.leaveGroup(group, lo));
        assertThrows(IllegalArgumentException.class, () -> UdpSocket.create().joinGroup(java.net.InetAddress.getByName("127.0.0.1"), lo));
    }

    /**
     * close() from the socket's own onMessage while datagrams are queued (the kernel refused them):
     * the receive loop stops, the queue drains, then the socket closes and its own loop ends.
     */
    @Test
    void udpCloseFromOnMessageWhileDatagramsQueued() throws Exception {
        try (java.net.DatagramSocket r = new java.net.DatagramSocket(new InetSocketAddress("127.0.0.1", 0))) {
            r.setSoTimeout(5000);
            InetSocketAddress to = (InetSocketAddress) r.getLocalSocketAddress();
            AtomicInteger handled = new AtomicInteger();
            UdpSocket[] self = new UdpSocket[1];
            self[0] = UdpSocket.bind("127.0.0.1", 0).onMessage((sock, from, buf) -> {
                handled.incrementAndGet();
                sock.refuseSends = 2; // the next two sends find the kernel's buffer full: queued
                sock.sendTo(to, "q1");
                sock.sendTo(to, "q2");
                sock.close();
                assertTrue(sock.isClosed());
            }).start();
            UdpSocket s = self[0];
            try (java.net.DatagramSocket poke = new java.net.DatagramSocket()) {
                byte[] b = "go".getBytes(StandardCharsets.US_ASCII);
                InetSocketAddress at = new InetSocketAddress("127.0.0.1", s.port());
                for (int i = 0; i < 5; i++) poke.send(new java.net.DatagramPacket(b, b.length, at)); // all before the close
            }
            java.util.List<String> got = new java.util.ArrayList<>();
            for (int i = 0; i < 2; i++) {
                java.net.DatagramPacket p = new java.net.DatagramPacket(new byte[100], 100);
                r.receive(p);
                got.add(new String(p.getData(), 0, p.getLength(), StandardCharsets.US_ASCII));
            }
            assertEquals(java.util.List.of("q1", "q2"), got);
            assertTrue(s.loop().awaitTermination(Duration.ofSeconds(5)), "own loop stopped");
            assertEquals(1, handled.get(), "a datagram was handed to a closed socket");
            assertEquals(0, s.queuedBytes());
        }
    }

    /**
     * A queued datagram the kernel rejects (a broadcast without SO_BROADCAST) is reported; the error
     * handler closes the socket. The close flushes the queue from inside the flush that reported the
     * failure: the failed datagram must be reported once, the one behind it still sent, and the
     * queue's byte count end at zero.
     */
    @Test
    void udpErrorHandlerClosingDuringQueueFlush() throws Exception {
        try (java.net.DatagramSocket r = new java.net.DatagramSocket(new InetSocketAddress("127.0.0.1", 0))) {
            r.setSoTimeout(5000);
            InetSocketAddress ok = (InetSocketAddress) r.getLocalSocketAddress();
            InetSocketAddress bad = new InetSocketAddress("255.255.255.255", ok.getPort());
            java.util.concurrent.atomic.AtomicReference<UdpSocket> self = new java.util.concurrent.atomic.AtomicReference<>();
            java.util.List<String> reported = java.util.Collections.synchronizedList(new java.util.ArrayList<>());
            UdpSocket sender = UdpSocket.create().onError((target, e) -> {
                reported.add(String.valueOf(target));
                self.get().close();
            }).start();
            self.set(sender);
            sender.loop().post(() -> {
                sender.refuseSends = 1; // the first send finds the buffer full: both datagrams are queued
                sender.sendTo(bad, "rejected by the kernel");
                sender.sendTo(ok, "behind it");
            });
            java.net.DatagramPacket p = new java.net.DatagramPacket(new byte[100], 100);
            r.receive(p);
            assertEquals("behind it", new String(p.getData(), 0, p.getLength(), StandardCharsets.US_ASCII));
            assertTrue(sender.loop().awaitTermination(Duration.ofSeconds(5)), "own loop stopped");
            assertEquals(java.util.List.of(bad.toString()), reported, "the rejected datagram is reported once");
            assertEquals(0, sender.queuedBytes(), "queued bytes after the close");
        }
    }

    /** stopAccepting() frees the port at once while live connections go on; close() after it finishes. */
    @Test
    void stopAcceptingThenClose() throws Exception {
        TcpServer server = TcpServer.create("127.0.0.1", 0).threads(2).onMessage((c, b) -> c.write(b)).start();
        int port = server.port();
        try (Socket live = new Socket("127.0.0.1", port)) {
            live.setSoTimeout(5000);
            assertTrue(Probes.await(() -> server.connectionCount() == 1, Duration.ofSeconds(5)));
            server.stopAccepting();
            assertTrue(Probes.await(() -> {
                try (ServerSocket again = new ServerSocket()) {
                    again.bind(new InetSocketAddress("127.0.0.1", port));
                    return true;
                } catch (java.io.IOException inUse) {
                    return false;
                }
            }, Duration.ofSeconds(5)), "the port is released after stopAccepting");
            live.getOutputStream().write('a');
            assertEquals('a', live.getInputStream().read(), "a live connection is still served");
            long t0 = System.nanoTime();
            server.close(Duration.ofSeconds(2));
            assertTrue(System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(3));
            assertEquals(-1, live.getInputStream().read());
            assertTrue(server.closeFuture().isDone());
        }
    }

    /** A server whose port is taken fails to start and leaves no descriptor and no loop thread behind. */
    @Test
    void portInUseLeavesNoDescriptorOrThread() throws Exception {
        try (ServerSocket taken = new ServerSocket()) {
            taken.bind(new InetSocketAddress("127.0.0.1", 0));
            int port = taken.getLocalPort();
            int fds = Probes.openFds();
            int threads = Probes.threadsNamed("jhv-loop-");
            for (boolean reuse : new boolean[] {false, true}) {
                TcpServer s = TcpServer.create("127.0.0.1", port).threads(2).reusePort(reuse);
                assertThrows(UncheckedIOException.class, s::start);
                assertTrue(s.closeFuture().isDone(), "a failed start closes the server");
            }
            assertTrue(Probes.await(() -> Probes.threadsNamed("jhv-loop-") <= threads, Duration.ofSeconds(10)),
                    "loop threads left: " + Probes.threadsNamed("jhv-loop-") + " > " + threads);
            assertTrue(Probes.settle(Probes::openFds, fds, Duration.ofSeconds(10)) <= fds, "descriptors leaked");
            // the port is still the other socket's, and it still accepts
            try (Socket c = new Socket("127.0.0.1", port)) {
                assertTrue(c.isConnected());
            }
        }
    }

    /** maxConnections: the one too many is closed and counted; a freed slot admits the next. */
    @Test
    void maxConnectionsRejectsThenAdmits() throws Exception {
        try (TcpServer server = TcpServer.create("127.0.0.1", 0).threads(1).maxConnections(2)
                .onMessage((c, b) -> c.write(b)).start()) {
            Socket a = new Socket("127.0.0.1", server.port());
            Socket b = new Socket("127.0.0.1", server.port());
            assertTrue(Probes.await(() -> server.connectionCount() == 2, Duration.ofSeconds(5)));
            try (Socket third = new Socket("127.0.0.1", server.port())) {
                third.setSoTimeout(5000);
                int r;
                try {
                    r = third.getInputStream().read();
                } catch (java.net.SocketException reset) {
                    r = -1;
                }
                assertEquals(-1, r, "the third connection is closed");
            }
            assertEquals(1, server.rejectedCount());
            assertEquals(3, server.acceptedCount());
            a.close();
            assertTrue(Probes.await(() -> server.connectionCount() == 1, Duration.ofSeconds(5)));
            try (Socket d = new Socket("127.0.0.1", server.port())) {
                d.setSoTimeout(5000);
                d.getOutputStream().write("x".getBytes(StandardCharsets.US_ASCII));
                assertEquals('x', d.getInputStream().read(), "a freed slot admits a new connection");
            }
            b.close();
        }
    }

    /**
     * close(deadline) while one connection cannot drain (its peer does not read): the idle one closes
     * NORMAL at once, the stuck one is aborted at the deadline, and close returns soon after it.
     */
    @Test
    void closeWithDeadlineAbortsWhatCannotDrain() throws Exception {
        CompletableFuture<CloseCause> stuckCause = new CompletableFuture<>();
        CompletableFuture<CloseCause> idleCause = new CompletableFuture<>();
        AtomicInteger n = new AtomicInteger();
        TcpServer server = TcpServer.create("127.0.0.1", 0).threads(1)
                .onConnection(c -> {
                    if (!c.isConnected()) return;
                    if (n.incrementAndGet() == 1) {
                        c.addCloseListener((cc, cause) -> stuckCause.complete(cause));
                        c.write(new byte[32 << 20]); // far beyond what the socket buffers hold
                    } else {
                        c.addCloseListener((cc, cause) -> idleCause.complete(cause));
                    }
                })
                .start();
        try (Socket stuck = new Socket()) {
            stuck.setReceiveBufferSize(4096);
            stuck.connect(new InetSocketAddress("127.0.0.1", server.port()));
            assertTrue(Probes.await(() -> server.connectionCount() == 1, Duration.ofSeconds(5)));
            try (Socket idle = new Socket("127.0.0.1", server.port())) {
                assertTrue(Probes.await(() -> server.connectionCount() == 2, Duration.ofSeconds(5)));
                long t0 = System.nanoTime();
                server.close(Duration.ofMillis(300));
                long ms = (System.nanoTime() - t0) / 1_000_000;
                assertTrue(ms >= 250, "close returned before its deadline: " + ms + " ms");
                assertTrue(ms < 4000, "close took " + ms + " ms");
                assertEquals(CloseCause.Kind.NORMAL, idleCause.get(5, TimeUnit.SECONDS).kind());
                assertEquals(CloseCause.Kind.ABORTED, stuckCause.get(5, TimeUnit.SECONDS).kind());
                assertEquals(0, server.connectionCount());
                idle.setSoTimeout(5000);
                assertEquals(-1, idle.getInputStream().read());
            }
        }
    }

    /** After shutdownOutput the heartbeat stops: no write on a shut-down output, no error, reading goes on. */
    @Test
    void heartbeatStopsAfterShutdownOutput() throws Exception {
        CompletableFuture<Connection> conn = new CompletableFuture<>();
        CompletableFuture<String> got = new CompletableFuture<>();
        AtomicReference<Throwable> error = new AtomicReference<>();
        AtomicInteger beats = new AtomicInteger();
        try (TcpServer server = TcpServer.create("127.0.0.1", 0).threads(1)
                .heartbeat(Duration.ofMillis(10), () -> { beats.incrementAndGet(); return "hb\n"; })
                .onConnection(c -> { if (c.isConnected()) { c.shutdownOutput(); conn.complete(c); } })
                .onMessage((c, b) -> got.complete(b.readString()))
                .onError((c, e) -> error.set(e))
                .start();
             Socket s = new Socket("127.0.0.1", server.port())) {
            s.setSoTimeout(5000);
            InputStream in = s.getInputStream();
            assertEquals(-1, in.read(), "FIN at once: no heartbeat before it");
            Connection c = conn.get(5, TimeUnit.SECONDS);
            int timers = c.loop().submit(c.loop()::timerCount).get(5, TimeUnit.SECONDS);
            // several heartbeat periods later, the connection still reads
            long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(100);
            while (System.nanoTime() < until) Thread.onSpinWait();
            OutputStream out = s.getOutputStream();
            out.write("ping".getBytes(StandardCharsets.US_ASCII));
            assertEquals("ping", got.get(5, TimeUnit.SECONDS));
            assertFalse(c.isClosed());
            assertNull(error.get());
            assertEquals(0, beats.get(), "heartbeat ran after shutdownOutput");
            assertEquals(timers, (int) c.loop().submit(c.loop()::timerCount).get(5, TimeUnit.SECONDS));
        }
    }

    /** The timers of a connection (read, write, keepalive, heartbeat) are gone from the loop once it closes. */
    @Test
    void closedConnectionLeavesNoTimers() throws Exception {
        EventLoop loop = EventLoop.create().start();
        try (TcpServer server = TcpServer.create("127.0.0.1", 0).group(io.jhv.core.loop.EventLoopGroup.of(io.jhv.core.loop.EventLoopGroup.Balance.ROUND_ROBIN, loop))
                .readTimeout(Duration.ofSeconds(30)).writeTimeout(Duration.ofSeconds(30))
                .keepAliveTimeout(Duration.ofSeconds(30)).heartbeat(Duration.ofSeconds(30), () -> null)
                .start()) {
            int base = loop.submit(loop::timerCount).get(5, TimeUnit.SECONDS);
            Socket s = new Socket("127.0.0.1", server.port());
            assertTrue(Probes.await(() -> server.connectionCount() == 1, Duration.ofSeconds(5)));
            assertTrue(Probes.await(() -> timers(loop) >= base + 4, Duration.ofSeconds(5)), "timers armed: " + timers(loop));
            s.close();
            assertTrue(Probes.await(() -> server.connectionCount() == 0, Duration.ofSeconds(5)));
            assertTrue(Probes.await(() -> timers(loop) == base, Duration.ofSeconds(5)), "timers left: " + timers(loop) + " > " + base);
        } finally {
            loop.close();
        }
    }

    private static int timers(EventLoop loop) {
        try {
            return loop.submit(loop::timerCount).get(5, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }
}
