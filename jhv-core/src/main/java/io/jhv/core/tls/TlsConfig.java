package io.jhv.core.tls;

import io.jhv.core.internal.Internals;
import io.jhv.core.internal.TlsAccess;
import io.jhv.core.internal.TransportLayer;
import io.jhv.core.net.Connection;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.Key;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.CertificateExpiredException;
import java.security.cert.CertificateNotYetValidException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * TLS settings for a server or a client: certificates and keys, trusted CAs, client
 * authentication, protocol versions, cipher suites, ALPN, SNI, host name verification and the
 * handshake timeout. Secure by default: TLS 1.3 and 1.2 only, the JDK's default cipher suites, and
 * clients verify the server's certificate chain and host name.
 *
 * <p>Immutable and thread-safe once built; one config serves any number of servers, clients and
 * connections. Files are read when the builder method is called, so a bad file fails there, with a
 * message that names the file and what is wrong with it.
 *
 * {@snippet :
 * TcpServer.create(7443)
 *     .tls(TlsConfig.server().certificate(Path.of("cert.pem"), Path.of("key.pem")).build())
 *     .onMessage((conn, buf) -> conn.write(buf))
 *     .start();
 *
 * TcpClient.create("example.com", 7443)
 *     .tls(TlsConfig.client().alpn("echo/1").build())   // JDK trust store, host name checked
 *     .start();
 * }
 */
public final class TlsConfig {
    private static final System.Logger LOG = System.getLogger(TlsConfig.class.getName());

    /** The handshake timeout unless set: 10 seconds. */
    public static final Duration DEFAULT_HANDSHAKE_TIMEOUT = Duration.ofSeconds(10);
    /** The protocol versions unless set, preferred first. Nothing older is accepted. */
    public static final List<String> DEFAULT_PROTOCOLS = List.of("TLSv1.3", "TLSv1.2");

    /** Whether a server asks clients for a certificate (mutual TLS). */
    public enum ClientAuth {
        /** No client certificate is requested (the default). */
        NONE,
        /** A client certificate is requested; a client without one is let in, one with an untrusted one is refused. */
        OPTIONAL,
        /** A client without a trusted certificate is refused. */
        REQUIRED
    }

    private final boolean client;
    private final SSLContext context;
    private final List<SniKeyManager.Entry> keys;
    private final String[] protocols;
    private final String[] cipherSuites;
    private final String[] alpn;
    private final ClientAuth clientAuth;
    private final boolean verifyHostname;
    /** Every server certificate is accepted ({@link Builder#trustAll()}): shown by toString. */
    private final boolean trustAll;
    private final String serverName;
    private final long handshakeTimeoutMs;

    private TlsConfig(TlsConfig base, String[] alpn) {
        this.client = base.client;
        this.context = base.context;
        this.keys = base.keys;
        this.protocols = base.protocols;
        this.cipherSuites = base.cipherSuites;
        this.alpn = alpn;
        this.clientAuth = base.clientAuth;
        this.verifyHostname = base.verifyHostname;
        this.trustAll = base.trustAll;
        this.serverName = base.serverName;
        this.handshakeTimeoutMs = base.handshakeTimeoutMs;
    }

    private TlsConfig(Builder b, SSLContext context) {
        this.client = b.client;
        this.context = context;
        this.keys = List.copyOf(b.keys);
        this.protocols = b.protocols.toArray(new String[0]);
        this.cipherSuites = b.cipherSuites == null ? null : b.cipherSuites.toArray(new String[0]);
        this.alpn = b.alpn.toArray(new String[0]);
        this.clientAuth = b.clientAuth;
        this.verifyHostname = b.verifyHostname;
        this.trustAll = b.trustAll;
        this.serverName = b.serverName;
        this.handshakeTimeoutMs = b.handshakeTimeout.toMillis();
    }

    /** Starts a server config; it needs at least one certificate and key. */
    public static Builder server() { return new Builder(false); }

    /** Starts a client config; without {@code trust(...)} it trusts the JDK's CA certificates. */
    public static Builder client() { return new Builder(true); }

    public boolean isClient() { return client; }

    public List<String> protocols() { return List.of(protocols); }

    /** The enabled cipher suites, or null for the JDK's defaults. */
    public List<String> cipherSuites() { return cipherSuites == null ? null : List.of(cipherSuites); }

    /** The ALPN protocols: for a server in order of preference, for a client in the order offered. */
    public List<String> alpn() { return List.of(alpn); }

    public ClientAuth clientAuth() { return clientAuth; }

    public boolean verifyHostname() { return verifyHostname; }

    /** The host name a client sends (SNI) and verifies instead of the one it connects to; null if not set. */
    public String serverName() { return serverName; }

    public Duration handshakeTimeout() { return Duration.ofMillis(handshakeTimeoutMs); }

    /** The certificate chains (leaf first) this config presents; for a server the first is the default. */
    public List<List<X509Certificate>> certificates() {
        List<List<X509Certificate>> out = new ArrayList<>();
        for (SniKeyManager.Entry e : keys) out.add(List.of(e.chain()));
        return out;
    }

    /**
     * This config with other ALPN protocols (same certificates and context). A protocol server uses
     * it to add its own name when the user gave none: HTTPS offers "http/1.1".
     */
    public TlsConfig withAlpn(String... protocolNames) {
        return new TlsConfig(this, validAlpn(List.of(protocolNames)).toArray(new String[0]));
    }

    private static List<String> validAlpn(List<String> names) {
        for (String n : names) {
            int len = n.getBytes(StandardCharsets.UTF_8).length;
            if (len == 0 || len > 255) throw new IllegalArgumentException("an ALPN name must have 1 to 255 bytes: '" + n + "'");
        }
        return names;
    }

    /** The JDK context behind this config, for code that needs an {@link SSLEngine} of its own. */
    public SSLContext sslContext() { return context; }

    long handshakeTimeoutMillis() { return handshakeTimeoutMs; }

    static {
        Internals.install((TlsAccess) TlsConfig::layerFactory);
    }

    /**
     * The transport layer factory that {@code TcpServer.tls} and {@code TcpClient.tls} install
     * (through {@link Internals#tls()}); one {@link TlsInfo} layer per connection.
     * {@code forClient} says which endpoint installs it.
     *
     * @throws IllegalArgumentException if a server config is put on a client or the other way round
     */
    TransportLayer.Factory layerFactory(boolean forClient) {
        if (forClient != client) {
            throw new IllegalArgumentException("a TLS " + (client ? "client" : "server") + " config on a "
                    + (forClient ? "client" : "server") + ": use TlsConfig." + (forClient ? "client()" : "server()"));
        }
        return new TransportLayer.Factory() {
            @Override
            public TransportLayer create(Connection conn, boolean clientMode) {
                return new TlsLayer(TlsConfig.this, conn, clientMode, null, 0);
            }

            @Override
            public TransportLayer create(Connection conn, boolean clientMode, String peerHost, int peerPort) {
                return new TlsLayer(TlsConfig.this, conn, clientMode, peerHost, peerPort);
            }
        };
    }

    /**
     * The JDK parameters this config stands for (protocols, cipher suites, ALPN, client
     * authentication or endpoint identification); a fresh copy each call. With {@link #sslContext()}
     * it sets up JDK clients and servers the same way, for example
     * {@code HttpClient.newBuilder().sslContext(c.sslContext()).sslParameters(c.sslParameters())}.
     */
    public SSLParameters sslParameters() {
        SSLParameters p = context.getDefaultSSLParameters();
        p.setProtocols(protocols);
        if (cipherSuites != null) p.setCipherSuites(cipherSuites);
        if (alpn.length > 0) p.setApplicationProtocols(alpn);
        if (client) {
            p.setEndpointIdentificationAlgorithm(verifyHostname ? "HTTPS" : null);
        } else if (clientAuth == ClientAuth.REQUIRED) {
            p.setNeedClientAuth(true);
        } else if (clientAuth == ClientAuth.OPTIONAL) {
            p.setWantClientAuth(true);
        }
        return p;
    }

    /** A configured engine for one connection; {@code host} and {@code port} are the peer's (client side). */
    SSLEngine newEngine(boolean clientMode, String host, int port) {
        String peer = serverName != null ? serverName : host;
        SSLEngine e = clientMode && peer != null ? context.createSSLEngine(peer, port) : context.createSSLEngine();
        e.setUseClientMode(clientMode);
        SSLParameters p = sslParameters();
        if (clientMode && peer != null && !isIpLiteral(peer)) p.setServerNames(List.of(new SNIHostName(peer)));
        e.setSSLParameters(p);
        return e;
    }

    static boolean isIpLiteral(String host) {
        if (host.indexOf(':') >= 0) return true;
        for (int i = 0; i < host.length(); i++) {
            char c = host.charAt(i);
            if ((c < '0' || c > '9') && c != '.') return false;
        }
        return !host.isEmpty();
    }

    @Override
    public String toString() {
        return "TlsConfig[" + (client ? "client" : "server") + ", protocols=" + Arrays.toString(protocols)
                + (alpn.length > 0 ? ", alpn=" + Arrays.toString(alpn) : "")
                + (client ? (trustAll ? ", TRUSTS ANY CERTIFICATE (trustAll, testing only)" : "") + ", verifyHostname=" + verifyHostname : ", clientAuth=" + clientAuth)
                + ", certificates=" + keys.size() + "]";
    }

    /**
     * Builds a {@link TlsConfig}. Not thread-safe; methods that read files throw at once
     * ({@link UncheckedIOException} if a file cannot be read, {@link IllegalArgumentException} if its
     * content is bad).
     */
    public static final class Builder {
        private final boolean client;
        private final List<SniKeyManager.Entry> keys = new ArrayList<>();
        private final List<X509Certificate> trusted = new ArrayList<>();
        private KeyStore trustStore;
        private boolean trustAll;
        private List<String> protocols = DEFAULT_PROTOCOLS;
        private List<String> cipherSuites;
        private List<String> alpn = List.of();
        private ClientAuth clientAuth = ClientAuth.NONE;
        private boolean verifyHostname = true;
        private boolean verifyHostnameSet;
        private String serverName;
        private Duration handshakeTimeout = DEFAULT_HANDSHAKE_TIMEOUT;

        private Builder(boolean client) {
            this.client = client;
        }

        /**
         * Adds a certificate chain (PEM, leaf first) and its private key (PEM: PKCS#8
         * "PRIVATE KEY", PKCS#1 "RSA PRIVATE KEY" or SEC1 "EC PRIVATE KEY"). A server may add several:
         * it picks one by the host name the client asks for (SNI, matched against the certificate's
         * subject alternative names), and the first added is the default. A client presents it when
         * the server asks for one (mutual TLS).
         *
         * @throws IllegalArgumentException if a file is bad or the key does not match the certificate
         */
        public Builder certificate(Path certificatePem, Path privateKeyPem) {
            List<X509Certificate> chain = Pem.readCertificates(certificatePem);
            PrivateKey key = Pem.readPrivateKey(privateKeyPem);
            return add(key, chain.toArray(new X509Certificate[0]), privateKeyPem.toString(), certificatePem.toString());
        }

        /** Adds a certificate chain (leaf first) and its private key; see {@link #certificate(Path, Path)}. */
        public Builder certificate(List<X509Certificate> chain, PrivateKey key) {
            if (chain.isEmpty()) throw new IllegalArgumentException("empty certificate chain");
            return add(Objects.requireNonNull(key, "key"), chain.toArray(new X509Certificate[0]), "the given key", "the given chain");
        }

        /** Adds a generated certificate and its key (tests and demos). */
        public Builder certificate(SelfSignedCertificate cert) {
            return certificate(cert.chain(), cert.privateKey());
        }

        /** Adds every private key entry of a key store (in the store's alias order). */
        public Builder keyStore(KeyStore store, char[] password) {
            int added = 0;
            try {
                for (String alias : Collections.list(store.aliases())) {
                    if (!store.isKeyEntry(alias)) continue;
                    Key k = store.getKey(alias, password);
                    Certificate[] chain = store.getCertificateChain(alias);
                    if (!(k instanceof PrivateKey pk) || chain == null || chain.length == 0) continue;
                    X509Certificate[] x = new X509Certificate[chain.length];
                    for (int i = 0; i < chain.length; i++) {
                        if (!(chain[i] instanceof X509Certificate c)) throw new IllegalArgumentException("key store entry " + alias + " has a non-X.509 certificate");
                        x[i] = c;
                    }
                    add(pk, x, "key store entry " + alias, "key store entry " + alias);
                    added++;
                }
            } catch (GeneralSecurityException e) {
                throw new IllegalArgumentException("cannot read the key store: " + e.getMessage(), e);
            }
            if (added == 0) throw new IllegalArgumentException("the key store has no private key entry with a certificate chain");
            return this;
        }

        /** Adds every private key entry of a key store file (PKCS#12 or JKS). */
        public Builder keyStore(Path file, char[] password) {
            KeyStore ks;
            if (!java.nio.file.Files.isRegularFile(file)) {
                throw new UncheckedIOException("cannot read key store " + file + ": NoSuchFileException",
                        new java.nio.file.NoSuchFileException(file.toString()));
            }
            try {
                ks = KeyStore.getInstance(file.toFile(), password);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read key store " + file + ": " + e.getMessage(), e);
            } catch (GeneralSecurityException e) {
                throw new IllegalArgumentException("cannot read key store " + file + ": " + e.getMessage(), e);
            }
            try {
                return keyStore(ks, password);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(file + ": " + e.getMessage(), e);
            }
        }

        private Builder add(PrivateKey key, X509Certificate[] chain, String keySource, String certSource) {
            SniKeyManager.checkMatch(key, chain, keySource, certSource);
            try {
                chain[0].checkValidity();
            } catch (CertificateExpiredException | CertificateNotYetValidException e) {
                LOG.log(System.Logger.Level.WARNING, "the certificate in " + certSource + " is not valid now (" + e.getMessage()
                        + "); peers will refuse it");
            }
            keys.add(SniKeyManager.entry(keys.size(), key, chain));
            return this;
        }

        /**
         * Trusts the CA certificates in these PEM files: a client accepts servers whose chain leads
         * to one of them; a server with {@link #clientAuth} accepts client certificates issued by
         * them. A client without any trusts the JDK's CA certificates.
         */
        public Builder trust(Path... caPemFiles) {
            for (Path p : caPemFiles) trusted.addAll(Pem.readCertificates(p));
            return this;
        }

        /** Trusts these CA certificates; see {@link #trust(Path...)}. */
        public Builder trust(X509Certificate... caCertificates) {
            trusted.addAll(Arrays.asList(caCertificates));
            return this;
        }

        /** Trusts the certificate entries of a key store (for example the JDK's cacerts plus your own). */
        public Builder trustStore(KeyStore store) {
            this.trustStore = Objects.requireNonNull(store);
            return this;
        }

        /**
         * Client, <b>for testing only</b>: accepts any server certificate (expired, self-signed, for
         * another host) and turns host name verification off, like {@code curl --insecure}. The
         * connection is still encrypted but not authenticated: anyone on the path can read and
         * change it. Meant for development servers with throw-away certificates ({@code hv ws
         * --insecure}); never use it in production. Cannot be combined with {@code trust(...)},
         * {@code trustStore(...)} or {@code verifyHostname(true)}.
         */
        public Builder trustAll() {
            this.trustAll = true;
            this.verifyHostname = false;
            return this;
        }

        /** Server: asks clients for a certificate (default {@link ClientAuth#NONE}); needs {@code trust(...)}. */
        public Builder clientAuth(ClientAuth auth) {
            this.clientAuth = Objects.requireNonNull(auth);
            return this;
        }

        /** The protocol versions, from "TLSv1.3" and "TLSv1.2" (default both). */
        public Builder protocols(String... versions) {
            if (versions.length == 0) throw new IllegalArgumentException("no protocol versions");
            for (String v : versions) {
                if (!DEFAULT_PROTOCOLS.contains(v)) {
                    throw new IllegalArgumentException(v + " is not allowed: jhv speaks " + String.join(" and ", DEFAULT_PROTOCOLS));
                }
            }
            this.protocols = List.of(versions);
            return this;
        }

        /** The enabled cipher suites (JDK names); default: the JDK's defaults for the protocols. */
        public Builder cipherSuites(String... suites) {
            if (suites.length == 0) throw new IllegalArgumentException("no cipher suites");
            this.cipherSuites = List.of(suites);
            return this;
        }

        /**
         * ALPN protocol names. A server picks, in this order of preference, the first one the client
         * also offers (and refuses a client that offers only others); a client offers them in this
         * order. The choice is {@link TlsInfo#applicationProtocol()}.
         */
        public Builder alpn(String... protocolNames) {
            this.alpn = validAlpn(List.of(protocolNames));
            return this;
        }

        /**
         * Client: whether the server certificate must be issued for the host name connected to
         * (default true). Turning it off still checks the chain against the trusted CAs.
         */
        public Builder verifyHostname(boolean verify) {
            this.verifyHostname = verify;
            this.verifyHostnameSet = true;
            return this;
        }

        /** Client: the host name to send (SNI) and verify, instead of the one connected to. */
        public Builder serverName(String host) {
            this.serverName = Objects.requireNonNull(host);
            return this;
        }

        /** Closes a connection whose handshake has not finished in this time (cause TIMEOUT); default 10 s. */
        public Builder handshakeTimeout(Duration timeout) {
            if (timeout.isNegative() || timeout.isZero()) throw new IllegalArgumentException("handshake timeout must be > 0: " + timeout);
            this.handshakeTimeout = timeout;
            return this;
        }

        /**
         * Builds the config.
         *
         * @throws IllegalStateException if settings do not fit together (a server without a
         *     certificate, client authentication without trusted CAs, a server setting on a client)
         */
        public TlsConfig build() {
            if (client) {
                if (clientAuth != ClientAuth.NONE) throw new IllegalStateException("clientAuth is a server setting");
                if (trustAll && (!trusted.isEmpty() || trustStore != null)) {
                    throw new IllegalStateException("trustAll() trusts every certificate: do not combine it with trust(...) or trustStore(...)");
                }
                if (trustAll && verifyHostname) throw new IllegalStateException("trustAll() turns host name verification off: do not set verifyHostname(true)");
            } else {
                if (trustAll) throw new IllegalStateException("trustAll is a client setting");
                if (keys.isEmpty()) {
                    throw new IllegalStateException("a TLS server needs a certificate and its private key: certificate(certPem, keyPem) or keyStore(...)");
                }
                if (verifyHostnameSet || serverName != null) throw new IllegalStateException("verifyHostname and serverName are client settings");
                if (clientAuth != ClientAuth.NONE && trusted.isEmpty() && trustStore == null) {
                    throw new IllegalStateException("clientAuth(" + clientAuth + ") needs the CA certificates that issue client certificates: trust(caPem)");
                }
            }
            SSLContext ctx;
            try {
                ctx = SSLContext.getInstance("TLS");
                ctx.init(new KeyManager[] {new SniKeyManager(keys)}, trustManagers(), null);
            } catch (GeneralSecurityException e) {
                throw new IllegalStateException("cannot set up TLS: " + e.getMessage(), e);
            }
            if (cipherSuites != null) {
                Set<String> supported = new HashSet<>(Arrays.asList(ctx.getSupportedSSLParameters().getCipherSuites()));
                List<String> unknown = new ArrayList<>();
                for (String s : cipherSuites) if (!supported.contains(s)) unknown.add(s);
                if (!unknown.isEmpty()) throw new IllegalArgumentException("unsupported cipher suites: " + String.join(", ", unknown));
            }
            return new TlsConfig(this, ctx);
        }

        private TrustManager[] trustManagers() throws GeneralSecurityException {
            if (trustAll) return new TrustManager[] {TrustAllManager.INSTANCE};
            if (trusted.isEmpty() && trustStore == null) return null; // the JDK's default trust store
            KeyStore ks = KeyStore.getInstance("PKCS12");
            try {
                ks.load(null, null);
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
            int i = 0;
            for (X509Certificate c : trusted) ks.setCertificateEntry("ca-" + i++, c);
            if (trustStore != null) {
                for (String alias : Collections.list(trustStore.aliases())) {
                    Certificate c = trustStore.getCertificate(alias);
                    if (c != null) ks.setCertificateEntry("store-" + alias, c);
                }
            }
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(ks);
            return tmf.getTrustManagers();
        }
    }

    /** Accepts every certificate chain: {@link Builder#trustAll()}, for testing only. */
    private static final class TrustAllManager extends X509ExtendedTrustManager {
        static final TrustAllManager INSTANCE = new TrustAllManager();

        @Override public void checkClientTrusted(X509Certificate[] chain, String authType) { }
        @Override public void checkServerTrusted(X509Certificate[] chain, String authType) { }
        @Override public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) { }
        @Override public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) { }
        @Override public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) { }
        @Override public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) { }
        @Override public X509Certificate[] getAcceptedIssuers() { return new X509Certificate[0]; }
    }
}
