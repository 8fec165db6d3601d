package io.jhv.core.tls;

import io.jhv.core.net.CloseCause;
import io.jhv.core.net.Connection;
import io.jhv.core.net.TcpClient;
import io.jhv.core.net.TcpServer;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.DataInputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;

import static io.jhv.core.tls.TlsTestSupport.client;
import static io.jhv.core.tls.TlsTestSupport.echoServer;
import static io.jhv.core.tls.TlsTestSupport.server;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

@Timeout(20)
class TlsEchoTest {

    @ParameterizedTest
    @ValueSource(strings = {"TLSv1.3", "TLSv1.2"})
    void jhvClientAndServerEchoInOrderWithAlpnAndSni(String protocol) throws Exception {
        CompletableFuture<String[]> serverSide = new CompletableFuture<>();
        try (TcpServer server = TcpServer.create("127.0.0.1", 0).threads(1)
                .tls(server().alpn("echo/2", "echo/1").build())
                .onConnection(c -> {
                    if (c.isConnected()) {
                        TlsInfo t = TlsInfo.of(c);
                        serverSide.complete(new String[] {t.protocol(), t.applicationProtocol(), t.sniHostName()});
                    }
                })
                .onMessage((c, b) -> c.write(b))
                .start()) {
            CompletableFuture<String> echoed = new CompletableFuture<>();
            CompletableFuture<String[]> clientSide = new CompletableFuture<>();
            StringBuilder got = new StringBuilder();
            String expected = "one,two,three";
            TcpClient client = TcpClient.create("localhost", server.port())
                    .tls(client().protocols(protocol).alpn("echo/1", "echo/2", "other").build())
                    .onConnection(c -> {
                        if (!c.isConnected()) return;
                        TlsInfo t = TlsInfo.of(c);
                        clientSide.complete(new String[] {t.protocol(), t.applicationProtocol(), t.sniHostName()});
                        c.write("one,");      // three writes in one callback arrive in order
                        c.write("two,".getBytes(StandardCharsets.UTF_8));
                        c.write("three");
                    })
                    .onMessage((c, b) -> {
                        got.append(b.readString());
                        if (got.length() >= expected.length()) echoed.complete(got.toString());
                    })
                    .start();
            try {
                assertEquals(expected, echoed.get(10, TimeUnit.SECONDS));
                String[] cs = clientSide.get(), ss = serverSide.get(5, TimeUnit.SECONDS);
                assertEquals(protocol, cs[0]);
                assertEquals(protocol, ss[0]);
                assertEquals("echo/2", cs[1], "the server chooses by its own preference");
                assertEquals("echo/2", ss[1]);
                assertEquals("localhost", cs[2], "the client sends the host name it connects to");
                assertEquals("localhost", ss[2]);
            } finally {
                client.close();
                assertTrue(client.awaitTermination(Duration.ofSeconds(5)));
            }
        }
    }

    @Test
    void noAlpnWhenNeitherSideAsks() throws Exception {
        try (TcpServer server = echoServer(server().build())) {
            TlsTestSupport.Exchange e = TlsTestSupport.exchange("127.0.0.1", server.port(), client().build(), "hi");
            assertEquals("hi", e.received());
            assertNull(e.alpn());
            assertEquals("TLSv1.3", e.protocol());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"TLSv1.3", "TLSv1.2"})
    void jdkSslSocketClient(String protocol) throws Exception {
        try (TcpServer server = echoServer(server().alpn("echo/1").build());
             SSLSocket s = TlsTestSupport.jdkClient(server.port(), client().build())) {
            SSLParameters p = s.getSSLParameters();
            p.setProtocols(new String[] {protocol});
            p.setApplicationProtocols(new String[] {"echo/1"});
            s.setSSLParameters(p);
            byte[] msg = new byte[100_000];
            for (int i = 0; i < msg.length; i++) msg[i] = (byte) (i * 31);
            OutputStream out = s.getOutputStream();
            out.write(msg);
            out.flush();
            byte[] back = new byte[msg.length];
            new DataInputStream(s.getInputStream()).readFully(back);
            assertArrayEquals(msg, back);
            assertEquals(protocol, s.getSession().getProtocol());
            assertEquals("echo/1", s.getApplicationProtocol());
        }
    }

    /** close() sends everything queued before it closes: a JDK client reads it all, then the end of the stream. */
    @ParameterizedTest
    @ValueSource(strings = {"TLSv1.3", "TLSv1.2"})
    void closeFlushesThenSendsCloseNotify(String protocol) throws Exception {
        int size = 4 << 20;
        CompletableFuture<CloseCause> closed = new CompletableFuture<>();
        try (TcpServer server = TcpServer.create("127.0.0.1", 0).threads(1).tls(server().build())
                .onMessage((c, b) -> {
                    b.skip(b.readableBytes());
                    byte[] big = new byte[size];
                    for (int i = 0; i < size; i++) big[i] = (byte) i;
                    c.write(big);
                    c.write("END");
                    c.close();
                })
                .onClose((c, cause) -> closed.complete(cause))
                .start();
             SSLSocket s = TlsTestSupport.jdkClient(server.port(), client().protocols(protocol).build())) {
            s.getOutputStream().write('x');
            s.getOutputStream().flush();
            InputStream in = s.getInputStream();
            byte[] got = in.readAllBytes(); // (the JDK client does not insist on close_notify; see TlsConnectionBehaviourTest)
            assertEquals(size + 3, got.length);
            for (int i = 0; i < size; i++) if (got[i] != (byte) i) throw new AssertionError("byte " + i);
            assertEquals("END", new String(got, size, 3, StandardCharsets.US_ASCII));
            assertEquals(CloseCause.Kind.NORMAL, closed.get(5, TimeUnit.SECONDS).kind());
        }
    }

    /**
     * Writes made before the handshake has finished (here from another thread while the server has
     * not answered yet) wait in the layer and go out first, in order, before onConnection's write.
     */
    @Test
    void writesBeforeHandshakeAreKeptInOrder() throws Exception {
        TlsConfig serverConfig = server().build();
        try (java.net.ServerSocket ss = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            TcpClient client = TcpClient.create("127.0.0.1", ss.getLocalPort()).tls(client().build())
                    .onConnection(c -> { if (c.isConnected()) c.write("3"); })
                    .start();
            try (java.net.Socket raw = ss.accept()) {
                Connection c;
                while ((c = client.connection()) == null) Thread.onSpinWait();
                c.write("1");
                c.write("2");
                CompletableFuture<Boolean> written = new CompletableFuture<>();
                client.loop().post(() -> written.complete(TlsInfo.of(client.connection()).isHandshakeComplete()));
                assertEquals(false, written.get(5, TimeUnit.SECONDS), "the handshake cannot have finished yet");
                // Now answer the handshake as a JDK server on the accepted socket.
                SSLSocket tls = (SSLSocket) serverConfig.sslContext().getSocketFactory().createSocket(raw, null, true);
                tls.setUseClientMode(false);
                tls.setSoTimeout(10_000);
                byte[] got = new byte[3];
                new DataInputStream(tls.getInputStream()).readFully(got);
                assertEquals("123", new String(got, StandardCharsets.US_ASCII));
            } finally {
                client.close();
            }
        }
    }

    /** Keys from a PKCS#12 key store file, trust from a PEM file, and a chosen cipher suite. */
    @Test
    void keyStoreTrustFileAndCipherSuite(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
        char[] pw = "changeit".toCharArray();
        java.security.KeyStore ks = java.security.KeyStore.getInstance("PKCS12");
        ks.load(null, null);
        ks.setKeyEntry("localhost", TlsTestSupport.LOCALHOST.privateKey(), pw,
                TlsTestSupport.LOCALHOST.chain().toArray(new java.security.cert.Certificate[0]));
        java.nio.file.Path store = dir.resolve("server.p12");
        try (OutputStream out = java.nio.file.Files.newOutputStream(store)) {
            ks.store(out, pw);
        }
        java.nio.file.Path ca = dir.resolve("ca.pem");
        java.nio.file.Files.writeString(ca, TlsTestSupport.CA.certificatePem());
        try (TcpServer server = echoServer(TlsConfig.server().keyStore(store, pw).build())) {
            TlsConfig client = TlsConfig.client().trust(ca).protocols("TLSv1.2")
                    .cipherSuites("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256").build();
            try (SSLSocket s = TlsTestSupport.jdkClient(server.port(), client)) {
                s.startHandshake();
                assertEquals("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", s.getSession().getCipherSuite());
                assertEquals("CN=localhost", ((java.security.cert.X509Certificate) s.getSession().getPeerCertificates()[0])
                        .getSubjectX500Principal().getName());
            }
        }
        java.nio.file.Path wrong = dir.resolve("nope.p12");
        assertTrue(org.junit.jupiter.api.Assertions.assertThrows(java.io.UncheckedIOException.class,
                () -> TlsConfig.server().keyStore(wrong, pw)).getMessage().startsWith("cannot read key store " + wrong));
    }
}
