package io.jhv.cli;

import io.jhv.core.tls.SelfSignedCertificate;
import io.jhv.core.tls.TlsConfig;
import io.jhv.http.server.HttpServer;
import io.jhv.http.server.Response;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code hv proxy http} with the real curl against jhv HTTP and HTTPS servers. */
@Timeout(60)
class ProxyHttpTest {
    @TempDir
    static Path dir;

    static HttpServer origin;
    static Path caFile;
    static final Map<String, String> lastHeaders = new ConcurrentHashMap<>();
    static final AtomicInteger counted = new AtomicInteger();
    static final String CHUNKS;

    static {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 300; i++) sb.append("chunk ").append(i).append(' ').append("y".repeat(i % 50)).append('\n');
        CHUNKS = sb.toString();
    }

    final ProxyFixture fx = new ProxyFixture();

    @BeforeAll
    static void startOrigin() throws Exception {
        SelfSignedCertificate cert = SelfSignedCertificate.generate("localhost");
        caFile = dir.resolve("origin.pem");
        Files.writeString(caFile, cert.certificatePem());
        origin = HttpServer.create("127.0.0.1", 0).threads(1)
                .https("127.0.0.1", 0, TlsConfig.server().certificate(cert).build())
                .get("/hello", (req, res) -> {
                    lastHeaders.clear();
                    for (Map.Entry<String, String> e : req.headers()) lastHeaders.put(e.getKey().toLowerCase(), e.getValue());
                    lastHeaders.put(":target", req.target());
                    res.text("hello " + (req.connection().isSecure() ? "https" : "http"));
                })
                .get("/count", (req, res) -> res.text("count " + counted.incrementAndGet()))
                .post("/echo", (req, res) -> res.contentType("application/octet-stream").bytes(req.body()))
                .get("/chunked", (req, res) -> {
                    Response.ChunkedWriter w = res.stream();
                    for (String line : CHUNKS.split("(?<=\n)")) w.write(line);
                    w.close();
                })
                .start();
    }

    @AfterAll
    static void stopOrigin() {
        if (origin != null) origin.close(Duration.ofSeconds(2));
    }

    @AfterEach
    void close() {
        fx.close();
    }

    private String proxyUrl(ProxyCommand.Running p) {
        return "http://127.0.0.1:" + p.port;
    }

    private static String url(String path) {
        return "http://127.0.0.1:" + origin.port() + path;
    }

    @Test
    void getPostAndAChunkedResponseThroughTheProxy() throws Exception {
        ProxyCommand.Running p = fx.proxy("http", "--listen", "127.0.0.1:0", "--threads", "1");
        Curl.Result r = Curl.run("-x", proxyUrl(p), "-H", "Proxy-Connection: keep-alive", "-H", "X-Kept: yes",
                "-H", "Connection: X-Drop-Me", "-H", "X-Drop-Me: secret", url("/hello?a=1"));
        assertEquals(0, r.exit(), r.err());
        assertEquals("hello http", r.out());
        // what the origin saw: origin-form target, Host from the URL, hop-by-hop fields gone
        assertEquals("/hello?a=1", lastHeaders.get(":target"));
        assertEquals("127.0.0.1:" + origin.port(), lastHeaders.get("host"));
        assertEquals("yes", lastHeaders.get("x-kept"));
        assertEquals("close", lastHeaders.get("connection"));
        assertNull(lastHeaders.get("proxy-connection"));
        assertNull(lastHeaders.get("x-drop-me"), "a field named in Connection is hop-by-hop");
        assertTrue(lastHeaders.get("via").endsWith(" hv"), lastHeaders.toString());

        byte[] body = new byte[3 * 1024 * 1024 + 17];
        new Random(7).nextBytes(body);
        Path in = dir.resolve("body.bin"), out = dir.resolve("echo.bin");
        Files.write(in, body);
        r = Curl.run("-x", proxyUrl(p), "--data-binary", "@" + in, "-H", "Content-Type: application/octet-stream",
                "-o", out.toString(), url("/echo"));
        assertEquals(0, r.exit(), r.err());
        assertArrayEquals(body, Files.readAllBytes(out), "POST body through the proxy (curl sends Expect: 100-continue)");

        // a chunked request body is passed on with its framing
        r = Curl.run("-x", proxyUrl(p), "-H", "Transfer-Encoding: chunked", "--data-binary", "@" + in,
                "-H", "Content-Type: application/octet-stream", "-o", out.toString(), url("/echo"));
        assertEquals(0, r.exit(), r.err());
        assertArrayEquals(body, Files.readAllBytes(out), "chunked POST body through the proxy");

        r = Curl.run("-x", proxyUrl(p), "-D", "-", url("/chunked"));
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().toLowerCase().contains("transfer-encoding: chunked"), r.out());
        assertTrue(r.out().endsWith(CHUNKS), "the chunked body, whole");
    }

    /** curl keeps its connection to the proxy for several URLs (to two origins); each request gets its own origin connection. */
    @Test
    void keepAliveAcrossRequestsAndOrigins() throws Exception {
        ProxyCommand.Running p = fx.proxy("http", "--listen", "127.0.0.1:0", "--threads", "1");
        Curl.Result r = Curl.run("-v", "-x", proxyUrl(p), url("/hello"), url("/chunked"),
                "http://localhost:" + origin.port() + "/hello", url("/count"));
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().startsWith("hello http" + CHUNKS + "hello http" + "count "), r.out());
        assertTrue(r.err().contains("Re-using existing connection"), r.err());
        assertEquals(1, p.server().acceptedCount(), "one client connection for four requests");
        assertFalse(r.err().toLowerCase().contains("< connection: close"), r.err());

        // Connection: close from the client: the proxy says so and closes
        r = Curl.run("-v", "-x", proxyUrl(p), "-H", "Connection: close", url("/hello"));
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.err().toLowerCase().contains("< connection: close"), r.err());
        // HTTP/1.0: closed after the response too
        r = Curl.run("-v", "--http1.0", "-x", proxyUrl(p), url("/hello"));
        assertEquals(0, r.exit(), r.err());
        assertEquals("hello http", r.out());
        assertTrue(r.err().toLowerCase().contains("< connection: close"), r.err());
    }

    @Test
    void httpsThroughAConnectTunnel() throws Exception {
        ProxyCommand.Running p = fx.proxy("http", "--listen", "127.0.0.1:0", "--threads", "1");
        Curl.Result r = Curl.run("-x", proxyUrl(p), "--cacert", caFile.toString(),
                "https://localhost:" + origin.httpsPort() + "/hello");
        assertEquals(0, r.exit(), r.err());
        assertEquals("hello https", r.out());
        // with -k too, and a POST through the tunnel
        byte[] body = new byte[1 << 20];
        new Random(3).nextBytes(body);
        Path in = dir.resolve("tunnel.bin"), out = dir.resolve("tunnel-echo.bin");
        Files.write(in, body);
        r = Curl.run("-k", "-x", proxyUrl(p), "--data-binary", "@" + in, "-o", out.toString(),
                "https://127.0.0.1:" + origin.httpsPort() + "/echo");
        assertEquals(0, r.exit(), r.err());
        assertArrayEquals(body, Files.readAllBytes(out));
    }

    @Test
    void credentialsAreRequiredWhenConfigured() throws Exception {
        ProxyCommand.Running p = fx.proxy("http", "--listen", "127.0.0.1:0", "--threads", "1", "--user", "alice", "--password", "s3cret");
        Curl.Result r = Curl.run("-x", proxyUrl(p), "-D", "-", url("/hello"));
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().startsWith("HTTP/1.1 407 "), r.out());
        assertTrue(r.out().contains("Proxy-Authenticate: Basic realm=\"hv\""), r.out());

        r = Curl.run("-x", proxyUrl(p), "--proxy-user", "alice:wrong", "-w", "%{http_code}", "-o", "/dev/null", url("/hello"));
        assertEquals("407", r.out());

        r = Curl.run("-x", proxyUrl(p), "--proxy-user", "alice:s3cret", url("/hello"));
        assertEquals(0, r.exit(), r.err());
        assertEquals("hello http", r.out());
        assertNull(lastHeaders.get("proxy-authorization"), "the proxy's credentials must not reach the origin");

        // CONNECT without credentials fails, with them it works
        r = Curl.run("-x", proxyUrl(p), "--cacert", caFile.toString(), "https://localhost:" + origin.httpsPort() + "/hello");
        assertNotEquals(0, r.exit());
        assertTrue(r.err().contains("407"), r.err());
        r = Curl.run("-x", proxyUrl(p), "--proxy-user", "alice:s3cret", "--cacert", caFile.toString(),
                "https://localhost:" + origin.httpsPort() + "/hello");
        assertEquals(0, r.exit(), r.err());
        assertEquals("hello https", r.out());
    }

    @Test
    void deniedDestinationsGet403() throws Exception {
        ProxyCommand.Running p = fx.proxy("http", "--listen", "127.0.0.1:0", "--threads", "1",
                "--deny", "127.0.0.1:" + origin.port(), "--allow", "127.0.0.*", "--allow", "localhost:" + origin.httpsPort());
        Curl.Result r = Curl.run("-x", proxyUrl(p), "-D", "-", url("/hello"));
        assertTrue(r.out().startsWith("HTTP/1.1 403 "), r.out());
        assertTrue(r.out().contains("not allowed"), r.out());
        // allowed by name and port: the tunnel works
        r = Curl.run("-x", proxyUrl(p), "--cacert", caFile.toString(), "https://localhost:" + origin.httpsPort() + "/hello");
        assertEquals(0, r.exit(), r.err());
        // not in the allow list
        r = Curl.run("-x", proxyUrl(p), "-w", "%{http_code}", "-o", "/dev/null", "http://localhost:" + origin.port() + "/hello");
        assertEquals("403", r.out());
        fx.awaitLog("403: destination localhost:" + origin.port() + " is not allowed");
    }

    @Test
    void anUnreachableOriginIs502AndASilentOneIs504() throws Exception {
        int dead;
        try (ServerSocket ss = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            dead = ss.getLocalPort();
        }
        ProxyCommand.Running p = fx.proxy("http", "--listen", "127.0.0.1:0", "--threads", "1", "--response-timeout", "0.5");
        Curl.Result r = Curl.run("-x", proxyUrl(p), "-D", "-", "http://127.0.0.1:" + dead + "/");
        assertTrue(r.out().startsWith("HTTP/1.1 502 "), r.out());
        assertTrue(r.out().contains("cannot connect to 127.0.0.1:" + dead), r.out());
        r = Curl.run("-x", proxyUrl(p), "-D", "-", "http://no-such-host.invalid/");
        assertTrue(r.out().startsWith("HTTP/1.1 502 "), r.out());

        try (ServerSocket silent = new ServerSocket(0, 5, InetAddress.getByName("127.0.0.1"))) {
            Thread acceptor = Thread.ofPlatform().daemon().start(() -> {
                try (Socket s = silent.accept()) {
                    s.getInputStream().readAllBytes(); // reads, never answers
                } catch (Exception ignored) {
                    // closed by the test
                }
            });
            long t0 = System.nanoTime();
            r = Curl.run("-x", proxyUrl(p), "-D", "-", "http://127.0.0.1:" + silent.getLocalPort() + "/");
            long ms = (System.nanoTime() - t0) / 1_000_000;
            assertTrue(r.out().startsWith("HTTP/1.1 504 "), r.out());
            assertTrue(r.out().contains("sent no response within 500 ms"), r.out());
            assertTrue(ms < 5000, "took " + ms + " ms");
            acceptor.interrupt();
        }
    }

    /** Raw requests: what curl would never send. */
    @Test
    void malformedAndSmugglingRequestsAreRefused() throws Exception {
        ProxyCommand.Running p = fx.proxy("http", "--listen", "127.0.0.1:0", "--threads", "1");
        assertTrue(raw(p, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n").startsWith("HTTP/1.1 400 "));
        assertTrue(raw(p, "POST " + url("/echo") + " HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
                .startsWith("HTTP/1.1 400 "));
        assertTrue(raw(p, "POST " + url("/echo") + " HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n")
                .startsWith("HTTP/1.1 501 "));
        assertTrue(raw(p, "GET " + url("/hello") + " HTTP/1.1\r\nHost: x\r\n folded: value\r\n\r\n").startsWith("HTTP/1.1 400 "));
        String big = "GET " + url("/hello") + " HTTP/1.1\r\nX: " + "a".repeat(70_000) + "\r\n\r\n";
        assertTrue(raw(p, big).startsWith("HTTP/1.1 431 "));

        // pipelined: three requests in one write, a POST with a body between; answered in order, each
        // from its own origin connection (the body's end is found by its framing, not guessed)
        int before = counted.get();
        String three = "GET " + url("/count") + " HTTP/1.1\r\nHost: a\r\n\r\n"
                + "POST " + url("/echo") + " HTTP/1.1\r\nHost: a\r\nContent-Length: 23\r\n\r\nGET /count HTTP/1.1\r\n\r\n"
                + "GET " + url("/count") + " HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";
        String reply = raw(p, three);
        assertEquals(3, reply.split("HTTP/1.1 200 ", -1).length - 1, reply);
        int first = reply.indexOf("count " + (before + 1)), echoed = reply.indexOf("GET /count HTTP/1.1\r\n\r\n"),
                last = reply.indexOf("count " + (before + 2));
        assertTrue(first > 0 && echoed > first && last > echoed, reply);
        assertEquals(before + 2, counted.get(), "the body that looks like a request was not taken for one");
    }

    /** A request head and body sent a byte at a time, and a CONNECT whose first tunnel bytes follow the head at once. */
    @Test
    void headsInPiecesAndBytesBehindConnect() throws Exception {
        ProxyCommand.Running p = fx.proxy("http", "--listen", "127.0.0.1:0", "--threads", "1");
        String req = "POST " + url("/echo") + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 5\r\n\r\nabcde";
        try (Socket s = new Socket("127.0.0.1", p.port)) {
            s.setSoTimeout(10_000);
            s.setTcpNoDelay(true);
            for (byte b : req.getBytes(StandardCharsets.ISO_8859_1)) {
                s.getOutputStream().write(b);
                s.getOutputStream().flush();
            }
            String reply = new String(s.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
            assertTrue(reply.startsWith("HTTP/1.1 200 "), reply);
            assertTrue(reply.endsWith("\r\n\r\nabcde"), reply);
        }
        // CONNECT to the plain HTTP port, with a whole request right behind the CONNECT head
        String connect = "CONNECT 127.0.0.1:" + origin.port() + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
                + "GET /hello HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
        String reply = raw(p, connect);
        assertTrue(reply.startsWith("HTTP/1.1 200 Connection Established\r\n\r\nHTTP/1.1 200 "), reply);
        assertTrue(reply.endsWith("hello http"), reply);
    }

    /** A client that sends its request and half-closes gets the response, then the close (not a 30 s wait for a next request). */
    @Test
    void aClientThatHalfClosesAfterItsRequestGetsTheResponseAndTheClose() throws Exception {
        ProxyCommand.Running p = fx.proxy("http", "--listen", "127.0.0.1:0", "--threads", "1");
        for (String host : new String[] {"127.0.0.1", "localhost"}) { // localhost: resolved off the loop, the FIN may come while connecting
            try (Socket s = new Socket("127.0.0.1", p.port)) {
                s.setSoTimeout(5_000);
                s.getOutputStream().write(("GET http://" + host + ":" + origin.port() + "/hello HTTP/1.1\r\nHost: a\r\n\r\n")
                        .getBytes(StandardCharsets.ISO_8859_1));
                s.shutdownOutput();
                String reply = new String(s.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
                assertTrue(reply.startsWith("HTTP/1.1 200 ") && reply.endsWith("hello http"), reply);
            }
        }
    }

    @Test
    void aHeadNotCompleteInTimeIs408() throws Exception {
        ProxyCommand.Running p = fx.proxy("http", "--listen", "127.0.0.1:0", "--threads", "1", "--handshake-timeout", "0.3");
        try (Socket s = new Socket("127.0.0.1", p.port)) {
            s.setSoTimeout(10_000);
            s.getOutputStream().write(("GET " + url("/hello") + " HTTP/1.1\r\nHost: x\r\n").getBytes(StandardCharsets.ISO_8859_1));
            String reply = new String(s.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
            assertTrue(reply.startsWith("HTTP/1.1 408 "), reply);
        }
    }

    /** Sends {@code request}, half-closes, returns all the proxy sends until it closes. */
    private static String raw(ProxyCommand.Running p, String request) throws Exception {
        try (Socket s = new Socket("127.0.0.1", p.port)) {
            s.setSoTimeout(10_000);
            s.getOutputStream().write(request.getBytes(StandardCharsets.ISO_8859_1));
            InputStream in = s.getInputStream();
            return new String(in.readAllBytes(), StandardCharsets.ISO_8859_1);
        }
    }
}
