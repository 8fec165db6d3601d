package io.jhv.core.tls;

import io.jhv.core.net.TcpServer;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.List;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** A server with several certificates picks one by the client's SNI host name; the first is the default. */
@Timeout(20)
class SniTest {
    static final SelfSignedCertificate A = SelfSignedCertificate.builder().subject("CN=a.test").hosts("a.test")
            .issuer(TlsTestSupport.CA).build();
    static final SelfSignedCertificate B = SelfSignedCertificate.builder().subject("CN=b.test").hosts("b.test").rsa()
            .issuer(TlsTestSupport.CA).build();
    static final SelfSignedCertificate WILD = SelfSignedCertificate.builder().subject("CN=wild").hosts("*.c.test")
            .issuer(TlsTestSupport.CA).build();

    static TcpServer server() {
        return TlsTestSupport.echoServer(TlsConfig.server().certificate(A).certificate(B).certificate(WILD).build());
    }

    @Test
    void jhvClientGetsTheCertificateForTheNameItSends() throws Exception {
        try (TcpServer server = server()) {
            for (String name : List.of("a.test", "b.test", "x.c.test")) {
                TlsTestSupport.Exchange e = TlsTestSupport.exchange("127.0.0.1", server.port(),
                        TlsTestSupport.client().serverName(name).build(), "hello " + name);
                assertEquals("hello " + name, e.received(), String.valueOf(e.closeCause()));
                String expected = name.equals("x.c.test") ? "CN=wild" : "CN=" + name;
                assertEquals(expected, e.peerSubject(), "certificate for " + name);
            }
        }
    }

    @Test
    void unknownOrMissingNameGetsTheDefault() throws Exception {
        try (TcpServer server = server()) {
            TlsTestSupport.Exchange e = TlsTestSupport.exchange("127.0.0.1", server.port(),
                    TlsTestSupport.client().serverName("nobody.test").verifyHostname(false).build(), "x");
            assertEquals("CN=a.test", e.peerSubject());
            // Connecting to an IP literal sends no SNI at all.
            e = TlsTestSupport.exchange("127.0.0.1", server.port(), TlsTestSupport.client().verifyHostname(false).build(), "y");
            assertEquals("CN=a.test", e.peerSubject());
        }
    }

    @Test
    void jdkClientSni() throws Exception {
        try (TcpServer server = server();
             SSLSocket s = TlsTestSupport.jdkClient(server.port(), TlsTestSupport.client().build())) {
            SSLParameters p = s.getSSLParameters();
            p.setServerNames(List.of(new SNIHostName("b.test")));
            p.setProtocols(new String[] {"TLSv1.2"});
            s.setSSLParameters(p);
            s.startHandshake();
            java.security.cert.X509Certificate leaf = (java.security.cert.X509Certificate) s.getSession().getPeerCertificates()[0];
            assertEquals("CN=b.test", leaf.getSubjectX500Principal().getName());
            assertEquals("RSA", leaf.getPublicKey().getAlgorithm());
        }
    }
}
