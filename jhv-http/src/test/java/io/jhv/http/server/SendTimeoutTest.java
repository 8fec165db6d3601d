package io.jhv.http.server;

import io.jhv.core.net.CloseCause;
import io.jhv.core.net.Connection;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.Random;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The send (write) timeout: a client that requests a large response and never reads it loses the
 * connection, and the server the bytes queued for it, once nothing went out for the timeout; a
 * client that reads slowly but steadily gets the whole response with the same timeout.
 */
@Timeout(60)
class SendTimeoutTest {
    static final int SIZE = 24 << 20;
    static final int CHUNK = 64 * 1024;
    static byte[] big;
    static HttpServer server;

    @BeforeAll
    static void start() {
        big = new byte[SIZE];
        new Random(20).nextBytes(big);
        server = HttpServer.create("127.0.0.1", 0).threads(1)
                .writeTimeout(Duration.ofMillis(500))
                .get("/bytes", (req, res) -> res.bytes(big))
                .get("/stream", Handler.blocking((req, res) -> {
                    try (Response.ChunkedWriter w = res.stream()) {
                        for (int off = 0; off < SIZE; off += CHUNK) w.write(Arrays.copyOfRange(big, off, off + CHUNK));
                    }
                }))
                .start();
    }

    @AfterAll
    static void stop() {
        if (server != null) server.close(Duration.ofSeconds(1));
    }

    static Socket connect() throws IOException {
        Socket s = new Socket();
        s.setReceiveBufferSize(16 * 1024); // the kernel holds little for a client that does not read
        s.connect(new InetSocketAddress("127.0.0.1", server.port()), 5000);
        return s;
    }

    /** The server's side of {@code client}. */
    static Connection serverSide(Socket client) {
        return await(() -> {
            for (Connection c : server.connections()) {
                if (c.remoteAddress() instanceof InetSocketAddress a && a.getPort() == client.getLocalPort()) return c;
            }
            return null;
        }, "the server accepted the connection");
    }

    static <T> T await(Supplier<T> probe, String what) {
        long end = System.nanoTime() + 20_000_000_000L;
        T v;
        while ((v = probe.get()) == null || Boolean.FALSE.equals(v)) {
            if (System.nanoTime() > end) throw new AssertionError("timed out waiting: " + what);
            try {
                Thread.sleep(5); // polling a condition
            } catch (InterruptedException e) {
                throw new AssertionError(e);
            }
        }
        return v;
    }

    static void request(Socket s, String path) throws IOException {
        s.getOutputStream().write(("GET " + path + " HTTP/1.1\r\nHost: t\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
        s.getOutputStream().flush();
    }

    @ParameterizedTest
    @ValueSource(strings = {"/bytes", "/stream"})
    void aClientThatNeverReadsIsClosedAndItsQueueFreed(String path) throws IOException {
        try (Socket s = connect()) {
            request(s, path);
            Connection c = serverSide(s);
            await(() -> c.maxQueuedBytes() > 0, "output queued for the client");
            CloseCause cause = await(c::closeCause, "the server closes a connection whose output makes no progress");
            assertEquals(CloseCause.Kind.TIMEOUT, cause.kind(), cause.toString());
            assertEquals(0, c.queuedBytes(), "the queue is freed");
            assertFalse(server.connections().contains(c));
            // the client sees the end: far fewer bytes than the response, then EOF or reset
            long got = 0;
            s.setSoTimeout(10_000);
            InputStream in = s.getInputStream();
            byte[] b = new byte[64 * 1024];
            try {
                for (int n; (n = in.read(b)) >= 0; ) got += n;
            } catch (SocketException reset) {
                // reset: the server closed with data still unsent
            }
            assertTrue(got < SIZE, "got " + got);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"/bytes", "/stream"})
    void aSlowButReadingClientGetsAllOfIt(String path) throws IOException {
        try (Socket s = connect()) {
            s.setSoTimeout(10_000);
            request(s, path);
            long t0 = System.nanoTime();
            // reads 2 MiB, then pauses for less than the timeout: well over the timeout in all
            InputStream in = new SlowStream(s.getInputStream(), 2 << 20, 200);
            RawClient.Resp r = RawClient.read(in, false);
            assertEquals(200, r.status());
            assertArrayEquals(big, r.body());
            assertTrue(System.nanoTime() - t0 > 1_000_000_000L, "the transfer took longer than the timeout");
            Connection c = serverSide(s);
            assertEquals(null, c.closeCause(), "still open");
        }
    }

    /** Reads through, pausing {@code pauseMs} after every {@code every} bytes (a slow reader). */
    static final class SlowStream extends InputStream {
        private final InputStream in;
        private final int every;
        private final long pauseMs;
        private long untilPause;

        SlowStream(InputStream in, int every, long pauseMs) {
            this.in = new java.io.BufferedInputStream(in, 16 * 1024);
            this.every = every;
            this.pauseMs = pauseMs;
            this.untilPause = every;
        }

        private void pace(int n) throws IOException {
            untilPause -= n;
            if (untilPause <= 0) {
                untilPause = every;
                try {
                    Thread.sleep(pauseMs); // pacing the slow peer
                } catch (InterruptedException e) {
                    throw new IOException(e);
                }
            }
        }

        @Override
        public int read() throws IOException {
            int b = in.read();
            if (b >= 0) pace(1);
            return b;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            int n = in.read(b, off, len);
            if (n > 0) pace(n);
            return n;
        }
    }
}
