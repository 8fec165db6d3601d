package io.jhv.core.net;

import io.jhv.core.loop.EventLoop;
import io.jhv.core.loop.EventLoopGroup;
import io.jhv.core.loop.Probes;
import io.jhv.core.tls.TlsConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Connector: one-shot client connections on a loop the caller owns, over real loopback sockets. */
@Timeout(30)
class ConnectorTest {

    private static Throwable failure(CompletableFuture<?> f) throws Exception {
        ExecutionException e = assertThrows(ExecutionException.class, () -> f.get(10, TimeUnit.SECONDS));
        return e.getCause();
    }

    private static int closedPort() throws Exception {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort(); // closed again: nothing listens there now
        }
    }

    /**
     * A listening socket whose accept queue is full: further SYNs are dropped by the kernel, so a
     * connect to it hangs (deterministic on loopback, unlike a "non-routable" address). Returns the
     * sockets that fill it (close them after).
     */
    private static List<Socket> fillBacklog(ServerSocket full) throws Exception {
        List<Socket> fillers = new ArrayList<>();
        for (int i = 0; i < 64; i++) {
            Socket s = new Socket();
            fillers.add(s);
            try {
                s.connect(full.getLocalSocketAddress(), 200);
            } catch (SocketTimeoutException hangs) {
                return fillers; // this one hangs: the queue is full
            }
        }
        for (Socket s : fillers) s.close();
        // 64 connects did not fill a backlog of 1: this system cannot provoke the timeout this way.
        return org.junit.jupiter.api.Assumptions.abort("could not fill a listen backlog on this system");
    }

    @Test
    void theFutureCompletesOnTheLoopBeforeOnConnectionAndBeforeAnyData() throws Exception {
        EventLoop loop = EventLoop.builder().name("connector-shared").build().start();
        try (TcpServer server = TcpServer.create("127.0.0.1", 0).threads(1)
                .onConnection(c -> { if (c.isConnected()) c.write("hello"); }) // data at once
                .start()) {
            List<String> events = new ArrayList<>(); // loop thread only
            Connector connector = Connector.create()
                    .onConnection(c -> { if (c.isConnected()) events.add("onConnection"); })
                    .onMessage((c, b) -> events.add("message:" + b.readString()));
            CountDownLatch hold = new CountDownLatch(1);
            loop.post(() -> {
                try {
                    hold.await(); // the loop waits until the dependent below is registered
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            CompletableFuture<Connection> f = connector.connect(loop, "127.0.0.1", server.port());
            CompletableFuture<String> seen = f.thenApply(c -> loop.inLoop() + " " + c.isConnected() + " " + events);
            hold.countDown();
            assertEquals("true true []", seen.get(5, TimeUnit.SECONDS));
            Connection c = f.get();
            assertTrue(c.isClient());
            assertTrue(Probes.await(() -> loop.submit(() -> events.size() >= 2).join(), Duration.ofSeconds(5)));
            assertEquals(List.of("onConnection", "message:hello"), loop.submit(() -> List.copyOf(events)).get());
            c.close();
        } finally {
            loop.stop();
            assertTrue(loop.awaitTermination(Duration.ofSeconds(5)));
        }
    }

    @Test
    void aRefusedPortFailsWithConnectException() throws Exception {
        EventLoop loop = EventLoop.create().start();
        try {
            int port = closedPort();
            AtomicInteger up = new AtomicInteger();
            CompletableFuture<Connection> f = Connector.create().onConnection(c -> { if (c.isConnected()) up.incrementAndGet(); })
                    .connect(loop, "127.0.0.1", port);
            Throwable t = failure(f);
            assertInstanceOf(ConnectException.class, t);
            assertTrue(t.getMessage().contains("127.0.0.1:" + port), t.getMessage());
            assertEquals(0, up.get());
            assertTrue(loop.isRunning());
        } finally {
            loop.close();
        }
    }

    @Test
    void anUnknownHostFailsWithUnknownHostException() throws Exception {
        EventLoop loop = EventLoop.create().start();
        try {
            Throwable t = failure(Connector.create().connect(loop, "no-such-host.invalid", 80));
            assertInstanceOf(UnknownHostException.class, t);
            assertTrue(t.getMessage().contains("no-such-host.invalid"), t.getMessage());
            Throwable bad = failure(Connector.create().connect(loop, "::zz", 80)); // a bad literal: no lookup at all
            assertInstanceOf(UnknownHostException.class, bad);
        } finally {
            loop.close();
        }
    }

    @Test
    void aConnectThatHangsTimesOutInTheConnectPhase() throws Exception {
        EventLoop loop = EventLoop.create().start();
        try (ServerSocket full = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            List<Socket> fillers = fillBacklog(full);
            try {
                long start = System.nanoTime();
                Throwable t = failure(Connector.create().connectTimeout(Duration.ofMillis(300))
                        .connect(loop, "127.0.0.1", full.getLocalPort()));
                long ms = (System.nanoTime() - start) / 1_000_000;
                ConnectTimeoutException e = assertInstanceOf(ConnectTimeoutException.class, t);
                assertEquals(ConnectTimeoutException.Phase.CONNECT, e.phase());
                assertTrue(e.getMessage().contains("300 ms"), e.getMessage());
                assertTrue(ms >= 250 && ms < 5_000, ms + " ms");
            } finally {
                for (Socket s : fillers) s.close();
            }
        } finally {
            loop.close();
        }
    }

    @Test
    void aServerThatNeverFinishesTheTlsHandshakeTimesOutInTheHandshakePhase() throws Exception {
        EventLoop loop = EventLoop.create().start();
        try (ServerSocket silent = new ServerSocket(0, 8, InetAddress.getLoopbackAddress())) {
            // the kernel completes the TCP handshake (backlog); nobody ever speaks TLS
            Throwable t = failure(Connector.create()
                    .tls(TlsConfig.client().build())
                    .handshakeTimeout(Duration.ofMillis(300))
                    .connect(loop, "127.0.0.1", silent.getLocalPort()));
            ConnectTimeoutException e = assertInstanceOf(ConnectTimeoutException.class, t);
            assertEquals(ConnectTimeoutException.Phase.HANDSHAKE, e.phase());
            assertTrue(e.getMessage().contains("TLS handshake"), e.getMessage());
        } finally {
            loop.close();
        }
    }

    @Test
    void cancellingAHangingConnectClosesItsSocket() throws Exception {
        assumeTrue(Probes.canCountFds());
        EventLoop loop = EventLoop.create().start();
        try (ServerSocket full = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            List<Socket> fillers = fillBacklog(full);
            try {
                loop.submit(() -> null).get(); // the loop's own descriptors exist before counting
                int before = Probes.openFds();
                AtomicInteger closes = new AtomicInteger();
                CompletableFuture<Connection> f = Connector.create().connectTimeout(Duration.ofSeconds(20))
                        .onClose((c, cause) -> closes.incrementAndGet())
                        .connect(loop, "127.0.0.1", full.getLocalPort());
                // the socket exists and waits for the connect
                assertTrue(Probes.await(() -> Probes.openFds() > before, Duration.ofSeconds(5)));
                assertTrue(f.cancel(true));
                assertTrue(Probes.await(() -> closes.get() == 1, Duration.ofSeconds(5)), "the half-open socket closes");
                assertEquals(before, Probes.settle(Probes::openFds, before, Duration.ofSeconds(5)));
            } finally {
                for (Socket s : fillers) s.close();
            }
        } finally {
            loop.close();
        }
    }

    @Test
    void noDescriptorLeaksOnAnyFailurePath() throws Exception {
        assumeTrue(Probes.canCountFds());
        EventLoop loop = EventLoop.create().start();
        try (ServerSocket silent = new ServerSocket(0, 64, InetAddress.getLoopbackAddress())) {
            loop.submit(() -> null).get();
            int port = closedPort();
            // warm up (JDK lazily opens descriptors of its own: resolver, TLS providers)
            failure(Connector.create().connect(loop, "127.0.0.1", port));
            failure(Connector.create().connect(loop, "no-such-host.invalid", 1));
            failure(Connector.create().tls(TlsConfig.client().build()).handshakeTimeout(Duration.ofMillis(100))
                    .connect(loop, "127.0.0.1", silent.getLocalPort()));
            int before = Probes.openFds();
            for (int i = 0; i < 20; i++) {
                failure(Connector.create().connect(loop, "127.0.0.1", port));
                failure(Connector.create().connect(loop, "no-such-host.invalid", 1));
                failure(Connector.create().tls(TlsConfig.client().build()).handshakeTimeout(Duration.ofMillis(50))
                        .connect(loop, "127.0.0.1", silent.getLocalPort()));
                CompletableFuture<Connection> cancelled = Connector.create().connect(loop, "localhost", silent.getLocalPort());
                cancelled.cancel(false); // at whatever stage it is
            }
            // the server side of the accepted ones stays in the backlog: drain and close them
            silent.setSoTimeout(200);
            try {
                while (true) silent.accept().close();
            } catch (SocketTimeoutException drained) {
                // done
            }
            assertTrue(loop.submit(() -> true).get(5, TimeUnit.SECONDS));
            int after = Probes.settle(Probes::openFds, before, Duration.ofSeconds(5));
            assertTrue(after <= before, "descriptors leaked: " + before + " before, " + after + " after");
        } finally {
            loop.close();
        }
    }

    @Test
    void manyConnectorsShareOneGroup() throws Exception {
        try (EventLoopGroup group = EventLoopGroup.create(2).start();
             TcpServer server = TcpServer.create("127.0.0.1", 0).threads(1).onMessage((c, b) -> c.write(b)).start()) {
            int threadsBefore = Probes.threads();
            int n = 40;
            List<CompletableFuture<String>> replies = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                String msg = "ping" + i;
                CompletableFuture<String> reply = new CompletableFuture<>();
                replies.add(reply);
                Connector.create()
                        .onMessage((c, b) -> { reply.complete(b.readString()); c.close(); })
                        .connect(group, "127.0.0.1", server.port())
                        .thenAccept(c -> c.write(msg))
                        .exceptionally(t -> { reply.completeExceptionally(t); return null; });
            }
            for (int i = 0; i < n; i++) assertEquals("ping" + i, replies.get(i).get(10, TimeUnit.SECONDS));
            assertTrue(Probes.threads() <= threadsBefore + 1, "no thread per connection");
            assertTrue(Probes.await(() -> server.connectionCount() == 0, Duration.ofSeconds(5)));
        }
    }

    @Test
    void connectOnAStoppedLoopFailsAtOnce() throws Exception {
        EventLoop loop = EventLoop.create().start();
        loop.stop();
        assertTrue(loop.awaitTermination(Duration.ofSeconds(5)));
        Throwable t = failure(Connector.create().connect(loop, "127.0.0.1", 1));
        assertInstanceOf(ConnectException.class, t);
        assertFalse(t.getMessage().isEmpty());
    }

    @Test
    void badArgumentsAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> Connector.create().connectTimeout(Duration.ZERO));
        assertThrows(IllegalArgumentException.class, () -> Connector.create().handshakeTimeout(Duration.ofMillis(-1)));
        EventLoop loop = EventLoop.create();
        assertThrows(IllegalArgumentException.class, () -> Connector.create().connect(loop, "127.0.0.1", 0));
        assertThrows(NullPointerException.class, () -> Connector.create().connect(loop, null, 80));
        assertThrows(NullPointerException.class, () -> Connector.create().connect((EventLoop) null, "h", 1));
    }
}
