package io.jhv.http.websocket;

import io.jhv.core.net.Proxy;
import io.jhv.core.net.ProxyException;
import io.jhv.core.tls.SelfSignedCertificate;
import io.jhv.core.tls.TlsConfig;
import io.jhv.http.server.HttpServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/** WebSocketClient.proxy: ws:// and wss:// through real proxies (tinyproxy, microsocks). */
@Timeout(60)
class WebSocketProxyTest {
    static final SelfSignedCertificate CA = SelfSignedCertificate.builder().subject("CN=ws proxy test CA").ca(true).build();
    static final SelfSignedCertificate LOCALHOST = SelfSignedCertificate.builder().subject("CN=localhost").hosts("localhost").issuer(CA).build();

    @TempDir Path dir;
    private final List<AutoCloseable> toClose = new ArrayList<>();

    @AfterEach
    void stop() throws Exception {
        for (AutoCloseable c : toClose) c.close();
    }

    private static String require(String tool) {
        for (String d : List.of("/usr/bin", "/usr/sbin", "/usr/local/bin")) {
            if (Files.isExecutable(Path.of(d, tool))) return d + "/" + tool;
        }
        return fail(tool + " is not installed: apt-get install " + tool + " (./test installs it)");
    }

    /** Starts {@code cmd} (which listens on {@code port}) and waits until it accepts connections. */
    private int startProxy(List<String> cmd, int port) throws Exception {
        Path log = dir.resolve("proxy-" + port + ".log");
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        toClose.add(0, () -> { p.destroy(); p.waitFor(5, TimeUnit.SECONDS); });
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (System.nanoTime() < deadline && p.isAlive()) {
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress("127.0.0.1", port), 500);
                return port;
            } catch (IOException notYet) {
                Thread.sleep(20); // a starting process: nothing to wait on but its port
            }
        }
        return fail("proxy " + cmd + " did not listen: " + Files.readString(log));
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    private int tinyproxy(String user, String password) throws Exception {
        String bin = require("tinyproxy");
        int port = freePort();
        List<String> conf = new ArrayList<>(List.of("Port " + port, "Listen 127.0.0.1", "Timeout 30", "LogLevel Info"));
        if (user != null) conf.add("BasicAuth " + user + " " + password);
        Path cfg = dir.resolve("tinyproxy.conf");
        Files.write(cfg, conf);
        return startProxy(List.of(bin, "-d", "-c", cfg.toString()), port);
    }

    private int microsocks() throws Exception {
        String bin = require("microsocks");
        int port = freePort();
        return startProxy(List.of(bin, "-i", "127.0.0.1", "-p", String.valueOf(port)), port);
    }

    private HttpServer echo(TlsConfig tls) {
        HttpServer s = HttpServer.create("127.0.0.1", 0).threads(1);
        if (tls != null) s.tls(tls);
        s.ws("/echo", (ws, msg) -> ws.send(msg)).start();
        toClose.add(0, s::close);
        return s;
    }

    private static void roundTrip(WebSocketClient client) throws Exception {
        WebSocketBasicTest.Recorder r = new WebSocketBasicTest.Recorder();
        WebSocket ws = client.handler(r).connect().get(15, TimeUnit.SECONDS);
        try {
            ws.send("through the proxy");
            assertEquals("through the proxy", r.next());
        } finally {
            client.close();
        }
    }

    @Test
    void wssThroughTinyproxyWithCredentials() throws Exception {
        int proxy = tinyproxy("alice", "s3cret");
        HttpServer server = echo(TlsConfig.server().certificate(LOCALHOST).build());
        roundTrip(WebSocketClient.create("wss://localhost:" + server.port() + "/echo")
                .tls(TlsConfig.client().trust(CA.certificate()).build())
                .proxy(Proxy.http("127.0.0.1", proxy).withCredentials("alice", "s3cret")));
    }

    @Test
    void wsThroughMicrosocks() throws Exception {
        int proxy = microsocks();
        HttpServer server = echo(null);
        roundTrip(WebSocketClient.create("ws://localhost:" + server.port() + "/echo").proxy(Proxy.socks5("127.0.0.1", proxy)));
    }

    @Test
    void aRefusingProxyFailsTheConnect() throws Exception {
        int proxy = tinyproxy("alice", "s3cret");
        HttpServer server = echo(null);
        WebSocketClient client = WebSocketClient.create("ws://localhost:" + server.port() + "/echo")
                .proxy(Proxy.http("127.0.0.1", proxy)).handler(new WebSocketBasicTest.Recorder());
        try {
            ExecutionException e = assertThrows(ExecutionException.class, () -> client.connect().get(15, TimeUnit.SECONDS));
            Throwable t = e.getCause();
            while (!(t instanceof ProxyException) && t.getCause() != null) t = t.getCause();
            ProxyException pe = assertInstanceOf(ProxyException.class, t, String.valueOf(e.getCause()));
            assertEquals(407, pe.replyCode());
            assertTrue(pe.getMessage().contains("407"), pe.getMessage());
        } finally {
            client.close();
        }
    }
}
