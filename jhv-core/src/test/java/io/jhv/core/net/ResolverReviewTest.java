package io.jhv.core.net;

import io.jhv.core.loop.EventLoop;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Adversarial review of Connector.resolver(...): resolvers that throw what the hook does not
 * expect, that return an address that refuses before one that works, that hang by the thousand.
 */
@Timeout(60)
class ResolverReviewTest {
    EventLoop loop;

    @BeforeEach
    void start() {
        loop = EventLoop.builder().name("resolver-review").build().start();
    }

    @AfterEach
    void stop() {
        loop.stop();
    }

    /** The failure of {@code f} within {@code ms}; fails the test if it takes longer (a hang). */
    private static Throwable failureWithin(CompletableFuture<?> f, long ms, String what) throws Exception {
        try {
            Object v = f.get(ms, TimeUnit.MILLISECONDS);
            throw new AssertionError(what + ": succeeded: " + v);
        } catch (ExecutionException e) {
            return e.getCause();
        } catch (TimeoutException e) {
            // let it end, to report what it ends with
            String later;
            try {
                f.get(20, TimeUnit.SECONDS);
                later = "then succeeded";
            } catch (ExecutionException ee) {
                later = "then failed with " + ee.getCause();
            }
            throw new AssertionError(what + ": no outcome within " + ms + " ms (" + later + ")");
        }
    }

    @SuppressWarnings("unchecked")
    static <T extends Throwable> RuntimeException sneaky(Throwable t) throws T {
        throw (T) t;
    }

    private void assertLoopRuns() throws Exception {
        assertEquals("ok", loop.submit(() -> "ok").get(2, TimeUnit.SECONDS), "the loop still runs tasks");
    }

    /**
     * DEFECT: a resolver that throws an Error (a StackOverflowError from a resolver that
     * delegates to itself by mistake, an AssertionError, a NoClassDefFoundError of a DoH library)
     * kills the lookup's virtual thread without posting anything back: the attempt waits for the
     * whole connect timeout and then says "resolving ... timed out", hiding the real cause.
     */
    @Test
    void anErrorFromTheResolverFailsTheConnectAtOnceAndNamesIt() throws Exception {
        Resolver dns = host -> {
            throw new AssertionError("resolver bug");
        };
        Connector c = Connector.create().resolver(dns).connectTimeout(Duration.ofSeconds(5));
        Throwable t = failureWithin(c.connect(loop, "broken.invalid", 80), 2000, "connect through a resolver that throws an Error");
        assertInstanceOf(UnknownHostException.class, t);
        assertTrue(String.valueOf(t.getCause()).contains("resolver bug") || t.getMessage().contains("resolver bug"), t.toString());
        assertLoopRuns();
    }

    /** DEFECT (same root): a checked exception thrown sneakily (Kotlin, Lombok, a DoH client's IOException). */
    @Test
    void aCheckedExceptionFromTheResolverFailsTheConnectAtOnce() throws Exception {
        Resolver dns = host -> {
            throw ResolverReviewTest.<RuntimeException>sneaky(new IOException("DoH server said 503"));
        };
        Connector c = Connector.create().resolver(dns).connectTimeout(Duration.ofSeconds(5));
        Throwable t = failureWithin(c.connect(loop, "doh.invalid", 80), 2000, "connect through a resolver that throws IOException");
        assertInstanceOf(UnknownHostException.class, t);
        assertLoopRuns();
    }

    /**
     * DEFECT (functional gap): the resolver returns its addresses "best first", but only the
     * first is ever dialled. A name with one dead address and one live one (a host whose IPv6
     * or one of whose A records is down, a resolver returning a stale address first) fails
     * although the next address would answer. Here 127.0.0.2 refuses (nothing listens on it),
     * 127.0.0.1 accepts.
     */
    @Test
    void aRefusedFirstAddressFallsBackToTheNextOne() throws Exception {
        try (ServerSocket ss = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.1"))) {
            Resolver dns = host -> List.of(InetAddress.getByName("127.0.0.2"), InetAddress.getByName("127.0.0.1"));
            Connector c = Connector.create().resolver(dns).connectTimeout(Duration.ofSeconds(3));
            CompletableFuture<Connection> f = c.connect(loop, "two.invalid", ss.getLocalPort());
            Connection conn;
            try {
                conn = f.get(5, TimeUnit.SECONDS);
            } catch (ExecutionException e) {
                throw new AssertionError("the second address was not tried: " + e.getCause(), e.getCause());
            }
            try (Socket accepted = ss.accept()) {
                assertTrue(accepted.isConnected());
            }
            conn.close();
        }
    }

    /** Every resolved address refusing: a prompt ConnectException (the last one's), each socket closed, the loop fine. */
    @Test
    void everyAddressRefusingFailsPromptlyWithConnectException() throws Exception {
        int port;
        try (ServerSocket ss = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.1"))) {
            port = ss.getLocalPort(); // closed: nothing listens there any more
        }
        Resolver dns = host -> List.of(InetAddress.getByName("127.0.0.2"), InetAddress.getByName("127.0.0.3"),
                InetAddress.getByName("127.0.0.1"));
        AtomicInteger closes = new AtomicInteger();
        Connector c = Connector.create().resolver(dns).connectTimeout(Duration.ofSeconds(5)).onClose((conn, cause) -> closes.incrementAndGet());
        Throwable t = failureWithin(c.connect(loop, "three.invalid", port), 2000, "three refusing addresses");
        assertInstanceOf(java.net.ConnectException.class, t);
        assertEquals("3", loop.submit(() -> String.valueOf(closes.get())).get(2, TimeUnit.SECONDS), "one close per socket tried");
        assertLoopRuns();
    }

    /** Holds: a null or empty answer, or a list whose first element is null, is a prompt UnknownHostException. */
    @Test
    void nullAndEmptyAnswersFailPromptlyWithUnknownHost() throws Exception {
        for (Resolver dns : List.<Resolver>of(host -> null, host -> List.of(), host -> Arrays.asList((InetAddress) null))) {
            Connector c = Connector.create().resolver(dns).connectTimeout(Duration.ofSeconds(5));
            Throwable t = failureWithin(c.connect(loop, "empty.invalid", 80), 2000, "empty answer");
            assertInstanceOf(UnknownHostException.class, t);
            assertTrue(t.getMessage().contains("empty.invalid"), t.getMessage());
        }
        assertLoopRuns();
    }

    /** Holds: a slow lookup does not hold up a fast one behind it; each connect goes where its own name points. */
    @Test
    void aSlowLookupDoesNotDelayAFastOne() throws Exception {
        try (ServerSocket a = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.1"))) {
            CountDownLatch fastDone = new CountDownLatch(1);
            Resolver dns = host -> {
                if (host.equals("slow.invalid")) {
                    try {
                        if (!fastDone.await(10, TimeUnit.SECONDS)) throw new UnknownHostException("fast never finished");
                    } catch (InterruptedException e) {
                        throw new UnknownHostException("interrupted");
                    }
                }
                return List.of(InetAddress.getByName("127.0.0.1"));
            };
            Connector c = Connector.create().resolver(dns).connectTimeout(Duration.ofSeconds(15));
            CompletableFuture<Connection> slow = c.connect(loop, "slow.invalid", a.getLocalPort());
            CompletableFuture<Connection> fast = c.connect(loop, "fast.invalid", a.getLocalPort());
            Connection fc = fast.get(5, TimeUnit.SECONDS);
            assertTrue(!slow.isDone(), "the slow one is still resolving");
            fastDone.countDown();
            Connection sc = slow.get(5, TimeUnit.SECONDS);
            try (Socket s1 = a.accept(); Socket s2 = a.accept()) {
                assertTrue(s1.isConnected() && s2.isConnected());
            }
            fc.close();
            sc.close();
        }
    }

    /**
     * Holds: a lookup that answers after its attempt timed out (a resolver that swallows the
     * interrupt and returns an address anyway) opens no socket: the late answer is ignored.
     */
    @Test
    void aLateAnswerAfterTheTimeoutOpensNoConnection() throws Exception {
        try (ServerSocket ss = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.1"))) {
            CountDownLatch answered = new CountDownLatch(1);
            Resolver dns = host -> {
                try {
                    new CountDownLatch(1).await();
                } catch (InterruptedException swallowed) {
                    // answers anyway
                }
                answered.countDown();
                return List.of(InetAddress.getByName("127.0.0.1"));
            };
            Connector c = Connector.create().resolver(dns).connectTimeout(Duration.ofMillis(200));
            Throwable t = failureWithin(c.connect(loop, "late.invalid", ss.getLocalPort()), 5000, "a late lookup");
            assertInstanceOf(ConnectTimeoutException.class, t);
            assertTrue(answered.await(5, TimeUnit.SECONDS), "the resolver answered after the interrupt");
            assertLoopRuns(); // the late answer's task ran before this one
            ss.setSoTimeout(300);
            try (Socket s = ss.accept()) {
                fail("the late answer opened a connection: " + s);
            } catch (java.net.SocketTimeoutException expected) {
                // nothing connected
            }
        }
    }

    /**
     * Holds: 1,000 lookups that hang until interrupted, each cut by a 200 ms connect timeout: every
     * connect fails with a CONNECT-phase timeout naming the lookup, and every resolving thread
     * ends (counted inside the resolver: virtual threads are not listed by Thread.getAllStackTraces).
     */
    @Test
    void aThousandHangingLookupsCutByTimeoutsLeaveNoThreadBehind() throws Exception {
        AtomicInteger inside = new AtomicInteger();
        AtomicInteger entered = new AtomicInteger();
        Set<Thread> threads = ConcurrentHashMap.newKeySet();
        Resolver dns = host -> {
            entered.incrementAndGet();
            inside.incrementAndGet();
            threads.add(Thread.currentThread());
            try {
                new CountDownLatch(1).await();
                throw new UnknownHostException("unreachable");
            } catch (InterruptedException e) {
                throw new UnknownHostException("interrupted");
            } finally {
                inside.decrementAndGet();
            }
        };
        Connector c = Connector.create().resolver(dns).connectTimeout(Duration.ofMillis(200));
        int n = 1000;
        List<CompletableFuture<Connection>> all = new ArrayList<>(n);
        for (int i = 0; i < n; i++) all.add(c.connect(loop, "hang" + i + ".invalid", 80));
        int timeouts = 0;
        for (CompletableFuture<Connection> f : all) {
            Throwable t = failureWithin(f, 15_000, "a hanging lookup");
            if (t instanceof ConnectTimeoutException e && e.getMessage().contains("resolving hang")) timeouts++;
            else fail("unexpected failure: " + t);
        }
        assertEquals(n, timeouts);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        while (inside.get() != 0 || entered.get() != n) {
            if (System.nanoTime() > deadline) fail(inside.get() + " lookups still running, " + entered.get() + " entered");
            Thread.sleep(10); // polling with a deadline
        }
        for (Thread t : threads) {
            t.join(5000);
            assertTrue(!t.isAlive(), "resolving thread still alive: " + t);
        }
        assertLoopRuns();
    }
}
