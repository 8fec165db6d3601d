package io.jhv.http.server;

import io.jhv.core.net.Connection;
import io.jhv.core.net.TcpEndpoint;
import io.jhv.core.tls.SelfSignedCertificate;
import io.jhv.core.tls.TlsConfig;
import io.jhv.core.tls.TlsInfo;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * HTTPS over loopback with real peers: the JDK {@link HttpClient}, {@code curl} and
 * {@code openssl s_client}, TLS 1.2 and 1.3, ALPN and SNI; HTTP and HTTPS side by side; bad input on
 * the HTTPS port; and a 64 MiB file to a slow reader within the back-pressure bound.
 *
 * <p>One server (one loop) serves HTTP on {@code port()} and HTTPS on {@code httpsPort()} with two
 * certificates, {@code localhost} (the default) and {@code other.test}, both issued by a test CA.
 */
@Timeout(60)
class HttpsTest {
    static final SelfSignedCertificate CA = SelfSignedCertificate.builder().subject("CN=jhv https test CA").ca(true).build();
    static final SelfSignedCertificate LOCALHOST = SelfSignedCertificate.builder()
            .subject("CN=localhost").hosts("localhost", "127.0.0.1").issuer(CA).build();
    static final SelfSignedCertificate OTHER = SelfSignedCertificate.builder()
            .subject("CN=other.test").hosts("other.test").issuer(CA).build();
    static final long HANDSHAKE_TIMEOUT_MS = 700;
    static final List<String> CHUNKS = chunks();

    @TempDir
    static Path dir;
    static Path caFile;
    static HttpServer server;

    @BeforeAll
    static void start() throws IOException {
        caFile = dir.resolve("ca.pem");
        Files.writeString(caFile, CA.certificatePem());
        TlsConfig tls = TlsConfig.server().certificate(LOCALHOST).certificate(OTHER)
                .handshakeTimeout(Duration.ofMillis(HANDSHAKE_TIMEOUT_MS)).build();
        server = HttpServer.create("127.0.0.1", 0).threads(1)
                .https("127.0.0.1", 0, tls)
                .get("/hello", (req, res) -> res.text("hello " + scheme(req)))
                .get("/conn", (req, res) -> res.text(Long.toString(req.connection().id())))
                .post("/echo", (req, res) -> res.contentType("application/octet-stream").bytes(req.body()))
                .get("/chunked", (req, res) -> {
                    Response.ChunkedWriter w = res.stream();
                    for (String c : CHUNKS) w.write(c);
                    w.close();
                })
                .start();
    }

    @AfterAll
    static void stop() {
        if (server != null) server.close(Duration.ofSeconds(2));
    }

    /** "http", or "https" with the TLS version, SNI name and ALPN protocol of the request's connection. */
    static String scheme(Request req) {
        TlsInfo t = TlsInfo.of(req.connection());
        if (t == null) return "http";
        return "https " + t.protocol() + " sni=" + t.sniHostName() + " alpn=" + t.applicationProtocol();
    }

    static List<String> chunks() {
        List<String> l = new ArrayList<>();
        for (int i = 0; i < 200; i++) l.add("chunk " + i + " " + "x".repeat(i * 7) + "\n");
        return List.copyOf(l);
    }

    static SSLContext clientContext() {
        return TlsConfig.client().trust(CA.certificate()).build().sslContext();
    }

    static HttpClient jdkClient(HttpClient.Version version, String... protocols) {
        HttpClient.Builder b = HttpClient.newBuilder().version(version).sslContext(clientContext())
                .connectTimeout(Duration.ofSeconds(5));
        if (protocols.length > 0) {
            SSLParameters p = new SSLParameters();
            p.setProtocols(protocols);
            b.sslParameters(p);
        }
        return b.build();
    }

    static URI https(String path) {
        return URI.create("https://localhost:" + server.httpsPort() + path);
    }

    static URI http(String path) {
        return URI.create("http://127.0.0.1:" + server.port() + path);
    }

    static HttpResponse<String> get(HttpClient c, URI uri) throws Exception {
        return c.send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
    }

    // ---------------------------------------------------------------- JDK HttpClient

    @Test
    void jdkClientKeepsOneConnectionAliveOverTls() throws Exception {
        try (HttpClient c = jdkClient(HttpClient.Version.HTTP_1_1)) {
            Set<String> ids = new HashSet<>();
            for (int i = 0; i < 5; i++) {
                HttpResponse<String> r = get(c, https("/conn"));
                assertEquals(200, r.statusCode());
                assertEquals("TLSv1.3", r.sslSession().orElseThrow().getProtocol());
                ids.add(r.body());
            }
            assertEquals(1, ids.size(), "keep-alive: all requests on one TLS connection, got " + ids);
        }
    }

    /** The JDK client offers h2 and http/1.1 by ALPN when it prefers HTTP/2; the server chooses http/1.1. */
    @Test
    void jdkClientOfferingH2GetsHttp11ByAlpn() throws Exception {
        try (HttpClient c = jdkClient(HttpClient.Version.HTTP_2)) {
            HttpResponse<String> r = get(c, https("/hello"));
            assertEquals(200, r.statusCode());
            assertEquals(HttpClient.Version.HTTP_1_1, r.version());
            assertEquals("hello https TLSv1.3 sni=localhost alpn=http/1.1", r.body());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"TLSv1.3", "TLSv1.2"})
    void jdkClientPostsSeveralMiB(String protocol) throws Exception {
        byte[] body = new byte[5 * 1024 * 1024 + 123];
        new Random(protocol.hashCode()).nextBytes(body);
        try (HttpClient c = jdkClient(HttpClient.Version.HTTP_1_1, protocol)) {
            HttpResponse<byte[]> r = c.send(HttpRequest.newBuilder(https("/echo")).timeout(Duration.ofSeconds(20))
                    .POST(HttpRequest.BodyPublishers.ofByteArray(body)).build(), HttpResponse.BodyHandlers.ofByteArray());
            assertEquals(200, r.statusCode());
            assertEquals(protocol, r.sslSession().orElseThrow().getProtocol());
            assertArrayEquals(body, r.body());
            // and the connection is still good for a second request
            assertEquals("hello https " + protocol + " sni=localhost alpn=null", get(c, https("/hello")).body());
        }
    }

    @Test
    void jdkClientReadsAChunkedResponse() throws Exception {
        try (HttpClient c = jdkClient(HttpClient.Version.HTTP_1_1)) {
            HttpResponse<String> r = get(c, https("/chunked"));
            assertEquals(200, r.statusCode());
            assertEquals("chunked", r.headers().firstValue("Transfer-Encoding").orElse(null));
            assertEquals(String.join("", CHUNKS), r.body());
        }
    }

    /** The JDK client set to HTTP/1.1 offers no ALPN at all; the server serves it all the same. */
    @Test
    void httpAndHttpsServeTheSameRoute() throws Exception {
        try (HttpClient c = jdkClient(HttpClient.Version.HTTP_1_1)) {
            assertEquals("hello http", get(c, http("/hello")).body());
            assertEquals("hello https TLSv1.3 sni=localhost alpn=null", get(c, https("/hello")).body());
            assertEquals(404, get(c, https("/nothing")).statusCode());
            assertEquals(404, get(c, http("/nothing")).statusCode());
        }
    }

    // ---------------------------------------------------------------- curl

    record Run(int code, String out, String err) {}

    static Run run(List<String> cmd) throws Exception {
        Path out = Files.createTempFile(dir, "out", ".txt");
        Path err = Files.createTempFile(dir, "err", ".txt");
        Process p = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
        if (!p.waitFor(20, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError(cmd + " did not finish:\n" + Files.readString(err));
        }
        return new Run(p.exitValue(), Files.readString(out), Files.readString(err));
    }

    static boolean installed(String... versionCmd) {
        try {
            return new ProcessBuilder(versionCmd).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).start().waitFor() == 0;
        } catch (Exception e) {
            return false;
        }
    }

    static Run curl(String host, String path, String... flags) throws Exception {
        int port = server.httpsPort();
        List<String> cmd = new ArrayList<>(List.of("curl", "-sS", "-v", "--max-time", "15", "--cacert", caFile.toString(),
                "--resolve", host + ":" + port + ":127.0.0.1"));
        cmd.addAll(List.of(flags));
        cmd.add("https://" + host + ":" + port + path);
        return run(cmd);
    }

    /** curl 7.88 says "ALPN: server accepted http/1.1"; older versions "ALPN, server accepted to use http/1.1". */
    static final Pattern CURL_ALPN = Pattern.compile("ALPN[:,] server accepted (to use )?http/1\\.1");

    @ParameterizedTest
    @ValueSource(strings = {"TLSv1.3", "TLSv1.2"})
    void curlOverTls(String protocol) throws Exception {
        assumeTrue(installed("curl", "--version"), "curl is not installed");
        Run r = protocol.equals("TLSv1.2")
                ? curl("localhost", "/hello", "--tlsv1.2", "--tls-max", "1.2")
                : curl("localhost", "/hello", "--tlsv1.3");
        assertEquals(0, r.code(), r.err());
        assertEquals("hello https " + protocol + " sni=localhost alpn=http/1.1", r.out());
        assertTrue(CURL_ALPN.matcher(r.err()).find(), "ALPN line missing:\n" + r.err());
        assertTrue(r.err().contains("SSL connection using " + protocol), "TLS version line missing:\n" + r.err());
        assertTrue(r.err().contains("subject: CN=localhost"), r.err());
    }

    @Test
    void curlKeepAliveOverTls() throws Exception {
        assumeTrue(installed("curl", "--version"), "curl is not installed");
        int port = server.httpsPort();
        Run r = run(List.of("curl", "-sS", "-v", "--max-time", "15", "--cacert", caFile.toString(),
                "--resolve", "localhost:" + port + ":127.0.0.1",
                "https://localhost:" + port + "/conn", "https://localhost:" + port + "/conn"));
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("Re-using existing connection"), "curl did not reuse the connection:\n" + r.err());
        assertEquals(0, r.out().length() % 2, r.out());
        String half = r.out().substring(0, r.out().length() / 2);
        assertEquals(half + half, r.out(), "both requests on one connection");
    }

    // ---------------------------------------------------------------- openssl s_client

    @ParameterizedTest
    @ValueSource(strings = {"-tls1_3", "-tls1_2"})
    void opensslRawGet(String versionFlag) throws Exception {
        assumeTrue(installed("openssl", "version"), "openssl is not installed");
        String protocol = versionFlag.equals("-tls1_3") ? "TLSv1.3" : "TLSv1.2";
        Process p = new ProcessBuilder("openssl", "s_client", "-connect", "127.0.0.1:" + server.httpsPort(),
                "-servername", "localhost", "-alpn", "http/1.1", "-CAfile", caFile.toString(), "-verify_return_error",
                "-ign_eof", versionFlag)
                .redirectErrorStream(true).start();
        CompletableFuture<String> output = new CompletableFuture<>();
        Thread.ofVirtual().start(() -> {
            try {
                output.complete(new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
            } catch (IOException e) {
                output.completeExceptionally(e);
            }
        });
        try (OutputStream in = p.getOutputStream()) {
            in.write("GET /hello HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        }
        // -ign_eof: s_client keeps the connection after its stdin ends; the server closes it after the response.
        String out = output.get(15, TimeUnit.SECONDS);
        assertTrue(p.waitFor(5, TimeUnit.SECONDS), out);
        assertTrue(out.contains("ALPN protocol: http/1.1"), out);
        assertTrue(out.contains("New, " + protocol + ", Cipher is"), out);
        assertTrue(out.contains("Verify return code: 0 (ok)"), out);
        assertTrue(out.contains("HTTP/1.1 200 OK"), out);
        assertTrue(out.contains("hello https " + protocol + " sni=localhost alpn=http/1.1"), out);
    }

    // ---------------------------------------------------------------- SNI

    /** An SSLSocket GET with {@code sniName}: returns the leaf certificate's subject and the response. */
    static String[] sniGet(String sniName, String protocol) throws Exception {
        try (SSLSocket s = (SSLSocket) clientContext().getSocketFactory().createSocket()) {
            SSLParameters p = s.getSSLParameters();
            p.setServerNames(List.of(new SNIHostName(sniName)));
            p.setEndpointIdentificationAlgorithm("HTTPS");
            p.setApplicationProtocols(new String[] {"http/1.1"});
            p.setProtocols(new String[] {protocol});
            s.setSSLParameters(p);
            s.connect(new InetSocketAddress("127.0.0.1", server.httpsPort()), 5000);
            s.setSoTimeout(10_000);
            s.startHandshake();
            X509Certificate leaf = (X509Certificate) s.getSession().getPeerCertificates()[0];
            assertEquals("http/1.1", s.getApplicationProtocol());
            s.getOutputStream().write(("GET /hello HTTP/1.1\r\nHost: " + sniName + "\r\nConnection: close\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            String response = new String(s.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
            return new String[] {leaf.getSubjectX500Principal().getName(), response};
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"TLSv1.3", "TLSv1.2"})
    void sniPicksTheCertificate(String protocol) throws Exception {
        for (String name : List.of("localhost", "other.test")) {
            String[] got = sniGet(name, protocol);
            assertEquals("CN=" + name, got[0], "certificate for SNI " + name);
            assertTrue(got[1].startsWith("HTTP/1.1 200 OK\r\n"), got[1]);
            assertTrue(got[1].endsWith("hello https " + protocol + " sni=" + name + " alpn=http/1.1"), got[1]);
        }
    }

    @Test
    void curlVerifiesTheSecondCertificateBySni() throws Exception {
        assumeTrue(installed("curl", "--version"), "curl is not installed");
        Run r = curl("other.test", "/hello");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("subject: CN=other.test"), r.err());
        assertEquals("hello https TLSv1.3 sni=other.test alpn=http/1.1", r.out());
    }

    // ---------------------------------------------------------------- bad input on the HTTPS port

    static Socket raw() throws IOException {
        Socket s = new Socket("127.0.0.1", server.httpsPort());
        s.setSoTimeout(10_000);
        return s;
    }

    /** Reads until the server closes the connection; returns what came (at most an alert is expected). */
    static byte[] drain(Socket s) throws IOException {
        try {
            return s.getInputStream().readAllBytes();
        } catch (SocketException reset) {
            return new byte[0];
        }
    }

    /** Both listeners still answer: HTTPS and HTTP, each on a new connection (HTTP/1.1 only: the JDK client offers no ALPN). */
    static void assertServesBoth() throws Exception {
        try (HttpClient c = jdkClient(HttpClient.Version.HTTP_1_1)) {
            assertEquals("hello https TLSv1.3 sni=localhost alpn=null", get(c, https("/hello")).body());
            assertEquals("hello http", get(c, http("/hello")).body());
        }
    }

    @Test
    void plaintextHttpToTheTlsPortIsClosed() throws Exception {
        try (Socket s = raw()) {
            s.getOutputStream().write("GET /hello HTTP/1.1\r\nHost: localhost\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            byte[] got = drain(s);
            assertTrue(got.length < 16, "at most a TLS alert comes back, got " + got.length + " bytes: "
                    + new String(got, StandardCharsets.ISO_8859_1));
        }
        assertServesBoth();
    }

    @Test
    void randomBytesToTheTlsPortAreRefused() throws Exception {
        byte[] junk = new byte[16 * 1024];
        new Random(7).nextBytes(junk);
        junk[0] = 0x16; // a handshake record header at first, garbage after it
        junk[1] = 0x03;
        junk[2] = 0x01;
        try (Socket s = raw()) {
            try {
                s.getOutputStream().write(junk);
            } catch (SocketException e) {
                // the server may close before all of it went out
            }
            byte[] got = drain(s);
            assertTrue(got.length < 16, "at most a TLS alert comes back, got " + got.length + " bytes");
        }
        assertServesBoth();
    }

    /** A real ClientHello, as the JDK client sends it. */
    static byte[] clientHello() throws Exception {
        SSLEngine e = clientContext().createSSLEngine("localhost", 443);
        e.setUseClientMode(true);
        ByteBuffer out = ByteBuffer.allocate(e.getSession().getPacketBufferSize());
        e.beginHandshake();
        e.wrap(ByteBuffer.allocate(0), out);
        out.flip();
        byte[] b = new byte[out.remaining()];
        out.get(b);
        return b;
    }

    /** A client sends its hello, reads the server's first flight and then goes quiet: the handshake timeout closes it. */
    @Test
    void clientStoppingMidHandshakeIsTimedOut() throws Exception {
        long t0 = System.nanoTime();
        try (Socket s = raw()) {
            s.getOutputStream().write(clientHello());
            InputStream in = s.getInputStream();
            byte[] header = in.readNBytes(5);
            assertEquals(0x16, header[0], "a handshake record (ServerHello) came back");
            // while this one stalls, others are served on both ports
            assertServesBoth();
            drain(s);
            long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
            assertTrue(ms >= HANDSHAKE_TIMEOUT_MS - 50, "closed after " + ms + " ms, before the handshake timeout");
            assertTrue(ms < HANDSHAKE_TIMEOUT_MS + 5000, "closed only after " + ms + " ms");
        }
        assertServesBoth();
    }

    @Test
    void truncatedHandshakeThenEndOfStream() throws Exception {
        byte[] hello = clientHello();
        try (Socket s = raw()) {
            s.getOutputStream().write(hello, 0, hello.length / 2);
            s.shutdownOutput();
            drain(s);
        }
        assertServesBoth();
    }

    // ---------------------------------------------------------------- 64 MiB to a slow reader

    /**
     * A 64 MiB static file over HTTPS to a client that reads nothing at first and then slowly: it
     * arrives intact, and the server connection's write queue (ciphertext) never grows past the
     * high-water mark plus 128 KiB. A monitor thread samples {@code queuedBytes()} of the server's
     * connections during the transfer; the connection's own {@code maxQueuedBytes()} is checked at
     * the end.
     */
    @Test
    void bigFileToASlowReaderStaysBounded() throws Exception {
        Path files = Files.createDirectories(dir.resolve("big"));
        Path big = files.resolve("big.bin");
        long size = 64L << 20;
        MessageDigest fileDigest = MessageDigest.getInstance("SHA-256");
        Random rnd = new Random(64);
        byte[] block = new byte[1 << 20];
        try (OutputStream out = Files.newOutputStream(big)) {
            for (long off = 0; off < size; off += block.length) {
                rnd.nextBytes(block);
                fileDigest.update(block);
                out.write(block);
            }
        }
        String expected = HexFormat.of().formatHex(fileDigest.digest());

        // HTTPS on the main port, so the server's connections are visible through connections()
        try (HttpServer tlsServer = HttpServer.create("127.0.0.1", 0).threads(1)
                .tls(TlsConfig.server().certificate(LOCALHOST).build())
                .staticFiles("/files", files)
                .start();
             SSLSocket s = (SSLSocket) clientContext().getSocketFactory().createSocket()) {
            s.setReceiveBufferSize(64 * 1024); // a small window, so the server's queue is what fills
            s.connect(new InetSocketAddress("127.0.0.1", tlsServer.port()), 5000);
            s.setSoTimeout(20_000);
            s.startHandshake();

            AtomicBoolean monitoring = new AtomicBoolean(true);
            AtomicLong sampledMax = new AtomicLong();
            CompletableFuture<Connection> serverConn = new CompletableFuture<>();
            Thread monitor = Thread.ofPlatform().name("https-queue-monitor").start(() -> {
                while (monitoring.get()) {
                    for (Connection c : tlsServer.connections()) {
                        serverConn.complete(c);
                        sampledMax.accumulateAndGet(c.queuedBytes(), Math::max);
                    }
                    try {
                        Thread.sleep(1);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            });
            try {
                s.getOutputStream().write("GET /files/big.bin HTTP/1.1\r\nHost: localhost\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                Connection conn = serverConn.get(10, TimeUnit.SECONDS);
                // The slow start: read nothing until the server has had to queue (kernel buffers full).
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                while (conn.queuedBytes() == 0 && System.nanoTime() < deadline) Thread.sleep(5);
                assertTrue(conn.queuedBytes() > 0, "the server never had to queue: the reader was not slow");
                Thread.sleep(300); // stay slow a little longer: the server must not keep queueing

                InputStream in = s.getInputStream();
                String head = readHead(in);
                assertTrue(head.startsWith("HTTP/1.1 200 OK\r\n"), head);
                Matcher m = Pattern.compile("(?i)\r\ncontent-length: *(\\d+)\r\n").matcher(head);
                assertTrue(m.find(), head);
                assertEquals(size, Long.parseLong(m.group(1)));

                MessageDigest got = MessageDigest.getInstance("SHA-256");
                byte[] buf = new byte[64 * 1024];
                long read = 0;
                while (read < size) {
                    boolean slow = read < (4L << 20); // the first 4 MiB in small, spaced reads
                    int n = in.read(buf, 0, (int) Math.min(slow ? 16 * 1024 : buf.length, size - read));
                    assertTrue(n > 0, "the body ended after " + read + " of " + size + " bytes");
                    got.update(buf, 0, n);
                    read += n;
                    if (slow) Thread.sleep(1);
                }
                assertEquals(expected, HexFormat.of().formatHex(got.digest()), "the file arrived changed");

                long bound = TcpEndpoint.DEFAULT_HIGH_WATER_MARK + 128 * 1024;
                System.out.println("64 MiB over HTTPS: max queued " + conn.maxQueuedBytes() + " bytes (sampled "
                        + sampledMax.get() + "), bound " + bound);
                assertTrue(conn.maxQueuedBytes() > 0);
                assertTrue(sampledMax.get() <= bound, "sampled queue " + sampledMax.get() + " > " + bound);
                assertTrue(conn.maxQueuedBytes() <= bound, "max queued " + conn.maxQueuedBytes() + " > " + bound);
                // the connection is still usable afterwards
                s.getOutputStream().write("GET /files/nothing HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
                        .getBytes(StandardCharsets.US_ASCII));
                assertTrue(readHead(in).startsWith("HTTP/1.1 404 "));
            } finally {
                monitoring.set(false);
                monitor.join(5000);
            }
        }
    }

    /** Reads a response head up to and including the blank line. */
    static String readHead(InputStream in) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        int state = 0;
        while (state < 4) {
            int c = in.read();
            if (c < 0) throw new IOException("connection closed in the response head: " + b);
            b.write(c);
            state = switch (state) {
                case 0, 2 -> c == '\r' ? state + 1 : 0;
                case 1, 3 -> c == '\n' ? state + 1 : (c == '\r' ? 1 : 0);
                default -> 0;
            };
        }
        return b.toString(StandardCharsets.ISO_8859_1);
    }
}
