package io.jhv.core.tls;

import java.net.Socket;
import java.security.GeneralSecurityException;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.security.interfaces.RSAKey;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import javax.net.ssl.ExtendedSSLSession;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SNIServerName;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLSession;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.StandardConstants;
import javax.net.ssl.X509ExtendedKeyManager;
import javax.security.auth.x500.X500Principal;

/**
 * A key manager over a fixed list of certificate/key pairs that picks the server certificate by the
 * client's SNI host name, falling back to the first pair (the default).
 *
 * <p>We chose this over the JDK's PKIX key manager, which also looks at SNI, because its choice
 * among several matching or non-matching entries is not specified; here the first pair is always the
 * default. Immutable and thread-safe (the JDK calls it from handshakes on any thread).
 */
final class SniKeyManager extends X509ExtendedKeyManager {

    /** One certificate chain (leaf first) with its private key and the host names it serves. */
    record Entry(String alias, PrivateKey key, X509Certificate[] chain, List<String> names) {}

    private final List<Entry> entries;

    SniKeyManager(List<Entry> entries) {
        this.entries = List.copyOf(entries);
    }

    List<Entry> entries() { return entries; }

    /** Makes an entry; names come from the leaf's DNS and IP subject alternative names, else its CN. */
    static Entry entry(int index, PrivateKey key, X509Certificate[] chain) {
        return new Entry("jhv-" + index, key, chain.clone(), hostNames(chain[0]));
    }

    static List<String> hostNames(X509Certificate cert) {
        List<String> names = new ArrayList<>();
        try {
            Collection<List<?>> sans = cert.getSubjectAlternativeNames();
            if (sans != null) {
                for (List<?> san : sans) {
                    int type = (Integer) san.get(0);
                    if (type == 2 || type == 7) names.add(String.valueOf(san.get(1)).toLowerCase(Locale.ROOT));
                }
            }
        } catch (CertificateParsingException e) {
            // fall back to the CN below
        }
        if (names.isEmpty()) {
            String dn = cert.getSubjectX500Principal().getName(X500Principal.RFC2253);
            for (String rdn : dn.split(",")) {
                if (rdn.regionMatches(true, 0, "CN=", 0, 3)) names.add(rdn.substring(3).toLowerCase(Locale.ROOT));
            }
        }
        return names;
    }

    /** True if {@code host} matches {@code pattern}; a leading "*." matches exactly one label. */
    static boolean matches(String pattern, String host) {
        if (pattern.startsWith("*.")) {
            int dot = host.indexOf('.');
            return dot > 0 && host.substring(dot + 1).equalsIgnoreCase(pattern.substring(2));
        }
        return pattern.equalsIgnoreCase(host);
    }

    private static boolean keyTypeMatches(Entry e, String keyType) {
        if (keyType == null) return true;
        String alg = e.key.getAlgorithm();
        if (alg.equals("EdDSA") || alg.startsWith("Ed")) return keyType.equals("EdDSA") || keyType.equals(alg);
        // The JDK asks for "RSA", "RSASSA-PSS", "EC"; older versions also for "EC_EC" or "EC_RSA".
        return keyType.equalsIgnoreCase(alg) || keyType.startsWith(alg + "_");
    }

    // ---------------------------------------------------------------- server side

    private String chooseServer(String keyType, String sni) {
        if (sni != null) {
            boolean nameMatched = false;
            for (Entry e : entries) {
                for (String n : e.names) {
                    if (matches(n, sni)) {
                        nameMatched = true;
                        if (keyTypeMatches(e, keyType)) return e.alias;
                    }
                }
            }
            // A pair for this name exists but with another key type: let the JDK ask for that type.
            if (nameMatched) return null;
        }
        Entry def = entries.get(0);
        return keyTypeMatches(def, keyType) ? def.alias : null;
    }

    private static String requestedName(SSLSession handshake) {
        if (handshake instanceof ExtendedSSLSession es) {
            for (SNIServerName n : es.getRequestedServerNames()) {
                if (n.getType() == StandardConstants.SNI_HOST_NAME && n instanceof SNIHostName h) return h.getAsciiName();
                if (n.getType() == StandardConstants.SNI_HOST_NAME) return new SNIHostName(n.getEncoded()).getAsciiName();
            }
        }
        return null;
    }

    @Override
    public String chooseEngineServerAlias(String keyType, Principal[] issuers, SSLEngine engine) {
        return chooseServer(keyType, engine == null ? null : requestedName(engine.getHandshakeSession()));
    }

    @Override
    public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
        String sni = socket instanceof SSLSocket s ? requestedName(s.getHandshakeSession()) : null;
        return chooseServer(keyType, sni);
    }

    @Override
    public String[] getServerAliases(String keyType, Principal[] issuers) {
        return aliases(keyType);
    }

    // ---------------------------------------------------------------- client side

    private String chooseClient(String[] keyTypes, Principal[] issuers) {
        String fallback = null;
        for (Entry e : entries) {
            for (String t : keyTypes) {
                if (!keyTypeMatches(e, t)) continue;
                if (issuers == null || issuers.length == 0 || issuedBy(e, issuers)) return e.alias;
                if (fallback == null) fallback = e.alias;
            }
        }
        // No chain from an issuer the server named: send ours anyway, so the server's error says why.
        return fallback;
    }

    private static boolean issuedBy(Entry e, Principal[] issuers) {
        for (X509Certificate c : e.chain) {
            for (Principal p : issuers) {
                if (p.equals(c.getIssuerX500Principal()) || p.equals(c.getSubjectX500Principal())) return true;
            }
        }
        return false;
    }

    @Override
    public String chooseEngineClientAlias(String[] keyTypes, Principal[] issuers, SSLEngine engine) {
        return chooseClient(keyTypes, issuers);
    }

    @Override
    public String chooseClientAlias(String[] keyTypes, Principal[] issuers, Socket socket) {
        return chooseClient(keyTypes, issuers);
    }

    @Override
    public String[] getClientAliases(String keyType, Principal[] issuers) {
        return aliases(keyType);
    }

    // ---------------------------------------------------------------- lookup

    private String[] aliases(String keyType) {
        List<String> out = new ArrayList<>();
        for (Entry e : entries) if (keyTypeMatches(e, keyType)) out.add(e.alias);
        return out.isEmpty() ? null : out.toArray(new String[0]);
    }

    private Entry find(String alias) {
        for (Entry e : entries) if (e.alias.equals(alias)) return e;
        return null;
    }

    @Override
    public X509Certificate[] getCertificateChain(String alias) {
        Entry e = find(alias);
        return e == null ? null : e.chain.clone();
    }

    @Override
    public PrivateKey getPrivateKey(String alias) {
        Entry e = find(alias);
        return e == null ? null : e.key;
    }

    // ---------------------------------------------------------------- key/certificate match

    /**
     * Checks that {@code key} belongs to the first certificate of {@code chain}; the message names
     * both sources when it does not.
     */
    static void checkMatch(PrivateKey key, X509Certificate[] chain, String keySource, String certSource) {
        if (belongsTo(key, chain[0].getPublicKey())) return;
        String detail = "";
        if (!sameFamily(key.getAlgorithm(), chain[0].getPublicKey().getAlgorithm())) {
            detail = " (an " + key.getAlgorithm() + " key for a certificate with an " + chain[0].getPublicKey().getAlgorithm() + " key)";
        } else {
            for (int i = 1; i < chain.length; i++) {
                if (belongsTo(key, chain[i].getPublicKey())) {
                    detail = " (it matches certificate " + (i + 1) + " of the file; the server's own certificate must come first)";
                    break;
                }
            }
        }
        throw new IllegalArgumentException("the private key in " + keySource + " does not match the certificate in " + certSource + detail);
    }

    private static boolean sameFamily(String a, String b) {
        if (a.equals(b)) return true;
        return a.startsWith("Ed") && b.startsWith("Ed") || a.startsWith("RSA") && b.startsWith("RSA");
    }

    private static boolean belongsTo(PrivateKey key, PublicKey pub) {
        if (!sameFamily(key.getAlgorithm(), pub.getAlgorithm())) return false;
        if (key instanceof RSAKey k && pub instanceof RSAKey p) return k.getModulus().equals(p.getModulus());
        // EC, EdDSA, DSA: sign a random challenge and verify it with the certificate's key.
        String alg = switch (key.getAlgorithm()) {
            case "EC" -> "SHA256withECDSA";
            case "DSA" -> "SHA256withDSA";
            default -> key.getAlgorithm(); // Ed25519, Ed448, EdDSA
        };
        try {
            byte[] challenge = new byte[32];
            new SecureRandom().nextBytes(challenge);
            Signature s = Signature.getInstance(alg);
            s.initSign(key);
            s.update(challenge);
            byte[] sig = s.sign();
            Signature v = Signature.getInstance(alg);
            v.initVerify(pub);
            v.update(challenge);
            return v.verify(sig);
        } catch (GeneralSecurityException | RuntimeException e) {
            return false; // for example an EC key on another curve than the certificate's
        }
    }
}
