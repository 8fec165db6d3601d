package io.jhv.core.tls;

import io.jhv.core.net.CloseCause;
import io.jhv.core.net.TcpClient;
import io.jhv.core.net.TcpServer;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Arrays;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.SSLSocket;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Bad input on the TLS port and bad certificates on the client side: each connection closes with a
 * clear cause, nothing hangs, and the server keeps serving others.
 */
@Timeout(30)
class TlsBadInputTest {
    private static final long HANDSHAKE_TIMEOUT_MS = 500;

    private TcpServer server;
    private final LinkedBlockingQueue<CloseCause> closes = new LinkedBlockingQueue<>();
    private final AtomicInteger up = new AtomicInteger();

    @BeforeEach
    void start() {
        server = TcpServer.create("127.0.0.1", 0).threads(1)
                .tls(TlsTestSupport.server().handshakeTimeout(Duration.ofMillis(HANDSHAKE_TIMEOUT_MS)).build())
                .onConnection(c -> { if (c.isConnected()) up.incrementAndGet(); })
                .onMessage((c, b) -> c.write(b))
                .onClose((c, cause) -> closes.add(cause))
                .start();
    }

    @AfterEach
    void stop() {
        server.close();
    }

    private CloseCause nextClose() throws InterruptedException {
        CloseCause c = closes.poll(10, TimeUnit.SECONDS);
        if (c == null) throw new AssertionError("the server did not close the connection");
        System.out.println("server closed: " + c);
        return c;
    }

    /** Reads until the server closes; returns what came (an alert, at most). */
    private static byte[] drain(Socket s) throws Exception {
        try {
            return s.getInputStream().readAllBytes();
        } catch (java.net.SocketException reset) {
            return new byte[0];
        }
    }

    /** Drains the server's close of a successful echo exchange (the client closed it). */
    private void assertServes() throws Exception {
        int before = up.get();
        TlsTestSupport.assertServes(server.port());
        assertEquals(before + 1, up.get());
        assertEquals(CloseCause.Kind.PEER_CLOSED, nextClose().kind());
    }

    @Test
    void plaintextHttpIsRefused() throws Exception {
        try (Socket s = TlsTestSupport.raw(server.port())) {
            s.getOutputStream().write("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            byte[] got = drain(s);
            assertTrue(got.length < 16, "at most an alert comes back: " + got.length + " bytes");
        }
        CloseCause c = nextClose();
        assertEquals(CloseCause.Kind.ERROR, c.kind());
        assertTrue(c.detail().contains("the peer does not speak TLS"), c.detail());
        assertServes();
    }

    @Test
    void randomBytesAreRefused() throws Exception {
        byte[] junk = new byte[8192];
        new Random(42).nextBytes(junk);
        junk[0] = 0x16; // looks like a handshake record at first
        junk[1] = 0x03;
        junk[2] = 0x03;
        try (Socket s = TlsTestSupport.raw(server.port())) {
            s.getOutputStream().write(junk);
            drain(s);
        }
        CloseCause c = nextClose();
        assertEquals(CloseCause.Kind.ERROR, c.kind());
        assertTrue(c.detail().startsWith("TLS handshake failed: "), c.detail());
        assertServes();
    }

    /** A real ClientHello, as the JDK client sends it. */
    private static byte[] clientHello() throws Exception {
        SSLEngine e = TlsTestSupport.client().build().sslContext().createSSLEngine("localhost", 443);
        e.setUseClientMode(true);
        ByteBuffer out = ByteBuffer.allocate(e.getSession().getPacketBufferSize());
        e.beginHandshake();
        e.wrap(ByteBuffer.allocate(0), out);
        out.flip();
        byte[] b = new byte[out.remaining()];
        out.get(b);
        return b;
    }

    @Test
    void truncatedHandshakeThenEndOfStream() throws Exception {
        byte[] hello = clientHello();
        try (Socket s = TlsTestSupport.raw(server.port())) {
            s.getOutputStream().write(Arrays.copyOf(hello, hello.length / 2));
            s.shutdownOutput();
            drain(s);
        }
        CloseCause c = nextClose();
        assertTrue(c.kind() == CloseCause.Kind.PEER_CLOSED || c.kind() == CloseCause.Kind.ERROR, c.toString());
        assertEquals(0, up.get());
        assertServes();
    }

    @Test
    void truncatedHandshakeThenSilenceTimesOut() throws Exception {
        byte[] hello = clientHello();
        long t0 = System.nanoTime();
        try (Socket s = TlsTestSupport.raw(server.port())) {
            s.getOutputStream().write(Arrays.copyOf(hello, hello.length / 2));
            // the server keeps serving others meanwhile
            TlsTestSupport.assertServes(server.port());
            assertEquals(CloseCause.Kind.PEER_CLOSED, nextClose().kind());
            CloseCause c = nextClose();
            assertEquals(CloseCause.Kind.TIMEOUT, c.kind());
            assertEquals("TLS handshake timeout", c.detail());
            assertTrue(System.nanoTime() - t0 >= TimeUnit.MILLISECONDS.toNanos(HANDSHAKE_TIMEOUT_MS));
            assertEquals(-1, s.getInputStream().read(), "the server closed the socket");
        }
    }

    /** A client sends its hello, reads the server's flight and then stops answering. */
    @Test
    void clientThatStopsMidHandshakeTimesOut() throws Exception {
        try (Socket s = TlsTestSupport.raw(server.port())) {
            s.getOutputStream().write(clientHello());
            InputStream in = s.getInputStream();
            byte[] header = in.readNBytes(5);
            assertEquals(0x16, header[0], "a handshake record (ServerHello) came back");
            CloseCause c = nextClose();
            assertEquals(CloseCause.Kind.TIMEOUT, c.kind());
            assertEquals("TLS handshake timeout", c.detail());
        }
        assertEquals(0, up.get());
        assertServes();
    }

    @Test
    void aJhvClientTimesOutOnAServerThatNeverAnswers() throws Exception {
        try (ServerSocket silent = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            CompletableFuture<CloseCause> closed = new CompletableFuture<>();
            TcpClient client = TcpClient.create("127.0.0.1", silent.getLocalPort())
                    .tls(TlsTestSupport.client().handshakeTimeout(Duration.ofMillis(300)).build())
                    .onClose((c, cause) -> closed.complete(cause))
                    .start();
            try (Socket accepted = silent.accept()) {
                CloseCause c = closed.get(5, TimeUnit.SECONDS);
                assertEquals(CloseCause.Kind.TIMEOUT, c.kind());
                assertEquals("TLS handshake timeout", c.detail());
            } finally {
                client.close();
            }
        }
    }

    // ---------------------------------------------------------------- bad certificates, client side

    private static TcpServer serverWith(SelfSignedCertificate cert) {
        return TlsTestSupport.echoServer(TlsConfig.server().certificate(cert).build());
    }

    @Test
    void expiredCertificateIsRefusedWithAClearError() throws Exception {
        Instant past = Instant.now().minus(30, ChronoUnit.DAYS);
        SelfSignedCertificate expired = SelfSignedCertificate.builder().hosts("localhost").issuer(TlsTestSupport.CA)
                .notBefore(past.minus(365, ChronoUnit.DAYS)).notAfter(past).build();
        try (TcpServer bad = serverWith(expired)) {
            TlsTestSupport.Exchange e = TlsTestSupport.exchange("localhost", bad.port(), TlsTestSupport.client().build(), "hi");
            System.out.println("client closed: " + e.closeCause());
            assertEquals("", e.received());
            assertEquals(CloseCause.Kind.ERROR, e.closeCause().kind());
            assertTrue(e.closeCause().detail().startsWith("TLS handshake failed: the server's certificate has expired"), e.closeCause().detail());
            // the JDK's own client refuses it too
            try (SSLSocket s = TlsTestSupport.jdkClient(bad.port(), TlsTestSupport.client().build())) {
                assertThrows(SSLHandshakeException.class, s::startHandshake);
            }
            TlsTestSupport.assertServes(server.port());
        }
    }

    @Test
    void certificateForAnotherHostIsRefusedWithAClearError() throws Exception {
        SelfSignedCertificate other = SelfSignedCertificate.builder().hosts("other.test").issuer(TlsTestSupport.CA).build();
        try (TcpServer bad = serverWith(other)) {
            TlsTestSupport.Exchange e = TlsTestSupport.exchange("localhost", bad.port(), TlsTestSupport.client().build(), "hi");
            System.out.println("client closed: " + e.closeCause());
            assertEquals("", e.received());
            assertEquals(CloseCause.Kind.ERROR, e.closeCause().kind());
            assertTrue(e.closeCause().detail().contains("the server's certificate is not for this host"), e.closeCause().detail());
            assertTrue(e.closeCause().detail().contains("localhost"), e.closeCause().detail());
            // with host name verification turned off explicitly, the chain alone is checked
            e = TlsTestSupport.exchange("localhost", bad.port(), TlsTestSupport.client().verifyHostname(false).build(), "hi");
            assertEquals("hi", e.received());
        }
    }

    @Test
    void untrustedCertificateIsRefusedWithAClearError() throws Exception {
        try (TcpServer bad = serverWith(SelfSignedCertificate.generate("localhost"))) {
            TlsTestSupport.Exchange e = TlsTestSupport.exchange("localhost", bad.port(), TlsTestSupport.client().build(), "hi");
            System.out.println("client closed: " + e.closeCause());
            assertTrue(e.closeCause().detail().contains("the server's certificate is not trusted"), e.closeCause().detail());
            // The JDK trust store is the default: it does not know the development certificate either.
            e = TlsTestSupport.exchange("localhost", bad.port(), TlsConfig.client().build(), "hi");
            assertTrue(e.closeCause().detail().contains("the server's certificate is not trusted"), e.closeCause().detail());
        }
    }
}
