package io.jhv.core.tls;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PrivateKey;
import java.security.interfaces.ECPrivateKey;
import java.security.interfaces.RSAPrivateCrtKey;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** PEM certificates and keys in every supported form, and the messages for bad files. */
@Timeout(30)
class PemTest {
    static final SelfSignedCertificate EC = SelfSignedCertificate.generate("localhost");
    static final SelfSignedCertificate RSA = SelfSignedCertificate.builder().hosts("localhost").rsa().build();

    @TempDir
    Path dir;

    private Path write(String name, String text) throws Exception {
        Path p = dir.resolve(name);
        Files.writeString(p, text, StandardCharsets.US_ASCII);
        return p;
    }

    private String openssl(String... args) throws Exception {
        assumeTrue(OpenSslInteropTest.hasOpenssl(), "openssl is not installed");
        List<String> cmd = new java.util.ArrayList<>(List.of("openssl"));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(20, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), String.join(" ", cmd) + ": " + out);
        return out;
    }

    /** The key in {@code keyFile} loads and is accepted as the key of {@code cert} by a TLS config. */
    private PrivateKey assertLoads(SelfSignedCertificate cert, Path keyFile, String expectedLabel) throws Exception {
        String text = Files.readString(keyFile);
        assertTrue(text.contains("-----BEGIN " + expectedLabel + "-----"), text);
        PrivateKey k = Pem.readPrivateKey(keyFile);
        if (k instanceof ECPrivateKey ec) {
            assertEquals(((ECPrivateKey) cert.privateKey()).getS(), ec.getS(), "same EC key");
        } else {
            RSAPrivateCrtKey want = (RSAPrivateCrtKey) cert.privateKey(), got = (RSAPrivateCrtKey) k;
            assertEquals(want.getModulus(), got.getModulus(), "same RSA key");
            assertEquals(want.getPrivateExponent(), got.getPrivateExponent(), "same RSA key");
        }
        Path certFile = write("cert-" + keyFile.getFileName(), cert.certificatePem());
        TlsConfig.server().certificate(certFile, keyFile).build();
        return k;
    }

    // ---------------------------------------------------------------- forms, with our own DER code

    @Test
    void pkcs8EcAndRsa() throws Exception {
        assertTrue(assertLoads(EC, write("ec8.pem", EC.privateKeyPem()), "PRIVATE KEY") instanceof ECPrivateKey);
        assertTrue(assertLoads(RSA, write("rsa8.pem", RSA.privateKeyPem()), "PRIVATE KEY") instanceof RSAPrivateCrtKey);
    }

    /** PKCS#1: the RSAPrivateKey inside the PKCS#8 OCTET STRING. */
    static byte[] toPkcs1(byte[] pkcs8) throws Exception {
        Der.Reader r = new Der.Reader(pkcs8).expect(Der.SEQUENCE, "info").contents();
        r.expect(Der.INTEGER, "version");
        r.expect(Der.SEQUENCE, "alg");
        return r.expect(Der.OCTET_STRING, "key").content();
    }

    /** SEC1 with the [0] curve parameters, as OpenSSL writes it. */
    static byte[] toSec1(byte[] pkcs8) throws Exception {
        Der.Reader r = new Der.Reader(pkcs8).expect(Der.SEQUENCE, "info").contents();
        r.expect(Der.INTEGER, "version");
        Der.Reader alg = r.expect(Der.SEQUENCE, "alg").contents();
        alg.expect(Der.OID, "ecPublicKey");
        String curve = alg.expect(Der.OID, "curve").oid();
        Der.Reader sec1 = new Der.Reader(r.expect(Der.OCTET_STRING, "key").content()).expect(Der.SEQUENCE, "ECPrivateKey").contents();
        sec1.expect(Der.INTEGER, "version");
        byte[] d = sec1.expect(Der.OCTET_STRING, "d").content();
        byte[] pub = null;
        while (sec1.hasMore()) {
            sec1.next();
            if (sec1.tag == 0xa1) pub = sec1.encoded();
        }
        byte[] params = Der.explicit(0, Der.oid(curve));
        return pub == null ? Der.seq(Der.integer(1), Der.octetString(d), params)
                : Der.seq(Der.integer(1), Der.octetString(d), params, pub);
    }

    @Test
    void pkcs1RsaAndSec1EcWithOurOwnEncoding() throws Exception {
        assertLoads(RSA, write("rsa1.pem", Pem.encode("RSA PRIVATE KEY", toPkcs1(RSA.privateKey().getEncoded()))), "RSA PRIVATE KEY");
        assertLoads(EC, write("sec1.pem", Pem.encode("EC PRIVATE KEY", toSec1(EC.privateKey().getEncoded()))), "EC PRIVATE KEY");
    }

    // ---------------------------------------------------------------- forms, as openssl writes them

    @Test
    void traditionalFormsFromOpenssl() throws Exception {
        write("rsa8.pem", RSA.privateKeyPem());
        write("ec8.pem", EC.privateKeyPem());
        openssl("rsa", "-in", "rsa8.pem", "-traditional", "-out", "rsa1.pem");
        openssl("ec", "-in", "ec8.pem", "-out", "sec1.pem");
        assertLoads(RSA, dir.resolve("rsa1.pem"), "RSA PRIVATE KEY");
        assertLoads(EC, dir.resolve("sec1.pem"), "EC PRIVATE KEY");
        // and the other way: openssl reads what we write
        assertTrue(openssl("pkey", "-in", "ec8.pem", "-noout", "-text").contains("prime256v1")
                || openssl("pkey", "-in", "ec8.pem", "-noout", "-text").contains("P-256"));
    }

    /** `openssl ecparam -genkey` writes an EC PARAMETERS block before the key; both keys and certs made by openssl load. */
    @Test
    void opensslGeneratedKeysAndCertificates() throws Exception {
        openssl("ecparam", "-name", "secp384r1", "-genkey", "-out", "ec384.pem");
        openssl("req", "-x509", "-key", "ec384.pem", "-subj", "/CN=localhost", "-days", "2", "-out", "ec384-cert.pem");
        assertTrue(Files.readString(dir.resolve("ec384.pem")).contains("BEGIN EC PARAMETERS"));
        TlsConfig.server().certificate(dir.resolve("ec384-cert.pem"), dir.resolve("ec384.pem")).build();

        openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", "rsa.pem");
        openssl("rsa", "-in", "rsa.pem", "-traditional", "-out", "rsa-trad.pem");
        openssl("req", "-x509", "-key", "rsa.pem", "-subj", "/CN=localhost", "-days", "2", "-out", "rsa-cert.pem");
        TlsConfig.server().certificate(dir.resolve("rsa-cert.pem"), dir.resolve("rsa.pem")).build();
        TlsConfig.server().certificate(dir.resolve("rsa-cert.pem"), dir.resolve("rsa-trad.pem")).build();

        openssl("genpkey", "-algorithm", "ED25519", "-out", "ed.pem");
        openssl("req", "-x509", "-key", "ed.pem", "-subj", "/CN=localhost", "-days", "2", "-out", "ed-cert.pem");
        assertEquals("EdDSA", Pem.readPrivateKey(dir.resolve("ed.pem")).getAlgorithm());
        TlsConfig.server().certificate(dir.resolve("ed-cert.pem"), dir.resolve("ed.pem")).build();
    }

    // ---------------------------------------------------------------- bad files

    private static String fails(Class<? extends RuntimeException> type, org.junit.jupiter.api.function.Executable e) {
        String m = assertThrows(type, e).getMessage();
        System.out.println(m);
        return m;
    }

    @Test
    void missingFile() {
        Path nowhere = dir.resolve("nope/cert.pem");
        String m = fails(UncheckedIOException.class, () -> TlsConfig.server().certificate(nowhere, nowhere));
        assertEquals("cannot read " + nowhere + ": NoSuchFileException", m);
    }

    @Test
    void noPrivateKeyBlock() throws Exception {
        Path cert = write("cert.pem", EC.certificatePem());
        Path key = write("key.pem", EC.certificatePem()); // the certificate twice: a common mix-up
        assertEquals("no PRIVATE KEY block in " + key + " (found CERTIFICATE)",
                fails(IllegalArgumentException.class, () -> TlsConfig.server().certificate(cert, key)));
        Path empty = write("empty.pem", "");
        assertEquals("no PRIVATE KEY block in " + empty + " (the file is empty)",
                fails(IllegalArgumentException.class, () -> TlsConfig.server().certificate(cert, empty)));
    }

    @Test
    void noCertificateBlock() throws Exception {
        Path key = write("key.pem", EC.privateKeyPem());
        assertEquals("no CERTIFICATE block in " + key + " (found PRIVATE KEY)",
                fails(IllegalArgumentException.class, () -> TlsConfig.server().certificate(key, key)));
        Path text = write("text.pem", "hello\n");
        assertEquals("no CERTIFICATE block in " + text + " (no PEM blocks found)",
                fails(IllegalArgumentException.class, () -> TlsConfig.client().trust(text)));
    }

    @Test
    void damagedBlocks() throws Exception {
        Path badB64 = write("b64.pem", "-----BEGIN CERTIFICATE-----\nMIIB$$$\n-----END CERTIFICATE-----\n");
        assertTrue(fails(IllegalArgumentException.class, () -> Pem.readCertificates(badB64))
                .startsWith("bad base64 in the CERTIFICATE block at line 1 of " + badB64));
        Path notDer = write("der.pem", Pem.encode("CERTIFICATE", "not a certificate".getBytes(StandardCharsets.US_ASCII)));
        assertTrue(fails(IllegalArgumentException.class, () -> Pem.readCertificates(notDer))
                .startsWith("CERTIFICATE block 1 in " + notDer + " is not a valid X.509 certificate"));
        String pem = EC.certificatePem();
        Path noEnd = write("noend.pem", pem.substring(0, pem.indexOf("-----END")));
        assertEquals("BEGIN CERTIFICATE (line 1) has no END line in " + noEnd,
                fails(IllegalArgumentException.class, () -> Pem.readCertificates(noEnd)));
        Path badKey = write("badkey.pem", Pem.encode("PRIVATE KEY", new byte[] {0x30, 0x03, 0x02, 0x01, 0x00}));
        assertTrue(fails(IllegalArgumentException.class, () -> Pem.readPrivateKey(badKey))
                .startsWith("the PRIVATE KEY block in " + badKey + " is not a valid PKCS#8 key"));
        Path badRsa = write("badrsa.pem", Pem.encode("RSA PRIVATE KEY", new byte[] {0x04, 0x01, 0x00}));
        assertTrue(fails(IllegalArgumentException.class, () -> Pem.readPrivateKey(badRsa))
                .startsWith("the RSA PRIVATE KEY block in " + badRsa + " is not a valid PKCS#1 key"));
        Path noCurve = write("nocurve.pem", Pem.encode("EC PRIVATE KEY", Der.seq(Der.integer(1), Der.octetString(new byte[32]))));
        assertEquals("the EC PRIVATE KEY block in " + noCurve + " names no curve (no [0] parameters)",
                fails(IllegalArgumentException.class, () -> Pem.readPrivateKey(noCurve)));
        Path x25519 = write("x.pem", Pem.encode("PRIVATE KEY", Der.seq(Der.integer(0), Der.seq(Der.oid("1.3.101.110")),
                Der.octetString(Der.octetString(new byte[32])))));
        assertEquals("the PRIVATE KEY block in " + x25519 + " has an unsupported key algorithm (OID 1.3.101.110)",
                fails(IllegalArgumentException.class, () -> Pem.readPrivateKey(x25519)));
    }

    @Test
    void encryptedKeys() throws Exception {
        write("ec8.pem", EC.privateKeyPem());
        openssl("pkey", "-in", "ec8.pem", "-aes256", "-passout", "pass:secret", "-out", "enc8.pem");
        openssl("ec", "-in", "ec8.pem", "-aes256", "-passout", "pass:secret", "-out", "enc-trad.pem");
        for (String f : List.of("enc8.pem", "enc-trad.pem")) {
            Path p = dir.resolve(f);
            assertTrue(fails(IllegalArgumentException.class, () -> Pem.readPrivateKey(p))
                    .startsWith("the private key in " + p + " is encrypted"));
        }
    }

    @Test
    void keyThatDoesNotMatchItsCertificate() throws Exception {
        Path cert = write("cert.pem", EC.certificatePem());
        Path otherEc = write("key.pem", SelfSignedCertificate.generate("localhost").privateKeyPem());
        assertEquals("the private key in " + otherEc + " does not match the certificate in " + cert,
                fails(IllegalArgumentException.class, () -> TlsConfig.server().certificate(cert, otherEc)));
        Path rsaKey = write("rsa.pem", RSA.privateKeyPem());
        assertEquals("the private key in " + rsaKey + " does not match the certificate in " + cert
                        + " (an RSA key for a certificate with an EC key)",
                fails(IllegalArgumentException.class, () -> TlsConfig.server().certificate(cert, rsaKey)));
        Path otherRsa = write("rsa2.pem", SelfSignedCertificate.builder().rsa().build().privateKeyPem());
        Path rsaCert = write("rsacert.pem", RSA.certificatePem());
        assertTrue(fails(IllegalArgumentException.class, () -> TlsConfig.server().certificate(rsaCert, otherRsa))
                .startsWith("the private key in " + otherRsa + " does not match"));
    }

    @Test
    void chainInTheWrongOrderIsExplained() throws Exception {
        SelfSignedCertificate leaf = TlsTestSupport.LOCALHOST;
        Path chain = write("chain.pem", TlsTestSupport.CA.certificatePem() + Pem.encode("CERTIFICATE", leaf.certificate().getEncoded()));
        Path key = write("key.pem", leaf.privateKeyPem());
        assertTrue(fails(IllegalArgumentException.class, () -> TlsConfig.server().certificate(chain, key))
                .endsWith("(it matches certificate 2 of the file; the server's own certificate must come first)"));
        // in the right order it loads, and the chain is kept
        Path good = write("good.pem", leaf.certificatePem());
        assertEquals(2, TlsConfig.server().certificate(good, key).build().certificates().get(0).size());
    }

    @Test
    void otherConfigMistakes() {
        assertTrue(fails(IllegalStateException.class, () -> TlsConfig.server().build()).startsWith("a TLS server needs a certificate"));
        assertTrue(fails(IllegalArgumentException.class, () -> TlsConfig.client().protocols("TLSv1.1")).startsWith("TLSv1.1 is not allowed"));
        assertTrue(fails(IllegalArgumentException.class, () -> TlsConfig.client().cipherSuites("TLS_NOPE").build())
                .equals("unsupported cipher suites: TLS_NOPE"));
        assertTrue(fails(IllegalStateException.class, () -> TlsConfig.server().certificate(EC).verifyHostname(false).build())
                .contains("client settings"));
        TlsConfig serverConfig = TlsConfig.server().certificate(EC).build();
        assertTrue(fails(IllegalArgumentException.class, () -> io.jhv.core.net.TcpClient.create("localhost", 1).tls(serverConfig))
                .startsWith("a TLS server config on a client"));
    }

    @Test
    void derOidRoundTrip() throws Exception {
        for (String oid : List.of("1.2.840.10045.2.1", "1.3.101.112", "2.5.29.17", "1.2.840.113549.1.1.11", "2.999.3")) {
            assertEquals(oid, new Der.Reader(Der.oid(oid)).next().oid());
        }
    }
}
