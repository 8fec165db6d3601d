package io.jhv.cli;

import io.jhv.core.tls.SelfSignedCertificate;
import io.jhv.core.tls.TlsConfig;
import io.jhv.http.server.HttpServer;
import io.jhv.http.server.Part;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.zip.GZIPOutputStream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * {@code hv curl} run in this JVM next to the real {@code curl} on the same requests against a jhv
 * {@link HttpServer}: the exit code, the status, the headers that matter and the body bytes must be
 * the same. The server's /inspect route answers with what it received (method, query, the headers
 * that the flags set, the body in hex), so the comparison covers the request side too.
 */
@Timeout(120)
class CurlCommandTest {
    static final SelfSignedCertificate CA = SelfSignedCertificate.builder().subject("CN=hv curl test CA").ca(true).build();
    static final SelfSignedCertificate LOCALHOST = SelfSignedCertificate.builder().subject("CN=localhost").hosts("localhost").issuer(CA).build();
    static final byte[] GZIPPED = gzip("compressed hello\n".repeat(20).getBytes(StandardCharsets.UTF_8));

    @TempDir Path dir;
    private HttpServer server;
    private HttpServer tlsServer;
    private String base;
    private final List<AutoCloseable> closeAfter = new ArrayList<>();
    private final AtomicInteger flaky = new AtomicInteger();

    record Result(int code, byte[] out, String err) {
        String text() { return new String(out, StandardCharsets.UTF_8); }
    }

    static byte[] gzip(byte[] b) {
        try {
            ByteArrayOutputStream o = new ByteArrayOutputStream();
            try (GZIPOutputStream g = new GZIPOutputStream(o)) {
                g.write(b);
            }
            return o.toByteArray();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    @BeforeEach
    void start() {
        server = HttpServer.create("127.0.0.1", 0).threads(1)
                .get("/hello", (req, res) -> res.text("hello world\n"))
                .get("/inspect", this::inspect).post("/inspect", this::inspect).put("/inspect", this::inspect)
                .put("/upload/:name", this::inspect)
                .post("/multipart", (req, res) -> {
                    StringBuilder sb = new StringBuilder();
                    for (Part p : req.parts()) {
                        byte[] b;
                        try {
                            b = p.bytes();
                        } catch (IOException e) {
                            throw new IllegalStateException(e);
                        }
                        sb.append(p.name()).append(" filename=").append(p.filename()).append(" type=").append(p.contentType())
                                .append(" bytes=").append(HexFormat.of().formatHex(b)).append('\n');
                    }
                    res.text(sb.toString());
                })
                .get("/redirect", (req, res) -> res.redirect("/hello"))
                .get("/loop", (req, res) -> res.redirect("/loop"))
                .get("/gzip", (req, res) -> {
                    res.header("Content-Encoding", "gzip").contentType("text/plain");
                    res.bytes(GZIPPED);
                })
                .get("/missing", (req, res) -> res.status(404).text("no such thing\n"))
                .get("/cookie", (req, res) -> {
                    res.header("Set-Cookie", "session=abc123; Path=/");
                    res.text("cookie set\n");
                })
                .get("/flaky", (req, res) -> {
                    if (flaky.getAndIncrement() % 2 == 0) res.status(503).header("Retry-After", "1").text("busy\n");
                    else res.text("finally\n");
                })
                .get("/files/data.bin", (req, res) -> res.bytes(bytes(5000)))
                .start();
        base = "http://127.0.0.1:" + server.port();
    }

    @AfterEach
    void stop() throws Exception {
        for (AutoCloseable c : closeAfter) c.close();
        server.close();
        if (tlsServer != null) tlsServer.close();
    }

    private void inspect(io.jhv.http.server.Request req, io.jhv.http.server.Response res) {
        StringBuilder sb = new StringBuilder();
        sb.append("method=").append(req.method()).append('\n');
        sb.append("path=").append(req.path()).append('\n');
        sb.append("query=").append(req.query()).append('\n');
        for (String h : List.of("Content-Type", "Authorization", "Range", "Cookie", "X-Custom", "Accept", "Referer", "User-Agent-Seen")) {
            sb.append(h.toLowerCase()).append('=').append(req.header(h)).append('\n');
        }
        sb.append("body=").append(HexFormat.of().formatHex(req.body())).append('\n');
        res.text(sb.toString());
    }

    static byte[] bytes(int n) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) b[i] = (byte) (i * 7 + (i >> 8));
        return b;
    }

    // ------------------------------------------------------------------------------------ running both

    private Result hv(String... args) {
        return hv(Map.of(), args);
    }

    private Result hv(Map<String, String> env, String... args) {
        String[] argv = new String[args.length + 1];
        argv[0] = "curl";
        System.arraycopy(args, 0, argv, 1, args.length);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = CurlCommand.run(argv, new ByteArrayInputStream(new byte[0]), out, new PrintStream(err, true, StandardCharsets.UTF_8), env);
        return new Result(code, out.toByteArray(), err.toString(StandardCharsets.UTF_8));
    }

    private Result curl(String... args) throws Exception {
        List<String> cmd = new ArrayList<>();
        cmd.add(curlBinary());
        cmd.addAll(Arrays.asList(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(dir.toFile());
        for (String v : List.of("http_proxy", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY", "no_proxy", "NO_PROXY")) pb.environment().remove(v);
        Path errFile = Files.createTempFile(dir, "curl", ".err");
        pb.redirectError(errFile.toFile());
        Process p = pb.start();
        byte[] out = p.getInputStream().readAllBytes();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "curl finished");
        return new Result(p.exitValue(), out, Files.readString(errFile));
    }

    private static String curlBinary() {
        for (String d : List.of("/usr/bin", "/usr/local/bin", "/bin")) if (Files.isExecutable(Path.of(d, "curl"))) return d + "/curl";
        return fail("curl is not installed: apt-get install curl (./test installs it)");
    }

    /** Runs both with {@code args}; asserts the same exit code and stdout; returns hv's result. */
    private Result same(String... args) throws Exception {
        Result c = curl(args);
        Result h = hv(args);
        assertEquals(c.code(), h.code(), "exit code for " + List.of(args) + "\ncurl: " + c.err() + "\nhv: " + h.err());
        assertArrayEquals(c.out(), h.out(), "stdout for " + List.of(args) + "\ncurl:\n" + c.text() + "\nhv:\n" + h.text());
        return h;
    }

    /** As {@link #same}, for output with response heads: the Date header is dropped before comparing (it may tick). */
    private Result sameHeads(String... args) throws Exception {
        Result c = curl(args);
        Result h = hv(args);
        assertEquals(c.code(), h.code(), "exit code for " + List.of(args) + "\ncurl: " + c.err() + "\nhv: " + h.err());
        assertEquals(withoutDate(c.text()), withoutDate(h.text()), "stdout for " + List.of(args));
        return h;
    }

    private static String withoutDate(String s) {
        return s.replaceAll("(?im)^date: [^\r\n]*\r\n", "");
    }

    /** Both exit with {@code code}. */
    private void sameCode(int code, String... args) throws Exception {
        Result c = curl(args);
        Result h = hv(args);
        assertEquals(code, c.code(), "curl's exit code for " + List.of(args) + ": " + c.err());
        assertEquals(code, h.code(), "hv's exit code for " + List.of(args) + ": " + h.err());
    }

    // ------------------------------------------------------------------------------------ the comparisons

    @Test
    void getHeadAndInclude() throws Exception {
        assertEquals("hello world\n", same("-s", base + "/hello").text());
        same("-s", "127.0.0.1:" + server.port() + "/hello"); // no scheme: http://
        Result head = sameHeads("-s", "-I", base + "/hello");
        assertTrue(head.text().startsWith("HTTP/1.1 200"), head.text());
        sameHeads("-s", "-i", base + "/hello");
        sameHeads("-s", "-i", base + "/missing");
    }

    @Test
    void postData() throws Exception {
        Result r = same("-s", "-d", "a=1", "-d", "b=two words", base + "/inspect");
        assertTrue(r.text().contains("method=POST") && r.text().contains("content-type=application/x-www-form-urlencoded"), r.text());
        Path text = dir.resolve("form.txt");
        Files.writeString(text, "x=1\r\ny=2\n");
        same("-s", "-d", "@" + text, base + "/inspect");
        same("-s", "--data-raw", "@literal", base + "/inspect");
        Path bin = dir.resolve("blob.bin");
        Files.write(bin, bytes(3000));
        r = same("-s", "--data-binary", "@" + bin, base + "/inspect");
        assertTrue(r.text().contains(HexFormat.of().formatHex(bytes(3000))), "the file's bytes, unchanged");
        same("-s", "--data-urlencode", "msg=héllo wörld & more", "--data-urlencode", "=just text", base + "/inspect");
        same("-s", "-G", "-d", "q=1", "-d", "r=2", base + "/inspect");
        same("-s", "-X", "PUT", "-d", "put body", base + "/inspect");
        // -T: curl sends no Content-Type; the jhv client labels a file body application/octet-stream
        Result tc = curl("-s", "-T", text.toString(), base + "/upload/");
        Result th = hv("-s", "-T", text.toString(), base + "/upload/");
        assertEquals(tc.code(), th.code());
        assertEquals(tc.text().replaceAll("content-type=[^\n]*", ""), th.text().replaceAll("content-type=[^\n]*", ""));
        assertTrue(th.text().contains("method=PUT\npath=/upload/form.txt"), th.text());
    }

    @Test
    void multipartForm() throws Exception {
        Path file = dir.resolve("notes.txt");
        Files.writeString(file, "line one\nline two\n");
        Path bin = dir.resolve("raw.dat");
        Files.write(bin, bytes(1000));
        Result r = same("-s", "-F", "name=value", "-F", "doc=@" + file, "-F", "blob=@" + bin + ";type=application/x-thing",
                "-F", "inline=<" + file, base + "/multipart");
        assertTrue(r.text().contains("doc filename=notes.txt type=text/plain"), r.text());
    }

    @Test
    void redirects() throws Exception {
        assertEquals("hello world\n", same("-s", "-L", base + "/redirect").text());
        same("-s", base + "/redirect"); // not followed: the 302's own body
        assertEquals("302 0 " + base + "/hello", same("-s", "-o", "/dev/null", "-w", "%{http_code} %{num_redirects} %{redirect_url}", base + "/redirect").text());
        assertEquals("200 1", same("-s", "-L", "-o", "/dev/null", "-w", "%{http_code} %{num_redirects}", base + "/redirect").text());
        sameHeads("-s", "-L", "-i", base + "/redirect");
        sameCode(47, "-s", "-L", "--max-redirs", "3", base + "/loop");
    }

    @Test
    void outputFiles() throws Exception {
        Path hvDir = Files.createDirectories(dir.resolve("hv"));
        Result c = curl("-s", "-o", dir.resolve("curl.bin").toString(), base + "/files/data.bin");
        Result h = hv("-s", "-o", hvDir.resolve("hv.bin").toString(), base + "/files/data.bin");
        assertEquals(c.code(), h.code());
        assertArrayEquals(Files.readAllBytes(dir.resolve("curl.bin")), Files.readAllBytes(hvDir.resolve("hv.bin")));
        assertArrayEquals(bytes(5000), Files.readAllBytes(hvDir.resolve("hv.bin")));
        // -O: named after the URL, in the working directory (curl's is dir; hv's is this JVM's, so check hv by -o equivalence)
        Result co = curl("-s", "-O", base + "/files/data.bin");
        assertEquals(0, co.code());
        assertArrayEquals(bytes(5000), Files.readAllBytes(dir.resolve("data.bin")));
        sameCode(23, "-s", "-O", base + "/");
    }

    @Test
    void authRangeAgentRefererCookiesAndHeaders() throws Exception {
        Result r = same("-s", "-u", "alice:s3cret", base + "/inspect");
        assertTrue(r.text().contains("authorization=Basic YWxpY2U6czNjcmV0"), r.text());
        same("-s", "-r", "0-99", base + "/inspect");
        same("-s", "-e", "http://from.example/", base + "/inspect");
        same("-s", "-b", "a=1; b=2", base + "/inspect");
        same("-s", "-H", "X-Custom: yes", "-H", "Accept:", base + "/inspect");
        same("-s", "-H", "Accept: text/plain", base + "/inspect");
        same("-s", "http://bob:pw@127.0.0.1:" + server.port() + "/inspect"); // user info in the URL is -u
        // a cookie jar: curl and hv write the same cookie (name and value) for the host
        Path cj = dir.resolve("curl.jar"), hj = dir.resolve("hv.jar");
        curl("-s", "-c", cj.toString(), base + "/cookie");
        hv("-s", "-c", hj.toString(), base + "/cookie");
        assertEquals(cookieLines(cj), cookieLines(hj));
        // and read it back
        same("-s", "-b", hj.toString(), base + "/inspect");
    }

    private static List<String> cookieLines(Path jar) throws IOException {
        List<String> l = new ArrayList<>();
        for (String line : Files.readAllLines(jar)) {
            if (line.isBlank() || (line.startsWith("#") && !line.startsWith("#HttpOnly_"))) continue;
            String[] f = line.split("\t");
            l.add(f[0] + " " + f[2] + " " + f[5] + "=" + f[6]);
        }
        return l;
    }

    @Test
    void compressed() throws Exception {
        Result r = same("-s", "--compressed", base + "/gzip");
        assertEquals("compressed hello\n".repeat(20), r.text());
        assertArrayEquals(GZIPPED, same("-s", base + "/gzip").out(), "without --compressed the bytes stay gzipped");
    }

    @Test
    void https() throws Exception {
        tlsServer = HttpServer.create("127.0.0.1", 0).threads(1).tls(TlsConfig.server().certificate(LOCALHOST).build())
                .get("/hello", (req, res) -> res.text("hello over TLS\n")).start();
        Path caFile = dir.resolve("ca.pem");
        Files.writeString(caFile, CA.certificatePem());
        String url = "https://localhost:" + tlsServer.port() + "/hello";
        assertEquals("hello over TLS\n", same("-s", "--cacert", caFile.toString(), url).text());
        same("-s", "-k", url);
        same("-s", "-k", "https://127.0.0.1:" + tlsServer.port() + "/hello"); // the name does not match: -k accepts it
        sameCode(60, "-s", url);                                               // not trusted
        sameCode(60, "-s", "--cacert", caFile.toString(), "https://127.0.0.1:" + tlsServer.port() + "/hello"); // wrong name
    }

    @Test
    void clientCertificate() throws Exception {
        SelfSignedCertificate clientCert = SelfSignedCertificate.builder().subject("CN=hv curl client").issuer(CA).build();
        SelfSignedCertificate.PemFiles pem = clientCert.writeTo(dir.resolve("client"));
        tlsServer = HttpServer.create("127.0.0.1", 0).threads(1)
                .tls(TlsConfig.server().certificate(LOCALHOST).trust(CA.certificate()).clientAuth(TlsConfig.ClientAuth.REQUIRED).build())
                .get("/who", (req, res) -> res.text("hello, client\n")).start();
        Path caFile = dir.resolve("ca.pem");
        Files.writeString(caFile, CA.certificatePem());
        String url = "https://localhost:" + tlsServer.port() + "/who";
        assertEquals("hello, client\n", same("-s", "--cacert", caFile.toString(), "--cert", pem.certificate().toString(),
                "--key", pem.privateKey().toString(), url).text());
        Result c = curl("-s", "--cacert", caFile.toString(), url);
        Result h = hv("-s", "--cacert", caFile.toString(), url);
        assertTrue(c.code() != 0 && h.code() != 0, "no certificate, no answer: curl " + c.code() + ", hv " + h.code() + " " + h.err());
        assertEquals(58, hv("-s", "--cacert", caFile.toString(), "--cert", dir.resolve("missing.pem").toString(), url).code());
    }

    @Test
    void writeOutAndFail() throws Exception {
        assertEquals("200", same("-s", "-o", "/dev/null", "-w", "%{http_code}", base + "/hello").text());
        assertEquals("404\n", same("-s", "-o", "/dev/null", "-w", "%{http_code}\\n", base + "/missing").text());
        same("-s", "-w", "%{size_download} %{content_type} %{method} %{exitcode} %%\\n", base + "/hello");
        Result f = same("-s", "-f", base + "/missing");
        assertEquals(22, f.code());
        assertEquals(0, f.out().length, "no body with -f");
        same("-s", "--fail-with-body", base + "/missing");
        Result shown = hv("-sS", "-f", base + "/missing");
        assertTrue(shown.err().contains("(22) The requested URL returned error: 404"), shown.err());
        assertEquals("", hv("-s", "-f", base + "/missing").err(), "-s without -S: silent");
    }

    @Test
    void exitCodesForFailures() throws Exception {
        int closed;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            closed = s.getLocalPort();
        }
        sameCode(7, "-s", "http://127.0.0.1:" + closed + "/");
        sameCode(6, "-s", "http://no-such-host.invalid/");
        sameCode(3, "-s", "http://");
        sameCode(1, "-s", "nosuchscheme://127.0.0.1/");
        sameCode(2, "-s", "--no-such-option", base);
        // a server that accepts and never answers: -m 1 times out
        ServerSocket silent = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        closeAfter.add(silent);
        List<Socket> held = new ArrayList<>();
        // platform threads: a virtual thread blocking in accept() would start the JDK's poller (descriptors kept for good)
        Thread acceptor = Thread.ofPlatform().daemon().start(() -> {
            try {
                for (;;) held.add(silent.accept());
            } catch (IOException done) {
                // closed
            }
        });
        closeAfter.add(() -> { for (Socket s : held) s.close(); acceptor.interrupt(); });
        sameCode(28, "-s", "-m", "1", "http://127.0.0.1:" + silent.getLocalPort() + "/");
        // a server that closes at once: an empty reply
        ServerSocket rude = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        closeAfter.add(rude);
        Thread.ofPlatform().daemon().start(() -> {
            try {
                for (;;) {
                    try (Socket s = rude.accept()) {
                        s.getInputStream().read(new byte[4096]); // the request, then close
                    }
                }
            } catch (IOException done) {
                // closed
            }
        });
        sameCode(52, "-s", "http://127.0.0.1:" + rude.getLocalPort() + "/");
        // a body cut short: Content-Length 100, 10 bytes, close
        ServerSocket shortBody = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        closeAfter.add(shortBody);
        Thread.ofPlatform().daemon().start(() -> {
            try {
                for (;;) {
                    try (Socket s = shortBody.accept()) {
                        s.getInputStream().read(new byte[4096]);
                        s.getOutputStream().write("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789".getBytes(StandardCharsets.ISO_8859_1));
                        s.getOutputStream().flush();
                    }
                }
            } catch (IOException done) {
                // closed
            }
        });
        sameCode(18, "-s", "-o", "/dev/null", "http://127.0.0.1:" + shortBody.getLocalPort() + "/");
        // TLS spoken to a server that answers in plaintext at once
        ServerSocket plainText = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        closeAfter.add(plainText);
        Thread.ofPlatform().daemon().start(() -> {
            try {
                for (;;) {
                    try (Socket s = plainText.accept()) {
                        s.getOutputStream().write("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
                        s.getOutputStream().flush();
                        s.getInputStream().read(new byte[4096]);
                    }
                }
            } catch (IOException done) {
                // closed
            }
        });
        sameCode(35, "-s", "https://127.0.0.1:" + plainText.getLocalPort() + "/hello");
    }

    @Test
    void connectTimeout() throws Exception {
        // a listener whose accept queue is full: the kernel drops further SYNs, so a connect hangs
        ServerSocket full = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
        closeAfter.add(full);
        List<Socket> fillers = new ArrayList<>();
        closeAfter.add(() -> { for (Socket f : fillers) f.close(); });
        boolean hangs = false;
        for (int i = 0; i < 64 && !hangs; i++) {
            Socket f = new Socket();
            fillers.add(f);
            try {
                f.connect(full.getLocalSocketAddress(), 200);
            } catch (java.net.SocketTimeoutException e) {
                hangs = true;
            }
        }
        assertTrue(hangs, "could not fill a listen backlog here");
        long t0 = System.nanoTime();
        sameCode(28, "-s", "--connect-timeout", "0.5", "http://127.0.0.1:" + full.getLocalPort() + "/");
        assertTrue(System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(10), "both gave up after about half a second");
    }

    @Test
    void retryAfterA503() throws Exception {
        flaky.set(0);
        Result c = curl("-s", "--retry", "2", base + "/flaky");
        flaky.set(0);
        Result h = hv("-s", "--retry", "2", base + "/flaky");
        assertEquals(0, c.code());
        assertEquals(0, h.code(), h.err());
        assertEquals("busy\nfinally\n", c.text(), "curl writes the failed attempt's body too");
        assertEquals(c.text(), h.text());
        flaky.set(0);
        assertEquals(22, hv("-s", "-f", base + "/flaky").code(), "without --retry the 503 stands");
    }

    @Test
    void verboseShowsTheRequestAndTheResponseHead() {
        Result r = hv("-s", "-v", base + "/hello");
        assertEquals(0, r.code());
        assertTrue(r.err().contains("> GET /hello HTTP/1.1"), r.err());
        assertTrue(r.err().contains("> Host: 127.0.0.1:" + server.port()), r.err());
        assertTrue(r.err().contains("< HTTP/1.1 200"), r.err());
        assertEquals("hello world\n", r.text());
    }

    @Test
    void throughTinyproxy() throws Exception {
        int proxyPort = tinyproxy(null, null);
        String proxy = "http://127.0.0.1:" + proxyPort;
        assertEquals("hello world\n", same("-s", "-x", proxy, base + "/hello").text());
        same("-s", "-x", proxy, "-d", "via=proxy", base + "/inspect");
        // from the environment, as curl reads it
        Result h = hv(Map.of("http_proxy", proxy), "-s", base + "/hello");
        assertEquals("hello world\n", h.text(), h.err());
        assertEquals("hello world\n", hv(Map.of("http_proxy", "http://127.0.0.1:1", "no_proxy", "127.0.0.1"), "-s", base + "/hello").text(),
                "no_proxy bypasses the (dead) proxy");
        // HTTPS through the proxy: a CONNECT tunnel, TLS with the target
        tlsServer = HttpServer.create("127.0.0.1", 0).threads(1).tls(TlsConfig.server().certificate(LOCALHOST).build())
                .get("/hello", (req, res) -> res.text("hello over TLS\n")).start();
        Path caFile = dir.resolve("ca.pem");
        Files.writeString(caFile, CA.certificatePem());
        String httpsUrl = "https://localhost:" + tlsServer.port() + "/hello";
        assertEquals("hello over TLS\n", same("-s", "-x", proxy, "--cacert", caFile.toString(), httpsUrl).text());
        assertEquals("hello over TLS\n", hv(Map.of("https_proxy", proxy), "-s", "--cacert", caFile.toString(), httpsUrl).text());
        // SOCKS5, name resolved by the proxy (socks5h) or here (socks5), with and without credentials
        int socks = microsocks(null, null);
        assertEquals("hello world\n", same("-s", "-x", "socks5h://127.0.0.1:" + socks, base + "/hello").text());
        same("-s", "-x", "socks5://127.0.0.1:" + socks, base + "/hello");
        same("-s", "-x", "socks5h://127.0.0.1:" + socks, "--cacert", caFile.toString(), httpsUrl);
        int authSocks = microsocks("bob", "pw");
        same("-s", "-x", "socks5h://bob:pw@127.0.0.1:" + authSocks, base + "/hello");
        same("-s", "-x", "socks5h://127.0.0.1:" + authSocks, "-U", "bob:pw", base + "/hello");
        sameCode(97, "-s", "-x", "socks5h://bob:wrong@127.0.0.1:" + authSocks, base + "/hello"); // curl's CURLE_PROXY
        // a proxy that wants credentials refuses the CONNECT with 407: curl's 56
        int authProxy = tinyproxy("alice", "s3cret");
        sameCode(56, "-s", "-x", "http://127.0.0.1:" + authProxy, "--cacert", caFile.toString(), httpsUrl);
        same("-s", "-x", "http://alice:s3cret@127.0.0.1:" + authProxy, "--cacert", caFile.toString(), httpsUrl);
        sameCode(5, "-s", "-x", "http://no-such-proxy.invalid:3128", base + "/hello");
    }

    private int microsocks(String user, String password) throws Exception {
        String bin = null;
        for (String d : List.of("/usr/bin", "/usr/sbin")) if (Files.isExecutable(Path.of(d, "microsocks"))) bin = d + "/microsocks";
        if (bin == null) fail("microsocks is not installed: apt-get install microsocks (./test installs it)");
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        List<String> cmd = new ArrayList<>(List.of(bin, "-i", "127.0.0.1", "-p", String.valueOf(port)));
        if (user != null) cmd.addAll(List.of("-u", user, "-P", password));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(dir.resolve("microsocks-" + port + ".log").toFile()).start();
        closeAfter.add(() -> { p.destroy(); p.waitFor(5, TimeUnit.SECONDS); });
        awaitPort(p, port);
        return port;
    }

    private static void awaitPort(Process p, int port) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (System.nanoTime() < deadline && p.isAlive()) {
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress("127.0.0.1", port), 500);
                return;
            } catch (IOException notYet) {
                Thread.sleep(20); // a starting process: nothing to wait on but its port
            }
        }
        fail("proxy on port " + port + " did not start");
    }

    private int tinyproxy(String user, String password) throws Exception {
        String bin = null;
        for (String d : List.of("/usr/bin", "/usr/sbin")) if (Files.isExecutable(Path.of(d, "tinyproxy"))) bin = d + "/tinyproxy";
        if (bin == null) fail("tinyproxy is not installed: apt-get install tinyproxy (./test installs it)");
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        Path cfg = dir.resolve("tinyproxy-" + port + ".conf");
        List<String> conf = new ArrayList<>(List.of("Port " + port, "Listen 127.0.0.1", "Timeout 30", "LogLevel Info"));
        if (user != null) conf.add("BasicAuth " + user + " " + password);
        Files.write(cfg, conf);
        Path log = dir.resolve("tinyproxy-" + port + ".log");
        Process p = new ProcessBuilder(bin, "-d", "-c", cfg.toString()).redirectErrorStream(true)
                .redirectOutput(log.toFile()).start();
        closeAfter.add(() -> { p.destroy(); p.waitFor(5, TimeUnit.SECONDS); });
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (System.nanoTime() < deadline && p.isAlive()) {
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress("127.0.0.1", port), 500);
                return port;
            } catch (IOException notYet) {
                Thread.sleep(20); // a starting process: nothing to wait on but its port
            }
        }
        return fail("tinyproxy did not start: " + Files.readString(log));
    }

    @Test
    void usage() {
        Result r = hv("--help");
        assertEquals(0, r.code());
        assertTrue(r.text().contains("--write-out"), r.text());
        assertEquals(2, hv().code());
        Result ns = hv("--http2", base);
        assertEquals(4, ns.code());
        assertTrue(ns.err().contains("not supported yet"), ns.err());
        assertEquals(0, hv("-sSL", base + "/redirect").code(), "grouped short options");
        assertEquals("hello world\n", hv("-sLo-", base + "/redirect").text(), "a value attached to the last of a group");
    }
}
