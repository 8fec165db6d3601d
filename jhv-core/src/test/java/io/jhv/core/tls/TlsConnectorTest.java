package io.jhv.core.tls;

import io.jhv.core.loop.EventLoop;
import io.jhv.core.net.Connection;
import io.jhv.core.net.Connector;
import io.jhv.core.net.TcpServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import javax.net.ssl.SSLHandshakeException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Connector over TLS against a jhv TLS server: SNI from the host name, ALPN, handshake failures. */
@Timeout(30)
class TlsConnectorTest {

    @Test
    void sniAndAlpnAreNegotiatedAndVisibleWhenTheFutureCompletes() throws Exception {
        CompletableFuture<String> serverSni = new CompletableFuture<>();
        EventLoop loop = EventLoop.create().start();
        try (TcpServer server = TcpServer.create("127.0.0.1", 0).threads(1)
                .tls(TlsTestSupport.server().alpn("h2", "http/1.1").build())
                .onConnection(c -> { if (c.isConnected()) serverSni.complete(String.valueOf(TlsInfo.of(c).sniHostName())); })
                .onMessage((c, b) -> c.write(b))
                .start()) {
            CompletableFuture<String> echoed = new CompletableFuture<>();
            Connector connector = Connector.create()
                    .tls(TlsTestSupport.client().alpn("h2").build())
                    .onMessage((c, b) -> echoed.complete(b.readString()));
            CompletableFuture<Connection> f = connector.connect(loop, "localhost", server.port());
            Connection c = f.get(10, TimeUnit.SECONDS);
            // read on the loop: the connection is loop-confined
            String alpn = loop.submit(() -> TlsInfo.of(c).applicationProtocol() + " " + TlsInfo.of(c).isHandshakeComplete()).get();
            assertEquals("h2 true", alpn);
            assertEquals("localhost", serverSni.get(5, TimeUnit.SECONDS));
            c.write("over tls");
            assertEquals("over tls", echoed.get(5, TimeUnit.SECONDS));
            c.close();
        } finally {
            loop.close();
        }
    }

    @Test
    void anIpLiteralSendsNoSni() throws Exception {
        CompletableFuture<String> serverSni = new CompletableFuture<>();
        EventLoop loop = EventLoop.create().start();
        try (TcpServer server = TcpServer.create("127.0.0.1", 0).threads(1)
                .tls(TlsTestSupport.server().build())
                .onConnection(c -> { if (c.isConnected()) serverSni.complete(TlsInfo.of(c).sniHostName()); })
                .start()) {
            Connection c = Connector.create().tls(TlsTestSupport.client().build())
                    .connect(loop, "127.0.0.1", server.port()).get(10, TimeUnit.SECONDS);
            assertNull(serverSni.get(5, TimeUnit.SECONDS));
            c.close();
        } finally {
            loop.close();
        }
    }

    @Test
    void anUntrustedServerFailsTheFutureWithAHandshakeError() throws Exception {
        EventLoop loop = EventLoop.create().start();
        SelfSignedCertificate stranger = SelfSignedCertificate.builder().hosts("localhost").build(); // not from the test CA
        AtomicInteger up = new AtomicInteger();
        try (TcpServer server = TcpServer.create("127.0.0.1", 0).threads(1)
                .tls(TlsConfig.server().certificate(stranger).build()).start()) {
            CompletableFuture<Connection> f = Connector.create().tls(TlsTestSupport.client().build())
                    .onConnection(c -> { if (c.isConnected()) up.incrementAndGet(); })
                    .connect(loop, "localhost", server.port());
            ExecutionException e = assertThrows(ExecutionException.class, () -> f.get(10, TimeUnit.SECONDS));
            SSLHandshakeException h = assertInstanceOf(SSLHandshakeException.class, e.getCause());
            assertTrue(h.getMessage().contains("localhost:" + server.port()), h.getMessage());
            assertEquals(0, up.get());
            assertTrue(loop.isRunning());
        } finally {
            loop.close();
        }
    }
}
