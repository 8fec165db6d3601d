package io.jhv.core.tls;

import io.jhv.core.net.TcpServer;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.time.Instant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link TlsConfig.Builder#trustAll()}: a testing client accepts a certificate nobody vouches for, for
 * another host name, even an expired one, while the default client still refuses the same server.
 */
@Timeout(60)
class TlsTrustAllTest {

    @Test
    void trustAllAcceptsUntrustedCertificatesForOtherHosts() throws Exception {
        // self-signed (no CA the client knows), issued for a name the client does not connect to
        SelfSignedCertificate stranger = SelfSignedCertificate.builder().subject("CN=elsewhere.test").hosts("elsewhere.test").build();
        try (TcpServer server = TlsTestSupport.echoServer(TlsConfig.server().certificate(stranger).build())) {
            TlsTestSupport.Exchange refused = TlsTestSupport.exchange("localhost", server.port(), TlsConfig.client().build(), "hi");
            assertEquals("", refused.received(), "the default client must refuse the stranger's certificate");
            assertTrue(refused.closeCause().detail().contains("not trusted"), refused.closeCause().detail());

            TlsConfig insecure = TlsConfig.client().trustAll().build();
            assertFalse(insecure.verifyHostname(), "trustAll turns host name verification off");
            TlsTestSupport.Exchange e = TlsTestSupport.exchange("localhost", server.port(), insecure, "hi over an unverified channel");
            assertEquals("hi over an unverified channel", e.received(), "closed: " + e.closeCause());
            assertTrue(e.peerSubject().contains("elsewhere.test"), e.peerSubject());
            // by IP literal too (no SNI, no host name to match)
            e = TlsTestSupport.exchange("127.0.0.1", server.port(), insecure, "by address");
            assertEquals("by address", e.received(), "closed: " + e.closeCause());
        }
    }

    @Test
    void trustAllAcceptsAnExpiredCertificate() throws Exception {
        Instant now = Instant.now();
        SelfSignedCertificate expired = SelfSignedCertificate.builder().hosts("localhost")
                .notBefore(now.minus(Duration.ofDays(10))).notAfter(now.minus(Duration.ofDays(1))).build();
        try (TcpServer server = TlsTestSupport.echoServer(TlsConfig.server().certificate(expired).build())) {
            TlsConfig trustAll = TlsConfig.client().trustAll().build();
            assertTrue(trustAll.toString().contains("TRUSTS ANY CERTIFICATE"), "a trust-all config says so when printed: " + trustAll);
            TlsTestSupport.Exchange e = TlsTestSupport.exchange("localhost", server.port(), trustAll, "late");
            assertEquals("late", e.received(), "closed: " + e.closeCause());
        }
    }

    @Test
    void trustAllRefusesContradictorySettings() {
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> TlsConfig.client().trustAll().trust(TlsTestSupport.CA.certificate()).build());
        assertTrue(e.getMessage().contains("trustAll"), e.getMessage());
        e = assertThrows(IllegalStateException.class, () -> TlsConfig.client().trustAll().verifyHostname(true).build());
        assertTrue(e.getMessage().contains("host name"), e.getMessage());
        e = assertThrows(IllegalStateException.class,
                () -> TlsConfig.server().certificate(TlsTestSupport.LOCALHOST).trustAll().build());
        assertTrue(e.getMessage().contains("client setting"), e.getMessage());
    }
}
