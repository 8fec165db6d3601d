package io.jhv.http.server;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.net.ConnectException;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * HttpServer.close(deadline): in-flight requests finish with {@code Connection: close}, idle
 * keep-alive connections close at once, new connections are refused.
 */
@Timeout(30)
class GracefulShutdownTest {

    static HttpServer server(CountDownLatch inHandler) {
        return HttpServer.create("127.0.0.1", 0).threads(1)
                .get("/hello", (req, res) -> res.text("hello"))
                .get("/slow-blocking", Handler.blocking((req, res) -> {
                    inHandler.countDown();
                    Thread.sleep(600);
                    res.text("finished");
                }))
                .get("/slow-deferred", (req, res) -> {
                    res.defer();
                    inHandler.countDown();
                    req.loop().setTimeout(600, () -> res.text("finished"));
                })
                .start();
    }

    @Test
    void inFlightBlockingRequestFinishes() throws Exception {
        check("/slow-blocking");
    }

    @Test
    void inFlightDeferredRequestFinishes() throws Exception {
        check("/slow-deferred");
    }

    private void check(String slowPath) throws Exception {
        CountDownLatch inHandler = new CountDownLatch(1);
        HttpServer s = server(inHandler);
        int port = s.port();
        try (RawClient busy = RawClient.connect(port); RawClient idle = RawClient.connect(port)) {
            assertEquals("hello", idle.exchange("GET /hello HTTP/1.1\r\nHost: t\r\n\r\n").text());
            busy.send("GET " + slowPath + " HTTP/1.1\r\nHost: t\r\n\r\n");
            assertTrue(inHandler.await(5, TimeUnit.SECONDS));

            long t0 = System.nanoTime();
            CompletableFuture<Void> closing = CompletableFuture.runAsync(() -> s.close(Duration.ofSeconds(5)));

            assertTrue(idle.closedByServer(1000), "an idle keep-alive connection is closed at once");
            long idleMs = (System.nanoTime() - t0) / 1_000_000;
            assertTrue(idleMs < 400, "idle connection closed after " + idleMs + " ms");

            assertNotServed(port);

            RawClient.Resp r = busy.read();
            assertEquals(200, r.status());
            assertEquals("finished", r.text());
            assertTrue(r.closes(), "the in-flight response says Connection: close: " + r);
            assertTrue(busy.closedByServer(2000));

            closing.get(5, TimeUnit.SECONDS);
            long totalMs = (System.nanoTime() - t0) / 1_000_000;
            assertTrue(totalMs >= 300, "close returned after " + totalMs + " ms, before the in-flight request finished");
        }
    }

    @Test
    void theDeadlineCutsSlowRequests() throws Exception {
        CountDownLatch inHandler = new CountDownLatch(1);
        HttpServer s = HttpServer.create("127.0.0.1", 0).threads(1)
                .get("/forever", (req, res) -> {
                    res.defer(); // never answered
                    inHandler.countDown();
                })
                .start();
        try (RawClient c = RawClient.connect(s.port())) {
            c.send("GET /forever HTTP/1.1\r\nHost: t\r\n\r\n");
            assertTrue(inHandler.await(5, TimeUnit.SECONDS));
            long t0 = System.nanoTime();
            s.close(Duration.ofMillis(300));
            long ms = (System.nanoTime() - t0) / 1_000_000;
            assertTrue(ms >= 250 && ms < 3000, "close took " + ms + " ms");
            assertTrue(c.closedByServer(2000));
        }
    }

    /** A new connection gets no answer: refused, or accepted by the kernel and closed. */
    private static void assertNotServed(int port) throws InterruptedException {
        long end = System.nanoTime() + 2_000_000_000L;
        while (true) {
            try (RawClient c = RawClient.connect(port)) {
                c.send("GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
                assertTrue(c.closedByServer(1000), "a new connection was served during shutdown");
                return;
            } catch (ConnectException refused) {
                return;
            } catch (IOException e) {
                if (System.nanoTime() > end) throw new AssertionError(e);
                Thread.sleep(10);
            }
        }
    }
}
