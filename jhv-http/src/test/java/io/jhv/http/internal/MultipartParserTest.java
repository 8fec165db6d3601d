package io.jhv.http.internal;

import io.jhv.http.HttpException;
import io.jhv.http.JsonCodec;
import io.jhv.http.server.Handler;
import io.jhv.http.server.HttpServer;
import io.jhv.http.server.Part;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

@Timeout(60)
class MultipartParserTest {
    static final String B = "----jhvBoundary7MA4YWxk";

    @TempDir
    Path tmp;

    static byte[] body(String s) {
        return s.replace("\n", "\r\n").getBytes(StandardCharsets.UTF_8);
    }

    static final byte[] SAMPLE = body("""
            preamble to ignore
            ------jhvBoundary7MA4YWxk
            Content-Disposition: form-data; name="title"

            Hello
            world
            ------jhvBoundary7MA4YWxk
            Content-Disposition: form-data; name="file"; filename="a b.txt"
            Content-Type: text/plain

            line one\r
            --not-a-boundary
            \r\r\n-
            ------jhvBoundary7MA4YWxk
            content-disposition: form-data; name="empty"

            
            ------jhvBoundary7MA4YWxk--
            epilogue to ignore
            """);

    private MultipartParser parser(int threshold) {
        return new MultipartParser(B, threshold, tmp, Long.MAX_VALUE, 100);
    }

    private static void check(List<Part> parts) throws IOException {
        assertEquals(3, parts.size());
        Part title = parts.get(0);
        assertEquals("title", title.name());
        assertNull(title.filename());
        assertEquals("Hello\r\nworld", title.string());
        Part file = parts.get(1);
        assertEquals("file", file.name());
        assertEquals("a b.txt", file.filename());
        assertEquals("text/plain", file.contentType());
        assertEquals("text/plain", file.header("content-type"));
        assertEquals(List.of("Content-Disposition", "Content-Type"), file.headerNames());
        assertEquals("line one\r\r\n--not-a-boundary\r\n\r\r\r\n-", file.string());
        assertEquals(file.string().length(), file.size());
        Part empty = parts.get(2);
        assertEquals("empty", empty.name());
        assertEquals(0, empty.size());
        assertEquals("", empty.string());
    }

    @Test
    void wholeOneByteAtATimeAndRandomSplits() throws IOException {
        for (int threshold : new int[] {0, 5, 1 << 20}) {
            MultipartParser p = parser(threshold);
            p.onData(SAMPLE, 0, SAMPLE.length);
            p.onEnd();
            check(p.parts());
            p.cleanup();

            p = parser(threshold);
            for (int i = 0; i < SAMPLE.length; i++) p.onData(SAMPLE, i, 1);
            p.onEnd();
            check(p.parts());
            p.cleanup();

            Random r = new Random(42 + threshold);
            for (int round = 0; round < 200; round++) {
                p = parser(threshold);
                int i = 0;
                while (i < SAMPLE.length) {
                    int n = Math.min(SAMPLE.length - i, 1 + r.nextInt(20));
                    // copy into a bigger array at an offset: the parser must honour off/len
                    byte[] chunk = new byte[n + 7];
                    System.arraycopy(SAMPLE, i, chunk, 3, n);
                    p.onData(chunk, 3, n);
                    i += n;
                }
                p.onEnd();
                check(p.parts());
                p.cleanup();
            }
        }
        try (Stream<Path> s = Files.list(tmp)) {
            assertEquals(0, s.count(), "cleanup deletes the temp files");
        }
    }

    @Test
    void randomBinaryContentAnySplit() throws IOException {
        Random r = new Random(7);
        for (int round = 0; round < 50; round++) {
            byte[] content = new byte[r.nextInt(3000)];
            r.nextBytes(content);
            // sprinkle near-delimiters into the content
            byte[] near = ("\r\n--" + B.substring(0, r.nextInt(B.length()))).getBytes(StandardCharsets.ISO_8859_1);
            if (content.length > near.length) System.arraycopy(near, 0, content, r.nextInt(content.length - near.length), near.length);
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            out.writeBytes(("--" + B + "\r\nContent-Disposition: form-data; name=\"bin\"; filename=\"x.bin\"\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
            out.writeBytes(content);
            out.writeBytes(("\r\n--" + B + "--\r\n").getBytes(StandardCharsets.ISO_8859_1));
            byte[] all = out.toByteArray();
            MultipartParser p = parser(r.nextBoolean() ? 100 : 1 << 16);
            int i = 0;
            while (i < all.length) {
                int n = Math.min(all.length - i, 1 + r.nextInt(64));
                p.onData(all, i, n);
                i += n;
            }
            p.onEnd();
            assertEquals(1, p.parts().size());
            assertArrayEquals(content, p.parts().get(0).bytes());
            p.cleanup();
        }
    }

    @Test
    void largePartsGoToDiskAndSaveToMovesThem() throws IOException {
        byte[] big = new byte[10_000];
        Arrays.fill(big, (byte) 'x');
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(("--" + B + "\r\nContent-Disposition: form-data; name=\"small\"\r\n\r\nsmall\r\n").getBytes(StandardCharsets.ISO_8859_1));
        for (String n : new String[] {"big1", "big2"}) {
            out.writeBytes(("--" + B + "\r\nContent-Disposition: form-data; name=\"" + n + "\"; filename=\"" + n + ".bin\"\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
            out.writeBytes(big);
            out.writeBytes("\r\n".getBytes(StandardCharsets.ISO_8859_1));
        }
        out.writeBytes(("--" + B + "--").getBytes(StandardCharsets.ISO_8859_1));
        byte[] all = out.toByteArray();
        Path dir = Files.createDirectory(tmp.resolve("uploads"));
        MultipartParser p = new MultipartParser(B, 1024, dir, Long.MAX_VALUE, 10);
        p.onData(all, 0, all.length);
        p.onEnd();
        List<Part> parts = p.parts();
        assertNull(parts.get(0).file());
        Path f1 = parts.get(1).file();
        Path f2 = parts.get(2).file();
        assertNotNull(f1);
        assertTrue(f1.startsWith(dir));
        assertEquals(10_000, Files.size(f1));
        assertArrayEquals(big, parts.get(2).bytes());
        assertEquals(10_000, parts.get(2).inputStream().readAllBytes().length);
        Path saved = tmp.resolve("saved.bin");
        parts.get(1).saveTo(saved);
        Path savedSmall = tmp.resolve("small.txt");
        parts.get(0).saveTo(savedSmall);
        assertEquals("small", Files.readString(savedSmall));
        p.cleanup();
        assertFalse(Files.exists(f2), "unmoved temp file deleted");
        assertFalse(Files.exists(f1), "moved away");
        assertEquals(10_000, Files.size(saved), "moved file survives cleanup");
        assertEquals(saved, parts.get(1).file());
    }

    /** A 50 MiB upload fed in 64 KiB reads never makes the parser hold more than the threshold. */
    @Test
    void fiftyMebibyteUploadStreamsToDiskWithBoundedMemory() throws Exception {
        int threshold = 64 * 1024;
        long size = 50L << 20;
        MultipartParser p = new MultipartParser(B, threshold, tmp, 100L << 20, 10);
        byte[] head = ("--" + B + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.bin\"\r\n"
                + "Content-Type: application/octet-stream\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1);
        p.onData(head, 0, head.length);
        byte[] chunk = new byte[64 * 1024];
        Random r = new Random(1);
        MessageDigest sent = MessageDigest.getInstance("SHA-256");
        long heapBefore = usedHeap();
        long maxHeapGrowth = 0;
        for (long done = 0; done < size; done += chunk.length) {
            r.nextBytes(chunk);
            chunk[r.nextInt(chunk.length)] = '\r';
            sent.update(chunk);
            p.onData(chunk, 0, chunk.length);
            if ((done & ((8 << 20) - 1)) == 0) maxHeapGrowth = Math.max(maxHeapGrowth, usedHeap() - heapBefore);
        }
        byte[] tail = ("\r\n--" + B + "--\r\n").getBytes(StandardCharsets.ISO_8859_1);
        p.onData(tail, 0, tail.length);
        p.onEnd();
        Part part = p.parts().get(0);
        assertEquals(size, part.size());
        assertEquals(size, Files.size(part.file()));
        assertTrue(p.peakMemoryHeld() <= threshold, "held " + p.peakMemoryHeld());
        MessageDigest got = MessageDigest.getInstance("SHA-256");
        try (var in = part.inputStream()) {
            byte[] buf = new byte[1 << 16];
            for (int n; (n = in.read(buf)) > 0; ) got.update(buf, 0, n);
        }
        assertArrayEquals(sent.digest(), got.digest());
        // Loose cross-check with the real heap: nowhere near the 50 MiB of the upload.
        assertTrue(maxHeapGrowth < 40L << 20, "heap grew by " + maxHeapGrowth);
        p.cleanup();
        assertFalse(Files.exists(part.file()));
    }

    /** The same through a server: a chunked 50 MiB upload lands on disk, intact, and is cleaned up after. */
    @Test
    void fiftyMebibyteUploadThroughTheServer() throws Exception {
        long size = 50L << 20;
        Path uploads = Files.createDirectory(tmp.resolve("server-tmp"));
        java.util.concurrent.atomic.AtomicReference<Path> tempFile = new java.util.concurrent.atomic.AtomicReference<>();
        HttpServer server = HttpServer.create("127.0.0.1", 0).threads(1).maxBodySize(100L << 20).tempDir(uploads)
                .post("/up", Handler.blocking((req, res) -> {
                    Part p = req.part("file");
                    tempFile.set(p.file());
                    MessageDigest md = MessageDigest.getInstance("SHA-256");
                    try (var in = p.inputStream()) {
                        byte[] buf = new byte[1 << 16];
                        for (int n; (n = in.read(buf)) > 0; ) md.update(buf, 0, n);
                    }
                    res.json(java.util.Map.of("size", p.size(), "onDisk", p.file() != null,
                            "sha", java.util.HexFormat.of().formatHex(md.digest())));
                }))
                .start();
        try {
            byte[] head = ("--" + B + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.bin\"\r\n\r\n")
                    .getBytes(StandardCharsets.ISO_8859_1);
            byte[] tail = ("\r\n--" + B + "--\r\n").getBytes(StandardCharsets.ISO_8859_1);
            MessageDigest sent = MessageDigest.getInstance("SHA-256");
            // Generated while sent: the client holds 64 KiB at a time, not 50 MiB.
            java.io.InputStream body = new java.io.InputStream() {
                final Random r = new Random(2);
                final byte[] chunk = new byte[64 * 1024];
                byte[] cur = head;
                int pos;
                long left = size;
                boolean tailSent;

                @Override
                public int read() {
                    byte[] one = new byte[1];
                    return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
                }

                @Override
                public int read(byte[] b, int off, int len) {
                    if (pos == cur.length) {
                        if (left > 0) {
                            r.nextBytes(chunk);
                            int n = (int) Math.min(chunk.length, left);
                            left -= n;
                            sent.update(chunk, 0, n);
                            cur = n == chunk.length ? chunk : Arrays.copyOf(chunk, n);
                        } else if (!tailSent) {
                            tailSent = true;
                            cur = tail;
                        } else {
                            return -1;
                        }
                        pos = 0;
                    }
                    int n = Math.min(len, cur.length - pos);
                    System.arraycopy(cur, pos, b, off, n);
                    pos += n;
                    return n;
                }
            };
            java.net.http.HttpResponse<String> res;
            try (java.net.http.HttpClient client = java.net.http.HttpClient.newBuilder()
                    .version(java.net.http.HttpClient.Version.HTTP_1_1).build()) {
                res = client.send(java.net.http.HttpRequest.newBuilder(
                            java.net.URI.create("http://127.0.0.1:" + server.port() + "/up"))
                    .header("Content-Type", "multipart/form-data; boundary=" + B)
                    .POST(java.net.http.HttpRequest.BodyPublishers.ofInputStream(() -> body))
                    .timeout(java.time.Duration.ofSeconds(50)).build(), java.net.http.HttpResponse.BodyHandlers.ofString());
            }
            assertEquals(200, res.statusCode(), res.body());
            @SuppressWarnings("unchecked")
            java.util.Map<String, Object> m = (java.util.Map<String, Object>) JsonCodec.builtIn().parse(res.body());
            assertEquals(size, m.get("size"));
            assertEquals(true, m.get("onDisk"));
            assertEquals(java.util.HexFormat.of().formatHex(sent.digest()), m.get("sha"));
            assertNotNull(tempFile.get());
            assertTrue(tempFile.get().startsWith(uploads), tempFile.get().toString());
        } finally {
            server.close(java.time.Duration.ofSeconds(2));
        }
        // The exchange is over: the engine deleted the temp file (it was not moved).
        try (Stream<Path> s = Files.list(uploads)) {
            assertEquals(List.of(), s.toList());
        }
    }

    private static long usedHeap() {
        System.gc();
        Runtime rt = Runtime.getRuntime();
        return rt.totalMemory() - rt.freeMemory();
    }

    private HttpException fails(String s) {
        return fails(body(s), parser(1 << 20));
    }

    private HttpException fails(byte[] b, MultipartParser p) {
        return assertThrows(HttpException.class, () -> {
            p.onData(b, 0, b.length);
            p.onEnd();
        });
    }

    @Test
    void truncatedAndMalformedBodiesAre400() {
        String h = "------jhvBoundary7MA4YWxk\n";
        String cd = "Content-Disposition: form-data; name=\"a\"\n";
        String[][] cases = {
                {"", "no boundary"},
                {"just text\n", "no boundary"},
                {h, "headers"},
                {h + cd, "headers"},
                {h + cd + "\nvalue", "no closing boundary"},
                {h + cd + "\nvalue\n------jhvBoundary7MA4YWxk", "after a boundary"},
                {h + cd + "\nvalue\n------jhvBoundary7MA4YWxk-", "after a boundary"},
                {h + cd + "\nvalue\n------jhvBoundary7MA4YWxkX", "unexpected byte"},
                {h + cd + "\nvalue\n------jhvBoundary7MA4YWxk-X", "unexpected byte"},
                {h + "Content-Disposition: attachment; name=\"a\"\n\nv\n" + h, "not form-data"},
                {h + "Content-Type: text/plain\n\nv\n" + h, "no Content-Disposition"},
                {h + "Content-Disposition: form-data; filename=\"a\"\n\nv\n" + h, "no Content-Disposition"},
                {h + "no colon here\n\nv\n" + h, "bad header line"},
                {h + "Content-Disposition: form-data; name=\"a\n\nv\n" + h, "unterminated"},
        };
        for (String[] c : cases) {
            HttpException e = fails(c[0]);
            assertEquals(400, e.status(), c[0]);
            assertTrue(e.getMessage().contains(c[1]), c[0] + " -> " + e.getMessage());
        }
        byte[] bareLf = ("--" + B + "\r\nContent-Disposition: form-data; name=\"a\"\n\r\n\r\nv\r\n--" + B + "--").getBytes(StandardCharsets.ISO_8859_1);
        assertTrue(fails(bareLf, parser(10)).getMessage().contains("bare LF"));
    }

    @Test
    void limitsAre413AndFailureCleansUp() throws IOException {
        byte[] b = body("""
                ------jhvBoundary7MA4YWxk
                Content-Disposition: form-data; name="a"; filename="a"

                0123456789012345678901234567890123456789
                ------jhvBoundary7MA4YWxk
                Content-Disposition: form-data; name="b"

                2
                ------jhvBoundary7MA4YWxk--
                """);
        HttpException e = fails(b, new MultipartParser(B, 4, tmp, 100, 10));
        assertEquals(413, e.status());
        e = fails(b, new MultipartParser(B, 4, tmp, 1000, 1));
        assertEquals(413, e.status());
        assertTrue(e.getMessage().contains("more than 1 parts"), e.getMessage());
        try (Stream<Path> s = Files.list(tmp)) {
            assertEquals(0, s.count(), "a failed parse leaves no temp file");
        }
        // Part headers are bounded too.
        byte[] huge = ("--" + B + "\r\nX-Big: " + "y".repeat(20_000) + "\r\n").getBytes(StandardCharsets.ISO_8859_1);
        e = fails(huge, parser(10));
        assertEquals(400, e.status());
        assertTrue(e.getMessage().contains("longer than"), e.getMessage());
    }

    @Test
    void transportPaddingFilenameStarAndQuotedBackslashes() throws IOException {
        byte[] b = body("""
                --xyz \t
                Content-Disposition: form-data; name="f"; filename="C:\\dir\\a.txt"

                one
                --xyz
                Content-Disposition: form-data; name=g; filename*=UTF-8''na%C3%AFve.txt

                two
                --xyz--""");
        MultipartParser p = new MultipartParser("xyz", 100, tmp, 10_000, 10);
        p.onData(b, 0, b.length);
        p.onEnd();
        assertEquals("C:\\dir\\a.txt", p.parts().get(0).filename());
        assertEquals("g", p.parts().get(1).name());
        assertEquals("naïve.txt", p.parts().get(1).filename());
        assertEquals("two", p.parts().get(1).string());
    }

    @Test
    void boundaryFromContentType() {
        assertEquals("abc", MultipartParser.boundary("multipart/form-data; boundary=abc"));
        assertEquals("abc", MultipartParser.boundary("Multipart/Form-Data;charset=utf-8;  BOUNDARY=abc ; x=y"));
        assertEquals("a b:c", MultipartParser.boundary("multipart/form-data; boundary=\"a b:c\""));
        assertEquals("----WebKitFormBoundary7MA4YWxkTrZu0gW",
                MultipartParser.boundary("multipart/form-data; boundary=----WebKitFormBoundary7MA4YWxkTrZu0gW"));
        assertNull(MultipartParser.boundary(null));
        assertNull(MultipartParser.boundary("text/plain; boundary=abc"));
        assertNull(MultipartParser.boundary("multipart/form-data"));
        assertNull(MultipartParser.boundary("multipart/form-data; boundary="));
        assertNull(MultipartParser.boundary("multipart/form-data; boundary=\"abc"));
        assertNull(MultipartParser.boundary("multipart/form-data; boundary=" + "x".repeat(71)));
        assertNull(MultipartParser.boundary("multipart/form-data; boundary=a\u0001b"));
        assertNull(MultipartParser.boundary("multipart/form-data; boundary=\"ends in space \""));
    }
}
