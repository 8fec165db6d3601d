package io.jhv.http.client;

import io.jhv.core.net.Proxy;
import io.jhv.core.net.ProxyException;
import io.jhv.core.tls.TlsConfig;
import io.jhv.core.tls.TlsInfo;
import io.jhv.http.server.HttpServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Through proxies: a plain HTTP proxy (absolute form), HTTPS through tinyproxy's CONNECT, SOCKS5 through microsocks. */
@Timeout(20)
class ProxyTest {
    static HttpServer server;

    @BeforeAll
    static void start() {
        server = HttpServer.create("127.0.0.1", 0).threads(1)
                .https("127.0.0.1", 0, TlsConfig.server().certificate(TlsTest.LOCALHOST).build())
                .get("/who", (req, res) -> {
                    TlsInfo t = TlsInfo.of(req.connection());
                    res.text((t == null ? "http" : "https sni=" + t.sniHostName()) + " proxyauth=" + req.header("Proxy-Authorization"));
                })
                .start();
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    static Process tinyproxy(Path dir, int port, String user, String password) throws Exception {
        List<String> conf = new ArrayList<>(List.of("Port " + port, "Listen 127.0.0.1", "Timeout 30", "MaxClients 20", "LogLevel Info"));
        if (user != null) conf.add("BasicAuth " + user + " " + password);
        Path cfg = dir.resolve("tinyproxy.conf");
        Files.write(cfg, conf);
        Process p = new ProcessBuilder("tinyproxy", "-d", "-c", cfg.toString()).redirectErrorStream(true)
                .redirectOutput(dir.resolve("tinyproxy.log").toFile()).start();
        PeersTest.awaitPort(port, p);
        return p;
    }

    static void stop(Process p) throws InterruptedException {
        p.destroy();
        p.waitFor(5, TimeUnit.SECONDS);
    }

    @Test
    void aPlainHttpProxyGetsAbsoluteFormRequestsWithProxyAuthorization() throws Exception {
        try (RawServer proxy = new RawServer(c -> {
            String h;
            while ((h = c.readHead()) != null) {
                String body = h.substring(0, h.indexOf("\r\n")) + "|" + (h.contains("Proxy-Authorization: Basic Ym9iOnB3\r\n") ? "auth" : "noauth");
                c.write("HTTP/1.1 200 OK\r\nContent-Length: " + body.length() + "\r\n\r\n" + body);
            }
        }); HttpClient client = HttpClient.builder().proxy(HttpProxy.http("127.0.0.1", proxy.port()).withCredentials("bob", "pw")).build()) {
            assertEquals("GET http://example.test:8080/a?b=1 HTTP/1.1|auth", client.get("http://example.test:8080/a?b=1").bodyString());
            assertEquals("GET http://example.test/x HTTP/1.1|auth", client.get("http://example.test/x").bodyString());
            assertEquals("GET http://example.test:8080/c HTTP/1.1|auth", client.get("http://example.test:8080/c").bodyString());
            assertEquals(2, proxy.connections.get(), "a pooled connection to the proxy per origin");
        }
    }

    @Test
    void httpsGoesThroughTinyproxyWithConnectAndPlainHttpInAbsoluteForm(@TempDir Path dir) throws Exception {
        int port = PeersTest.freePort();
        Process tp = tinyproxy(dir, port, "bob", "pw");
        try (HttpClient c = HttpClient.builder().proxy(Proxy.http("127.0.0.1", port).withCredentials("bob", "pw"))
                .tls(TlsConfig.client().trust(TlsTest.CA.certificate()).build()).build()) {
            assertEquals("https sni=localhost proxyauth=null", c.get("https://localhost:" + server.httpsPort() + "/who").bodyString(),
                    "credentials go on the CONNECT only, never to the origin");
            assertEquals("https sni=localhost proxyauth=null", c.get("https://localhost:" + server.httpsPort() + "/who").bodyString());
            assertEquals(1, c.stats().open(), "the tunnelled connection is pooled");
            String plain = c.get("http://127.0.0.1:" + server.port() + "/who").bodyString();
            assertTrue(plain.startsWith("http proxyauth="), plain); // tinyproxy strips Proxy-Authorization
        } finally {
            stop(tp);
        }
    }

    @Test
    void aProxyRefusingCredentialsFailsWithItsStatus(@TempDir Path dir) throws Exception {
        int port = PeersTest.freePort();
        Process tp = tinyproxy(dir, port, "bob", "pw");
        try (HttpClient c = HttpClient.builder().proxy(Proxy.http("127.0.0.1", port))
                .tls(TlsConfig.client().trust(TlsTest.CA.certificate()).build()).build()) {
            HttpConnectException e = assertThrows(HttpConnectException.class, () -> c.get("https://localhost:" + server.httpsPort() + "/who"));
            assertTrue(e.getCause() instanceof ProxyException, "cause " + e.getCause());
            assertEquals(407, ((ProxyException) e.getCause()).replyCode());
            assertEquals(407, c.get("http://127.0.0.1:" + server.port() + "/who").status(), "a plain request gets the proxy's answer");
        } finally {
            stop(tp);
        }
    }

    @Test
    void socks5ThroughMicrosocksCarriesHttpAndHttps(@TempDir Path dir) throws Exception {
        int port = PeersTest.freePort();
        Process ms = new ProcessBuilder("microsocks", "-i", "127.0.0.1", "-p", Integer.toString(port), "-u", "bob", "-P", "pw")
                .redirectErrorStream(true).redirectOutput(dir.resolve("ms.log").toFile()).start();
        try (HttpClient c = HttpClient.builder().proxySelector((scheme, host, p) -> Proxy.socks5("127.0.0.1", port).withCredentials("bob", "pw"))
                .tls(TlsConfig.client().trust(TlsTest.CA.certificate()).build()).build()) {
            PeersTest.awaitPort(port, ms);
            assertEquals("http proxyauth=null", c.get("http://127.0.0.1:" + server.port() + "/who").bodyString());
            assertEquals("https sni=localhost proxyauth=null", c.get("https://localhost:" + server.httpsPort() + "/who").bodyString());
        } finally {
            stop(ms);
        }
    }

    @Test
    void aSelectorAnsweringNoneConnectsDirectly() throws Exception {
        try (HttpClient c = HttpClient.builder().proxySelector((scheme, host, p) -> host.equals("127.0.0.1") ? Proxy.NONE
                : Proxy.http("127.0.0.1", 9)).build()) {
            assertEquals("http proxyauth=null", c.get("http://127.0.0.1:" + server.port() + "/who").bodyString());
        }
    }
}
