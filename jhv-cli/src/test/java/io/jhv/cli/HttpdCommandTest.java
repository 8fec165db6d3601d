package io.jhv.cli;

import io.jhv.http.JsonCodec;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.File;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** {@code hv httpd}: every demo route over a real socket, the config file, bad input, curl, and SIGTERM. */
@Timeout(60)
class HttpdCommandTest {
    @TempDir
    Path tmp;

    final List<HttpdCommand.Running> running = new ArrayList<>();
    final HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).build();

    @AfterEach
    void stop() {
        client.close(); // its selector and pooled sockets go now, not at some later GC
        for (HttpdCommand.Running r : running) r.close();
    }

    private HttpdCommand.Running start(String... flags) {
        String[] argv = new String[flags.length + 1];
        argv[0] = "httpd";
        System.arraycopy(flags, 0, argv, 1, flags.length);
        Args a = Args.parse(argv, 1, HttpdCommand.VALUE_FLAGS, HttpdCommand.SWITCHES);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        HttpdConfig c = HttpdCommand.configure(a);
        if (c.uploadDir == null) {
            try {
                c.uploadDir = Files.createDirectories(tmp.resolve("uploads")); // not a new dir in /tmp per test
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }
        HttpdCommand.Running r = HttpdCommand.start(c, new PrintStream(out, true, StandardCharsets.UTF_8));
        running.add(r);
        lastOutput = out.toString(StandardCharsets.UTF_8);
        return r;
    }

    String lastOutput;

    private HttpResponse<byte[]> send(HttpRequest.Builder b) throws Exception {
        return client.send(b.timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofByteArray());
    }

    private static URI uri(HttpdCommand.Running r, String path) {
        return URI.create("http://127.0.0.1:" + r.port() + path);
    }

    private static String text(HttpResponse<byte[]> res) {
        return new String(res.body(), StandardCharsets.UTF_8);
    }

    @Test
    void everyDemoRoute() throws Exception {
        HttpdCommand.Running r = start("--port", "0", "--host", "127.0.0.1", "--threads", "1");
        assertTrue(lastOutput.startsWith("hv httpd listening on http://127.0.0.1:" + r.port() + " (root: the demo site, 1 loop)"),
                lastOutput);

        HttpResponse<byte[]> res = send(HttpRequest.newBuilder(uri(r, "/plaintext")));
        assertEquals(200, res.statusCode());
        assertEquals("Hello, World!", text(res));
        assertEquals("text/plain; charset=utf-8", res.headers().firstValue("Content-Type").orElse(null));

        assertEquals("pong", text(send(HttpRequest.newBuilder(uri(r, "/ping")))));

        String body = "{\"hello\":\"jhv\"}";
        res = send(HttpRequest.newBuilder(uri(r, "/echo")).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)));
        assertEquals(body, text(res));
        assertEquals("application/json", res.headers().firstValue("Content-Type").orElse(null));
        byte[] bin = new byte[100_000];
        new Random(5).nextBytes(bin);
        res = send(HttpRequest.newBuilder(uri(r, "/echo")).POST(HttpRequest.BodyPublishers.ofByteArray(bin)));
        assertArrayEquals(bin, res.body());

        res = send(HttpRequest.newBuilder(uri(r, "/json")));
        assertEquals("{\"message\":\"Hello, World!\"}", text(res));
        assertEquals("application/json", res.headers().firstValue("Content-Type").orElse(null));

        res = send(HttpRequest.newBuilder(uri(r, "/users/42")));
        assertEquals(Map.of("id", "42"), JsonCodec.builtIn().parse(text(res)));

        res = send(HttpRequest.newBuilder(uri(r, "/")));
        assertEquals(200, res.statusCode());
        assertTrue(text(res).contains("<title>jhv httpd</title>"), text(res));
        res = send(HttpRequest.newBuilder(uri(r, "/style.css")));
        assertEquals("text/css; charset=utf-8", res.headers().firstValue("Content-Type").orElse(null));
        res = send(HttpRequest.newBuilder(uri(r, "/app.js")));
        assertTrue(text(res).contains("fetch("), text(res));
        assertEquals(404, send(HttpRequest.newBuilder(uri(r, "/nothing-here"))).statusCode());
    }

    @Test
    void uploadSavesFilesAndSummarises() throws Exception {
        HttpdCommand.Running r = start("--port", "0", "--host", "127.0.0.1", "--threads", "1");
        byte[] file = new byte[300_000]; // above the 64 KiB threshold: streamed to disk
        new Random(9).nextBytes(file);
        String boundary = "----hvTestBoundary";
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.writeBytes(("--" + boundary + "\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhello upload\r\n"
                + "--" + boundary + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"../../evil name.bin\"\r\n"
                + "Content-Type: application/octet-stream\r\n\r\n").getBytes(StandardCharsets.UTF_8));
        b.writeBytes(file);
        b.writeBytes(("\r\n--" + boundary + "--\r\n").getBytes(StandardCharsets.UTF_8));
        HttpResponse<byte[]> res = send(HttpRequest.newBuilder(uri(r, "/upload"))
                .header("Content-Type", "multipart/form-data; boundary=" + boundary)
                .POST(HttpRequest.BodyPublishers.ofByteArray(b.toByteArray())));
        assertEquals(200, res.statusCode(), text(res));
        @SuppressWarnings("unchecked")
        Map<String, Object> summary = (Map<String, Object>) JsonCodec.builtIn().parse(text(res));
        assertEquals(2L, summary.get("count"));
        @SuppressWarnings("unchecked")
        List<Map<String, Object>> parts = (List<Map<String, Object>>) summary.get("parts");
        assertEquals("note", parts.get(0).get("name"));
        assertEquals("hello upload", parts.get(0).get("value"));
        Map<String, Object> f = parts.get(1);
        assertEquals("../../evil name.bin", f.get("filename"));
        assertEquals((long) file.length, f.get("size"));
        Path saved = Path.of((String) f.get("saved"));
        assertTrue(saved.startsWith(r.uploadDir.toAbsolutePath()), saved.toString());
        assertTrue(saved.getFileName().toString().endsWith("evil_name.bin"), saved.toString());
        assertArrayEquals(file, Files.readAllBytes(saved));

        res = send(HttpRequest.newBuilder(uri(r, "/upload")).POST(HttpRequest.BodyPublishers.ofString("x")));
        assertEquals(415, res.statusCode());
    }

    @Test
    void metricsAreOffByDefaultAndCountRequestsWhenOn() throws Exception {
        HttpdCommand.Running off = start("--port", "0");
        HttpResponse<byte[]> res = send(HttpRequest.newBuilder(uri(off, "/metrics")));
        assertEquals(404, res.statusCode(), "metrics must be opt-in");

        HttpdCommand.Running on = start("--port", "0", "--metrics");
        for (int i = 0; i < 3; i++) assertEquals(200, send(HttpRequest.newBuilder(uri(on, "/ping"))).statusCode());
        assertEquals(404, send(HttpRequest.newBuilder(uri(on, "/no-such-page"))).statusCode());
        res = send(HttpRequest.newBuilder(uri(on, "/metrics")));
        assertEquals(200, res.statusCode());
        assertTrue(res.headers().firstValue("Content-Type").orElse("").startsWith("text/plain; version=0.0.4"));
        String body = text(res);
        assertTrue(body.contains("\njhv_http_requests_total{code=\"2xx\"} 3\n"), body);
        assertTrue(body.contains("\njhv_http_requests_total{code=\"4xx\"} 1\n"), body);

        Path conf = tmp.resolve("metrics.conf");
        Files.writeString(conf, "metrics = /internal/metrics\nthreads = 1\n");
        HttpdCommand.Running custom = start("--config", conf.toString(), "--port", "0");
        res = send(HttpRequest.newBuilder(uri(custom, "/internal/metrics")));
        assertEquals(200, res.statusCode());
        assertTrue(text(res).contains("# TYPE jhv_http_request_duration_seconds histogram"));
    }

    @Test
    void configFileSetsOptionsAndFlagsOverrideIt() throws Exception {
        Path site = Files.createDirectory(tmp.resolve("site"));
        Files.createDirectory(site.resolve("docs"));
        Files.writeString(site.resolve("docs").resolve("a.txt"), "A");
        Path conf = tmp.resolve("httpd.conf");
        Files.writeString(conf, """
                # a test config
                host = 127.0.0.1
                port = 1            # overridden by --port 0
                document_root = "%s"
                listing = on
                cors = https://a.example
                max_body_size = 1K
                keepalive_timeout = 5000
                access_log = off
                threads = 1
                """.formatted(site));
        HttpdCommand.Running r = start("--config", conf.toString(), "--port", "0");
        assertTrue(r.port() > 1);
        HttpResponse<byte[]> res = send(HttpRequest.newBuilder(uri(r, "/docs/")));
        assertEquals(200, res.statusCode());
        assertTrue(text(res).contains("a.txt"), text(res));
        res = send(HttpRequest.newBuilder(uri(r, "/ping")).header("Origin", "https://a.example"));
        assertEquals("https://a.example", res.headers().firstValue("Access-Control-Allow-Origin").orElse(null));
        res = send(HttpRequest.newBuilder(uri(r, "/echo")).POST(HttpRequest.BodyPublishers.ofByteArray(new byte[2048])));
        assertEquals(413, res.statusCode());

        // The sample config shipped with the project loads.
        Path dir = Path.of(System.getProperty("user.dir")).toAbsolutePath();
        Path sample = dir.resolve("etc/httpd.conf");
        if (!Files.exists(sample) && dir.getParent() != null) sample = dir.getParent().resolve("etc/httpd.conf");
        assumeTrue(Files.exists(sample), "etc/httpd.conf not found from " + System.getProperty("user.dir"));
        HttpdConfig c = new HttpdConfig();
        c.load(sample);
        assertEquals(8080, c.port);
        assertEquals(64L << 20, c.maxBodySize);
        assertEquals(60_000L, c.writeTimeoutMs);
    }

    @Test
    void writeTimeoutAndInputMemoryKeysReachTheServer() throws Exception {
        Path conf = tmp.resolve("limits.conf");
        Files.writeString(conf, """
                host = 127.0.0.1
                threads = 1
                write_timeout = 1500
                max_input_memory = 3M
                """);
        HttpdConfig c = new HttpdConfig();
        c.load(conf);
        assertEquals(1500L, c.writeTimeoutMs);
        assertEquals(3L << 20, c.maxInputMemory);
        HttpdCommand.Running r = start("--config", conf.toString(), "--port", "0");
        assertEquals("pong", text(send(HttpRequest.newBuilder(uri(r, "/ping")))));
        Files.writeString(conf, "max_input_memory = 1K\n");
        HttpdConfig tooSmall = new HttpdConfig();
        Args.UsageException e = org.junit.jupiter.api.Assertions.assertThrows(Args.UsageException.class, () -> tooSmall.load(conf));
        assertTrue(e.getMessage().contains("max_input_memory"), e.getMessage());
    }

    /** Runs {@code hv ...} in-process; returns the exit code and what went to stderr. */
    private static Object[] hv(String... argv) {
        PrintStream old = System.err;
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
        try {
            int code = Main.run(argv);
            return new Object[] {code, err.toString(StandardCharsets.UTF_8)};
        } finally {
            System.setErr(old);
        }
    }

    private static void usageError(String expect, String... argv) {
        Object[] r = hv(argv);
        assertEquals(2, r[0], String.join(" ", argv) + " -> " + r[1]);
        assertTrue(((String) r[1]).contains(expect), String.join(" ", argv) + " -> " + r[1]);
    }

    @Test
    void badFlagsValuesAndConfigKeysExitWith2() throws IOException {
        usageError("unknown option: --bogus", "httpd", "--bogus");
        usageError("--port needs a value", "httpd", "--port");
        usageError("--port must be a number: http", "httpd", "--port", "http");
        usageError("--port must be between 0 and 65535: 70000", "httpd", "--port", "70000");
        usageError("--threads must be between 1 and 1024: 0", "httpd", "--threads", "0");
        usageError("--root: not a directory: " + tmp.resolve("nope"), "httpd", "--root", tmp.resolve("nope").toString());
        usageError("cannot read config file", "httpd", "--config", tmp.resolve("missing.conf").toString());
        usageError("--cors must be on, off, * or origins", "httpd", "--cors", "not-an-origin");

        Path conf = tmp.resolve("bad.conf");
        Files.writeString(conf, "port = 0\n# fine so far\nworker_processes = 4\n");
        usageError(conf + " line 3: unknown key 'worker_processes'", "httpd", "--config", conf.toString());
        Files.writeString(conf, "listing = maybe\n");
        usageError(conf + " line 1: listing must be on or off: maybe", "httpd", "--config", conf.toString());
        Files.writeString(conf, "max_body_size = 12Q\n");
        usageError("max_body_size must be a size", "httpd", "--config", conf.toString());
        Files.writeString(conf, "just some words\n");
        usageError(conf + " line 1: expected 'key = value'", "httpd", "--config", conf.toString());
    }

    @Test
    void sizesAndSafeNames() {
        assertEquals(64L << 20, HttpdConfig.size("64M", 0, Long.MAX_VALUE, "x"));
        assertEquals(512L << 10, HttpdConfig.size("512k", 0, Long.MAX_VALUE, "x"));
        assertEquals(1L << 30, HttpdConfig.size("1GiB", 0, Long.MAX_VALUE, "x"));
        assertEquals(1000, HttpdConfig.size("1000", 0, Long.MAX_VALUE, "x"));
        assertEquals("passwd", HttpdCommand.safeName("../../etc/passwd"));
        assertEquals("a.txt", HttpdCommand.safeName("C:\\Users\\x\\a.txt"));
        assertEquals("file", HttpdCommand.safeName(".."));
        assertEquals("env", HttpdCommand.safeName(".env"));
        assertEquals("a_b_c.txt", HttpdCommand.safeName("a b\u0000c.txt"));
    }

    // ------------------------------------------------------------------ curl

    private static boolean hasCurl() {
        try {
            Process p = new ProcessBuilder("curl", "--version").redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            return p.waitFor(10, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException | InterruptedException e) {
            return false;
        }
    }

    private static byte[] curl(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("curl", "-sS", "--max-time", "10"));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        byte[] out = p.getInputStream().readAllBytes();
        assertTrue(p.waitFor(15, TimeUnit.SECONDS), "curl hung");
        assertEquals(0, p.exitValue(), "curl " + String.join(" ", args));
        return out;
    }

    @Test
    void curlCompressedRangesAndMultipartUpload() throws Exception {
        assumeTrue(hasCurl(), "curl is not installed (./test installs it)");
        HttpdCommand.Running r = start("--port", "0", "--host", "127.0.0.1", "--threads", "1");
        String base = "http://127.0.0.1:" + r.port();
        byte[] css;
        try (InputStream in = HttpdCommand.class.getResourceAsStream("demo-site/style.css")) {
            css = in.readAllBytes();
        }

        Path headers = tmp.resolve("headers.txt");
        byte[] body = curl("--compressed", "-D", headers.toString(), base + "/style.css");
        String h = Files.readString(headers).toLowerCase();
        assertTrue(h.contains("content-encoding: gzip"), h);
        assertTrue(h.contains("vary: accept-encoding"), h);
        assertArrayEquals(css, body, "curl decompressed the gzip body");

        byte[] range = curl("-r", "0-9", "-D", headers.toString(), base + "/style.css");
        assertTrue(Files.readString(headers).startsWith("HTTP/1.1 206"), Files.readString(headers));
        assertArrayEquals(java.util.Arrays.copyOf(css, 10), range);
        byte[] multi = curl("-r", "0-4,10-14", "-D", headers.toString(), base + "/style.css");
        assertTrue(Files.readString(headers).toLowerCase().contains("content-type: multipart/byteranges"), Files.readString(headers));
        String m = new String(multi, StandardCharsets.ISO_8859_1);
        assertTrue(m.contains("Content-Range: bytes 0-4/" + css.length) && m.contains("Content-Range: bytes 10-14/" + css.length), m);

        Path upload = tmp.resolve("upload me.bin");
        byte[] data = new byte[200_000];
        new Random(11).nextBytes(data);
        Files.write(upload, data);
        byte[] json = curl("-F", "file=@" + upload, "-F", "note=from curl", base + "/upload");
        @SuppressWarnings("unchecked")
        Map<String, Object> summary = (Map<String, Object>) JsonCodec.builtIn().parse(new String(json, StandardCharsets.UTF_8));
        @SuppressWarnings("unchecked")
        List<Map<String, Object>> parts = (List<Map<String, Object>>) summary.get("parts");
        Map<String, Object> filePart = parts.get(0);
        assertEquals("file", filePart.get("name"));
        assertEquals("upload me.bin", filePart.get("filename"));
        assertEquals((long) data.length, filePart.get("size"));
        assertArrayEquals(data, Files.readAllBytes(Path.of((String) filePart.get("saved"))));
        assertEquals("from curl", parts.get(1).get("value"));
    }

    // ------------------------------------------------------------------ a real process and SIGTERM

    @Test
    void sigtermStopsGracefully() throws Exception {
        String java = ProcessHandle.current().info().command().orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        // The class path of the three modules, wherever the test runner loaded them from.
        StringBuilder cp = new StringBuilder();
        for (Class<?> c : new Class<?>[] {Main.class, io.jhv.http.server.HttpServer.class, io.jhv.core.net.TcpServer.class}) {
            if (cp.length() > 0) cp.append(File.pathSeparatorChar);
            cp.append(Path.of(c.getProtectionDomain().getCodeSource().getLocation().toURI()));
        }
        Path conf = tmp.resolve("sig.conf");
        Files.writeString(conf, "upload_dir = " + Files.createDirectories(tmp.resolve("sig-uploads")) + "\n");
        Process p = new ProcessBuilder(java, "--add-exports", "java.base/sun.nio.ch=ALL-UNNAMED", "-cp",
                cp.toString(), "io.jhv.cli.Main", "httpd", "--port", "0", "--host", "127.0.0.1",
                "--threads", "1", "--config", conf.toString()).redirectErrorStream(true).start();
        try {
            BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
            String first = out.readLine();
            assertNotNull(first, "no output from hv httpd");
            Matcher mt = Pattern.compile("listening on http://127\\.0\\.0\\.1:(\\d+) ").matcher(first);
            assertTrue(mt.find(), first);
            int port = Integer.parseInt(mt.group(1));
            HttpResponse<String> res = client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/ping")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals("pong", res.body());

            p.toHandle().destroy(); // SIGTERM (Process.destroy would also close our end of its stdout)
            assertTrue(p.waitFor(20, TimeUnit.SECONDS), "hv httpd did not stop on SIGTERM");
            StringBuilder rest = new StringBuilder();
            for (String line; (line = out.readLine()) != null; ) rest.append(line).append('\n');
            assertTrue(rest.toString().contains("hv httpd: stopped"), rest.toString());
            assertFalse(rest.toString().contains("Exception"), rest.toString());
        } finally {
            p.destroyForcibly();
        }
    }
}
