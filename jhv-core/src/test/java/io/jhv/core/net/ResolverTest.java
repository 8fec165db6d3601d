package io.jhv.core.net;

import io.jhv.core.loop.EventLoop;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Connector's resolver hook: a custom resolver is used for names (never for literals, never on the
 * loop), its failures are clear, and a lookup that hangs is cut by the connect timeout or a cancel:
 * its thread is interrupted, the loop goes on.
 */
@Timeout(30)
class ResolverTest {
    EventLoop loop;

    @BeforeEach
    void start() {
        loop = EventLoop.builder().name("resolver-test").build().start();
    }

    @AfterEach
    void stop() {
        loop.stop();
    }

    private static Throwable failure(CompletableFuture<?> f) {
        ExecutionException e = assertThrows(ExecutionException.class, () -> f.get(10, TimeUnit.SECONDS));
        return e.getCause();
    }

    /** A resolver that never answers until interrupted; counts the interrupts. */
    static final class Hanging implements Resolver {
        final CountDownLatch entered = new CountDownLatch(1);
        final CountDownLatch interrupted = new CountDownLatch(1);
        final AtomicReference<Thread> thread = new AtomicReference<>();

        @Override
        public List<InetAddress> resolve(String host) throws UnknownHostException {
            thread.set(Thread.currentThread());
            entered.countDown();
            try {
                new CountDownLatch(1).await(); // for ever
            } catch (InterruptedException e) {
                interrupted.countDown();
            }
            throw new UnknownHostException("interrupted");
        }
    }

    private void assertLoopRuns() throws Exception {
        assertEquals("ok", loop.submit(() -> "ok").get(2, TimeUnit.SECONDS), "the loop still runs tasks");
    }

    @Test
    void aHangingLookupIsCutByTheConnectTimeoutAndItsThreadInterrupted() throws Exception {
        Hanging dns = new Hanging();
        Connector c = Connector.create().resolver(dns).connectTimeout(Duration.ofMillis(300));
        long t0 = System.nanoTime();
        Throwable t = failure(c.connect(loop, "hang.invalid", 80));
        long ms = (System.nanoTime() - t0) / 1_000_000;
        ConnectTimeoutException e = assertInstanceOf(ConnectTimeoutException.class, t);
        assertEquals(ConnectTimeoutException.Phase.CONNECT, e.phase());
        assertTrue(e.getMessage().contains("resolving hang.invalid"), e.getMessage());
        assertTrue(e.getMessage().contains("300 ms"), e.getMessage());
        assertTrue(ms >= 250 && ms < 5000, "took " + ms + " ms");
        assertTrue(dns.interrupted.await(5, TimeUnit.SECONDS), "the resolving thread is interrupted");
        Thread th = dns.thread.get();
        assertTrue(th.isVirtual(), "resolved on a virtual thread: " + th);
        th.join(5000);
        assertTrue(!th.isAlive(), "the resolving thread ended");
        assertLoopRuns();
    }

    @Test
    void cancellingDuringTheLookupInterruptsIt() throws Exception {
        Hanging dns = new Hanging();
        Connector c = Connector.create().resolver(dns).connectTimeout(Duration.ofSeconds(20));
        CompletableFuture<Connection> f = c.connect(loop, "hang.invalid", 80);
        assertTrue(dns.entered.await(5, TimeUnit.SECONDS), "the lookup started");
        assertTrue(f.cancel(true));
        assertThrows(CancellationException.class, f::join);
        assertTrue(dns.interrupted.await(5, TimeUnit.SECONDS), "the resolving thread is interrupted");
        assertLoopRuns();
    }

    @Test
    void aResolverMapsANameToALocalServerAndNeverRunsOnTheLoop() throws Exception {
        AtomicReference<Thread> ran = new AtomicReference<>();
        AtomicInteger calls = new AtomicInteger();
        Resolver dns = host -> {
            ran.set(Thread.currentThread());
            calls.incrementAndGet();
            if (!host.equals("example.invalid")) throw new UnknownHostException(host);
            return List.of(InetAddress.getByName("127.0.0.1"));
        };
        try (ServerSocket ss = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.1"))) {
            Connector c = Connector.create().resolver(dns);
            CompletableFuture<Connection> f = c.connect(loop, "example.invalid", ss.getLocalPort());
            try (Socket accepted = ss.accept()) {
                Connection conn = f.get(5, TimeUnit.SECONDS);
                assertEquals(ss.getLocalPort(), ((java.net.InetSocketAddress) conn.remoteAddress()).getPort());
                assertEquals(accepted.getPort(), ((java.net.InetSocketAddress) conn.localAddress()).getPort(), "this very socket was accepted");
                conn.close();
            }
            assertEquals(1, calls.get());
            assertTrue(ran.get().isVirtual(), "not on the loop: " + ran.get());
            // an IP literal does not ask the resolver
            CompletableFuture<Connection> lit = c.connect(loop, "127.0.0.1", ss.getLocalPort());
            try (Socket accepted = ss.accept()) {
                lit.get(5, TimeUnit.SECONDS).close();
            }
            assertEquals(1, calls.get(), "literals skip the resolver");
        }
    }

    @Test
    void anEmptyAnswerOrAThrowingResolverFailsWithUnknownHostNamingTheHost() throws Exception {
        Connector empty = Connector.create().resolver(host -> List.of());
        Throwable t = failure(empty.connect(loop, "nothing.invalid", 80));
        assertInstanceOf(UnknownHostException.class, t);
        assertTrue(t.getMessage().contains("nothing.invalid") && t.getMessage().contains("no address"), t.getMessage());

        Connector nul = Connector.create().resolver(host -> null);
        t = failure(nul.connect(loop, "null.invalid", 80));
        assertInstanceOf(UnknownHostException.class, t);
        assertTrue(t.getMessage().contains("null.invalid"), t.getMessage());

        Connector broken = Connector.create().resolver(host -> {
            throw new IllegalStateException("resolver bug");
        });
        t = failure(broken.connect(loop, "broken.invalid", 80));
        assertInstanceOf(UnknownHostException.class, t);
        assertTrue(t.getMessage().contains("broken.invalid") && t.getMessage().contains("resolver bug"), t.getMessage());
        assertInstanceOf(IllegalStateException.class, rootCause(t));

        Connector unknown = Connector.create().resolver(host -> {
            throw new UnknownHostException("no such name " + host);
        });
        t = failure(unknown.connect(loop, "unknown.invalid", 80));
        assertInstanceOf(UnknownHostException.class, t);
        assertTrue(t.getMessage().contains("cannot resolve unknown.invalid"), t.getMessage());
        assertLoopRuns();
    }

    @Test
    void throughASocksProxyThatResolvesLocallyTheProxysNameAndTheTargetsGoThroughTheResolver() throws Exception {
        // Only the lookups matter here: the proxy name resolves, the target's does not.
        List<String> asked = new java.util.concurrent.CopyOnWriteArrayList<>();
        Resolver dns = host -> {
            asked.add(host);
            if (host.equals("proxy.invalid")) return List.of(InetAddress.getByName("127.0.0.1"));
            throw new UnknownHostException(host);
        };
        try (ServerSocket ss = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.1"))) {
            Proxy p = Proxy.socks5("proxy.invalid", ss.getLocalPort()).withLocalResolution(true);
            Connector c = Connector.create().resolver(dns).proxy(p);
            Throwable t = failure(c.connect(loop, "target.invalid", 80));
            assertInstanceOf(UnknownHostException.class, t);
            assertTrue(t.getMessage().contains("target.invalid"), t.getMessage());
            assertEquals(List.of("proxy.invalid", "target.invalid"), asked);
        }
    }

    private static Throwable rootCause(Throwable t) {
        while (t.getCause() != null && t.getCause() != t) t = t.getCause();
        return t;
    }
}
