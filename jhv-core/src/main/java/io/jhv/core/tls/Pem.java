package io.jhv.core.tls;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * PEM files: certificates and private keys in, PEM text out.
 *
 * <p>Private keys are read in three forms and all become PKCS#8 for the JDK's {@link KeyFactory}:
 * <pre>
 *  "PRIVATE KEY"      PKCS#8 PrivateKeyInfo (RSA, EC, RSASSA-PSS, Ed25519, Ed448, DSA)
 *  "RSA PRIVATE KEY"  PKCS#1 RSAPrivateKey   -> wrapped in PrivateKeyInfo{rsaEncryption}
 *  "EC PRIVATE KEY"   SEC1 ECPrivateKey      -> curve moved into PrivateKeyInfo{id-ecPublicKey, curve}
 * </pre>
 * Every error message names the file and what is wrong with it. Stateless and thread-safe.
 */
final class Pem {
    static final String OID_RSA = "1.2.840.113549.1.1.1";
    static final String OID_RSA_PSS = "1.2.840.113549.1.1.10";
    static final String OID_EC = "1.2.840.10045.2.1";
    static final String OID_ED25519 = "1.3.101.112";
    static final String OID_ED448 = "1.3.101.113";
    static final String OID_DSA = "1.2.840.10040.4.1";

    private Pem() {}

    /** One {@code -----BEGIN label-----} block. */
    record Block(String label, byte[] der, boolean encryptedHeader, int index) {}

    /** Reads a file as text; a missing or unreadable file is an {@link UncheckedIOException} naming it. */
    static String readText(Path file) {
        try {
            return Files.readString(file, StandardCharsets.ISO_8859_1);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file + ": " + e.getClass().getSimpleName()
                    + (e.getMessage() != null && !e.getMessage().equals(file.toString()) ? " " + e.getMessage() : ""), e);
        }
    }

    /** All PEM blocks of {@code text}, in order. {@code source} names the file in errors. */
    static List<Block> blocks(String text, String source) {
        List<Block> out = new ArrayList<>();
        String[] lines = text.split("\r?\n|\r");
        String label = null;
        boolean encrypted = false;
        StringBuilder body = null;
        int lineNo = 0, beginLine = 0;
        for (String raw : lines) {
            lineNo++;
            String line = raw.strip();
            if (label == null) {
                if (line.startsWith("-----BEGIN ") && line.endsWith("-----")) {
                    label = line.substring(11, line.length() - 5);
                    body = new StringBuilder();
                    encrypted = false;
                    beginLine = lineNo;
                }
                continue;
            }
            if (line.startsWith("-----END ")) {
                String end = line.endsWith("-----") ? line.substring(9, line.length() - 5) : line;
                if (!end.equals(label)) {
                    throw new IllegalArgumentException("BEGIN " + label + " (line " + beginLine + ") ends with " + line + " in " + source);
                }
                byte[] der;
                try {
                    der = Base64.getDecoder().decode(body.toString());
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException("bad base64 in the " + label + " block at line " + beginLine + " of " + source + ": " + e.getMessage());
                }
                if (der.length == 0) throw new IllegalArgumentException("empty " + label + " block at line " + beginLine + " of " + source);
                out.add(new Block(label, der, encrypted, out.size()));
                label = null;
                continue;
            }
            if (line.indexOf(':') > 0) { // RFC 1421 headers of traditional keys: "Proc-Type: 4,ENCRYPTED"
                if (line.startsWith("Proc-Type:") && line.contains("ENCRYPTED")) encrypted = true;
                continue;
            }
            body.append(line);
        }
        if (label != null) throw new IllegalArgumentException("BEGIN " + label + " (line " + beginLine + ") has no END line in " + source);
        return out;
    }

    private static String found(List<Block> blocks, String text) {
        if (text.isBlank()) return " (the file is empty)";
        if (blocks.isEmpty()) return " (no PEM blocks found)";
        Set<String> labels = new LinkedHashSet<>();
        for (Block b : blocks) labels.add(b.label);
        return " (found " + String.join(", ", labels) + ")";
    }

    // ---------------------------------------------------------------- certificates

    /** The certificates of a PEM file, in file order (leaf first for a chain). */
    static List<X509Certificate> readCertificates(Path file) {
        return certificates(readText(file), file.toString());
    }

    static List<X509Certificate> certificates(String text, String source) {
        List<Block> blocks = blocks(text, source);
        List<X509Certificate> certs = new ArrayList<>();
        CertificateFactory cf;
        try {
            cf = CertificateFactory.getInstance("X.509");
        } catch (CertificateException e) {
            throw new IllegalStateException("no X.509 support in this JDK", e);
        }
        int n = 0;
        for (Block b : blocks) {
            if (!b.label.equals("CERTIFICATE") && !b.label.equals("TRUSTED CERTIFICATE")) continue;
            n++;
            try {
                certs.add((X509Certificate) cf.generateCertificate(new ByteArrayInputStream(b.der)));
            } catch (CertificateException | ClassCastException e) {
                throw new IllegalArgumentException("CERTIFICATE block " + n + " in " + source + " is not a valid X.509 certificate: " + e.getMessage(), e);
            }
        }
        if (certs.isEmpty()) throw new IllegalArgumentException("no CERTIFICATE block in " + source + found(blocks, text));
        return certs;
    }

    // ---------------------------------------------------------------- private keys

    static PrivateKey readPrivateKey(Path file) {
        return privateKey(readText(file), file.toString());
    }

    /** The first private key of the text, in any of the three supported forms. */
    static PrivateKey privateKey(String text, String source) {
        List<Block> blocks = blocks(text, source);
        for (Block b : blocks) {
            switch (b.label) {
                case "PRIVATE KEY":
                    return pkcs8(b.der, "PRIVATE KEY block", source);
                case "RSA PRIVATE KEY":
                    if (b.encryptedHeader) throw encrypted(source);
                    return pkcs8(rsaToPkcs8(b.der, source), "RSA PRIVATE KEY block", source);
                case "EC PRIVATE KEY":
                    if (b.encryptedHeader) throw encrypted(source);
                    return pkcs8(ecToPkcs8(b.der, source), "EC PRIVATE KEY block", source);
                case "ENCRYPTED PRIVATE KEY":
                    throw encrypted(source);
                default:
                    // EC PARAMETERS precedes EC PRIVATE KEY in `openssl ecparam -genkey` output; skip it and others.
            }
        }
        throw new IllegalArgumentException("no PRIVATE KEY block in " + source + found(blocks, text));
    }

    private static IllegalArgumentException encrypted(String source) {
        return new IllegalArgumentException("the private key in " + source
                + " is encrypted; jhv reads unencrypted keys only (decrypt it with: openssl pkey -in KEY -out KEY.plain)");
    }

    /** Parses PKCS#8 DER, choosing the key factory by the algorithm OID. */
    static PrivateKey pkcs8(byte[] der, String what, String source) {
        String oid;
        try {
            Der.Reader info = new Der.Reader(der).expect(Der.SEQUENCE, "PrivateKeyInfo").contents();
            info.expect(Der.INTEGER, "version");
            Der.Reader alg = info.expect(Der.SEQUENCE, "AlgorithmIdentifier").contents();
            oid = alg.expect(Der.OID, "algorithm").oid();
        } catch (Der.DerException e) {
            throw new IllegalArgumentException("the " + what + " in " + source + " is not a valid PKCS#8 key: " + e.getMessage());
        }
        String algorithm = switch (oid) {
            case OID_RSA -> "RSA";
            case OID_RSA_PSS -> "RSASSA-PSS";
            case OID_EC -> "EC";
            case OID_ED25519 -> "Ed25519";
            case OID_ED448 -> "Ed448";
            case OID_DSA -> "DSA";
            default -> throw new IllegalArgumentException("the " + what + " in " + source + " has an unsupported key algorithm (OID " + oid + ")");
        };
        try {
            return KeyFactory.getInstance(algorithm).generatePrivate(new PKCS8EncodedKeySpec(der));
        } catch (GeneralSecurityException e) {
            throw new IllegalArgumentException("the " + what + " in " + source + " is not a valid " + algorithm + " key: " + e.getMessage(), e);
        }
    }

    /** PKCS#1 RSAPrivateKey -> PKCS#8 PrivateKeyInfo { 0, { rsaEncryption, NULL }, OCTET STRING pkcs1 }. */
    static byte[] rsaToPkcs8(byte[] pkcs1, String source) {
        try {
            Der.Reader r = new Der.Reader(pkcs1).expect(Der.SEQUENCE, "RSAPrivateKey");
            if (r.hasMore()) throw new Der.DerException("trailing bytes after the key");
            Der.Reader k = r.contents();
            k.expect(Der.INTEGER, "version");
            k.expect(Der.INTEGER, "modulus");
        } catch (Der.DerException e) {
            throw new IllegalArgumentException("the RSA PRIVATE KEY block in " + source + " is not a valid PKCS#1 key: " + e.getMessage());
        }
        return Der.seq(Der.integer(0), Der.seq(Der.oid(OID_RSA), Der.nul()), Der.octetString(pkcs1));
    }

    /**
     * SEC1 ECPrivateKey { 1, OCTET STRING d, [0] curve OID, [1] public key } -> PKCS#8 with the
     * curve in the AlgorithmIdentifier and the inner key without its [0] parameters (RFC 5915 3).
     */
    static byte[] ecToPkcs8(byte[] sec1, String source) {
        String curve = null;
        byte[] d, pub = null;
        try {
            Der.Reader k = new Der.Reader(sec1).expect(Der.SEQUENCE, "ECPrivateKey").contents();
            k.expect(Der.INTEGER, "version");
            d = k.expect(Der.OCTET_STRING, "privateKey").content();
            while (k.hasMore()) {
                k.next();
                if (k.tag == 0xa0) {
                    Der.Reader p = k.contents().next();
                    if (p.tag != Der.OID) throw new Der.DerException("explicit curve parameters are not supported; use a named curve");
                    curve = p.oid();
                } else if (k.tag == 0xa1) {
                    pub = k.encoded();
                }
            }
        } catch (Der.DerException e) {
            throw new IllegalArgumentException("the EC PRIVATE KEY block in " + source + " is not a valid SEC1 key: " + e.getMessage());
        }
        if (curve == null) throw new IllegalArgumentException("the EC PRIVATE KEY block in " + source + " names no curve (no [0] parameters)");
        byte[] inner = pub == null
                ? Der.seq(Der.integer(1), Der.octetString(d))
                : Der.seq(Der.integer(1), Der.octetString(d), pub);
        return Der.seq(Der.integer(0), Der.seq(Der.oid(OID_EC), Der.oid(curve)), Der.octetString(inner));
    }

    // ---------------------------------------------------------------- writing

    /** PEM text of one block, 64 base64 characters a line. */
    static String encode(String label, byte[] der) {
        String b64 = Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(der);
        return "-----BEGIN " + label + "-----\n" + b64 + "\n-----END " + label + "-----\n";
    }
}
