package io.jhv.core.tls;

import io.jhv.core.net.CloseCause;
import io.jhv.core.net.TcpClient;
import io.jhv.core.net.TcpServer;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Shared certificates and small helpers for the TLS tests. */
final class TlsTestSupport {
    private TlsTestSupport() {}

    /** A test CA and a localhost server certificate it issued (generating keys takes a few ms; share them). */
    static final SelfSignedCertificate CA = SelfSignedCertificate.builder().subject("CN=jhv test CA").ca(true).build();
    static final SelfSignedCertificate LOCALHOST = SelfSignedCertificate.builder()
            .subject("CN=localhost").hosts("localhost", "127.0.0.1").issuer(CA).build();

    static TlsConfig.Builder server() {
        return TlsConfig.server().certificate(LOCALHOST);
    }

    static TlsConfig.Builder client() {
        return TlsConfig.client().trust(CA.certificate());
    }

    /** A one-loop TLS echo server on 127.0.0.1. */
    static TcpServer echoServer(TlsConfig config) {
        return TcpServer.create("127.0.0.1", 0).threads(1).tls(config)
                .onMessage((c, b) -> c.write(b))
                .start();
    }

    /** The result of one jhv client exchange: what came back, the client's TLS info, or the close cause. */
    record Exchange(String received, String protocol, String alpn, String peerSubject, CloseCause closeCause) {}

    /**
     * Connects a jhv TLS client, sends {@code message}, waits for it to come back (or the connection to
     * close) and closes.
     */
    static Exchange exchange(String host, int port, TlsConfig config, String message) throws Exception {
        CompletableFuture<Exchange> done = new CompletableFuture<>();
        StringBuilder got = new StringBuilder();
        String[] info = new String[3];
        TcpClient client = TcpClient.create(host, port).tls(config)
                .onConnection(c -> {
                    if (!c.isConnected()) return;
                    TlsInfo t = TlsInfo.of(c);
                    info[0] = t.protocol();
                    info[1] = t.applicationProtocol();
                    info[2] = t.peerCertificates().isEmpty() ? null : t.peerCertificates().get(0).getSubjectX500Principal().getName();
                    c.write(message);
                })
                .onMessage((c, b) -> {
                    got.append(b.readString());
                    if (got.length() >= message.length()) {
                        done.complete(new Exchange(got.toString(), info[0], info[1], info[2], null));
                        c.close();
                    }
                })
                .onClose((c, cause) -> done.complete(new Exchange(got.toString(), info[0], info[1], info[2], cause)))
                .start();
        try {
            return done.get(10, TimeUnit.SECONDS);
        } finally {
            client.close();
            client.awaitTermination(Duration.ofSeconds(5));
        }
    }

    /** Asserts the server still echoes over TLS. */
    static void assertServes(int port) throws Exception {
        Exchange e = exchange("localhost", port, client().build(), "still there?");
        assertEquals("still there?", e.received(), "the server stopped serving: " + e);
    }

    static SSLSocket jdkClient(int port, TlsConfig config) throws IOException {
        SSLContext ctx = config.sslContext();
        SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket();
        s.setSSLParameters(config.sslParameters()); // protocols, suites, ALPN, host name check
        s.connect(new InetSocketAddress("127.0.0.1", port), 5000);
        s.setSoTimeout(10_000);
        return s;
    }

    /** A raw TCP socket to the server (for bad input). */
    static Socket raw(int port) throws IOException {
        Socket s = new Socket("127.0.0.1", port);
        s.setSoTimeout(10_000);
        return s;
    }
}
