package io.jhv.http.client;

import io.jhv.core.buffer.Buffer;
import io.jhv.http.server.Handler;
import io.jhv.http.server.HttpServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.SubmissionPublisher;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.zip.DeflaterOutputStream;
import java.util.zip.GZIPOutputStream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Bodies in pieces: big downloads with back-pressure, content decoding, trailers, events, streamed uploads. */
@Timeout(20)
class StreamingTest {
    final List<AutoCloseable> closeables = new ArrayList<>();
    final HttpClient client = HttpClient.create();

    @AfterEach
    void close() throws Exception {
        client.close();
        for (AutoCloseable c : closeables) c.close();
    }

    RawServer raw(RawServer.Script s) throws Exception {
        RawServer r = new RawServer(s);
        closeables.add(r);
        return r;
    }

    /** Counts body bytes; checks a simple pattern so no byte is lost or repeated. */
    static class Counter implements ResponseHandler {
        final CompletableFuture<HttpResponse> head = new CompletableFuture<>();
        volatile ResponseStream stream;
        final AtomicLong bytes = new AtomicLong();
        long maxHeapGrowth;
        final long heapBase;
        volatile Throwable error;

        Counter() {
            Runtime rt = Runtime.getRuntime();
            heapBase = rt.totalMemory() - rt.freeMemory();
        }

        public void onHead(HttpResponse h, ResponseStream s) {
            stream = s;
            head.complete(h);
        }

        public void onBody(Buffer chunk) {
            long before = bytes.getAndAdd(chunk.readableBytes());
            if ((before >> 26) != ((before + chunk.readableBytes()) >> 26)) { // every 64 MiB
                Runtime rt = Runtime.getRuntime();
                maxHeapGrowth = Math.max(maxHeapGrowth, rt.totalMemory() - rt.freeMemory() - heapBase);
            }
            chunk.skip(chunk.readableBytes());
        }

        public void onComplete(HttpResponse r) { }

        public void onError(Throwable e) { error = e; }
    }

    @Test
    void aOneGibDownloadStreamsThroughABoundedClient() throws Exception {
        long size = 1L << 30;
        RawServer s = raw(c -> {
            c.readHead();
            c.write("HTTP/1.1 200 OK\r\nContent-Length: " + size + "\r\n\r\n");
            byte[] block = new byte[256 << 10];
            for (long sent = 0; sent < size; sent += block.length) c.out.write(block);
            c.out.flush();
            c.readHead();
        });
        Counter counter = new Counter();
        HttpResponse r = client.sendAsync(HttpRequest.get(s.url("/1g")).build(), counter).get(60, TimeUnit.SECONDS);
        assertEquals(200, r.status());
        assertEquals(size, counter.bytes.get());
        assertEquals(0, r.body().length, "a streamed response holds no body");
        // Garbage only (the client keeps no chunk): far below the 1 GiB that went through.
        assertTrue(counter.maxHeapGrowth < 256L << 20, "heap grew by " + (counter.maxHeapGrowth >> 20) + " MiB");
        assertEquals(1, client.stats().idle(), "the connection went back to the pool");
    }

    @Test
    void pausingTheStreamHoldsTheServerBack() throws Exception {
        AtomicLong written = new AtomicLong();
        long total = 64L << 20;
        RawServer s = raw(c -> {
            c.readHead();
            c.write("HTTP/1.1 200 OK\r\nContent-Length: " + total + "\r\n\r\n");
            byte[] block = new byte[64 << 10];
            for (long sent = 0; sent < total; sent += block.length) {
                c.out.write(block);
                written.addAndGet(block.length);
            }
            c.out.flush();
            c.readHead();
        });
        Counter counter = new Counter() {
            @Override
            public void onHead(HttpResponse h, ResponseStream st) {
                st.pause();
                super.onHead(h, st);
            }
        };
        CompletableFuture<HttpResponse> f = client.sendAsync(HttpRequest.get(s.url("/big")).build(), counter);
        counter.head.get(5, TimeUnit.SECONDS);
        // The server writes until the socket buffers are full, then blocks.
        long last = -1;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (System.nanoTime() < deadline) {
            long now = written.get();
            if (now == last) break;
            last = now;
            Thread.sleep(200); // waiting for the writer to stall is the point of the test
        }
        assertTrue(written.get() < 32L << 20, "the server ran ahead of a paused client: " + written.get());
        assertTrue(counter.bytes.get() < 1 << 20, "bytes delivered while paused: " + counter.bytes.get());
        counter.stream.resume();
        f.get(10, TimeUnit.SECONDS);
        assertEquals(total, counter.bytes.get());
    }

    static byte[] gzip(byte[] b) throws Exception {
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        try (GZIPOutputStream z = new GZIPOutputStream(o)) {
            z.write(b);
        }
        return o.toByteArray();
    }

    static byte[] deflate(byte[] b) throws Exception {
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        try (DeflaterOutputStream z = new DeflaterOutputStream(o)) {
            z.write(b);
        }
        return o.toByteArray();
    }

    static byte[] text(int n) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; sb.length() < n; i++) sb.append("line ").append(i).append(" of a compressible body\n");
        return sb.substring(0, n).getBytes(StandardCharsets.US_ASCII);
    }

    @Test
    void gzipAndDeflateBodiesAreDecoded() throws Exception {
        byte[] plain = text(300_000);
        byte[] gz = gzip(plain);
        byte[] df = deflate(plain);
        RawServer s = raw(c -> {
            String h;
            while ((h = c.readHead()) != null) {
                if (!h.contains("Accept-Encoding: gzip, deflate")) c.write("HTTP/1.1 400 Bad\r\nContent-Length: 0\r\n\r\n");
                else if (h.startsWith("GET /gz ")) {
                    c.write("HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: " + gz.length + "\r\n\r\n");
                    c.write(gz);
                } else if (h.startsWith("GET /gzchunked ")) {
                    c.write("HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n");
                    for (int i = 0; i < gz.length; i += 1000) {
                        int n = Math.min(1000, gz.length - i);
                        c.write(Integer.toHexString(n) + "\r\n");
                        c.out.write(gz, i, n);
                        c.write("\r\n");
                    }
                    c.write("0\r\n\r\n");
                } else {
                    c.write("HTTP/1.1 200 OK\r\nContent-Encoding: deflate\r\nContent-Length: " + df.length + "\r\n\r\n");
                    c.write(df);
                }
            }
        });
        assertArrayEquals(plain, client.get(s.url("/gz")).body());
        assertArrayEquals(plain, client.get(s.url("/gzchunked")).body());
        assertArrayEquals(plain, client.get(s.url("/df")).body());
        Counter counter = new Counter();
        client.sendAsync(HttpRequest.get(s.url("/gz")).build(), counter).get(5, TimeUnit.SECONDS);
        assertEquals(plain.length, counter.bytes.get());
        assertEquals(1, s.connections.get(), "decoded responses leave the connection reusable");
    }

    @Test
    void aGzipBombStopsAtMaxResponseBody() throws Exception {
        byte[] bomb = gzip(new byte[50 << 20]); // 50 MiB of zeros, ~50 KiB on the wire
        HttpClient small = HttpClient.builder().maxResponseBody(1 << 20).build();
        closeables.add(small);
        RawServer s = raw(c -> {
            c.readHead();
            c.write("HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: " + bomb.length + "\r\n\r\n");
            c.write(bomb);
            c.readHead();
        });
        MalformedResponseException e = assertThrows(MalformedResponseException.class, () -> small.get(s.url("/bomb")));
        assertTrue(e.getMessage().contains("exceeds maxResponseBody"), e.getMessage());
    }

    @Test
    void aCorruptGzipBodyFailsTheCall() throws Exception {
        byte[] gz = gzip(text(10_000));
        gz[gz.length - 5] ^= 0x55; // breaks the CRC
        RawServer s = raw(c -> {
            c.readHead();
            c.write("HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: " + gz.length + "\r\n\r\n");
            c.write(gz);
            c.readHead();
        });
        MalformedResponseException e = assertThrows(MalformedResponseException.class, () -> client.get(s.url("/bad")));
        assertTrue(e.getMessage().contains("gzip"), e.getMessage());
    }

    @Test
    void trailersOfAChunkedBodyAreKept() throws Exception {
        RawServer s = raw(c -> {
            c.readHead();
            c.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Checksum\r\n\r\n"
                    + "5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Checksum: abc123\r\nX-Other: 1\r\n\r\n");
            c.readHead();
        });
        HttpResponse r = client.get(s.url("/t"));
        assertEquals("hello world", r.bodyString());
        assertEquals("abc123", r.trailer("x-checksum"));
        assertEquals(Map.of("X-Checksum", List.of("abc123"), "X-Other", List.of("1")), r.trailers());
    }

    @Test
    void interimResponsesAreSkippedAndOneHundredContinueReleasesTheBody() throws Exception {
        RawServer s = raw(c -> {
            String h = c.readHead();
            if (!h.contains("Expect: 100-continue")) throw new AssertionError(h);
            c.write("HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n");
            c.write("HTTP/1.1 100 Continue\r\n\r\n");
            byte[] body = c.readBody(h);
            c.write("HTTP/1.1 200 OK\r\nContent-Length: " + body.length + "\r\n\r\n");
            c.write(body);
            c.readHead();
        });
        HttpResponse r = client.send(HttpRequest.post(s.url("/up")).body("the body").expectContinue().build());
        assertEquals(200, r.status());
        assertEquals("the body", r.bodyString());
    }

    @Test
    void aFinalAnswerInsteadOfOneHundredContinueSkipsTheBody() throws Exception {
        RawServer s = raw(c -> {
            c.readHead();
            c.write("HTTP/1.1 413 Content Too Large\r\nContent-Length: 0\r\n\r\n");
            c.readHead();
        });
        HttpResponse r = client.send(HttpRequest.post(s.url("/up")).body(new byte[1 << 20]).expectContinue().build());
        assertEquals(413, r.status());
        assertEquals(0, client.stats().idle(), "a connection whose announced body was never sent is not reused");
    }

    @Test
    void anInputStreamBodyGoesChunkedWithoutRunningAheadOfTheSocket() throws Exception {
        java.util.concurrent.CountDownLatch startReading = new java.util.concurrent.CountDownLatch(1);
        RawServer s = raw(c -> {
            String h = c.readHead();
            startReading.await(); // a server that does not read yet: the upload must stall
            byte[] tail = new byte[5];
            long n = 0;
            // read the chunked body to its end: count bytes until the last-chunk
            java.io.DataInputStream in = new java.io.DataInputStream(c.in);
            while (true) {
                StringBuilder line = new StringBuilder();
                int b;
                while ((b = in.read()) != '\n') line.append((char) b);
                int size = Integer.parseInt(line.toString().trim(), 16);
                if (size == 0) {
                    in.readFully(tail, 0, 2);
                    break;
                }
                in.skipNBytes(size);
                in.readFully(tail, 0, 2);
                n += size;
            }
            String body = (h.contains("Transfer-Encoding: chunked") ? "chunked " : "not chunked ") + n;
            c.write("HTTP/1.1 200 OK\r\nContent-Length: " + body.length() + "\r\n\r\n" + body);
            c.readHead();
        });
        long size = 50L << 20;
        AtomicLong readFromSource = new AtomicLong();
        InputStream source = new InputStream() {
            long left = size;

            @Override
            public int read() {
                throw new UnsupportedOperationException();
            }

            @Override
            public int read(byte[] b, int off, int len) {
                if (left == 0) return -1;
                int n = (int) Math.min(len, left);
                left -= n;
                readFromSource.addAndGet(n);
                return n;
            }
        };
        CompletableFuture<HttpResponse> f = client.sendAsync(HttpRequest.post(s.url("/count")).body(source).build());
        long last = -1;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (System.nanoTime() < deadline) {
            long now = readFromSource.get();
            if (now == last && now > 0) break;
            last = now;
            Thread.sleep(200); // waiting for the upload to stall is the point of the test
        }
        assertTrue(readFromSource.get() < 16L << 20, "the source was read ahead of the socket: " + readFromSource.get());
        startReading.countDown();
        assertEquals("chunked " + size, f.get(10, TimeUnit.SECONDS).bodyString());
    }

    @Test
    void aPublisherBodyIsRequestedAsTheSocketDrains() throws Exception {
        HttpServer server = HttpServer.create("127.0.0.1", 0).threads(1)
                .post("/echo", (req, res) -> res.text(req.bodyString()))
                .start();
        closeables.add(server::close);
        SubmissionPublisher<ByteBuffer> pub = new SubmissionPublisher<>();
        CompletableFuture<HttpResponse> f = client.sendAsync(HttpRequest.post("http://127.0.0.1:" + server.port() + "/echo")
                .body(pub, -1).build());
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (pub.getNumberOfSubscribers() == 0 && System.nanoTime() < deadline) Thread.onSpinWait();
        for (int i = 0; i < 100; i++) pub.submit(ByteBuffer.wrap(("p" + i + ",").getBytes()));
        pub.close();
        StringBuilder expect = new StringBuilder();
        for (int i = 0; i < 100; i++) expect.append("p").append(i).append(',');
        assertEquals(expect.toString(), f.get(5, TimeUnit.SECONDS).bodyString());
    }

    @Test
    void formMultipartAndFileBodiesReachTheServer() throws Exception {
        java.nio.file.Path file = java.nio.file.Files.createTempFile("jhv-client", ".txt");
        java.nio.file.Files.writeString(file, "file contents");
        HttpServer server = HttpServer.create("127.0.0.1", 0).threads(1)
                .post("/form", (req, res) -> res.text(req.form().get("a") + "|" + req.form().get("b c")))
                .post("/multi", (req, res) -> {
                    try {
                        res.text(req.part("title").string() + "|" + req.part("doc").filename() + "|" + req.part("doc").string());
                    } catch (java.io.IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                })
                .post("/file", (req, res) -> res.text(req.contentLength() + ":" + req.bodyString()))
                .start();
        closeables.add(server::close);
        closeables.add(() -> java.nio.file.Files.deleteIfExists(file));
        String base = "http://127.0.0.1:" + server.port();
        java.util.LinkedHashMap<String, String> form = new java.util.LinkedHashMap<>();
        form.put("a", "1&2");
        form.put("b c", "ü");
        assertEquals("1&2|ü", client.send(HttpRequest.post(base + "/form").form(form).build()).bodyString());
        Multipart mp = Multipart.builder().field("title", "report").file("doc", file, "text/plain").build();
        assertEquals("report|" + file.getFileName() + "|file contents",
                client.send(HttpRequest.post(base + "/multi").multipart(mp).build()).bodyString());
        assertEquals("13:file contents", client.send(HttpRequest.post(base + "/file").body(file).build()).bodyString());
    }

    @Test
    void serverSentEventsArriveOneByOne() throws Exception {
        HttpServer server = HttpServer.create("127.0.0.1", 0).threads(1)
                .get("/events", (req, res) -> {
                    var sse = res.sse();
                    sse.send("first");
                    sse.send("update", "line1\nline2", "7");
                    sse.comment("keep-alive");
                    sse.close();
                })
                .start();
        closeables.add(server::close);
        List<ServerSentEvent> events = new CopyOnWriteArrayList<>();
        CompletableFuture<Void> closed = new CompletableFuture<>();
        CompletableFuture<Void> f = client.eventSource(HttpRequest.get("http://127.0.0.1:" + server.port() + "/events").build(),
                new EventSourceListener() {
                    public void onEvent(ServerSentEvent e) { events.add(e); }
                    public void onClosed() { closed.complete(null); }
                    public void onError(Throwable e) { closed.completeExceptionally(e); }
                });
        f.get(5, TimeUnit.SECONDS);
        closed.get(5, TimeUnit.SECONDS);
        assertEquals(List.of(new ServerSentEvent(null, "message", "first", -1),
                new ServerSentEvent("7", "update", "line1\nline2", -1)), events);
    }
}
