package io.jhv.http.server;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@link StaticFiles} over real sockets: raw requests, so every header and byte is checked. */
@Timeout(20)
class StaticFilesTest {
    @TempDir
    static Path tmp;
    static Path root;
    static HttpServer server;
    static byte[] bin;
    static String css;
    static byte[] jsGz;

    @BeforeAll
    static void start() throws IOException {
        root = Files.createDirectory(tmp.resolve("www"));
        Path outside = Files.createDirectory(tmp.resolve("outside"));
        Files.writeString(outside.resolve("secret.txt"), "TOP-SECRET");
        Files.writeString(tmp.resolve("secret.txt"), "TOP-SECRET");

        Files.writeString(root.resolve("index.html"), "<h1>home</h1>");
        css = "body { color: #333; }\n".repeat(40); // > 256 bytes: compressible
        Files.writeString(root.resolve("style.css"), css);
        bin = new byte[10_000];
        new Random(3).nextBytes(bin);
        Files.write(root.resolve("data.bin"), bin);
        Files.writeString(root.resolve("app.js"), "console.log('identity');\n".repeat(20));
        jsGz = gzip("console.log('precompressed');".getBytes(StandardCharsets.UTF_8));
        Files.write(root.resolve("app.js.gz"), jsGz);
        Files.writeString(root.resolve("small.txt"), "tiny");
        Files.createDirectory(root.resolve("sub"));
        Files.writeString(root.resolve("sub").resolve("index.html"), "sub index");
        Path listed = Files.createDirectory(root.resolve("listed"));
        Files.writeString(listed.resolve("<evil>&name.txt"), "x");
        Files.writeString(listed.resolve("plain.txt"), "p");
        Files.writeString(listed.resolve("caf\u00e9 \u00fc.txt"), "unicode");
        Files.writeString(listed.resolve(".hidden"), "h");
        Files.createDirectory(listed.resolve("dir one"));
        Files.writeString(root.resolve(".env"), "PASSWORD=1");
        Files.createSymbolicLink(root.resolve("escape.txt"), tmp.resolve("secret.txt"));
        Files.createSymbolicLink(root.resolve("outdir"), outside);
        Files.createSymbolicLink(root.resolve("inner.txt"), root.resolve("small.txt"));
        // a stable mtime for the date tests
        Files.setLastModifiedTime(root.resolve("style.css"), FileTime.fromMillis(1_700_000_000_000L));

        server = HttpServer.create("127.0.0.1", 0)
                .threads(1)
                .staticFiles("/static", StaticFiles.create(root))
                .staticFiles("/list", StaticFiles.create(root).listing(true).maxAge(Duration.ofHours(1)))
                .staticFiles("/plain", StaticFiles.create(root).gzip(false).precompressed(false).index(null).weakEtags(true))
                .start();
    }

    @AfterAll
    static void stop() {
        if (server != null) server.close(Duration.ofSeconds(1));
    }

    static byte[] gzip(byte[] b) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (GZIPOutputStream z = new GZIPOutputStream(out)) {
            z.write(b);
        }
        return out.toByteArray();
    }

    static byte[] gunzip(byte[] b) throws IOException {
        try (InputStream in = new GZIPInputStream(new java.io.ByteArrayInputStream(b))) {
            return in.readAllBytes();
        }
    }

    // ------------------------------------------------------------------ a raw HTTP/1.1 client

    /** A response read off the wire. */
    record Reply(int status, Map<String, String> headers, byte[] body) {
        String header(String name) {
            return headers.get(name.toLowerCase(Locale.ROOT));
        }

        String text() {
            return new String(body, StandardCharsets.UTF_8);
        }
    }

    /** Sends {@code head} (request line and headers, without the blank line) and reads one reply, then closes. */
    static Reply raw(int port, String head) throws IOException {
        return raw(port, head.getBytes(StandardCharsets.ISO_8859_1));
    }

    static Reply raw(int port, byte[] head) throws IOException {
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(10_000);
            OutputStream out = s.getOutputStream();
            out.write(head);
            out.write("\r\nConnection: close\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
            InputStream in = s.getInputStream();
            boolean isHead = new String(head, 0, Math.min(5, head.length), StandardCharsets.ISO_8859_1).equals("HEAD ");
            if (isHead) return parse(in.readAllBytes()); // the server closes: proves no body followed
            // Read the head, then exactly Content-Length bytes (no reliance on the close).
            ByteArrayOutputStream buf = new ByteArrayOutputStream();
            int end;
            while ((end = indexOf(buf.toByteArray(), "\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1))) < 0) {
                int c = in.read();
                if (c < 0) throw new AssertionError("connection closed before the response head: " + buf);
                buf.write(c);
            }
            Reply r = parse(buf.toByteArray());
            String cl = r.header("Content-Length");
            boolean bodyless = r.status() == 304 || r.status() == 204 || r.status() < 200;
            byte[] body = bodyless ? new byte[0] : cl != null ? in.readNBytes(Integer.parseInt(cl)) : in.readAllBytes();
            return new Reply(r.status(), r.headers(), body);
        }
    }

    private static int indexOf(byte[] a, byte[] b) {
        outer:
        for (int i = 0; i + b.length <= a.length; i++) {
            for (int j = 0; j < b.length; j++) if (a[i + j] != b[j]) continue outer;
            return i;
        }
        return -1;
    }

    static Reply parse(byte[] all) {
        String s = new String(all, StandardCharsets.ISO_8859_1);
        int end = s.indexOf("\r\n\r\n");
        if (end < 0) throw new AssertionError("no complete response head: " + s);
        String[] lines = s.substring(0, end).split("\r\n");
        int status = Integer.parseInt(lines[0].split(" ")[1]);
        Map<String, String> h = new LinkedHashMap<>();
        for (int i = 1; i < lines.length; i++) {
            int c = lines[i].indexOf(':');
            String name = lines[i].substring(0, c).toLowerCase(Locale.ROOT);
            if (h.containsKey(name)) throw new AssertionError("duplicate header " + name + " in " + s.substring(0, end));
            h.put(name, lines[i].substring(c + 1).trim());
        }
        return new Reply(status, h, Arrays.copyOfRange(all, end + 4, all.length));
    }

    static Reply get(String path, String... headers) throws IOException {
        return send("GET", path, headers);
    }

    static Reply send(String method, String path, String... headers) throws IOException {
        StringBuilder sb = new StringBuilder(method).append(' ').append(path).append(" HTTP/1.1\r\nHost: test");
        for (String h : headers) sb.append("\r\n").append(h);
        return raw(server.port(), sb.toString());
    }

    // ------------------------------------------------------------------ tests

    @Test
    void servesFileWithTypeEtagAndLastModified() throws IOException {
        Reply r = get("/static/style.css");
        assertEquals(200, r.status());
        assertEquals("text/css; charset=utf-8", r.header("Content-Type"));
        assertEquals(css, r.text());
        assertEquals(Integer.toString(css.length()), r.header("Content-Length"));
        assertNotNull(r.header("ETag"));
        assertTrue(r.header("ETag").startsWith("\""), r.header("ETag"));
        assertEquals("Tue, 14 Nov 2023 22:13:20 GMT", r.header("Last-Modified"));
        assertEquals("bytes", r.header("Accept-Ranges"));
        assertEquals("no-cache", r.header("Cache-Control"));
        assertEquals("Accept-Encoding", r.header("Vary"));

        Reply b = get("/static/data.bin");
        assertEquals("application/octet-stream", b.header("Content-Type"));
        assertArrayEquals(bin, b.body());
        assertEquals("text/plain; charset=utf-8", get("/static/small.txt").header("Content-Type"));
        assertEquals("public, max-age=3600", get("/list/small.txt").header("Cache-Control"));
        assertTrue(get("/plain/small.txt").header("ETag").startsWith("W/\""));
        assertEquals(404, get("/static/missing.txt").status());
        assertEquals(404, get("/static/small.txt/more").status());
    }

    @Test
    void notModifiedForEtagAndIfModifiedSince() throws IOException {
        Reply first = get("/static/style.css");
        String etag = first.header("ETag");
        String lm = first.header("Last-Modified");

        Reply r = get("/static/style.css", "If-None-Match: " + etag);
        assertEquals(304, r.status());
        assertEquals(0, r.body().length);
        assertEquals(etag, r.header("ETag"));
        assertNull(r.header("Content-Length"));
        assertEquals(304, get("/static/style.css", "If-None-Match: \"other\", W/" + etag).status(), "weak comparison, lists");
        assertEquals(304, get("/static/style.css", "If-None-Match: *").status());
        assertEquals(200, get("/static/style.css", "If-None-Match: \"other\"").status());

        assertEquals(304, get("/static/style.css", "If-Modified-Since: " + lm).status());
        assertEquals(304, get("/static/style.css", "If-Modified-Since: Wed, 15 Nov 2023 00:00:00 GMT").status());
        assertEquals(200, get("/static/style.css", "If-Modified-Since: Mon, 13 Nov 2023 00:00:00 GMT").status());
        assertEquals(200, get("/static/style.css", "If-Modified-Since: not a date").status());
        // If-None-Match wins over If-Modified-Since
        assertEquals(200, get("/static/style.css", "If-None-Match: \"other\"", "If-Modified-Since: " + lm).status());
        // a gzip representation has its own tag
        Reply z = get("/static/style.css", "Accept-Encoding: gzip");
        assertNotEquals(etag, z.header("ETag"));
        assertEquals(304, get("/static/style.css", "Accept-Encoding: gzip", "If-None-Match: " + z.header("ETag")).status());
    }

    @Test
    void singleRanges() throws IOException {
        Reply r = get("/static/data.bin", "Range: bytes=10-19");
        assertEquals(206, r.status());
        assertEquals("bytes 10-19/10000", r.header("Content-Range"));
        assertEquals("10", r.header("Content-Length"));
        assertArrayEquals(Arrays.copyOfRange(bin, 10, 20), r.body());

        r = get("/static/data.bin", "Range: bytes=-5");
        assertEquals("bytes 9995-9999/10000", r.header("Content-Range"));
        assertArrayEquals(Arrays.copyOfRange(bin, 9995, 10000), r.body());

        r = get("/static/data.bin", "Range: bytes=9990-");
        assertArrayEquals(Arrays.copyOfRange(bin, 9990, 10000), r.body());

        r = get("/static/data.bin", "Range: bytes=9000-123456789");
        assertEquals("bytes 9000-9999/10000", r.header("Content-Range"));
        assertEquals(1000, r.body().length);

        // bad syntax or another unit: the range is ignored
        assertEquals(200, get("/static/data.bin", "Range: bytes=abc").status());
        assertEquals(200, get("/static/data.bin", "Range: bytes=5-1").status());
        assertEquals(200, get("/static/data.bin", "Range: items=1-2").status());
    }

    @Test
    void multipleRangesAreMultipartByteranges() throws IOException {
        Reply r = get("/static/data.bin", "Range: bytes=0-9, 20-29,-3");
        assertEquals(206, r.status());
        String ct = r.header("Content-Type");
        assertTrue(ct.startsWith("multipart/byteranges; boundary="), ct);
        String boundary = ct.substring(ct.indexOf('=') + 1);
        assertEquals(Integer.toString(r.body().length), r.header("Content-Length"));
        String body = new String(r.body(), StandardCharsets.ISO_8859_1);
        String[] parts = body.split("\r\n--" + java.util.regex.Pattern.quote(boundary));
        // "", part1, part2, part3, "--\r\n"
        assertEquals(5, parts.length, body);
        assertEquals("--\r\n", parts[4]);
        long[][] expect = {{0, 9}, {20, 29}, {9997, 9999}};
        for (int i = 0; i < 3; i++) {
            String p = parts[i + 1];
            int sep = p.indexOf("\r\n\r\n");
            String head = p.substring(0, sep);
            assertTrue(head.contains("Content-Type: application/octet-stream"), head);
            assertTrue(head.contains("Content-Range: bytes " + expect[i][0] + "-" + expect[i][1] + "/10000"), head);
            byte[] data = p.substring(sep + 4).getBytes(StandardCharsets.ISO_8859_1);
            assertArrayEquals(Arrays.copyOfRange(bin, (int) expect[i][0], (int) expect[i][1] + 1), data);
        }
    }

    @Test
    void unsatisfiableRangeIs416() throws IOException {
        Reply r = get("/static/data.bin", "Range: bytes=20000-");
        assertEquals(416, r.status());
        assertEquals("bytes */10000", r.header("Content-Range"));
        assertEquals(416, get("/static/data.bin", "Range: bytes=10000-10001, 30000-").status());
        // one satisfiable range among unsatisfiable ones is served
        assertEquals(206, get("/static/data.bin", "Range: bytes=20000-, 0-0").status());
    }

    @Test
    void ifRangeIsHonoured() throws IOException {
        Reply full = get("/static/data.bin");
        String etag = full.header("ETag");
        assertEquals(206, get("/static/data.bin", "Range: bytes=0-1", "If-Range: " + etag).status());
        Reply stale = get("/static/data.bin", "Range: bytes=0-1", "If-Range: \"stale\"");
        assertEquals(200, stale.status());
        assertEquals(10_000, stale.body().length);
        assertEquals(206, get("/static/data.bin", "Range: bytes=0-1", "If-Range: " + full.header("Last-Modified")).status());
        assertEquals(200, get("/static/data.bin", "Range: bytes=0-1", "If-Range: Mon, 01 Jan 2001 00:00:00 GMT").status());
        // weak tags never satisfy If-Range
        assertEquals(200, get("/plain/data.bin", "Range: bytes=0-1", "If-Range: " + get("/plain/data.bin").header("ETag")).status());
    }

    @Test
    void gzipOnTheFlyWhenAccepted() throws IOException {
        Reply r = get("/static/style.css", "Accept-Encoding: br, gzip;q=0.8");
        assertEquals(200, r.status());
        assertEquals("gzip", r.header("Content-Encoding"));
        assertEquals("Accept-Encoding", r.header("Vary"));
        assertEquals("text/css; charset=utf-8", r.header("Content-Type"));
        assertTrue(r.body().length < css.length());
        assertEquals(css, new String(gunzip(r.body()), StandardCharsets.UTF_8));
        // the cached copy is served the second time, identical
        assertArrayEquals(r.body(), get("/static/style.css", "Accept-Encoding: gzip").body());

        assertNull(get("/static/style.css").header("Content-Encoding"));
        assertNull(get("/static/style.css", "Accept-Encoding: gzip;q=0, deflate").header("Content-Encoding"));
        assertEquals("gzip", get("/static/style.css", "Accept-Encoding: *").header("Content-Encoding"));
        assertNull(get("/static/small.txt", "Accept-Encoding: gzip").header("Content-Encoding"), "too small to bother");
        assertNull(get("/static/data.bin", "Accept-Encoding: gzip").header("Content-Encoding"), "not compressible");
        assertNull(get("/plain/style.css", "Accept-Encoding: gzip").header("Content-Encoding"), "gzip off");
        Reply ranged = get("/static/style.css", "Accept-Encoding: gzip", "Range: bytes=0-3");
        assertEquals(206, ranged.status());
        assertNull(ranged.header("Content-Encoding"), "ranges are of the identity representation");
        assertEquals("body", ranged.text());
    }

    @Test
    void precompressedGzFile() throws IOException {
        Reply r = get("/static/app.js", "Accept-Encoding: gzip, deflate");
        assertEquals(200, r.status());
        assertEquals("gzip", r.header("Content-Encoding"));
        assertEquals("text/javascript; charset=utf-8", r.header("Content-Type"));
        assertEquals("Accept-Encoding", r.header("Vary"));
        assertArrayEquals(jsGz, r.body());
        assertEquals("console.log('precompressed');", new String(gunzip(r.body()), StandardCharsets.UTF_8));
        Reply id = get("/static/app.js");
        assertNull(id.header("Content-Encoding"));
        assertEquals("Accept-Encoding", id.header("Vary"));
        assertTrue(id.text().startsWith("console.log('identity');"));
        assertNull(get("/plain/app.js", "Accept-Encoding: gzip").header("Content-Encoding"));
    }

    @Test
    void headGetsHeadersOnly() throws IOException {
        Reply r = send("HEAD", "/static/data.bin");
        assertEquals(200, r.status());
        assertEquals("10000", r.header("Content-Length"));
        assertNotNull(r.header("ETag"));
        assertEquals(0, r.body().length);
        Reply z = send("HEAD", "/static/style.css", "Accept-Encoding: gzip");
        assertEquals("gzip", z.header("Content-Encoding"));
        assertEquals(0, z.body().length);
        Reply range = send("HEAD", "/static/data.bin", "Range: bytes=0-9");
        assertEquals(206, range.status());
        assertEquals("10", range.header("Content-Length"));
        assertEquals(0, range.body().length);
    }

    @Test
    void indexFilesAndDirectoryRedirects() throws IOException {
        assertEquals("<h1>home</h1>", get("/static/").text());
        assertEquals("text/html; charset=utf-8", get("/static/").header("Content-Type"));
        Reply r = get("/static");
        assertEquals(301, r.status());
        assertEquals("/static/", r.header("Location"));
        r = get("/static/sub?x=1");
        assertEquals(301, r.status());
        assertEquals("/static/sub/?x=1", r.header("Location"));
        assertEquals("sub index", get("/static/sub/").text());
        Files.createDirectories(root.resolve("evil.example"));
        r = get("//evil.example");
        assertTrue(r.status() == 404 || r.status() == 301 && r.header("Location").equals("/evil.example/"),
                r.status() + " " + r.header("Location"));
        r = get("/static//evil.example");
        assertEquals("/static/evil.example/", r.header("Location"));
        assertEquals(404, get("/plain/sub/").status(), "index off, listing off");
    }

    @Test
    void listingOffAndOn() throws IOException {
        assertEquals(404, get("/static/listed/").status());
        Reply r = get("/list/listed/");
        assertEquals(200, r.status());
        assertEquals("text/html; charset=utf-8", r.header("Content-Type"));
        String html = r.text();
        assertTrue(html.contains("&lt;evil&gt;&amp;name.txt"), html);
        assertFalse(html.contains("<evil>"), html);
        assertTrue(html.contains("href=\"%3Cevil%3E%26name.txt\""), html);
        assertTrue(html.contains("href=\"dir%20one/\""), html);
        assertTrue(html.indexOf("dir one/") < html.indexOf("plain.txt"), "directories first");
        assertTrue(html.contains("href=\"../\""), html);
        assertFalse(html.contains(".hidden"), html);
        assertEquals("x", get("/list/listed/%3Cevil%3E%26name.txt").text());
        assertTrue(html.contains("href=\"caf%C3%A9%20%C3%BC.txt\""), html);
        assertEquals("unicode", get("/list/listed/caf%C3%A9%20%C3%BC.txt").text());
    }

    @Test
    void traversalAttemptsAreRefused() throws IOException {
        List<String> attempts = new ArrayList<>(List.of(
                "/static/../secret.txt",
                "/static/../../secret.txt",
                "/static/sub/../../secret.txt",
                "/static/%2e%2e/secret.txt",
                "/static/%2E%2E/%2e%2e/secret.txt",
                "/static/..%2fsecret.txt",
                "/static/%2e%2e%2fsecret.txt",
                "/static/sub/..%2f..%2fsecret.txt",
                "/static/..%5csecret.txt",
                "/static/%5c..%5c..%5csecret.txt",
                "/static/sub%5c..%5c..%5csecret.txt",
                "/static/secret.txt%00.html",
                "/static/%00",
                "/static/escape.txt",
                "/static/outdir/secret.txt",
                "/static/outdir/",
                "/static//etc/passwd",
                "/static/%2fetc%2fpasswd",
                "/static/.env",
                "/static/sub/../.env"));
        for (String a : attempts) {
            Reply r = get(a);
            assertTrue(r.status() == 400 || r.status() == 403 || r.status() == 404, a + " -> " + r.status());
            assertFalse(r.text().contains("TOP-SECRET") || r.text().contains("PASSWORD") || r.text().contains("root:"), a);
        }
        // a raw backslash in the request target
        Reply r = raw(server.port(), "GET /static/..\\..\\secret.txt HTTP/1.1\r\nHost: test");
        assertTrue(r.status() == 400 || r.status() == 403 || r.status() == 404, "backslash -> " + r.status());
        assertFalse(r.text().contains("TOP-SECRET"));
        // links that stay inside the root are fine, and so is a harmless "."
        assertEquals("tiny", get("/static/inner.txt").text());
        assertEquals("tiny", get("/static/./small.txt").text());
        assertEquals(403, get("/static/%2e%2e/secret.txt").status());
    }

    @Test
    void unitHelpers() {
        assertTrue(GzipCache.acceptsGzip("gzip"));
        assertTrue(GzipCache.acceptsGzip("deflate, GZIP;q=0.5"));
        assertTrue(GzipCache.acceptsGzip("x-gzip"));
        assertTrue(GzipCache.acceptsGzip("*;q=0.1"));
        assertFalse(GzipCache.acceptsGzip("gzip;q=0"));
        assertFalse(GzipCache.acceptsGzip("*, gzip;q=0"));
        assertFalse(GzipCache.acceptsGzip("identity"));
        assertFalse(GzipCache.acceptsGzip(null));
        assertArrayEquals(new long[] {0, 0}, ByteRanges.parse("bytes=0-0", 10));
        assertArrayEquals(new long[] {}, ByteRanges.parse("bytes=10-", 10));
        assertArrayEquals(new long[] {}, ByteRanges.parse("bytes=-0", 10));
        assertNull(ByteRanges.parse("bytes=" + "0-1,".repeat(40), 10), "too many ranges: ignored");
        assertNull(ByteRanges.parse("bytes=-", 10));
        assertNull(ByteRanges.parse("bytes=1-2-3", 10));
        assertArrayEquals(new long[] {5, 9}, ByteRanges.parse("bytes=5-99999999999999999999", 10));
        assertEquals("&lt;a href=&quot;x&quot;&gt;&amp;&#39;", DirectoryListing.escapeHtml("<a href=\"x\">&'"));
        assertEquals("a%20b%2F%C3%A9", DirectoryListing.encodeSegment("a b/é"));
        assertEquals(1_700_000_000L, Validators.parseDate("Tue, 14 Nov 2023 22:13:20 GMT"));
    }
}
