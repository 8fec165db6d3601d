package io.jhv.http.client;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.RandomAccessFile;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Flow;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The write timeout: a server that stops reading mid-upload fails the call (phase WRITE) and its
 * connection is closed, never pooled; a server that reads slowly but steadily never trips it.
 */
@Timeout(60)
class WriteTimeoutTest {
    static final long BIG = 64L << 20;
    final List<AutoCloseable> closeables = new ArrayList<>();
    final HttpClient client = HttpClient.builder().writeTimeout(Duration.ofMillis(400)).build();

    @TempDir
    Path dir;

    @AfterEach
    void close() throws Exception {
        client.close();
        for (AutoCloseable c : closeables) c.close();
    }

    /** Accepts connections and never reads a byte (but keeps them open). */
    ServerSocket deaf() throws Exception {
        ServerSocket ss = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.1"));
        closeables.add(ss);
        List<Socket> held = new ArrayList<>();
        closeables.add(() -> { synchronized (held) { for (Socket s : held) s.close(); } });
        Thread.ofPlatform().daemon().name("deaf-server").start(() -> {
            while (!ss.isClosed()) {
                try {
                    Socket s = ss.accept();
                    synchronized (held) { held.add(s); }
                } catch (Exception e) {
                    return;
                }
            }
        });
        return ss;
    }

    Path bigFile() throws Exception {
        Path f = dir.resolve("big.bin");
        try (RandomAccessFile r = new RandomAccessFile(f.toFile(), "rw")) {
            r.setLength(BIG); // sparse: reads as zeros
        }
        return f;
    }

    /** A publisher of {@code total} bytes in 64 KiB buffers, on demand. */
    static Flow.Publisher<ByteBuffer> zeros(long total) {
        return sub -> sub.onSubscribe(new Flow.Subscription() {
            long left = total;
            boolean done;

            @Override
            public synchronized void request(long n) {
                for (long i = 0; i < n && !done; i++) {
                    int k = (int) Math.min(64 << 10, left);
                    left -= k;
                    sub.onNext(ByteBuffer.allocate(k));
                    if (left == 0) {
                        done = true;
                        sub.onComplete();
                    }
                }
            }

            @Override
            public synchronized void cancel() {
                done = true;
            }
        });
    }

    static void await(BooleanSupplier cond, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!cond.getAsBoolean()) {
            if (System.nanoTime() > deadline) throw new AssertionError("timed out waiting for " + what);
            Thread.sleep(10);
        }
    }

    void assertWriteTimeout(Throwable e, long startedNanos) throws InterruptedException {
        HttpTimeoutException t = assertInstanceOf(HttpTimeoutException.class, e, () -> "got " + e);
        assertEquals(HttpTimeoutException.Phase.WRITE, t.phase(), t.getMessage());
        assertTrue(t.getMessage().contains("sending the request"), t.getMessage());
        long ms = (System.nanoTime() - startedNanos) / 1_000_000;
        assertTrue(ms >= 400, "fired before the limit: " + ms + " ms");
        assertTrue(ms < 8000, "fired far too late: " + ms + " ms");
        await(() -> client.stats().open() == 0, "the stalled connection to close: " + client.stats());
        assertEquals(new PoolStats(0, 0, 0, 0), client.stats());
    }

    @Test
    void aServerThatStopsReadingAFileUploadFailsTheFuture() throws Exception {
        ServerSocket ss = deaf();
        HttpRequest req = HttpRequest.post("http://127.0.0.1:" + ss.getLocalPort() + "/up").body(bigFile()).build();
        long t0 = System.nanoTime();
        ExecutionException e = assertThrows(ExecutionException.class, () -> client.sendAsync(req).get(20, TimeUnit.SECONDS));
        assertWriteTimeout(e.getCause(), t0);
    }

    @Test
    void aServerThatStopsReadingAPublisherUploadFailsTheCallback() throws Exception {
        ServerSocket ss = deaf();
        HttpRequest req = HttpRequest.post("http://127.0.0.1:" + ss.getLocalPort() + "/up").body(zeros(BIG), BIG).build();
        CompletableFuture<Throwable> failure = new CompletableFuture<>();
        long t0 = System.nanoTime();
        client.send(req, new ResponseCallback() {
            @Override
            public void onResponse(ResponseView response) {
                failure.completeExceptionally(new AssertionError("a response from a deaf server: " + response));
            }

            @Override
            public void onFailure(HttpRequest request, Throwable error) {
                failure.complete(error);
            }
        });
        assertWriteTimeout(failure.get(20, TimeUnit.SECONDS), t0);
    }

    @Test
    void aChunkedPublisherUploadToADeafServerTimesOutToo() throws Exception {
        ServerSocket ss = deaf();
        HttpRequest req = HttpRequest.post("http://127.0.0.1:" + ss.getLocalPort() + "/up").body(zeros(BIG), -1).build();
        long t0 = System.nanoTime();
        ExecutionException e = assertThrows(ExecutionException.class, () -> client.sendAsync(req).get(20, TimeUnit.SECONDS));
        assertWriteTimeout(e.getCause(), t0);
    }

    /**
     * A server that reads 64 KiB every 10 ms (at most 6.5 MB/s) takes seconds over a 16 MiB upload,
     * longer than a 1.5 s write timeout, but never stops: the upload succeeds, in both forms. (The
     * kernel reports room in the send buffer in bursts, a third of a buffer of up to 4 MiB at a
     * time, so a slow reader shows progress every few hundred ms: the limit must be above that.)
     */
    @Test
    void aSlowButSteadyReaderNeverTimesOut() throws Exception {
        long size = 16L << 20;
        AtomicLong total = new AtomicLong();
        AtomicBoolean stop = new AtomicBoolean();
        closeables.add(() -> stop.set(true));
        RawServer.Script script = c -> {
            while (!stop.get()) {
                String head = c.readHead();
                if (head == null) return;
                long len = 0;
                for (String line : head.split("\r\n")) {
                    if (line.toLowerCase().startsWith("content-length:")) len = Long.parseLong(line.substring(15).trim());
                }
                byte[] buf = new byte[64 << 10];
                long got = 0;
                while (got < len) {
                    int n = c.in.read(buf, 0, (int) Math.min(buf.length, len - got));
                    if (n < 0) return;
                    got += n;
                    Thread.sleep(10); // the pace of a slow reader is the point of this server
                }
                total.addAndGet(got);
                String body = Long.toString(got);
                c.write("HTTP/1.1 200 OK\r\nContent-Length: " + body.length() + "\r\n\r\n" + body);
            }
        };
        RawServer ss = new RawServer(64 << 10, script);
        closeables.add(ss);
        HttpClient client = HttpClient.builder().writeTimeout(Duration.ofMillis(1500)).build();
        closeables.add(client);
        String url = ss.url("/up");

        long t0 = System.nanoTime();
        HttpResponse r = client.sendAsync(HttpRequest.post(url).body(zeros(size), size).build()).get(30, TimeUnit.SECONDS);
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertEquals(200, r.status());
        assertEquals(Long.toString(size), r.bodyString());
        assertTrue(ms > 1500, "the upload should have lasted longer than the write timeout, took " + ms + " ms");

        CompletableFuture<String> body = new CompletableFuture<>();
        t0 = System.nanoTime();
        client.send(HttpRequest.post(url).body(zeros(size), size).build(), new ResponseCallback() {
            @Override
            public void onResponse(ResponseView response) {
                body.complete(response.status() + " " + response.bodyString());
            }

            @Override
            public void onFailure(HttpRequest request, Throwable error) {
                body.completeExceptionally(error);
            }
        });
        assertEquals("200 " + size, body.get(30, TimeUnit.SECONDS));
        ms = (System.nanoTime() - t0) / 1_000_000;
        assertTrue(ms > 1500, "the upload should have lasted longer than the write timeout, took " + ms + " ms");
        assertEquals(2 * size, total.get());
    }

    @Test
    void zeroTurnsTheWriteTimeoutOff() throws Exception {
        try (HttpClient off = HttpClient.builder().writeTimeout(Duration.ZERO).callTimeout(Duration.ofMillis(1500)).build()) {
            ServerSocket ss = deaf();
            HttpRequest req = HttpRequest.post("http://127.0.0.1:" + ss.getLocalPort() + "/up").body(zeros(BIG), BIG).build();
            ExecutionException e = assertThrows(ExecutionException.class, () -> off.sendAsync(req).get(20, TimeUnit.SECONDS));
            HttpTimeoutException t = assertInstanceOf(HttpTimeoutException.class, e.getCause());
            assertEquals(HttpTimeoutException.Phase.CALL, t.phase(), "only the call deadline ends it: " + t.getMessage());
        }
        assertThrows(IllegalArgumentException.class, () -> HttpClient.builder().writeTimeout(Duration.ofMillis(-1)));
    }

    @Test
    void aRequestsOwnWriteTimeoutWins() throws Exception {
        ServerSocket ss = deaf();
        String url = "http://127.0.0.1:" + ss.getLocalPort() + "/up";
        try (HttpClient off = HttpClient.builder().writeTimeout(Duration.ZERO).build()) {
            HttpRequest req = HttpRequest.post(url).body(zeros(BIG), BIG).writeTimeout(Duration.ofMillis(400)).build();
            assertEquals(Duration.ofMillis(400), req.writeTimeout());
            ExecutionException e = assertThrows(ExecutionException.class, () -> off.sendAsync(req).get(20, TimeUnit.SECONDS));
            HttpTimeoutException t = assertInstanceOf(HttpTimeoutException.class, e.getCause());
            assertEquals(HttpTimeoutException.Phase.WRITE, t.phase(), t.getMessage());
            assertTrue(t.getMessage().contains("write timeout 400 ms"), t.getMessage());
        }
        // the client's 400 ms, turned off for one request: only its call deadline ends it
        HttpRequest req = HttpRequest.post(url).body(zeros(BIG), BIG).writeTimeout(Duration.ZERO).timeout(Duration.ofMillis(1500)).build();
        ExecutionException e = assertThrows(ExecutionException.class, () -> client.sendAsync(req).get(20, TimeUnit.SECONDS));
        HttpTimeoutException t = assertInstanceOf(HttpTimeoutException.class, e.getCause());
        assertEquals(HttpTimeoutException.Phase.CALL, t.phase(), t.getMessage());
        assertEquals(Duration.ZERO, req.toBuilder().build().writeTimeout(), "toBuilder keeps it");
    }

    /** Over TLS too: a server that completes the handshake, then stops reading. */
    @Test
    void aTlsServerThatStopsReadingFailsTheCall() throws Exception {
        io.jhv.core.tls.SelfSignedCertificate cert = io.jhv.core.tls.SelfSignedCertificate.builder()
                .subject("CN=localhost").hosts("localhost").build();
        CompletableFuture<Void> handshaken = new CompletableFuture<>();
        io.jhv.core.net.TcpServer tls = io.jhv.core.net.TcpServer.create("127.0.0.1", 0).threads(1)
                .tls(io.jhv.core.tls.TlsConfig.server().certificate(cert).build())
                .onConnection(c -> {
                    handshaken.complete(null);
                    c.pauseReading();
                })
                .start();
        closeables.add(tls::close);
        try (HttpClient c = HttpClient.builder().writeTimeout(Duration.ofMillis(400))
                .tls(io.jhv.core.tls.TlsConfig.client().trust(cert.certificate()).build()).build()) {
            HttpRequest req = HttpRequest.post("https://localhost:" + tls.port() + "/up").body(zeros(BIG), BIG).build();
            long t0 = System.nanoTime();
            ExecutionException e = assertThrows(ExecutionException.class, () -> c.sendAsync(req).get(20, TimeUnit.SECONDS));
            assertTrue(handshaken.isDone(), "the handshake completed");
            HttpTimeoutException t = assertInstanceOf(HttpTimeoutException.class, e.getCause(), () -> "got " + e.getCause());
            assertEquals(HttpTimeoutException.Phase.WRITE, t.phase(), t.getMessage());
            assertTrue((System.nanoTime() - t0) / 1_000_000 >= 400);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (c.stats().open() != 0 && System.nanoTime() < deadline) Thread.sleep(10);
            assertEquals(new PoolStats(0, 0, 0, 0), c.stats());
        }
    }
}
