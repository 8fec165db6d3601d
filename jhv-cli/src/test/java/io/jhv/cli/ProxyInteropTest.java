package io.jhv.cli;

import io.jhv.core.loop.EventLoop;
import io.jhv.core.net.Connection;
import io.jhv.core.net.Connector;
import io.jhv.core.net.Proxy;
import io.jhv.core.net.ProxyException;
import io.jhv.core.net.TcpServer;
import io.jhv.core.tls.SelfSignedCertificate;
import io.jhv.core.tls.TlsConfig;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** jhv's own client side ({@code Connector.proxy}) through {@code hv proxy http} and {@code hv proxy socks5}, TLS inside the tunnel. */
@Timeout(30)
class ProxyInteropTest {
    final ProxyFixture fx = new ProxyFixture();
    EventLoop loop;
    TcpServer tlsEcho;
    SelfSignedCertificate cert;

    @BeforeEach
    void start() {
        loop = fx.add(EventLoop.builder().name("interop-client").build().start());
        cert = SelfSignedCertificate.generate("localhost");
        tlsEcho = fx.add(TcpServer.create("127.0.0.1", 0).threads(1).tls(TlsConfig.server().certificate(cert).build())
                .onMessage((c, buf) -> c.write(buf)).start());
    }

    @AfterEach
    void close() {
        fx.close();
    }

    /** Connects through {@code proxy} to the TLS echo server by name, verifies its certificate, echoes once. */
    private String echoThrough(Proxy proxy) throws Exception {
        CompletableFuture<String> got = new CompletableFuture<>();
        Connector c = Connector.create().proxy(proxy).connectTimeout(Duration.ofSeconds(5))
                .tls(TlsConfig.client().trust(cert.certificate()).build())
                .onMessage((conn, buf) -> got.complete(buf.readString()));
        Connection conn = c.connect(loop, "localhost", tlsEcho.port()).get(10, TimeUnit.SECONDS);
        try {
            assertTrue(conn.isSecure());
            conn.write("ping " + proxy.type());
            return got.get(10, TimeUnit.SECONDS);
        } finally {
            conn.close();
        }
    }

    private static ProxyException failure(CompletableFuture<?> f) {
        ExecutionException e = assertThrows(ExecutionException.class, () -> f.get(10, TimeUnit.SECONDS));
        return assertInstanceOf(ProxyException.class, e.getCause(), String.valueOf(e.getCause()));
    }

    @Test
    void connectorThroughHttpConnect() throws Exception {
        ProxyCommand.Running p = fx.proxy("http", "--listen", "127.0.0.1:0", "--threads", "1", "--user", "u", "--password", "p");
        assertEquals("ping HTTP", echoThrough(Proxy.http("127.0.0.1", p.port).withCredentials("u", "p")));
        ProxyException e = failure(Connector.create().proxy(Proxy.http("127.0.0.1", p.port).withCredentials("u", "bad"))
                .connect(loop, "localhost", tlsEcho.port()));
        assertEquals(407, e.replyCode());
    }

    /** jhv's HttpClient with an HTTP proxy: absolute-form http:// requests, https:// through CONNECT. */
    @Test
    void httpClientThroughTheHttpProxy() throws Exception {
        io.jhv.http.server.HttpServer origin = fx.add(io.jhv.http.server.HttpServer.create("127.0.0.1", 0).threads(1)
                .https("127.0.0.1", 0, TlsConfig.server().certificate(cert).build())
                .get("/hello", (req, res) -> res.text("hello " + (req.connection().isSecure() ? "https" : "http") + " " + req.target()))
                .post("/echo", (req, res) -> res.bytes(req.body()))
                .start());
        ProxyCommand.Running p = fx.proxy("http", "--listen", "127.0.0.1:0", "--threads", "1", "--user", "u", "--password", "p");
        try (io.jhv.http.client.HttpClient client = io.jhv.http.client.HttpClient.builder()
                .proxy(Proxy.http("127.0.0.1", p.port).withCredentials("u", "p"))
                .tls(TlsConfig.client().trust(cert.certificate()).build())
                .build()) {
            for (int i = 0; i < 3; i++) { // the proxy closes after each response: the client opens a new connection
                io.jhv.http.client.HttpResponse r = client.get("http://127.0.0.1:" + origin.port() + "/hello?i=" + i);
                assertEquals(200, r.status());
                assertEquals("hello http /hello?i=" + i, r.bodyString());
            }
            byte[] body = new byte[2 << 20];
            new java.util.Random(5).nextBytes(body);
            io.jhv.http.client.HttpResponse r = client.post("http://127.0.0.1:" + origin.port() + "/echo", body);
            assertEquals(200, r.status());
            org.junit.jupiter.api.Assertions.assertArrayEquals(body, r.body());
            r = client.get("https://localhost:" + origin.httpsPort() + "/hello");
            assertEquals("hello https /hello", r.bodyString());
        }
        try (io.jhv.http.client.HttpClient client = io.jhv.http.client.HttpClient.builder()
                .proxy(Proxy.http("127.0.0.1", p.port)).build()) {
            assertEquals(407, client.get("http://127.0.0.1:" + origin.port() + "/hello").status());
        }
    }

    @Test
    void connectorThroughSocks5() throws Exception {
        ProxyCommand.Running p = fx.proxy("socks5", "--listen", "127.0.0.1:0", "--threads", "1", "--user", "u", "--password", "p",
                "--deny", "*:1");
        Proxy socks = Proxy.socks5("127.0.0.1", p.port).withCredentials("u", "p");
        assertEquals("ping SOCKS5", echoThrough(socks));
        assertEquals("ping SOCKS5", echoThrough(socks.withLocalResolution(true)), "an IPv4 address instead of the name");
        failure(Connector.create().proxy(Proxy.socks5("127.0.0.1", p.port).withCredentials("u", "bad"))
                .connect(loop, "localhost", tlsEcho.port()));
        ProxyException denied = failure(Connector.create().proxy(socks).connect(loop, "localhost", 1));
        assertEquals(2, denied.replyCode(), "not allowed by the rules");
    }
}
