package io.jhv.core.tls;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.cert.CertificateExpiredException;
import java.security.cert.X509Certificate;
import java.security.interfaces.ECPublicKey;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

@Timeout(30)
class SelfSignedCertificateTest {
    @TempDir
    Path dir;

    static Set<String> sans(X509Certificate c) throws Exception {
        return c.getSubjectAlternativeNames().stream().map(l -> l.get(0) + ":" + l.get(1)).collect(Collectors.toSet());
    }

    @Test
    void localhostCertificate() throws Exception {
        SelfSignedCertificate dev = SelfSignedCertificate.generate("localhost");
        X509Certificate c = dev.certificate();
        assertEquals(3, c.getVersion());
        assertEquals("SHA256withECDSA", c.getSigAlgName());
        assertEquals("CN=localhost", c.getSubjectX500Principal().getName());
        assertEquals(c.getSubjectX500Principal(), c.getIssuerX500Principal());
        assertEquals(256, ((ECPublicKey) c.getPublicKey()).getParams().getCurve().getField().getFieldSize());
        c.verify(c.getPublicKey()); // self-signed: its own key signed it
        c.checkValidity();
        assertEquals(Set.of("2:localhost", "7:127.0.0.1", "7:0:0:0:0:0:0:0:1"), sans(c));
        assertEquals(-1, c.getBasicConstraints(), "not a CA");
        assertTrue(c.getKeyUsage()[0], "digitalSignature");
        assertEquals(List.of("1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"), c.getExtendedKeyUsage());
        assertTrue(c.getNotAfter().toInstant().isAfter(Instant.now().plus(360, ChronoUnit.DAYS)));
        assertEquals(16, c.getSerialNumber().toByteArray().length);
        assertEquals(List.of(c), dev.chain());
    }

    @Test
    void caSignedChainVerifiesAndValidityIsAsAsked() throws Exception {
        SelfSignedCertificate ca = TlsTestSupport.CA;
        assertTrue(ca.certificate().getBasicConstraints() >= 0, "CA:true");
        assertTrue(ca.certificate().getKeyUsage()[5], "keyCertSign");
        Instant from = Instant.parse("2020-01-01T00:00:00Z"), until = Instant.parse("2020-06-01T00:00:00Z");
        SelfSignedCertificate old = SelfSignedCertificate.builder().hosts("old.test", "10.1.2.3").issuer(ca).rsa()
                .notBefore(from).notAfter(until).build();
        X509Certificate c = old.certificate();
        c.verify(ca.certificate().getPublicKey());
        assertEquals("SHA256withECDSA", c.getSigAlgName(), "signed by the EC CA");
        assertEquals("RSA", c.getPublicKey().getAlgorithm());
        assertEquals(from, c.getNotBefore().toInstant());
        assertEquals(until, c.getNotAfter().toInstant());
        assertThrows(CertificateExpiredException.class, c::checkValidity);
        assertEquals(Set.of("2:old.test", "7:10.1.2.3"), sans(c));
        assertEquals(List.of(c, ca.certificate()), old.chain());
        assertNotNull(c.getExtensionValue("2.5.29.35"), "authority key identifier");
        // years from 2050 on are GeneralizedTime
        SelfSignedCertificate far = SelfSignedCertificate.builder().notAfter(Instant.parse("2060-01-01T00:00:00Z")).build();
        assertEquals(Instant.parse("2060-01-01T00:00:00Z"), far.certificate().getNotAfter().toInstant());
    }

    @Test
    void writesPemFilesThatLoadBackAndOpensslAccepts() throws Exception {
        SelfSignedCertificate dev = SelfSignedCertificate.generate();
        SelfSignedCertificate.PemFiles files = dev.writeTo(dir.resolve("out"));
        assertEquals(dir.resolve("out/cert.pem"), files.certificate());
        assertEquals(dir.resolve("out/key.pem"), files.privateKey());
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(files.privateKey())));
        assertEquals(dev.certificate(), Pem.readCertificates(files.certificate()).get(0));
        assertEquals(dev.privateKey(), Pem.readPrivateKey(files.privateKey()));
        assertFalse(Files.exists(dir.resolve("out/key.pem.tmp")));
        assumeTrue(OpenSslInteropTest.hasOpenssl());
        Process p = new ProcessBuilder("openssl", "x509", "-in", files.certificate().toString(), "-noout", "-text")
                .redirectErrorStream(true).start();
        String text = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(10, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), text);
        assertTrue(text.contains("DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1"), text);
        assertTrue(text.contains("ecdsa-with-SHA256"), text);
        assertTrue(text.contains("CA:FALSE"), text);
    }

    @Test
    void badArguments() {
        assertThrows(IllegalArgumentException.class, () -> SelfSignedCertificate.builder()
                .notBefore(Instant.now()).notAfter(Instant.now().minusSeconds(5)).build());
    }
}
