package io.jhv.http.client;

import io.jhv.http.server.HttpServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link HttpClient.Builder#dns}: a custom resolver against a real jhv server on loopback, and a
 * lookup that never returns cut by the connect timeout, by a shorter call deadline and by cancel,
 * with the pool's counts back to 0 and the resolving thread interrupted.
 */
@Timeout(30)
class DnsTest extends ClientsClosedAfterEach {
    static HttpServer server;
    static final List<String> hosts = new CopyOnWriteArrayList<>();

    @BeforeAll
    static void start() {
        server = HttpServer.create("127.0.0.1", 0).threads(1)
                .get("/who", (req, res) -> {
                    hosts.add(req.header("Host"));
                    res.text("hello " + req.header("Host"));
                })
                .start();
    }

    @AfterAll
    static void stop() {
        server.close();
    }


    /** Never answers until interrupted. */
    static final class Hanging implements Dns {
        final CountDownLatch entered = new CountDownLatch(1);
        final CountDownLatch interrupted = new CountDownLatch(1);
        final AtomicInteger calls = new AtomicInteger();

        @Override
        public List<InetAddress> lookup(String host) throws UnknownHostException {
            calls.incrementAndGet();
            entered.countDown();
            try {
                new CountDownLatch(1).await();
            } catch (InterruptedException e) {
                interrupted.countDown();
            }
            throw new UnknownHostException("interrupted");
        }
    }

    static void assertPoolEmpty(HttpClient c) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        PoolStats s;
        while ((s = c.stats()).open() != 0 || s.pending() != 0 || s.acquired() != 0) {
            if (System.nanoTime() > deadline) throw new AssertionError("the pool did not empty: " + s);
            Thread.onSpinWait();
        }
    }

    private void assertStillServes(HttpClient c) throws Exception {
        HttpResponse r = c.get("http://127.0.0.1:" + server.port() + "/who");
        assertEquals(200, r.status(), "the client's loop still works");
    }

    @Test
    void aLookupThatNeverReturnsIsCutByTheConnectTimeout() throws Exception {
        Hanging dns = new Hanging();
        HttpClient c = client(HttpClient.builder().dns(dns).connectTimeout(Duration.ofMillis(300)));
        long t0 = System.nanoTime();
        HttpTimeoutException e = assertThrows(HttpTimeoutException.class, () -> c.get("http://hang.invalid:8080/x"));
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertEquals(HttpTimeoutException.Phase.CONNECT, e.phase());
        assertTrue(e.getMessage().contains("resolving hang.invalid") && e.getMessage().contains("300 ms"), e.getMessage());
        assertTrue(ms >= 250 && ms < 5000, "took " + ms + " ms");
        assertTrue(dns.interrupted.await(5, TimeUnit.SECONDS), "the lookup's thread is interrupted");
        assertEquals(1, dns.calls.get(), "a timed-out lookup is not retried");
        assertPoolEmpty(c);
        assertStillServes(c);
    }

    @Test
    void aShorterCallTimeoutCutsTheLookupFirst() throws Exception {
        Hanging dns = new Hanging();
        HttpClient c = client(HttpClient.builder().dns(dns).connectTimeout(Duration.ofSeconds(20)).callTimeout(Duration.ofMillis(300)));
        long t0 = System.nanoTime();
        HttpTimeoutException e = assertThrows(HttpTimeoutException.class, () -> c.get("http://hang.invalid/x"));
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertEquals(HttpTimeoutException.Phase.CALL, e.phase());
        assertTrue(e.getMessage().contains("hang.invalid") && e.getMessage().contains("300 ms"), e.getMessage());
        assertTrue(ms >= 250 && ms < 5000, "took " + ms + " ms");
        assertTrue(dns.interrupted.await(5, TimeUnit.SECONDS), "the lookup's thread is interrupted");
        assertPoolEmpty(c);
        assertStillServes(c);
    }

    @Test
    void cancelDuringTheLookupEndsItAndFreesThePool() throws Exception {
        Hanging dns = new Hanging();
        HttpClient c = client(HttpClient.builder().dns(dns));
        CompletableFuture<HttpResponse> f = c.getAsync("http://hang.invalid/x");
        assertTrue(dns.entered.await(5, TimeUnit.SECONDS), "the lookup started");
        assertEquals(1, c.stats().open(), "a connection is being opened");
        assertTrue(f.cancel(true));
        assertTrue(dns.interrupted.await(5, TimeUnit.SECONDS), "the lookup's thread is interrupted");
        assertPoolEmpty(c);
        assertStillServes(c);
    }

    @Test
    void aResolverPointsANameAtALocalServerAndTheHostHeaderKeepsTheName() throws Exception {
        List<String> asked = new CopyOnWriteArrayList<>();
        HttpClient c = client(HttpClient.builder().dns(host -> {
            asked.add(host);
            if (host.equals("example.invalid")) return List.of(InetAddress.getByName("127.0.0.1"));
            return Dns.SYSTEM.lookup(host);
        }));
        hosts.clear();
        String url = "http://example.invalid:" + server.port() + "/who";
        HttpResponse r = c.get(url);
        assertEquals(200, r.status());
        assertEquals("hello example.invalid:" + server.port(), r.bodyString());
        assertEquals(List.of("example.invalid:" + server.port()), hosts);
        assertEquals(url, r.url().toString());
        assertEquals(200, c.get(url).status(), "the pooled connection is reused");
        assertEquals(List.of("example.invalid"), asked, "one lookup: the second call reused the connection");
    }

    @Test
    void aResolverThatFailsGivesAClearConnectErrorAndIsNotRetried() throws Exception {
        AtomicInteger calls = new AtomicInteger();
        HttpClient c = client(HttpClient.builder().dns(host -> {
            calls.incrementAndGet();
            throw new UnknownHostException("no such name " + host);
        }));
        HttpConnectException e = assertThrows(HttpConnectException.class, () -> c.get("http://gone.invalid/x"));
        assertTrue(e.getMessage().contains("gone.invalid") && e.getMessage().contains("cannot resolve"), e.getMessage());
        assertInstanceOf(UnknownHostException.class, e.getCause());
        assertEquals(1, calls.get(), "an unknown host is not retried");

        HttpClient empty = client(HttpClient.builder().dns(host -> List.of()));
        e = assertThrows(HttpConnectException.class, () -> empty.get("http://empty.invalid/x"));
        assertInstanceOf(UnknownHostException.class, e.getCause());
        assertTrue(e.getMessage().contains("empty.invalid") && e.getMessage().contains("no address"), e.getMessage());

        HttpClient broken = client(HttpClient.builder().dns(host -> {
            throw new IllegalStateException("resolver bug");
        }));
        e = assertThrows(HttpConnectException.class, () -> broken.get("http://broken.invalid/x"));
        assertInstanceOf(UnknownHostException.class, e.getCause());
        assertTrue(e.getMessage().contains("broken.invalid") && e.getMessage().contains("resolver bug"), e.getMessage());
        assertPoolEmpty(c);
        assertPoolEmpty(broken);
        assertStillServes(broken);
    }
}
