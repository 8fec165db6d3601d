package io.jhv.core.net;

import io.jhv.core.loop.EventLoop;
import io.jhv.core.loop.EventLoopGroup;
import io.jhv.core.loop.Probes;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.DataInputStream;
import java.io.InputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Misbehaving peers and handlers on one loop: the loop keeps running and another connection on the
 * same loop is unaffected.
 */
@Timeout(60)
class RobustnessTest {
    private final List<Throwable> reported = new CopyOnWriteArrayList<>();
    private EventLoop loop;
    private EventLoopGroup group;
    private TcpServer echo;
    private Socket echoClient;

    @BeforeEach
    void setUp() throws Exception {
        // one loop for everything: the echo server and the misbehaving one share it
        loop = EventLoop.builder().name("jhv-robust").errorHandler((t, e) -> reported.add(e)).build();
        group = EventLoopGroup.of(EventLoopGroup.Balance.ROUND_ROBIN, loop).start();
        echo = TcpServer.create("127.0.0.1", 0).group(group).onMessage((c, buf) -> c.write(buf)).start();
        echoClient = new Socket("127.0.0.1", echo.port());
        echoClient.setSoTimeout(5_000);
        assertEchoWorks();
    }

    @AfterEach
    void tearDown() throws Exception {
        echoClient.close();
        echo.close();
        assertTrue(group.shutdownGracefully(Duration.ofSeconds(5)));
    }

    private void assertEchoWorks() throws Exception {
        byte[] msg = ("echo " + System.nanoTime()).getBytes(StandardCharsets.US_ASCII);
        echoClient.getOutputStream().write(msg);
        byte[] got = new byte[msg.length];
        new DataInputStream(echoClient.getInputStream()).readFully(got);
        assertEquals(new String(msg, StandardCharsets.US_ASCII), new String(got, StandardCharsets.US_ASCII));
        assertTrue(loop.isRunning());
    }

    @Test
    void aPeerResetDuringALargeWrite() throws Exception {
        CompletableFuture<CloseCause> cause = new CompletableFuture<>();
        try (TcpServer big = TcpServer.create("127.0.0.1", 0).group(group)
                .onConnection(c -> { if (c.isConnected()) c.write(new byte[32 << 20]); })
                .onClose((c, why) -> cause.complete(why))
                .start()) {
            Socket s = new Socket("127.0.0.1", big.port());
            InputStream in = s.getInputStream();
            byte[] some = new byte[64 * 1024];
            new DataInputStream(in).readFully(some); // the transfer is under way
            s.setSoLinger(true, 0);
            s.close(); // RST in the middle of it
            CloseCause why = cause.get(5, TimeUnit.SECONDS);
            assertEquals(CloseCause.Kind.RESET, why.kind(), why.toString());
            assertEchoWorks();
        }
    }

    @Test
    void garbageToAServerWhoseHandlerThrows() throws Exception {
        AtomicInteger closes = new AtomicInteger();
        CompletableFuture<CloseCause> cause = new CompletableFuture<>();
        try (TcpServer picky = TcpServer.create("127.0.0.1", 0).group(group)
                .onMessage((c, buf) -> { throw new IllegalArgumentException("garbage: " + buf.readableBytes() + " bytes"); })
                .onClose((c, why) -> { closes.incrementAndGet(); cause.complete(why); })
                .start();
             Socket s = new Socket("127.0.0.1", picky.port())) {
            byte[] garbage = new byte[10_000];
            new Random(5).nextBytes(garbage);
            s.getOutputStream().write(garbage);
            CloseCause why = cause.get(5, TimeUnit.SECONDS);
            assertEquals(CloseCause.Kind.ERROR, why.kind());
            assertTrue(why.error() instanceof IllegalArgumentException, why.toString());
            assertTrue(Probes.await(() -> !reported.isEmpty(), Duration.ofSeconds(5)));
            assertTrue(reported.get(0).getMessage().startsWith("garbage"), "reported to the loop's error handler");
            s.setSoTimeout(5_000);
            try {
                assertEquals(-1, s.getInputStream().read(), "that connection is closed");
            } catch (java.net.SocketException reset) {
                // closed with unread input: the kernel may answer with a reset
            }
            assertEchoWorks();
            assertEquals(1, closes.get());
        }
    }

    @Test
    void throwingConnectionAndCloseHandlersAreReportedAndTheServerKeepsCount() throws Exception {
        try (TcpServer rude = TcpServer.create("127.0.0.1", 0).group(group)
                .onConnection(c -> { throw new IllegalStateException("onConnection " + c.isConnected()); })
                .onClose((c, why) -> { throw new IllegalStateException("onClose"); })
                .onMessage((c, buf) -> c.write(buf))
                .start()) {
            try (Socket s = new Socket("127.0.0.1", rude.port())) {
                s.getOutputStream().write('x');
                assertEquals('x', s.getInputStream().read(), "the connection works despite its onConnection");
            }
            assertTrue(Probes.await(() -> rude.connectionCount() == 0, Duration.ofSeconds(5)));
            assertTrue(Probes.await(() -> reported.size() >= 3, Duration.ofSeconds(5)), reported.toString());
            assertEchoWorks();
        }
    }

    @Test
    void aFullWriteQueueDoesNotBlockTheLoop() throws Exception {
        CompletableFuture<Connection> stuck = new CompletableFuture<>();
        AtomicInteger unwritable = new AtomicInteger();
        try (TcpServer flood = TcpServer.create("127.0.0.1", 0).group(group)
                .waterMarks(64 * 1024, 16 * 1024)
                .onWritable((c, w) -> { if (!w) unwritable.incrementAndGet(); })
                .onConnection(c -> {
                    if (!c.isConnected()) return;
                    // ignores back-pressure on purpose: writes are never dropped, so the queue grows
                    for (int i = 0; i < 256; i++) c.write(new byte[64 * 1024]);
                    stuck.complete(c);
                })
                .start();
             Socket s = new Socket("127.0.0.1", flood.port())) { // never reads
            Connection c = stuck.get(5, TimeUnit.SECONDS);
            assertTrue(c.queuedBytes() > 8 << 20, "queued " + c.queuedBytes());
            assertEquals(1, unwritable.get());
            assertTrue(!c.isWritable());
            for (int i = 0; i < 3; i++) assertEchoWorks();
            c.abort();
            assertTrue(Probes.await(() -> flood.connectionCount() == 0, Duration.ofSeconds(5)));
            assertEquals(0, c.queuedBytes());
            assertEchoWorks();
        }
    }

    @Test
    void anEchoServerOnThePollSelector() throws Exception {
        try (TcpServer polled = TcpServer.create("127.0.0.1", 0).threads(2).poller("poll")
                .onMessage((c, buf) -> c.write(buf))
                .start()) {
            for (EventLoop l : polled.group().loops()) assertEquals("poll", l.pollerName());
            for (int k = 0; k < 3; k++) {
                try (Socket s = new Socket("127.0.0.1", polled.port())) {
                    byte[] msg = new byte[256 * 1024];
                    new Random(k).nextBytes(msg);
                    CompletableFuture<byte[]> back = CompletableFuture.supplyAsync(() -> {
                        try {
                            byte[] got = new byte[msg.length];
                            new DataInputStream(s.getInputStream()).readFully(got);
                            return got;
                        } catch (Exception e) {
                            throw new RuntimeException(e);
                        }
                    });
                    s.getOutputStream().write(msg);
                    assertTrue(Arrays.equals(msg, back.get(10, TimeUnit.SECONDS)));
                }
            }
        }
        assertEchoWorks();
    }

    @Test
    void reusePortAcceptsOnEveryLoopOfTheGroup() throws Exception {
        java.util.Set<String> loopsUsed = java.util.concurrent.ConcurrentHashMap.newKeySet();
        try (TcpServer shared = TcpServer.create("127.0.0.1", 0).threads(2).reusePort(true)
                .onConnection(c -> { if (c.isConnected()) loopsUsed.add(c.loop().name()); })
                .onMessage((c, buf) -> c.write(buf))
                .start()) {
            java.util.List<Socket> sockets = new java.util.ArrayList<>();
            try {
                // the kernel spreads connections over the listeners by a hash of the peer's port
                for (int i = 0; i < 40 && loopsUsed.size() < 2; i++) {
                    Socket s = new Socket("127.0.0.1", shared.port());
                    sockets.add(s);
                    s.getOutputStream().write('r');
                    assertEquals('r', s.getInputStream().read());
                }
                assertEquals(2, loopsUsed.size(), "both loops accept");
            } finally {
                for (Socket s : sockets) s.close();
            }
        }
        assertEchoWorks();
    }
}
