package io.jhv.core.net;

import io.jhv.core.loop.EventLoop;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

@Timeout(30)
class UpstreamTest {
    private static final int HIGH = 256 * 1024, LOW = 128 * 1024;
    /** A loop reads at most this much at once (the default read buffer), so a queue may pass its mark by this. */
    private static final int READ_BUFFER = 64 * 1024;

    private TcpServer echo, proxy;
    private final CompletableFuture<Connection> echoConn = new CompletableFuture<>();
    private final CompletableFuture<CloseCause> echoClosed = new CompletableFuture<>();
    private final CompletableFuture<CloseCause> proxyClosed = new CompletableFuture<>();

    private void startEchoAndProxy(String upstreamHost) {
        echo = TcpServer.create("127.0.0.1", 0).threads(1).waterMarks(HIGH, LOW)
                .onConnection(c -> { if (c.isConnected()) echoConn.complete(c); })
                .onMessage((c, buf) -> c.write(buf))
                .onClose((c, cause) -> echoClosed.complete(cause))
                .start();
        proxy = Upstream.proxy(TcpServer.create("127.0.0.1", 0).threads(1).waterMarks(HIGH, LOW)
                        .onClose((c, cause) -> proxyClosed.complete(cause)), upstreamHost, echo.port())
                .start();
    }

    @AfterEach
    void tearDown() {
        if (proxy != null) proxy.close();
        if (echo != null) echo.close();
    }

    private static byte[] readN(InputStream in, int n) throws IOException {
        byte[] b = new byte[n];
        new DataInputStream(in).readFully(b);
        return b;
    }

    /** Reads until end of stream (a reset also counts as the end); returns what came before it. */
    private static String readToEnd(Socket s) throws IOException {
        s.setSoTimeout(5000);
        StringBuilder sb = new StringBuilder();
        InputStream in = s.getInputStream();
        try {
            int r;
            while ((r = in.read()) >= 0) sb.append((char) r);
        } catch (SocketException reset) {
            sb.append("<reset>");
        }
        return sb.toString();
    }

    /** The proxy's connection for client socket {@code s} (it exists once a byte has made the round trip). */
    private Connection downstreamOf(Socket s) {
        for (Connection c : proxy.connections()) {
            if (c.remoteAddress() instanceof java.net.InetSocketAddress a && a.getPort() == s.getLocalPort()) return c;
        }
        throw new AssertionError("no proxy connection for local port " + s.getLocalPort());
    }

    /** Waits for the proxy's last connection to be removed (removal follows the onClose callbacks). */
    private void awaitNoProxyConnections() throws Exception {
        proxyClosed.get(5, TimeUnit.SECONDS);
        io.jhv.core.loop.Probes.await(() -> proxy.connectionCount() == 0, java.time.Duration.ofSeconds(5));
        assertEquals(0, proxy.connectionCount());
    }

    // ---------------------------------------------------------------- data

    @Test
    void bytesRoundTripThroughTheProxy() throws Exception {
        startEchoAndProxy("127.0.0.1");
        try (Socket s = new Socket("127.0.0.1", proxy.port())) {
            OutputStream out = s.getOutputStream();
            for (int i = 0; i < 100; i++) {
                byte[] msg = ("message " + i + "\n").getBytes(StandardCharsets.UTF_8);
                out.write(msg);
                assertArrayEquals(msg, readN(s.getInputStream(), msg.length));
            }
        }
    }

    @Test
    void bytesThatArriveBeforeTheUpstreamConnectsAreHeldInOrder() throws Exception {
        // "localhost" is resolved off the loop, so the upstream connects a little later than the
        // downstream's first bytes arrive; try a few times until the held path has been taken.
        startEchoAndProxy("localhost");
        long held = 0;
        for (int attempt = 0; attempt < 20 && held == 0; attempt++) {
            StringBuilder expected = new StringBuilder();
            try (Socket s = new Socket("127.0.0.1", proxy.port())) {
                OutputStream out = s.getOutputStream();
                for (int i = 0; i < 200; i++) {
                    String m = attempt + ":" + i + ";";
                    expected.append(m);
                    out.write(m.getBytes(StandardCharsets.US_ASCII));
                }
                byte[] got = readN(s.getInputStream(), expected.length());
                assertEquals(expected.toString(), new String(got, StandardCharsets.US_ASCII));
                Connection down = downstreamOf(s);
                CompletableFuture<Long> h = new CompletableFuture<>();
                down.loop().post(() -> h.complete(Upstream.heldBytes(down)));
                held = h.get(5, TimeUnit.SECONDS);
            }
        }
        assertTrue(held > 0, "the downstream never sent before the upstream was up; the held path is untested");
    }

    @Test
    void aLargeTransferToASlowReaderStaysWithinTheWaterMarks() throws Exception {
        startEchoAndProxy("127.0.0.1");
        final int total = 16 << 20;
        try (Socket s = new Socket("127.0.0.1", proxy.port())) {
            AtomicReference<Throwable> writerFailed = new AtomicReference<>();
            Thread writer = Thread.ofPlatform().name("upstream-test-writer").start(() -> {
                try {
                    OutputStream out = s.getOutputStream();
                    byte[] chunk = new byte[32 * 1024];
                    for (int sent = 0; sent < total; sent += chunk.length) {
                        for (int i = 0; i < chunk.length; i++) chunk[i] = pattern(sent + i);
                        out.write(chunk);
                    }
                } catch (Throwable t) {
                    writerFailed.set(t);
                }
            });
            InputStream in = s.getInputStream();
            byte[] buf = new byte[64 * 1024];
            long slowUntil = System.nanoTime() + TimeUnit.SECONDS.toNanos(1);
            int got = 0;
            while (got < total) {
                boolean slow = System.nanoTime() < slowUntil;
                int n = in.read(buf, 0, slow ? 1024 : buf.length);
                if (n < 0) break;
                for (int i = 0; i < n; i++) {
                    if (buf[i] != pattern(got + i)) throw new AssertionError("byte " + (got + i) + " is wrong");
                }
                got += n;
                if (slow) Thread.sleep(5); // a slow reader, not synchronisation
            }
            writer.join(10_000);
            if (writerFailed.get() != null) throw new AssertionError("writer failed", writerFailed.get());
            assertEquals(total, got);

            Connection down = downstreamOf(s);
            Connection echoSide = echoConn.get(5, TimeUnit.SECONDS);
            CompletableFuture<long[]> q = new CompletableFuture<>();
            down.loop().post(() -> {
                Connection up = Upstream.upstreamOf(down);
                q.complete(new long[] {down.maxQueuedBytes(), up == null ? -1 : up.maxQueuedBytes()});
            });
            long[] proxyQueues = q.get(5, TimeUnit.SECONDS);
            CompletableFuture<Long> e = new CompletableFuture<>();
            echoSide.loop().post(() -> e.complete(echoSide.maxQueuedBytes()));
            long echoQueue = e.get(5, TimeUnit.SECONDS);
            long bound = HIGH + READ_BUFFER;
            assertTrue(proxyQueues[1] >= 0, "no upstream connection");
            // the slow reader must actually have pushed the queues up to the mark, or the test proves nothing
            assertTrue(proxyQueues[0] > HIGH / 2, "downstream queue never filled: " + proxyQueues[0]);
            assertTrue(proxyQueues[0] <= bound, "downstream queue reached " + proxyQueues[0]);
            assertTrue(proxyQueues[1] <= bound, "upstream queue reached " + proxyQueues[1]);
            assertTrue(echoQueue <= bound, "echo server queue reached " + echoQueue);
        }
    }

    @Test
    void anUploadKeepsFlowingWhileTheClientIgnoresTheDownload() throws Exception {
        // The upstream streams to the client without end (while its queue drains) and counts what it
        // receives. The client never reads. A proxy must keep the two directions independent: the
        // stalled download must not stop the upload.
        final long total = 32 << 20;
        java.util.concurrent.atomic.AtomicLong received = new java.util.concurrent.atomic.AtomicLong();
        CompletableFuture<Void> gotAll = new CompletableFuture<>();
        byte[] chunk = new byte[64 * 1024]; // never changed, so every write may share it
        echo = TcpServer.create("127.0.0.1", 0).threads(1).waterMarks(HIGH, LOW).pauseReadingAboveHighWater(false)
                .onConnection(c -> { if (c.isConnected()) c.write(chunk); })
                .onWriteComplete(c -> c.write(chunk))
                .onMessage((c, buf) -> {
                    if (received.addAndGet(buf.readableBytes()) >= total) gotAll.complete(null);
                    buf.skip(buf.readableBytes());
                })
                .start();
        proxy = Upstream.proxy(TcpServer.create("127.0.0.1", 0).threads(1).waterMarks(HIGH, LOW), "127.0.0.1", echo.port())
                .start();
        try (Socket s = new Socket("127.0.0.1", proxy.port())) {
            Thread writer = Thread.ofPlatform().name("upstream-test-uploader").start(() -> {
                try {
                    OutputStream out = s.getOutputStream();
                    byte[] up = new byte[64 * 1024];
                    for (long sent = 0; sent < total; sent += up.length) out.write(up);
                } catch (IOException ignored) {
                    // the assertion below reports the failure
                }
            });
            try {
                gotAll.get(15, TimeUnit.SECONDS);
            } catch (java.util.concurrent.TimeoutException e) {
                throw new AssertionError("upload stalled at " + received.get() + " of " + total + " bytes");
            } finally {
                s.close(); // unblocks the writer if it is stuck
                writer.join(5000);
            }
            assertEquals(total, received.get());
        }
    }

    private static byte pattern(long i) {
        return (byte) ((i * 31 + (i >>> 11)) % 251);
    }

    // ---------------------------------------------------------------- closing

    @Test
    void closingTheDownstreamClosesTheUpstream() throws Exception {
        startEchoAndProxy("127.0.0.1");
        try (Socket s = new Socket("127.0.0.1", proxy.port())) {
            s.getOutputStream().write("ping".getBytes(StandardCharsets.US_ASCII));
            assertArrayEquals("ping".getBytes(StandardCharsets.US_ASCII), readN(s.getInputStream(), 4));
        }
        CloseCause cause = echoClosed.get(5, TimeUnit.SECONDS);
        assertEquals(CloseCause.Kind.PEER_CLOSED, cause.kind(), "the proxy closed its upstream connection");
        awaitNoProxyConnections();
    }

    @Test
    void closingTheUpstreamClosesTheDownstreamAfterFlushing() throws Exception {
        startEchoAndProxy("127.0.0.1");
        try (Socket s = new Socket("127.0.0.1", proxy.port())) {
            s.getOutputStream().write("hi".getBytes(StandardCharsets.US_ASCII));
            assertArrayEquals("hi".getBytes(StandardCharsets.US_ASCII), readN(s.getInputStream(), 2));
            Connection server = echoConn.get(5, TimeUnit.SECONDS);
            server.write("bye");
            server.close();
            assertEquals("bye", readToEnd(s), "what the upstream sent last arrives, then the end");
        }
        awaitNoProxyConnections();
    }

    @Test
    void anUnreachableUpstreamClosesTheDownstream() throws Exception {
        int deadPort;
        try (java.net.ServerSocket ss = new java.net.ServerSocket(0)) {
            deadPort = ss.getLocalPort();
        }
        proxy = Upstream.proxy(TcpServer.create("127.0.0.1", 0).threads(1), "127.0.0.1", deadPort).start();
        try (Socket s = new Socket("127.0.0.1", proxy.port())) {
            s.getOutputStream().write("anyone?".getBytes(StandardCharsets.US_ASCII));
            assertEquals("", readToEnd(s).replace("<reset>", ""));
        }
    }

    @Test
    void pipeRefusesConnectionsOnDifferentLoops() throws Exception {
        CompletableFuture<Connection> a = new CompletableFuture<>();
        try (TcpServer s1 = TcpServer.create("127.0.0.1", 0).threads(2)
                .onConnection(c -> { if (c.isConnected()) a.complete(c); }).start();
             Socket c1 = new Socket("127.0.0.1", s1.port())) {
            Connection conn = a.get(5, TimeUnit.SECONDS);
            EventLoop other = s1.group().loops().stream().filter(l -> l != conn.loop()).findFirst().orElseThrow();
            CompletableFuture<Connection> b = new CompletableFuture<>();
            TcpClient client = TcpClient.create("127.0.0.1", s1.port()).loop(other)
                    .onConnection(c -> { if (c.isConnected()) b.complete(c); }).start();
            try {
                Connection conn2 = b.get(5, TimeUnit.SECONDS);
                CompletableFuture<Throwable> failure = new CompletableFuture<>();
                conn.loop().post(() -> {
                    try {
                        Upstream.pipe(conn, conn2);
                        failure.complete(null);
                    } catch (Throwable t) {
                        failure.complete(t);
                    }
                });
                Throwable t = failure.get(5, TimeUnit.SECONDS);
                assertNotNull(t);
                assertTrue(t instanceof IllegalArgumentException && t.getMessage().contains("one loop"), String.valueOf(t));
                assertThrows(IllegalArgumentException.class, () -> Upstream.pipe(conn, conn));
            } finally {
                client.close();
            }
        }
    }

    // ---------------------------------------------------------------- half-close and reset

    private static final int BIG = 8 << 20;

    /** What a plain blocking upstream server does with its one connection. */
    private interface Session {
        void serve(Socket s) throws Exception;
    }

    /**
     * A plain blocking upstream server on 127.0.0.1 (java.net, no jhv) that serves its first
     * connection with {@code session} on a thread of its own; the future completes when it is done.
     */
    private static java.net.ServerSocket plainUpstream(Session session, CompletableFuture<Void> done) throws IOException {
        java.net.ServerSocket ss = new java.net.ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress());
        Thread.ofPlatform().name("plain-upstream").daemon().start(() -> {
            try (ss; Socket s = ss.accept()) {
                s.setSoTimeout(20_000);
                session.serve(s);
                done.complete(null);
            } catch (Throwable t) {
                done.completeExceptionally(t);
            }
        });
        return ss;
    }

    private void startProxyTo(int upstreamPort) {
        proxy = Upstream.proxy(TcpServer.create("127.0.0.1", 0).threads(1).waterMarks(HIGH, LOW)
                .onClose((c, cause) -> proxyClosed.complete(cause)), "127.0.0.1", upstreamPort).start();
    }

    /** Reads to the end of the stream, checking every byte against {@link #pattern}; returns the count. */
    private static long readPatternToEnd(InputStream in) throws IOException {
        byte[] buf = new byte[64 * 1024];
        long got = 0;
        int n;
        while ((n = in.read(buf)) >= 0) {
            for (int i = 0; i < n; i++) {
                if (buf[i] != pattern(got + i)) throw new AssertionError("byte " + (got + i) + " is wrong");
            }
            got += n;
        }
        return got;
    }

    private static void writePattern(OutputStream out, int total) throws IOException {
        byte[] chunk = new byte[64 * 1024];
        for (int sent = 0; sent < total; sent += chunk.length) {
            int n = Math.min(chunk.length, total - sent);
            for (int i = 0; i < n; i++) chunk[i] = pattern(sent + i);
            out.write(chunk, 0, n);
        }
    }

    @Test
    void aClientHalfCloseStillGetsTheWholeReply() throws Exception {
        // A batch protocol (like `nc -q`): the upstream replies only once it has seen the end of the
        // request, with more than the proxy's queues hold, so the reply is in flight long after the
        // client's FIN went through.
        CompletableFuture<Long> request = new CompletableFuture<>();
        CompletableFuture<Void> served = new CompletableFuture<>();
        java.net.ServerSocket up = plainUpstream(s -> {
            request.complete(readPatternToEnd(s.getInputStream()));
            writePattern(s.getOutputStream(), BIG);
        }, served);
        startProxyTo(up.getLocalPort());
        try (Socket s = new Socket("127.0.0.1", proxy.port())) {
            s.setSoTimeout(20_000);
            writePattern(s.getOutputStream(), 100_000);
            s.shutdownOutput();
            assertEquals(BIG, readPatternToEnd(s.getInputStream()), "the whole reply, then the end of the stream");
            assertEquals(100_000, request.get(5, TimeUnit.SECONDS));
            served.get(5, TimeUnit.SECONDS);
            awaitNoProxyConnections(); // both directions ended: the proxy closed both connections
        }
    }

    @Test
    void anUpstreamHalfCloseStillTakesTheWholeUpload() throws Exception {
        // The reverse: the upstream says all it has to say and half-closes; the client then uploads.
        CompletableFuture<Long> upload = new CompletableFuture<>();
        CompletableFuture<Void> served = new CompletableFuture<>();
        java.net.ServerSocket up = plainUpstream(s -> {
            writePattern(s.getOutputStream(), 1 << 20);
            s.shutdownOutput();
            upload.complete(readPatternToEnd(s.getInputStream()));
        }, served);
        startProxyTo(up.getLocalPort());
        try (Socket s = new Socket("127.0.0.1", proxy.port())) {
            s.setSoTimeout(20_000);
            assertEquals(1 << 20, readPatternToEnd(s.getInputStream()), "the greeting, then the end of the stream");
            writePattern(s.getOutputStream(), BIG);
            s.shutdownOutput();
            assertEquals(BIG, upload.get(15, TimeUnit.SECONDS), "the upstream got the whole upload");
            served.get(5, TimeUnit.SECONDS);
            awaitNoProxyConnections();
        }
    }

    @Test
    void aClientResetResetsTheUpstream() throws Exception {
        CompletableFuture<Void> gotRequest = new CompletableFuture<>();
        CompletableFuture<String> upstreamSaw = new CompletableFuture<>();
        java.net.ServerSocket up = plainUpstream(s -> {
            InputStream in = s.getInputStream();
            readN(in, 3);
            gotRequest.complete(null);
            try {
                upstreamSaw.complete(in.read() < 0 ? "end of stream" : "more bytes");
            } catch (SocketException e) {
                upstreamSaw.complete("reset");
            }
        }, new CompletableFuture<>());
        startProxyTo(up.getLocalPort());
        Socket s = new Socket("127.0.0.1", proxy.port());
        s.getOutputStream().write("req".getBytes(StandardCharsets.US_ASCII));
        gotRequest.get(5, TimeUnit.SECONDS);
        s.setSoLinger(true, 0);
        s.close(); // RST
        assertEquals("reset", upstreamSaw.get(5, TimeUnit.SECONDS), "the proxy passes the reset on");
        assertEquals(CloseCause.Kind.RESET, proxyClosed.get(5, TimeUnit.SECONDS).kind());
        awaitNoProxyConnections();
    }

    @Test
    void anUpstreamResetResetsTheClient() throws Exception {
        java.net.ServerSocket up = plainUpstream(s -> {
            readN(s.getInputStream(), 3);
            s.getOutputStream().write("partial".getBytes(StandardCharsets.US_ASCII));
            s.setSoLinger(true, 0);
        }, new CompletableFuture<>()); // the close after the session sends the RST
        startProxyTo(up.getLocalPort());
        try (Socket s = new Socket("127.0.0.1", proxy.port())) {
            s.getOutputStream().write("req".getBytes(StandardCharsets.US_ASCII));
            String got = readToEnd(s);
            assertTrue(got.endsWith("<reset>"), "a reply cut off by a reset must not look complete: " + got);
        }
        awaitNoProxyConnections();
    }

    @Test
    void aHalfCloseBeforeTheUpstreamIsUpIsPassedOnOnceItIs() throws Exception {
        // A batch upstream for many connections: reads to the end, replies with the count, closes.
        java.net.ServerSocket ss = new java.net.ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress());
        Thread server = Thread.ofPlatform().name("batch-upstream").daemon().start(() -> {
            while (!ss.isClosed()) {
                try (Socket s = ss.accept()) {
                    s.setSoTimeout(10_000);
                    long n = s.getInputStream().transferTo(OutputStream.nullOutputStream());
                    s.getOutputStream().write(("got " + n).getBytes(StandardCharsets.US_ASCII));
                } catch (IOException e) {
                    // closed at the end of the test, or one failed session: the client's assertion says which
                }
            }
        });
        java.util.concurrent.BlockingQueue<Long> held = new java.util.concurrent.LinkedBlockingQueue<>();
        // "localhost" is resolved off the loop, so the client's bytes and FIN usually arrive before the
        // upstream is up: try until that path has been taken.
        proxy = Upstream.proxy(TcpServer.create("127.0.0.1", 0).threads(1)
                .onClose((c, cause) -> held.add(Upstream.heldBytes(c))), "localhost", ss.getLocalPort()).start();
        try (ss) {
            long heldOnce = 0;
            for (int attempt = 0; attempt < 20 && heldOnce == 0; attempt++) {
                try (Socket s = new Socket("127.0.0.1", proxy.port())) {
                    s.setSoTimeout(10_000);
                    s.getOutputStream().write("request".getBytes(StandardCharsets.US_ASCII));
                    s.shutdownOutput();
                    assertEquals("got 7", readToEnd(s));
                }
                Long h = held.poll(5, TimeUnit.SECONDS);
                assertNotNull(h, "the proxy connection closed");
                heldOnce = h;
            }
            assertTrue(heldOnce > 0, "the request never arrived before the upstream was up; that path is untested");
        }
        server.join(5000);
    }

    @Test
    void anUpstreamThatNeverReadsIsDroppedByTheServersWriteTimeout() throws Exception {
        // The upstream accepts and then neither reads nor closes. The client's upload fills the
        // upstream connection's queue and the pipe stops reading the client: without a write timeout
        // on the upstream side both connections would hang for ever.
        CompletableFuture<Void> release = new CompletableFuture<>();
        java.net.ServerSocket up = plainUpstream(s -> release.get(30, TimeUnit.SECONDS), new CompletableFuture<>());
        proxy = Upstream.proxy(TcpServer.create("127.0.0.1", 0).threads(1).waterMarks(HIGH, LOW).writeTimeout(Duration.ofMillis(300))
                .onClose((c, cause) -> proxyClosed.complete(cause)), "127.0.0.1", up.getLocalPort()).start();
        Socket s = new Socket("127.0.0.1", proxy.port());
        Thread writer = Thread.ofPlatform().name("upstream-test-stalled-uploader").start(() -> {
            try {
                writePattern(s.getOutputStream(), 256 << 20); // more than all the buffers on the way
            } catch (IOException expected) {
                // the proxy dropped the connection
            }
        });
        try {
            CloseCause cause = proxyClosed.get(15, TimeUnit.SECONDS);
            // the upstream's unsent bytes were dropped by its write timeout, so the proxy aborts this side too
            assertEquals(CloseCause.Kind.ABORTED, cause.kind(), "aborted because its upstream timed out: " + cause);
            awaitNoProxyConnections();
        } finally {
            release.complete(null);
            s.close();
            writer.join(5000);
        }
    }
}
