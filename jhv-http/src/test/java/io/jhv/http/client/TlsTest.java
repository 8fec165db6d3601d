package io.jhv.http.client;

import io.jhv.core.net.CloseCause;
import io.jhv.core.tls.SelfSignedCertificate;
import io.jhv.core.tls.TlsConfig;
import io.jhv.core.tls.TlsInfo;
import io.jhv.http.server.HttpServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import javax.net.ssl.SSLException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** https:// through the Connector's TLS: trust, SNI, ALPN, host name verification, client certificates; and openssl s_server. */
@Timeout(20)
class TlsTest {
    static final SelfSignedCertificate CA = SelfSignedCertificate.builder().subject("CN=jhv client test CA").ca(true).build();
    static final SelfSignedCertificate LOCALHOST = SelfSignedCertificate.builder()
            .subject("CN=localhost").hosts("localhost").issuer(CA).build();
    static final SelfSignedCertificate CLIENT = SelfSignedCertificate.builder().subject("CN=the client").issuer(CA).build();
    static HttpServer server, mtls;

    @BeforeAll
    static void start() {
        server = HttpServer.create("127.0.0.1", 0).threads(1)
                .https("127.0.0.1", 0, TlsConfig.server().certificate(LOCALHOST).build())
                .get("/who", (req, res) -> {
                    TlsInfo t = TlsInfo.of(req.connection());
                    res.text("sni=" + t.sniHostName() + " alpn=" + t.applicationProtocol() + " conn=" + req.connection().id());
                })
                .start();
        mtls = HttpServer.create("127.0.0.1", 0).threads(1)
                .https("127.0.0.1", 0, TlsConfig.server().certificate(LOCALHOST).trust(CA.certificate())
                        .clientAuth(TlsConfig.ClientAuth.REQUIRED).build())
                .get("/me", (req, res) -> res.text(TlsInfo.of(req.connection()).peerCertificates().get(0).getSubjectX500Principal().getName()))
                .start();
    }

    @AfterAll
    static void stop() {
        server.close();
        mtls.close();
    }

    @Test
    void httpsWithACustomTrustSendsSniAndAlpnAndReusesTheConnection() throws Exception {
        try (HttpClient c = HttpClient.builder().tls(TlsConfig.client().trust(CA.certificate()).build()).build()) {
            String url = "https://localhost:" + server.httpsPort() + "/who";
            String first = c.get(url).bodyString();
            assertTrue(first.startsWith("sni=localhost alpn=http/1.1 "), first);
            assertEquals(first, c.get(url).bodyString(), "the same TLS connection again");
        }
    }

    @Test
    void anUntrustedCertificateFailsTheConnect() {
        try (HttpClient c = HttpClient.create()) {
            HttpConnectException e = assertThrows(HttpConnectException.class,
                    () -> c.get("https://localhost:" + server.httpsPort() + "/who"));
            assertTrue(e.getCause() instanceof SSLException, "cause " + e.getCause());
        }
    }

    @Test
    void aCertificateForAnotherHostFailsHostNameVerification() {
        try (HttpClient c = HttpClient.builder().tls(TlsConfig.client().trust(CA.certificate()).build()).build()) {
            HttpConnectException e = assertThrows(HttpConnectException.class,
                    () -> c.get("https://127.0.0.1:" + server.httpsPort() + "/who"));
            assertTrue(e.getCause() instanceof SSLException, "cause " + e.getCause());
        }
    }

    @Test
    void aClientCertificateIsPresentedWhenTheServerAsks() throws Exception {
        String url = "https://localhost:" + mtls.httpsPort() + "/me";
        try (HttpClient c = HttpClient.builder().tls(TlsConfig.client().trust(CA.certificate()).certificate(CLIENT).build()).build()) {
            assertEquals("CN=the client", c.get(url).bodyString());
        }
        try (HttpClient c = HttpClient.builder().tls(TlsConfig.client().trust(CA.certificate()).build()).build()) {
            assertThrows(HttpClientException.class, () -> c.get(url));
        }
    }

    @Test
    void aTlsHandshakeThatNeverEndsHitsTheTlsTimeout() throws Exception {
        try (RawServer s = new RawServer(conn -> conn.in.readAllBytes()); // reads the ClientHello, answers nothing
             HttpClient c = HttpClient.builder().tlsHandshakeTimeout(Duration.ofMillis(300)).build()) {
            HttpTimeoutException e = assertThrows(HttpTimeoutException.class, () -> c.get("https://127.0.0.1:" + s.port() + "/"));
            assertEquals(HttpTimeoutException.Phase.TLS, e.phase());
        }
    }

    @Test
    void opensslSServerAnswersOverTls(@TempDir Path dir) throws Exception {
        SelfSignedCertificate.PemFiles pem = LOCALHOST.writeTo(dir);
        int port;
        try (var ss = new java.net.ServerSocket(0, 1, java.net.InetAddress.getByName("127.0.0.1"))) {
            port = ss.getLocalPort();
        }
        Process p = new ProcessBuilder("openssl", "s_server", "-accept", "127.0.0.1:" + port, "-cert", pem.certificate().toString(),
                "-key", pem.privateKey().toString(), "-www", "-quiet")
                .redirectErrorStream(true).redirectOutput(dir.resolve("openssl.log").toFile()).start();
        try (HttpClient c = HttpClient.builder().tls(TlsConfig.client().trust(CA.certificate()).build()).build()) {
            PeersTest.awaitPort(port, p);
            HttpResponse r = c.get("https://localhost:" + port + "/");
            assertEquals(200, r.status());
            assertEquals("HTTP/1.0", r.version());
            assertTrue(r.bodyString().contains("Ciphers supported in s_server binary"), r.bodyString());
            assertEquals(0, c.stats().open(), "an HTTP/1.0 close-delimited response is not pooled");
        } finally {
            p.destroy();
            p.waitFor(5, TimeUnit.SECONDS);
        }
    }
}
