package io.jhv.http.client;

import io.jhv.core.loop.EventLoopGroup;
import io.jhv.http.server.HttpServer;
import io.jhv.http.server.Part;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Multipart file parts go out streamed from disk (read off the loop, as the socket drains), with
 * a {@code Content-Length} computed before the call reaches the loop; a missing file fails the
 * call before anything is sent.
 */
@Timeout(120)
class MultipartStreamingTest {
    static final long BIG = 64L << 20;

    @TempDir
    Path dir;
    HttpServer server;
    EventLoopGroup clientLoops;
    HttpClient client;

    @BeforeEach
    void start() {
        server = HttpServer.create("127.0.0.1", 0).threads(1).maxBodySize(256L << 20)
                .post("/upload", (req, res) -> {
                    StringBuilder sb = new StringBuilder(req.header("Content-Length") == null ? "chunked" : "length " + req.header("Content-Length"));
                    for (Part p : req.parts()) {
                        MessageDigest md = MessageDigest.getInstance("SHA-256");
                        try (InputStream in = p.inputStream()) {
                            byte[] buf = new byte[64 << 10];
                            for (int n; (n = in.read(buf)) > 0; ) md.update(buf, 0, n);
                        }
                        sb.append('\n').append(p.name()).append(' ').append(p.filename()).append(' ').append(p.size())
                                .append(' ').append(HexFormat.of().formatHex(md.digest()));
                    }
                    res.text(sb.toString());
                })
                .post("/moved", (req, res) -> res.status(307).header("Location", "/upload").text("moved"))
                .start();
        clientLoops = EventLoopGroup.create(1).start();
        client = HttpClient.builder().group(clientLoops).build();
    }

    @AfterEach
    void stop() {
        client.close();
        clientLoops.close();
        server.close();
    }

    String url(String path) {
        return "http://127.0.0.1:" + server.port() + path;
    }

    /** A file of {@code size} pseudo-random bytes; returns its SHA-256. */
    static String randomFile(Path f, long size) throws Exception {
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        byte[] block = new byte[1 << 20];
        long x = 0x9E3779B97F4A7C15L;
        try (OutputStream out = Files.newOutputStream(f)) {
            for (long done = 0; done < size; done += block.length) {
                for (int i = 0; i < block.length; i += 8) {
                    x ^= x << 13;
                    x ^= x >>> 7;
                    x ^= x << 17;
                    for (int j = 0; j < 8; j++) block[i + j] = (byte) (x >>> (8 * j));
                }
                int n = (int) Math.min(block.length, size - done);
                out.write(block, 0, n);
                md.update(block, 0, n);
            }
        }
        return HexFormat.of().formatHex(md.digest());
    }

    static String sha256(byte[] b) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
    }

    /**
     * Bytes allocated so far by the client's loop thread, the calling thread (where the body's
     * layout is resolved) and the carriers of virtual threads (the body pump runs on one). Through reflection: the test module does not read java.management.
     */
    static long clientAllocated(Thread loop) throws Exception {
        long sum = io.jhv.testing.Allocations.threadAllocatedBytes(loop) + io.jhv.testing.Allocations.threadAllocatedBytes(Thread.currentThread());
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            if (t.getName().startsWith("ForkJoinPool-") && t.getName().contains("worker")) {
                long b = io.jhv.testing.Allocations.threadAllocatedBytes(t);
                if (b > 0) sum += b;
            }
        }
        return sum;
    }

    @Test
    void a64MiBFilePartIsStreamedFromDiskWithBoundedMemory() throws Exception {
        Path f = dir.resolve("big.bin");
        String digest = randomFile(f, BIG);
        Multipart form = Multipart.builder()
                .field("title", "the big one")
                .file("data", f, "application/octet-stream")
                .file("small", "note.txt", "text/plain", "hi".getBytes())
                .build();
        HttpRequest req = HttpRequest.post(url("/upload")).multipart(form).build();
        CompletableFuture<Thread> t = new CompletableFuture<>();
        clientLoops.next().execute(() -> t.complete(Thread.currentThread()));
        Thread loop = t.get(5, TimeUnit.SECONDS);
        // warm up: the first call loads classes and grows buffers
        assertEquals(200, client.send(HttpRequest.post(url("/upload")).multipart(Multipart.builder().field("a", "b").build()).build()).status());

        long before = clientAllocated(loop);
        HttpResponse r = client.send(req);
        long allocated = clientAllocated(loop) - before;

        assertEquals(200, r.status(), r.bodyString());
        String[] lines = r.bodyString().split("\n");
        assertTrue(lines[0].startsWith("length "), "sent with a Content-Length: " + lines[0]);
        assertTrue(Long.parseLong(lines[0].substring(7)) > BIG);
        assertEquals("title null 11 " + sha256("the big one".getBytes()), lines[1]);
        assertEquals("data big.bin " + BIG + " " + digest, lines[2], "the file arrived changed");
        assertEquals("small note.txt 2 " + sha256("hi".getBytes()), lines[3]);
        System.out.println("MultipartStreamingTest: the client's loop, the caller and virtual-thread carriers allocated "
                + allocated + " bytes for a " + BIG + " byte file part");
        assertTrue(allocated < 16L << 20, "the client allocated " + allocated + " bytes to send a 64 MiB file: it held it in memory");
    }

    @Test
    void aMissingFileFailsTheCallBeforeAnythingIsSent() throws Exception {
        Path missing = dir.resolve("no-such-file.bin");
        try (RawServer s = new RawServer(c -> c.readHead())) {
            HttpRequest req = HttpRequest.post(s.url("/upload"))
                    .multipart(Multipart.builder().field("a", "b").file("doc", missing, "application/pdf").build()).build();
            ExecutionException e = assertThrows(ExecutionException.class, () -> client.sendAsync(req).get(10, TimeUnit.SECONDS));
            HttpClientException h = assertInstanceOf(HttpClientException.class, e.getCause());
            assertTrue(h.getMessage().contains("\"doc\"") && h.getMessage().contains(missing.toString()), h.getMessage());

            CompletableFuture<Throwable> cb = new CompletableFuture<>();
            client.send(req, new ResponseCallback() {
                @Override
                public void onResponse(ResponseView response) { cb.completeExceptionally(new AssertionError(response.toString())); }

                @Override
                public void onFailure(HttpRequest request, Throwable error) { cb.complete(error); }
            });
            assertInstanceOf(HttpClientException.class, cb.get(10, TimeUnit.SECONDS));
            assertEquals(0, s.connections.get(), "nothing may be sent for a body that cannot be read");
            assertEquals(new PoolStats(0, 0, 0, 0), client.stats());
        }
    }

    /** A file part that changes size between the call's start and its sending fails the call instead of corrupting the framing. */
    @Test
    void aFileThatShrinksWhileQueuedFailsTheCallCleanly() throws Exception {
        Path f = dir.resolve("shrinks.bin");
        randomFile(f, 1 << 20);
        // hold the only connection so the upload waits in the queue while the file shrinks
        try (HttpClient one = HttpClient.builder().group(clientLoops).maxConnectionsPerHost(1).build()) {
            CompletableFuture<String> slow = new CompletableFuture<>();
            RawServer s = new RawServer(c -> {
                while (true) {
                    String head = c.readHead();
                    if (head == null) return;
                    if (head.startsWith("GET")) {
                        slow.get(10, TimeUnit.SECONDS);
                        c.write("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
                    } else {
                        c.readBody(head);
                        c.write("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
                    }
                }
            });
            try (s) {
                CompletableFuture<HttpResponse> first = one.sendAsync(HttpRequest.get(s.url("/hold")).build());
                CompletableFuture<HttpResponse> up = one.sendAsync(HttpRequest.post(s.url("/up"))
                        .multipart(Multipart.builder().file("f", f, null).build()).build());
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
                while (one.stats().pending() == 0 && System.nanoTime() < deadline) Thread.sleep(5);
                assertEquals(1, one.stats().pending(), "the upload waits for the connection");
                try (var ch = Files.newByteChannel(f, java.nio.file.StandardOpenOption.WRITE)) {
                    ch.truncate(1000);
                }
                slow.complete("go");
                assertEquals(200, first.get(10, TimeUnit.SECONDS).status());
                ExecutionException e = assertThrows(ExecutionException.class, () -> up.get(10, TimeUnit.SECONDS));
                assertTrue(e.getCause().getMessage().contains("declared"), e.getCause().toString());
            }
        }
    }

    /** A 307 resends the body: the file part is streamed again from disk, whole, to the new location. */
    @Test
    void a307RedirectSendsTheFilePartAgain() throws Exception {
        Path f = dir.resolve("again.bin");
        String digest = randomFile(f, 3 << 20);
        HttpRequest req = HttpRequest.post(url("/moved")).multipart(Multipart.builder().file("data", f, null).build()).build();
        HttpResponse r = client.send(req);
        assertEquals(200, r.status(), r.bodyString());
        assertEquals(url("/upload"), r.request().uri().toString());
        assertEquals("data again.bin " + (3 << 20) + " " + digest, r.bodyString().split("\n")[1]);
    }
}
