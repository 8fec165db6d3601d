package io.jhv.http.server;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Real clients against the server: the JDK's HttpClient and curl. */
@Timeout(60)
class RealClientsTest {
    @TempDir
    static Path dir;
    static HttpServer server;
    static String base;
    static byte[] text;

    @BeforeAll
    static void start() throws IOException {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; sb.length() < 20_000; i++) sb.append("line ").append(i).append(" of a compressible text file\n");
        text = sb.toString().getBytes(StandardCharsets.US_ASCII);
        Files.write(dir.resolve("file.txt"), text);
        server = HttpServer.create("127.0.0.1", 0).threads(2)
                .get("/conn", (req, res) -> res.text(Long.toString(req.connection().id())))
                .post("/echo", (req, res) -> res.contentType("application/octet-stream").bytes(req.body()))
                .get("/a", (req, res) -> res.text("A"))
                .get("/b", (req, res) -> res.text("B"))
                .staticFiles("/static", dir)
                .start();
        base = "http://127.0.0.1:" + server.port();
    }

    @AfterAll
    static void stop() {
        server.close(Duration.ofSeconds(2));
    }

    // ---------------------------------------------------------------- JDK HttpClient

    static HttpClient client(HttpClient.Version v) {
        return HttpClient.newBuilder().version(v).connectTimeout(Duration.ofSeconds(5)).build();
    }

    @Test
    void jdkClientReusesOneConnection() throws Exception {
        try (HttpClient c = client(HttpClient.Version.HTTP_1_1)) {
            Set<String> ids = new HashSet<>();
            for (int i = 0; i < 5; i++) {
                HttpResponse<String> r = c.send(HttpRequest.newBuilder(URI.create(base + "/conn")).build(), HttpResponse.BodyHandlers.ofString());
                assertEquals(200, r.statusCode());
                ids.add(r.body());
            }
            assertEquals(1, ids.size(), "keep-alive: all requests on one connection, got " + ids);
        }
    }

    @Test
    void jdkClientPostBodies() throws Exception {
        byte[] big = new byte[1 << 20];
        new Random(1).nextBytes(big);
        try (HttpClient c = client(HttpClient.Version.HTTP_1_1)) {
            HttpResponse<String> s = c.send(HttpRequest.newBuilder(URI.create(base + "/echo"))
                    .POST(HttpRequest.BodyPublishers.ofString("small body")).build(), HttpResponse.BodyHandlers.ofString());
            assertEquals("small body", s.body());
            HttpResponse<byte[]> b = c.send(HttpRequest.newBuilder(URI.create(base + "/echo"))
                    .POST(HttpRequest.BodyPublishers.ofByteArray(big)).build(), HttpResponse.BodyHandlers.ofByteArray());
            assertArrayEquals(big, b.body());
            // unknown length: the client sends it chunked
            HttpResponse<byte[]> ch = c.send(HttpRequest.newBuilder(URI.create(base + "/echo"))
                    .POST(HttpRequest.BodyPublishers.ofInputStream(() -> new ByteArrayInputStream(big))).build(), HttpResponse.BodyHandlers.ofByteArray());
            assertArrayEquals(big, ch.body());
            HttpResponse<String> e = c.send(HttpRequest.newBuilder(URI.create(base + "/echo")).expectContinue(true)
                    .POST(HttpRequest.BodyPublishers.ofString("after a 100")).build(), HttpResponse.BodyHandlers.ofString());
            assertEquals("after a 100", e.body());
        }
    }

    @Test
    void jdkClientAskingForH2cUpgradeGetsHttp11() throws Exception {
        // For http:// URIs the default client offers "Upgrade: h2c"; the server ignores the offer.
        try (HttpClient c = client(HttpClient.Version.HTTP_2)) {
            HttpResponse<String> r = c.send(HttpRequest.newBuilder(URI.create(base + "/a")).build(), HttpResponse.BodyHandlers.ofString());
            assertEquals("A", r.body());
            assertEquals(HttpClient.Version.HTTP_1_1, r.version());
        }
    }

    // ---------------------------------------------------------------- curl

    record Run(int exit, String out, String err, byte[] outBytes) {}

    static Run curl(String... args) throws Exception {
        List<String> cmd = new ArrayList<>();
        cmd.add("curl");
        cmd.add("--http1.1");
        cmd.add("-sS");
        cmd.add("--max-time");
        cmd.add("20");
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).start();
        // drain stderr in the background so a chatty -v cannot block the process
        var err = new java.util.concurrent.CompletableFuture<byte[]>();
        Thread.ofVirtual().start(() -> {
            try {
                err.complete(p.getErrorStream().readAllBytes());
            } catch (IOException e) {
                err.completeExceptionally(e);
            }
        });
        byte[] out = p.getInputStream().readAllBytes();
        assertTrue(p.waitFor(30, TimeUnit.SECONDS), "curl did not finish");
        byte[] e = err.get(5, TimeUnit.SECONDS);
        return new Run(p.exitValue(), new String(out, StandardCharsets.ISO_8859_1), new String(e, StandardCharsets.ISO_8859_1), out);
    }

    @Test
    void curlKeepAlive() throws Exception {
        Run r = curl("-v", base + "/a", base + "/b");
        assertEquals(0, r.exit(), r.err());
        assertEquals("AB", r.out());
        assertTrue(r.err().contains("Re-using existing connection"), "curl did not reuse the connection:\n" + r.err());
    }

    @Test
    void curlChunkedUpload() throws Exception {
        byte[] data = new byte[300_000];
        new Random(2).nextBytes(data);
        Path f = dir.resolve("upload.bin");
        Files.write(f, data);
        Run r = curl("-v", "-H", "Transfer-Encoding: chunked", "-H", "Content-Type: application/octet-stream", "--data-binary", "@" + f, base + "/echo");
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.err().contains("Transfer-Encoding: chunked"), r.err());
        assertArrayEquals(data, r.outBytes());
    }

    @Test
    void curlLargeUploadGets100ContinueAtOnce() throws Exception {
        // curl sends Expect: 100-continue for bodies above 1 MiB and waits up to 1 s for the 100
        byte[] data = new byte[3 << 20];
        new Random(3).nextBytes(data);
        Path f = dir.resolve("big.bin");
        Files.write(f, data);
        long t0 = System.nanoTime();
        Run r = curl("-v", "--data-binary", "@" + f, "-H", "Content-Type: application/octet-stream", base + "/echo");
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.err().contains("100 Continue"), r.err());
        assertArrayEquals(data, r.outBytes());
        assertTrue(ms < 900, "took " + ms + " ms: curl waited for a 100 that did not come");
    }

    @Test
    void curlRange() throws Exception {
        Run r = curl("-r", "5-14", "-D", "-", "-o", dir.resolve("range.out").toString(), base + "/static/file.txt");
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().startsWith("HTTP/1.1 206"), r.out());
        assertTrue(r.out().contains("Content-Range: bytes 5-14/" + text.length), r.out());
        assertArrayEquals(java.util.Arrays.copyOfRange(text, 5, 15), Files.readAllBytes(dir.resolve("range.out")));
    }

    @Test
    void curlCompressed() throws Exception {
        Run r = curl("--compressed", "-D", "-", "-o", dir.resolve("gz.out").toString(), base + "/static/file.txt");
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().toLowerCase().contains("content-encoding: gzip"), r.out());
        assertArrayEquals(text, Files.readAllBytes(dir.resolve("gz.out")), "curl decompressed the body back to the file");
    }
}
