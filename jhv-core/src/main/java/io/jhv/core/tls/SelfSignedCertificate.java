package io.jhv.core.tls;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.MessageDigest;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import javax.security.auth.x500.X500Principal;

/**
 * A development certificate and its private key, made in pure Java: self-signed for localhost by
 * default, or signed by another one acting as a test CA. For tests and demos ({@code hv cert}),
 * never for production.
 *
 * <p>The certificate is X.509 v3, written as DER here (the JDK can sign but has no public API to
 * build certificates): EC P-256 with SHA256withECDSA by default (RSA 2048 with SHA256withRSA on
 * request), subject alternative names for every host (DNS names and IP addresses), key usage,
 * extended key usage (server and client authentication) and key identifiers. Immutable and
 * thread-safe.
 *
 * {@snippet :
 * SelfSignedCertificate dev = SelfSignedCertificate.generate("localhost");  // + IP 127.0.0.1, ::1
 * SelfSignedCertificate.PemFiles files = dev.writeTo(Path.of("certs"));    // cert.pem, key.pem
 *
 * SelfSignedCertificate ca = SelfSignedCertificate.builder().subject("CN=Test CA").ca(true).build();
 * SelfSignedCertificate leaf = SelfSignedCertificate.builder().hosts("example.test").issuer(ca).build();
 * }
 */
public final class SelfSignedCertificate {
    private static final String OID_ECDSA_SHA256 = "1.2.840.10045.4.3.2";
    private static final String OID_RSA_SHA256 = "1.2.840.113549.1.1.11";
    private static final String OID_SAN = "2.5.29.17", OID_BASIC_CONSTRAINTS = "2.5.29.19", OID_KEY_USAGE = "2.5.29.15",
            OID_EXT_KEY_USAGE = "2.5.29.37", OID_SUBJECT_KEY_ID = "2.5.29.14", OID_AUTHORITY_KEY_ID = "2.5.29.35";
    private static final String OID_SERVER_AUTH = "1.3.6.1.5.5.7.3.1", OID_CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";

    private final X509Certificate certificate;
    private final PrivateKey privateKey;
    private final List<X509Certificate> chain;

    private SelfSignedCertificate(X509Certificate certificate, PrivateKey privateKey, List<X509Certificate> chain) {
        this.certificate = certificate;
        this.privateKey = privateKey;
        this.chain = List.copyOf(chain);
    }

    /**
     * A self-signed certificate for {@code hosts} (default: localhost), valid from an hour ago for
     * a year. "localhost" also gets the loopback addresses 127.0.0.1 and ::1.
     */
    public static SelfSignedCertificate generate(String... hosts) {
        List<String> names = new ArrayList<>(hosts.length == 0 ? List.of("localhost") : List.of(hosts));
        if (names.contains("localhost")) {
            if (!names.contains("127.0.0.1")) names.add("127.0.0.1");
            if (!names.contains("::1")) names.add("::1");
        }
        return builder().hosts(names.toArray(new String[0])).build();
    }

    public static Builder builder() { return new Builder(); }

    public X509Certificate certificate() { return certificate; }

    public PrivateKey privateKey() { return privateKey; }

    /** This certificate followed by its issuers' (for a server to send); just itself when self-signed. */
    public List<X509Certificate> chain() { return chain; }

    /** The certificate chain as PEM text. */
    public String certificatePem() {
        StringBuilder sb = new StringBuilder();
        try {
            for (X509Certificate c : chain) sb.append(Pem.encode("CERTIFICATE", c.getEncoded()));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
        return sb.toString();
    }

    /** The private key as PKCS#8 PEM text ("PRIVATE KEY"). */
    public String privateKeyPem() {
        return Pem.encode("PRIVATE KEY", privateKey.getEncoded());
    }

    /** Where {@link #writeTo} put the files. */
    public record PemFiles(Path certificate, Path privateKey) {}

    /** Writes {@code cert.pem} and {@code key.pem} (owner-only permissions where the file system has them) into {@code dir}. */
    public PemFiles writeTo(Path dir) {
        return writeTo(dir.resolve("cert.pem"), dir.resolve("key.pem"));
    }

    /** Writes the chain and the key to these files, creating parent directories. */
    public PemFiles writeTo(Path certFile, Path keyFile) {
        try {
            Path parent = certFile.toAbsolutePath().getParent();
            if (parent != null) Files.createDirectories(parent);
            parent = keyFile.toAbsolutePath().getParent();
            if (parent != null) Files.createDirectories(parent);
            Files.writeString(certFile, certificatePem(), StandardCharsets.US_ASCII);
            // Write the key to a private temporary file first, so it is never readable by others.
            Path tmp = keyFile.resolveSibling(keyFile.getFileName() + ".tmp");
            Files.deleteIfExists(tmp);
            try {
                Files.createFile(tmp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            } catch (UnsupportedOperationException e) {
                Files.createFile(tmp);
            }
            Files.writeString(tmp, privateKeyPem(), StandardCharsets.US_ASCII);
            Files.move(tmp, keyFile, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            return new PemFiles(certFile, keyFile);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + certFile + " / " + keyFile + ": " + e.getMessage(), e);
        }
    }

    @Override
    public String toString() {
        return "SelfSignedCertificate[" + certificate.getSubjectX500Principal().getName() + ", until " + certificate.getNotAfter().toInstant() + "]";
    }

    /** Builds a development certificate. Not thread-safe. */
    public static final class Builder {
        private String subject;
        private final List<String> hosts = new ArrayList<>();
        private Instant notBefore;
        private Instant notAfter;
        private boolean ca;
        private boolean rsa;
        private SelfSignedCertificate issuer;

        private Builder() {}

        /** The subject name, such as "CN=localhost, O=Example" (default: CN= the first host, or "jhv development"). */
        public Builder subject(String dn) { this.subject = Objects.requireNonNull(dn); return this; }

        /** Host names and IP addresses for the subject alternative names (IP literals become IP entries). */
        public Builder hosts(String... names) {
            for (String h : names) hosts.add(Objects.requireNonNull(h));
            return this;
        }

        /** Valid from (default: an hour ago, for clock skew). */
        public Builder notBefore(Instant t) { this.notBefore = t; return this; }

        /** Valid until (default: a year after {@code notBefore}); a past time makes an expired certificate. */
        public Builder notAfter(Instant t) { this.notAfter = t; return this; }

        /** Valid for this long from {@code notBefore}. */
        public Builder validity(Duration d) {
            Instant from = notBefore != null ? notBefore : defaultNotBefore();
            this.notBefore = from;
            this.notAfter = from.plus(d);
            return this;
        }

        /** A CA certificate (basic constraints CA:true, may sign certificates) for test chains. */
        public Builder ca(boolean isCa) { this.ca = isCa; return this; }

        /** An RSA 2048 key instead of EC P-256. */
        public Builder rsa() { this.rsa = true; return this; }

        /** Signs with {@code issuer}'s key (a {@link #ca(boolean)} certificate) instead of self-signing. */
        public Builder issuer(SelfSignedCertificate issuer) { this.issuer = issuer; return this; }

        private static Instant defaultNotBefore() {
            return Instant.now().minus(1, ChronoUnit.HOURS).truncatedTo(ChronoUnit.SECONDS);
        }

        public SelfSignedCertificate build() {
            Instant from = notBefore != null ? notBefore : defaultNotBefore();
            Instant until = notAfter != null ? notAfter : from.plus(365, ChronoUnit.DAYS);
            if (!until.isAfter(from)) throw new IllegalArgumentException("notAfter must be after notBefore: " + from + " .. " + until);
            String dn = subject != null ? subject : "CN=" + (hosts.isEmpty() ? "jhv development" : hosts.get(0));
            try {
                KeyPair kp = newKeyPair(rsa);
                X500Principal subjectName = new X500Principal(dn);
                X500Principal issuerName = issuer == null ? subjectName : issuer.certificate.getSubjectX500Principal();
                PrivateKey signingKey = issuer == null ? kp.getPrivate() : issuer.privateKey;
                byte[] der = encode(kp.getPublic(), subjectName, issuerName, signingKey,
                        issuer == null ? kp.getPublic() : issuer.certificate.getPublicKey(), from, until);
                X509Certificate cert = (X509Certificate) CertificateFactory.getInstance("X.509")
                        .generateCertificate(new ByteArrayInputStream(der));
                List<X509Certificate> chain = new ArrayList<>();
                chain.add(cert);
                if (issuer != null) chain.addAll(issuer.chain);
                return new SelfSignedCertificate(cert, kp.getPrivate(), chain);
            } catch (GeneralSecurityException e) {
                throw new IllegalStateException("cannot generate a certificate: " + e.getMessage(), e);
            }
        }

        private static KeyPair newKeyPair(boolean rsa) throws GeneralSecurityException {
            KeyPairGenerator g = KeyPairGenerator.getInstance(rsa ? "RSA" : "EC");
            if (rsa) g.initialize(2048);
            else g.initialize(new ECGenParameterSpec("secp256r1"));
            return g.generateKeyPair();
        }

        /**
         * <pre>
         * Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue BIT STRING }
         * TBSCertificate ::= SEQUENCE { [0] version v3, serialNumber, signature, issuer, validity,
         *                               subject, subjectPublicKeyInfo, [3] extensions }
         * </pre>
         */
        private byte[] encode(PublicKey pub, X500Principal subjectName, X500Principal issuerName, PrivateKey signingKey,
                              PublicKey issuerPub, Instant from, Instant until) throws GeneralSecurityException {
            boolean rsaSigner = signingKey.getAlgorithm().equals("RSA");
            byte[] sigAlg = rsaSigner ? Der.seq(Der.oid(OID_RSA_SHA256), Der.nul()) : Der.seq(Der.oid(OID_ECDSA_SHA256));
            byte[] serial = new byte[16];
            new SecureRandom().nextBytes(serial);
            serial[0] &= 0x7f; // positive
            serial[0] |= 0x40; // and no leading zero byte: exactly 16 octets

            List<byte[]> ext = new ArrayList<>();
            if (!hosts.isEmpty()) ext.add(extension(OID_SAN, false, subjectAltNames()));
            ext.add(extension(OID_BASIC_CONSTRAINTS, true, ca ? Der.seq(Der.bool(true)) : Der.seq()));
            // digitalSignature(0) [+ keyEncipherment(2) for RSA keys]; a CA also keyCertSign(5) and
            // cRLSign(6). Not keyCertSign on a self-signed leaf: RFC 5280 4.2.1.3 allows it only with
            // CA:true, and OpenSSL and the JDK trust a self-signed leaf listed as trusted without it.
            List<Integer> usage = new ArrayList<>(List.of(0));
            if (pub.getAlgorithm().equals("RSA")) usage.add(2);
            if (ca) {
                usage.add(5);
                usage.add(6);
            }
            ext.add(extension(OID_KEY_USAGE, true, Der.namedBits(usage.stream().mapToInt(Integer::intValue).toArray())));
            if (!ca) ext.add(extension(OID_EXT_KEY_USAGE, false, Der.seq(Der.oid(OID_SERVER_AUTH), Der.oid(OID_CLIENT_AUTH))));
            ext.add(extension(OID_SUBJECT_KEY_ID, false, Der.octetString(keyId(pub))));
            if (issuer != null) ext.add(extension(OID_AUTHORITY_KEY_ID, false, Der.seq(Der.implicit(0, keyId(issuerPub)))));

            byte[] tbs = Der.seq(
                    Der.explicit(0, Der.integer(2)),
                    Der.integer(new BigInteger(serial)),
                    sigAlg,
                    issuerName.getEncoded(),
                    Der.seq(Der.time(from), Der.time(until)),
                    subjectName.getEncoded(),
                    pub.getEncoded(), // SubjectPublicKeyInfo, DER already
                    Der.explicit(3, Der.seq(ext.toArray(new byte[0][]))));
            Signature s = Signature.getInstance(rsaSigner ? "SHA256withRSA" : "SHA256withECDSA");
            s.initSign(signingKey);
            s.update(tbs);
            return Der.seq(tbs, sigAlg, Der.bitString(s.sign()));
        }

        private byte[] subjectAltNames() {
            List<byte[]> names = new ArrayList<>();
            for (String h : hosts) {
                if (TlsConfig.isIpLiteral(h)) {
                    try {
                        names.add(Der.implicit(7, InetAddress.getByName(h).getAddress())); // iPAddress
                    } catch (UnknownHostException e) {
                        throw new IllegalArgumentException("bad IP address: " + h);
                    }
                } else {
                    names.add(Der.implicit(2, h.getBytes(StandardCharsets.US_ASCII))); // dNSName (IA5String)
                }
            }
            return Der.seq(names.toArray(new byte[0][]));
        }

        private static byte[] extension(String oid, boolean critical, byte[] value) {
            return critical
                    ? Der.seq(Der.oid(oid), Der.bool(true), Der.octetString(value))
                    : Der.seq(Der.oid(oid), Der.octetString(value));
        }

        /** RFC 5280 4.2.1.2 method 1: SHA-1 of the subjectPublicKey bits. */
        private static byte[] keyId(PublicKey pub) throws GeneralSecurityException {
            byte[] bits;
            try {
                Der.Reader spki = new Der.Reader(pub.getEncoded()).expect(Der.SEQUENCE, "SubjectPublicKeyInfo").contents();
                spki.expect(Der.SEQUENCE, "algorithm");
                Der.Reader bs = spki.expect(Der.BIT_STRING, "subjectPublicKey");
                byte[] c = bs.content();
                bits = java.util.Arrays.copyOfRange(c, 1, c.length);
            } catch (Der.DerException e) {
                bits = pub.getEncoded();
            }
            return MessageDigest.getInstance("SHA-1").digest(bits);
        }
    }
}
