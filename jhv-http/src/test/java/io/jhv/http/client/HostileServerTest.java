package io.jhv.http.client;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Servers that break the protocol, vanish or crawl: each call fails with a clear error, and nothing leaks. */
@Timeout(20)
class HostileServerTest {
    HttpClient client = HttpClient.builder().build();

    @AfterEach
    void close() {
        client.close();
    }

    static final String OK = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

    @Test
    void aGetCutMidResponseIsRetriedOnceOnAFreshConnection() throws Exception {
        try (RawServer s = new RawServer(c -> {
            c.readHead();
            if (c.index == 1) {
                c.write("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"); // then the socket closes
            } else {
                c.write(OK);
                c.readHead();
            }
        })) {
            HttpResponse r = client.get(s.url("/x"));
            assertEquals("ok", r.bodyString());
            assertEquals(2, s.requests.get());
            assertEquals(2, s.connections.get());
        }
    }

    @Test
    void aGetIsRetriedOnlyOnceThenFailsWithAClearError() throws Exception {
        try (RawServer s = new RawServer(c -> {
            c.readHead();
            c.write("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
        })) {
            ConnectionClosedException e = assertThrows(ConnectionClosedException.class, () -> client.get(s.url("/x")));
            assertTrue(e.getMessage().contains("in the middle of the response body"), e.getMessage());
            assertEquals(2, s.requests.get(), "one try and one retry, never a third");
        }
    }

    @Test
    void aPostIsNeverReplayedOnceItsBytesWereSent() throws Exception {
        try (RawServer s = new RawServer(c -> {
            String h = c.readHead();
            c.readBody(h); // took the order, then dies without answering
        })) {
            ConnectionClosedException e = assertThrows(ConnectionClosedException.class,
                    () -> client.post(s.url("/order"), "one pizza"));
            assertTrue(e.getMessage().contains("before any response byte"), e.getMessage());
            assertEquals(1, s.requests.get(), "the POST reached the server once");
        }
    }

    @Test
    void aStalePooledConnectionIsRetriedForAGet() throws Exception {
        // The server answers once, then reads the next request and drops the connection without a
        // word: the race of a keep-alive close. The GET goes again on a fresh connection.
        try (RawServer s = new RawServer(c -> {
            c.readHead();
            c.write(OK);
            if (c.index == 1) {
                c.readHead();
            } else {
                while (c.readHead() != null) c.write(OK);
            }
        })) {
            assertEquals("ok", client.get(s.url("/a")).bodyString());
            assertEquals("ok", client.get(s.url("/b")).bodyString());
            assertEquals(3, s.requests.get());
            assertEquals(2, s.connections.get());
        }
    }

    @Test
    void anIdleConnectionClosedByTheServerLeavesThePoolWhenItsFinArrives() throws Exception {
        CountDownLatch closeNow = new CountDownLatch(1);
        try (RawServer s = new RawServer(c -> {
            c.readHead();
            c.write(OK);
            if (c.index == 1) {
                closeNow.await();
            } else {
                while (c.readHead() != null) c.write(OK);
            }
        })) {
            assertEquals("ok", client.get(s.url("/a")).bodyString());
            assertEquals(1, client.stats().idle());
            closeNow.countDown();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (client.stats().open() != 0 && System.nanoTime() < deadline) Thread.onSpinWait();
            assertEquals(0, client.stats().open(), "the FIN removed the idle connection");
            assertEquals("ok", client.get(s.url("/b")).bodyString());
            assertEquals(2, s.requests.get(), "no request was lost on the dead connection");
        }
    }

    @Test
    void aGarbageStatusLineFailsTheCall() throws Exception {
        try (RawServer s = new RawServer(c -> {
            c.readHead();
            c.write("HTTP/1.1 2OO OK\r\nContent-Length: 2\r\n\r\nok");
            c.readHead();
        })) {
            MalformedResponseException e = assertThrows(MalformedResponseException.class, () -> client.get(s.url("/")));
            assertTrue(e.getMessage().contains("malformed status line"), e.getMessage());
            assertEquals(1, s.requests.get(), "a malformed response is not retried");
        }
        try (RawServer s = new RawServer(c -> {
            c.readHead();
            c.write("SSH-2.0-OpenSSH_9.2\r\n");
            c.readHead();
        })) {
            MalformedResponseException e = assertThrows(MalformedResponseException.class, () -> client.get(s.url("/")));
            assertTrue(e.getMessage().contains("not an HTTP/1.x response"), e.getMessage());
        }
    }

    @Test
    void endlessHeadersHitTheHeadLimit() throws Exception {
        HttpClient c2 = HttpClient.builder().maxResponseHeadSize(4096).build();
        try (RawServer s = new RawServer(c -> {
            c.readHead();
            c.write("HTTP/1.1 200 OK\r\n");
            for (int i = 0; i < 100_000; i++) c.write("X-Endless-" + i + ": yes\r\n");
        })) {
            MalformedResponseException e = assertThrows(MalformedResponseException.class, () -> c2.get(s.url("/")));
            assertTrue(e.getMessage().contains("larger than 4096 bytes"), e.getMessage());
            assertEquals(0, c2.stats().open());
        } finally {
            c2.close();
        }
    }

    @Test
    void conflictingContentLengthsAreRefused() throws Exception {
        try (RawServer s = new RawServer(c -> {
            c.readHead();
            c.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nokk");
        })) {
            MalformedResponseException e = assertThrows(MalformedResponseException.class, () -> client.get(s.url("/")));
            assertTrue(e.getMessage().contains("conflicting Content-Length"), e.getMessage());
        }
    }

    @Test
    void aBadChunkSizeFailsTheCall() throws Exception {
        try (RawServer s = new RawServer(c -> {
            c.readHead();
            c.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n");
        })) {
            MalformedResponseException e = assertThrows(MalformedResponseException.class, () -> client.get(s.url("/")));
            assertTrue(e.getMessage().contains("invalid chunk size"), e.getMessage());
        }
    }

    @Test
    void aSlowLorisResponseHitsTheReadIdleTimeout() throws Exception {
        HttpClient c2 = HttpClient.builder().readIdleTimeout(Duration.ofMillis(300)).build();
        CountDownLatch end = new CountDownLatch(1);
        try (RawServer s = new RawServer(c -> {
            c.readHead();
            c.write("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nab");
            end.await(); // and nothing more
        })) {
            long t0 = System.nanoTime();
            HttpTimeoutException e = assertThrows(HttpTimeoutException.class, () -> c2.get(s.url("/")));
            long ms = (System.nanoTime() - t0) / 1_000_000;
            assertEquals(HttpTimeoutException.Phase.READ_IDLE, e.phase());
            assertTrue(ms >= 250 && ms < 5000, "took " + ms + " ms");
            assertEquals(1, s.requests.get(), "a timeout is not retried");
            assertEquals(0, c2.stats().open());
        } finally {
            end.countDown();
            c2.close();
        }
    }

    @Test
    void aServerThatNeverAnswersHitsTheResponseHeadTimeout() throws Exception {
        HttpClient c2 = HttpClient.builder().responseHeadTimeout(Duration.ofMillis(200)).build();
        CountDownLatch end = new CountDownLatch(1);
        try (RawServer s = new RawServer(c -> {
            c.readHead();
            end.await();
        })) {
            HttpTimeoutException e = assertThrows(HttpTimeoutException.class, () -> c2.get(s.url("/")));
            assertEquals(HttpTimeoutException.Phase.RESPONSE_HEAD, e.phase());
            assertTrue(e.getMessage().contains("no response head within 200 ms"), e.getMessage());
        } finally {
            end.countDown();
            c2.close();
        }
    }

    @Test
    void aRefusedConnectionIsAConnectException() throws IOException {
        int port;
        try (var ss = new java.net.ServerSocket(0, 1, java.net.InetAddress.getByName("127.0.0.1"))) {
            port = ss.getLocalPort();
        }
        HttpConnectException e = assertThrows(HttpConnectException.class, () -> client.get("http://127.0.0.1:" + port + "/"));
        assertTrue(e.getMessage().contains("cannot connect to 127.0.0.1:" + port), e.getMessage());
        assertEquals(0, client.stats().open());
    }
}
