package io.jhv.core.tls;

import io.jhv.core.net.CloseCause;
import io.jhv.core.net.TcpServer;

import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Mutual TLS: the server requires a client certificate issued by its trusted CA. */
@Timeout(20)
class MutualTlsTest {
    static final SelfSignedCertificate CLIENT = SelfSignedCertificate.builder().subject("CN=client one")
            .issuer(TlsTestSupport.CA).build();
    static final SelfSignedCertificate STRANGER = SelfSignedCertificate.builder().subject("CN=stranger").build();

    private final AtomicInteger up = new AtomicInteger();
    private final CompletableFuture<CloseCause> serverClose = new CompletableFuture<>();
    private final CompletableFuture<String> serverPeer = new CompletableFuture<>();

    private TcpServer server(TlsConfig.ClientAuth auth) {
        return TcpServer.create("127.0.0.1", 0).threads(1)
                .tls(TlsTestSupport.server().clientAuth(auth).trust(TlsTestSupport.CA.certificate()).build())
                .onConnection(c -> {
                    if (!c.isConnected()) return;
                    up.incrementAndGet();
                    var peer = TlsInfo.of(c).peerCertificates();
                    serverPeer.complete(peer.isEmpty() ? "none" : peer.get(0).getSubjectX500Principal().getName());
                })
                .onMessage((c, b) -> c.write(b))
                .onClose((c, cause) -> serverClose.complete(cause))
                .start();
    }

    @ParameterizedTest
    @ValueSource(strings = {"TLSv1.3", "TLSv1.2"})
    void clientWithoutCertificateIsRefused(String protocol) throws Exception {
        try (TcpServer server = server(TlsConfig.ClientAuth.REQUIRED)) {
            TlsTestSupport.Exchange e = TlsTestSupport.exchange("localhost", server.port(),
                    TlsTestSupport.client().protocols(protocol).build(), "let me in");
            assertEquals("", e.received());
            assertNotNull(e.closeCause());
            assertEquals(CloseCause.Kind.ERROR, e.closeCause().kind(), e.closeCause().toString());
            CloseCause sc = serverClose.get(5, TimeUnit.SECONDS);
            assertEquals(CloseCause.Kind.ERROR, sc.kind());
            assertTrue(sc.detail().contains("the client sent no certificate"), sc.detail());
            assertEquals(0, up.get(), "the server never reported the connection up");
            // TLS 1.3 clients finish before the server checks their certificate and learn it from
            // the alert; TLS 1.2 clients fail in the handshake.
            assertTrue(e.closeCause().detail().contains("alert"), e.closeCause().detail());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"TLSv1.3", "TLSv1.2"})
    void clientWithTrustedCertificateIsLetIn(String protocol) throws Exception {
        try (TcpServer server = server(TlsConfig.ClientAuth.REQUIRED)) {
            TlsTestSupport.Exchange e = TlsTestSupport.exchange("localhost", server.port(),
                    TlsTestSupport.client().protocols(protocol).certificate(CLIENT).build(), "it's me");
            assertEquals("it's me", e.received(), String.valueOf(e.closeCause()));
            assertEquals("CN=client one", serverPeer.get(5, TimeUnit.SECONDS));
        }
    }

    @Test
    void clientWithUntrustedCertificateIsRefused() throws Exception {
        try (TcpServer server = server(TlsConfig.ClientAuth.REQUIRED)) {
            TlsTestSupport.Exchange e = TlsTestSupport.exchange("localhost", server.port(),
                    TlsTestSupport.client().certificate(STRANGER).build(), "let me in");
            assertEquals("", e.received());
            CloseCause sc = serverClose.get(5, TimeUnit.SECONDS);
            assertTrue(sc.detail().contains("the client's certificate is not trusted"), sc.detail());
            assertEquals(0, up.get());
            // and the server goes on letting trusted clients in
            e = TlsTestSupport.exchange("localhost", server.port(), TlsTestSupport.client().certificate(CLIENT).build(), "next");
            assertEquals("next", e.received());
        }
    }

    @Test
    void optionalClientAuthLetsAClientWithoutCertificateIn() throws Exception {
        try (TcpServer server = server(TlsConfig.ClientAuth.OPTIONAL)) {
            TlsTestSupport.Exchange e = TlsTestSupport.exchange("localhost", server.port(), TlsTestSupport.client().build(), "anon");
            assertEquals("anon", e.received());
            assertEquals("none", serverPeer.get(5, TimeUnit.SECONDS));
        }
    }

    @Test
    void clientAuthNeedsTrustedCas() {
        IllegalStateException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalStateException.class,
                () -> TlsTestSupport.server().clientAuth(TlsConfig.ClientAuth.REQUIRED).build());
        assertTrue(e.getMessage().contains("trust("), e.getMessage());
    }
}
