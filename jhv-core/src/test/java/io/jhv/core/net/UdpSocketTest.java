package io.jhv.core.net;

import io.jhv.core.loop.EventLoop;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.StandardSocketOptions;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

@Timeout(20)
class UdpSocketTest {
    private final List<AutoCloseable> closeables = new ArrayList<>();

    private <T extends AutoCloseable> T track(T c) {
        closeables.add(c);
        return c;
    }

    @AfterEach
    void tearDown() throws Exception {
        for (int i = closeables.size() - 1; i >= 0; i--) closeables.get(i).close();
    }

    /** A socket that puts every datagram it receives, as a string, on {@code into}. */
    private UdpSocket collector(UdpSocket s, BlockingQueue<String> into) {
        return track(s.onMessage((sock, from, buf) -> into.add(buf.readString())).start());
    }

    private UdpSocket echoServer() {
        return track(UdpSocket.bind("127.0.0.1", 0).onMessage((sock, from, buf) -> sock.sendTo(from, buf)).start());
    }

    private static InetSocketAddress local(int port) {
        return new InetSocketAddress(InetAddress.getLoopbackAddress(), port);
    }

    private static String poll(BlockingQueue<String> q) throws InterruptedException {
        return q.poll(5, TimeUnit.SECONDS);
    }

    @Test
    void echoesDatagramsOnLoopback() throws Exception {
        UdpSocket server = echoServer();
        BlockingQueue<String> got = new LinkedBlockingQueue<>();
        UdpSocket client = collector(UdpSocket.bind("127.0.0.1", 0), got);
        Set<String> sent = new HashSet<>();
        for (int i = 0; i < 50; i++) {
            String m = "datagram " + i;
            sent.add(m);
            client.sendTo(local(server.port()), m); // from the test thread: queued on the loop
        }
        Set<String> received = new HashSet<>();
        for (int i = 0; i < 50; i++) received.add(poll(got));
        assertEquals(sent, received);
    }

    @Test
    void theLargestDatagramRoundTrips() throws Exception {
        UdpSocket server = echoServer();
        CompletableFuture<byte[]> reply = new CompletableFuture<>();
        UdpSocket client = track(UdpSocket.create().onMessage((s, from, buf) -> reply.complete(buf.readBytes())).start());
        byte[] big = new byte[64 * 1024 - 29]; // 65,507: the IPv4 UDP maximum
        new Random(7).nextBytes(big);
        client.sendTo(local(server.port()), big.clone());
        assertArrayEquals(big, reply.get(5, TimeUnit.SECONDS));

        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> client.sendTo(local(server.port()), new byte[big.length + 1]));
        assertTrue(e.getMessage().contains("exceeds the UDP maximum 65507"), e.getMessage());
    }

    @Test
    void aSmallLoopReadBufferFallsBackToTheSocketsOwn() throws Exception {
        EventLoop loop = track(EventLoop.builder().readBufferSize(1024).build().start());
        UdpSocket server = track(UdpSocket.bind("127.0.0.1", 0).loop(loop)
                .onMessage((sock, from, buf) -> sock.sendTo(from, buf)).start());
        CompletableFuture<byte[]> reply = new CompletableFuture<>();
        UdpSocket client = track(UdpSocket.create().loop(loop).onMessage((s, from, buf) -> reply.complete(buf.readBytes())).start());
        byte[] data = new byte[40_000];
        new Random(3).nextBytes(data);
        client.sendTo(local(server.port()), data.clone());
        assertArrayEquals(data, reply.get(5, TimeUnit.SECONDS));
    }

    @Test
    void datagramsTheKernelRefusesAreQueuedAndSentInOrder() throws Exception {
        BlockingQueue<String> got = new LinkedBlockingQueue<>();
        UdpSocket receiver = collector(UdpSocket.bind("127.0.0.1", 0), got);
        UdpSocket sender = track(UdpSocket.create().start());
        CompletableFuture<Long> queuedAfter = new CompletableFuture<>();
        sender.loop().post(() -> {
            sender.refuseSends = 3; // as if the send buffer were full for the next three attempts
            for (int i = 0; i < 10; i++) sender.sendTo(local(receiver.port()), "m" + i);
            queuedAfter.complete(sender.queuedBytes());
        });
        assertEquals(20, queuedAfter.get(5, TimeUnit.SECONDS), "all ten wait behind the first refused one");
        for (int i = 0; i < 10; i++) assertEquals("m" + i, poll(got));
        // the receiver can see the last datagram before the sender's loop has counted it sent
        assertTrue(io.jhv.core.loop.Probes.await(() -> sender.queuedBytes() == 0, java.time.Duration.ofSeconds(5)),
                "queue drained: " + sender.queuedBytes());
    }

    @Test
    void broadcastNeedsSoBroadcast() throws Exception {
        BlockingQueue<String> got = new LinkedBlockingQueue<>();
        UdpSocket receiver = collector(UdpSocket.bind(0), got); // wildcard: broadcasts are addressed to 127.255.255.255
        CompletableFuture<Throwable> refused = new CompletableFuture<>();
        UdpSocket plain = track(UdpSocket.create().onError((target, e) -> refused.complete(e)).start());
        InetSocketAddress bcast = new InetSocketAddress(InetAddress.getByName("127.255.255.255"), receiver.port());
        plain.sendTo(bcast, "not allowed");
        assertNotNull(refused.get(5, TimeUnit.SECONDS), "a broadcast without SO_BROADCAST is refused");

        UdpSocket caster = track(UdpSocket.create().broadcast(true).start());
        caster.sendTo(bcast, "to everyone");
        assertEquals("to everyone", poll(got));
    }

    @Test
    void multicastOnLoopbackJoinAndLeave() throws Exception {
        NetworkInterface lo = NetworkInterface.getByName("lo");
        Assumptions.assumeTrue(lo != null, "no interface named lo on this machine");
        InetAddress group = InetAddress.getByName("239.255.77." + (1 + new Random().nextInt(250)));
        BlockingQueue<String> got = new LinkedBlockingQueue<>();
        UdpSocket receiver = collector(UdpSocket.bind(0).option(StandardSocketOptions.SO_REUSEADDR, true), got);
        try {
            receiver.joinGroup(group, lo);
        } catch (UncheckedIOException e) {
            // lo has no MULTICAST flag here, but Linux accepts the join anyway; if a sandbox refuses,
            // say why instead of passing.
            Assumptions.abort("cannot join " + group.getHostAddress() + " on lo: " + e.getCause());
        }
        UdpSocket sender = track(UdpSocket.create()
                .option(StandardSocketOptions.IP_MULTICAST_IF, lo)
                .option(StandardSocketOptions.IP_MULTICAST_LOOP, true)
                .start());
        InetSocketAddress target = new InetSocketAddress(group, receiver.port());
        sender.sendTo(target, "to the group");
        String first = poll(got);
        assertEquals("to the group", first, "multicast datagram not delivered on lo (join accepted, nothing received)");

        assertTrue(receiver.leaveGroup(group, lo));
        assertFalse(receiver.leaveGroup(group, lo), "already left");
        sender.sendTo(target, "after leaving");
        // A unicast marker sent after it travels the same loopback path: if the group datagram were
        // still delivered, it would come first.
        sender.sendTo(local(receiver.port()), "marker");
        assertEquals("marker", poll(got));
        assertTrue(got.isEmpty(), "delivered after leaveGroup: " + got);
    }

    @Test
    void aThrowingHandlerDoesNotStopTheSocket() throws Exception {
        BlockingQueue<String> got = new LinkedBlockingQueue<>();
        UdpSocket server = track(UdpSocket.bind("127.0.0.1", 0).onMessage((sock, from, buf) -> {
            String m = buf.readString();
            if (m.equals("boom")) throw new IllegalStateException("handler failed on purpose");
            got.add(m);
        }).start());
        UdpSocket client = track(UdpSocket.create().start());
        client.sendTo(local(server.port()), "boom");
        client.sendTo(local(server.port()), "still here");
        assertEquals("still here", poll(got));
    }

    @Test
    void closeReleasesThePortAndStopsItsOwnLoop() throws Exception {
        UdpSocket s = UdpSocket.bind("127.0.0.1", 0).start();
        int port = s.port();
        EventLoop loop = s.loop();
        s.close();
        assertTrue(loop.awaitTermination(java.time.Duration.ofSeconds(5)));
        assertTrue(s.isClosed());
        assertThrows(IllegalStateException.class, () -> s.sendTo(local(port), "late"));
        UdpSocket again = track(UdpSocket.bind("127.0.0.1", port).start());
        assertEquals(port, again.port());

        UdpSocket taken = UdpSocket.bind("127.0.0.1", port);
        UncheckedIOException e = assertThrows(UncheckedIOException.class, taken::start);
        assertTrue(e.getMessage().contains("127.0.0.1:" + port), e.getMessage());
    }

    @Test
    void aSharedLoopOutlivesTheSocketAndStoppingItClosesTheSocket() throws Exception {
        EventLoop loop = track(EventLoop.create().start());
        UdpSocket a = UdpSocket.bind("127.0.0.1", 0).loop(loop).start();
        a.close();
        assertTrue(loop.isRunning(), "close() must not stop a loop it did not start");
        UdpSocket b = UdpSocket.bind("127.0.0.1", 0).loop(loop).start();
        int port = b.port();
        loop.close(); // stop hook closes the channel
        UdpSocket c = track(UdpSocket.bind("127.0.0.1", port).start());
        assertEquals(port, c.port());
    }

    // ---------------------------------------------------------------- close sends what was queued

    /** A plain blocking receiver on 127.0.0.1 with room for every datagram a test sends at once. */
    private static java.net.DatagramSocket receiver() throws IOException {
        java.net.DatagramSocket r = new java.net.DatagramSocket(null);
        r.setReceiveBufferSize(4 << 20); // loopback drops only when the receive buffer is full
        r.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        r.setSoTimeout(5000);
        return r;
    }

    /** Receives {@code n} datagrams and checks they are "d0".."d(n-1)" in order. */
    private static void receiveAll(java.net.DatagramSocket r, int n) throws IOException {
        byte[] b = new byte[2048];
        for (int i = 0; i < n; i++) {
            java.net.DatagramPacket p = new java.net.DatagramPacket(b, b.length);
            try {
                r.receive(p);
            } catch (java.net.SocketTimeoutException e) {
                throw new AssertionError("only " + i + " of " + n + " datagrams arrived", e);
            }
            assertEquals("d" + i, new String(p.getData(), 0, p.getLength(), java.nio.charset.StandardCharsets.UTF_8));
        }
    }

    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(ints = {20, 1000})
    void sendThenCloseFromAnotherThreadSendsEveryDatagram(int n) throws Exception {
        try (java.net.DatagramSocket r = receiver()) {
            InetSocketAddress to = (InetSocketAddress) r.getLocalSocketAddress();
            UdpSocket sender = UdpSocket.create().start();
            for (int i = 0; i < n; i++) sender.sendTo(to, "d" + i);
            sender.close();
            receiveAll(r, n);
            assertTrue(sender.loop().awaitTermination(java.time.Duration.ofSeconds(5)), "own loop stopped");
        }
    }

    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(ints = {20, 1000})
    void sendThenCloseFromAnotherThreadOnASharedLoopSendsEveryDatagram(int n) throws Exception {
        EventLoop loop = track(EventLoop.create().start());
        try (java.net.DatagramSocket r = receiver()) {
            InetSocketAddress to = (InetSocketAddress) r.getLocalSocketAddress();
            UdpSocket sender = UdpSocket.create().loop(loop).start();
            for (int i = 0; i < n; i++) sender.sendTo(to, "d" + i);
            sender.close();
            receiveAll(r, n);
        }
    }

    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(ints = {20, 1000})
    void sendThenCloseOnTheLoopSendsEveryDatagram(int n) throws Exception {
        try (java.net.DatagramSocket r = receiver()) {
            InetSocketAddress to = (InetSocketAddress) r.getLocalSocketAddress();
            UdpSocket sender = UdpSocket.create().start();
            sender.loop().post(() -> {
                for (int i = 0; i < n; i++) sender.sendTo(to, "d" + i);
                sender.close();
            });
            receiveAll(r, n);
            assertTrue(sender.loop().awaitTermination(java.time.Duration.ofSeconds(5)), "own loop stopped");
        }
    }

    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(ints = {20, 1000})
    void sendThenCloseOnTheLoopWithAFullSendBufferSendsEveryDatagram(int n) throws Exception {
        try (java.net.DatagramSocket r = receiver()) {
            InetSocketAddress to = (InetSocketAddress) r.getLocalSocketAddress();
            UdpSocket sender = UdpSocket.create().start();
            sender.loop().post(() -> {
                sender.refuseSends = 3; // the kernel takes none at first: all are queued when close() comes
                for (int i = 0; i < n; i++) sender.sendTo(to, "d" + i);
                sender.close();
            });
            receiveAll(r, n);
            assertTrue(sender.loop().awaitTermination(java.time.Duration.ofSeconds(5)), "own loop stopped");
        }
    }

    @Test
    void closeDropsWhatTheSocketCannotSendByTheCloseTimeout() throws Exception {
        try (java.net.DatagramSocket r = receiver()) {
            InetSocketAddress to = (InetSocketAddress) r.getLocalSocketAddress();
            BlockingQueue<String> errors = new LinkedBlockingQueue<>();
            UdpSocket sender = UdpSocket.create().closeTimeout(Duration.ofMillis(300))
                    .onError((target, e) -> errors.add(target.getPort() + " " + e.getMessage())).start();
            CompletableFuture<Void> closed = new CompletableFuture<>();
            sender.loop().post(() -> {
                sender.refuseSends = Integer.MAX_VALUE; // a send buffer that never drains
                for (int i = 0; i < 5; i++) sender.sendTo(to, "d" + i);
                sender.close();
                closed.complete(null);
            });
            closed.get(5, TimeUnit.SECONDS);
            long t0 = System.nanoTime();
            assertTrue(sender.loop().awaitTermination(java.time.Duration.ofSeconds(5)), "close gave up and stopped its loop");
            assertTrue(System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(4), "bounded by the close timeout");
            for (int i = 0; i < 5; i++) {
                String e = poll(errors);
                assertNotNull(e, "each dropped datagram is reported");
                assertTrue(e.startsWith(to.getPort() + " ") && e.contains("not sent"), e);
            }
            assertEquals(0, sender.queuedBytes());
        }
    }

    @Test
    void closeKeepsSendingWhatTheKernelRefusedUntilItDrains() throws Exception {
        EventLoop loop = track(EventLoop.create().start());
        try (java.net.DatagramSocket r = receiver()) {
            InetSocketAddress to = (InetSocketAddress) r.getLocalSocketAddress();
            UdpSocket sender = UdpSocket.create().loop(loop).start();
            CompletableFuture<Void> queued = new CompletableFuture<>();
            loop.post(() -> {
                sender.refuseSends = Integer.MAX_VALUE; // a full send buffer
                for (int i = 0; i < 20; i++) sender.sendTo(to, "d" + i);
                queued.complete(null);
            });
            queued.get(5, TimeUnit.SECONDS);
            sender.close(); // on a shared loop: returns at once, the socket lingers
            assertThrows(IllegalStateException.class, () -> sender.sendTo(to, "late"));
            loop.post(() -> sender.refuseSends = 0); // after the close: the send buffer drains
            receiveAll(r, 20);
            assertTrue(io.jhv.core.loop.Probes.await(() -> sender.localAddress() == null, java.time.Duration.ofSeconds(5)),
                    "the channel is closed once the queue is sent");
        }
    }

    @Test
    void aSenderFasterThanTheSocketCannotGrowTheQueueWithoutBound() throws Exception {
        BlockingQueue<String> errors = new LinkedBlockingQueue<>();
        UdpSocket sender = track(UdpSocket.create().closeTimeout(Duration.ofMillis(0)).onError((target, e) -> errors.add(e.getMessage())).start());
        InetSocketAddress to = local(9); // never sent: the kernel "refuses" every attempt
        CompletableFuture<Long> queued = new CompletableFuture<>();
        sender.loop().post(() -> {
            sender.refuseSends = Integer.MAX_VALUE; // a send buffer that never drains
            for (int i = 0; i < 100; i++) sender.sendTo(to, new byte[60_000]); // 6 MB
            queued.complete(sender.queuedBytes());
        });
        long q = queued.get(5, TimeUnit.SECONDS);
        assertTrue(q <= UdpSocket.DEFAULT_MAX_QUEUED_BYTES, "queue grew to " + q);
        assertEquals(100 - q / 60_000, errors.size(), "each dropped datagram is reported: " + errors.peek());
        assertTrue(errors.peek().contains("send queue full"), errors.peek());
    }
}
