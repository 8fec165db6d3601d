package io.jhv.bench.peer;

import io.jhv.core.tls.SelfSignedCertificate;

import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.IdentityCipherSuiteFilter;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;

import java.io.File;
import java.security.cert.X509Certificate;
import java.security.NoSuchAlgorithmException;
import java.util.List;
import java.util.Set;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;

/**
 * The Netty HTTPS peer of {@code hv httpd --https-port}: the plaintext server of
 * {@link NettyHttpServer} behind Netty's {@code SslHandler} with the JDK TLS provider
 * ({@link SslProvider#JDK}, the same {@code SSLEngine} jhv uses), on one event loop.
 *
 * <p>TLS 1.3 and 1.2, ALPN {@code http/1.1}; the certificate comes from {@code --cert}/{@code --key}
 * (PEM, PKCS#8 key) or, without them, a generated EC P-256 certificate for localhost (the same kind
 * {@code hv httpd} generates). {@code GET /plaintext} answers {@code Hello, World!} the way
 * {@link NettyHttpServer} does, because it is that server with an {@code SslHandler} in front of
 * the codec; anything else gets 404.
 *
 * <pre>java -cp benchmarks.jar io.jhv.bench.peer.NettyHttpsServer --transport epoll --port 8443 [--cert cert.pem --key key.pem] [--ciphers jdk|netty]</pre>
 */
public final class NettyHttpsServer {
    private NettyHttpsServer() {}

    static final String USAGE = "NettyHttpsServer [--transport epoll|nio] [--port 8443] [--host 127.0.0.1] [--cert FILE --key FILE] [--ciphers jdk|netty]";

    /**
     * A server context on the JDK provider, TLS 1.3 and 1.2, ALPN http/1.1, from PEM files (or
     * generated if null). With {@code jdkCiphers} the cipher suites are the JDK's defaults in the
     * JDK's order, as jhv uses them (TLS 1.3 then picks TLS_AES_256_GCM_SHA384 with curl and wrk);
     * without, Netty's own default list, which puts TLS_AES_128_GCM_SHA256 first.
     */
    public static SslContext sslContext(File certPem, File keyPem, boolean jdkCiphers) throws SSLException {
        SslContextBuilder b;
        if (certPem != null) {
            b = SslContextBuilder.forServer(certPem, keyPem);
        } else {
            SelfSignedCertificate dev = SelfSignedCertificate.generate("localhost");
            b = SslContextBuilder.forServer(dev.privateKey(), dev.chain().toArray(new X509Certificate[0]));
        }
        b.sslProvider(SslProvider.JDK).protocols("TLSv1.3", "TLSv1.2");
        if (jdkCiphers) {
            try {
                b.ciphers(List.of(SSLContext.getDefault().getDefaultSSLParameters().getCipherSuites()),
                        IdentityCipherSuiteFilter.INSTANCE);
            } catch (NoSuchAlgorithmException e) {
                throw new SSLException("no default SSLContext", e);
            }
        }
        return b
                .applicationProtocolConfig(new ApplicationProtocolConfig(ApplicationProtocolConfig.Protocol.ALPN,
                        ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
                        ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT,
                        ApplicationProtocolNames.HTTP_1_1))
                .build();
    }

    /** Binds {@code host:port} (port 0: any free port) and serves HTTPS on one loop of {@code transport}. */
    public static NettyHttpServer start(String host, int port, NettyTransport transport, SslContext ssl) throws InterruptedException {
        return NettyHttpServer.start(host, port, transport, ssl);
    }

    public static void main(String[] argv) throws Exception {
        PeerArgs a;
        try {
            a = PeerArgs.parse(argv, Set.of("transport", "port", "host", "cert", "key", "ciphers"));
            if ((a.get("cert", null) == null) != (a.get("key", null) == null)) {
                throw new IllegalArgumentException("--cert and --key go together");
            }
            if (!a.get("ciphers", "jdk").equals("jdk") && !a.get("ciphers", "jdk").equals("netty")) {
                throw new IllegalArgumentException("--ciphers must be jdk or netty, not " + a.get("ciphers", null));
            }
        } catch (IllegalArgumentException e) {
            System.err.println("NettyHttpsServer: " + e.getMessage() + "\nusage: " + USAGE);
            System.exit(2);
            return;
        }
        NettyTransport t = NettyTransport.parse(a.get("transport", "epoll"));
        String host = a.get("host", "127.0.0.1");
        String cert = a.get("cert", null);
        boolean jdkCiphers = a.get("ciphers", "jdk").equals("jdk");
        SslContext ssl = sslContext(cert == null ? null : new File(cert), cert == null ? null : new File(a.get("key", null)), jdkCiphers);
        NettyHttpServer server = start(host, a.getInt("port", 8443, 0, 65535), t, ssl);
        System.out.println("netty https (" + t.name().toLowerCase() + ", JDK TLS, " + (jdkCiphers ? "JDK" : "Netty") + " cipher order, 1 loop) listening on " + host + ":" + server.port());
        PeerArgs.serveUntilShutdown(server, "netty-https");
    }
}
