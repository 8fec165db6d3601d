package io.jhv.cli;

import io.jhv.cli.proxy.TcpProxy;
import io.jhv.core.net.Connection;
import io.jhv.core.net.TcpServer;
import io.jhv.core.tls.SelfSignedCertificate;
import io.jhv.core.tls.TlsConfig;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import javax.net.ssl.SSLSocket;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code hv proxy tcp}: a real upstream, real sockets, the proxy in-process. */
@Timeout(30)
class ProxyTcpTest {
    @TempDir
    Path dir;

    final ProxyFixture fx = new ProxyFixture();

    @AfterEach
    void close() {
        fx.close();
    }

    private static byte pattern(long i) {
        return (byte) ((i * 31 + (i >>> 11)) % 251);
    }

    /** The client sends, then half-closes; the upstream answers after the FIN; the answer comes back whole. */
    @Test
    void aHalfClosePassesThroughAndTheReplyStillArrives() throws Exception {
        AtomicLong received = new AtomicLong();
        TcpServer upstream = fx.add(TcpServer.create("127.0.0.1", 0).threads(1)
                .onMessage((c, buf) -> {
                    received.addAndGet(buf.readableBytes());
                    buf.skip(buf.readableBytes());
                })
                .onPeerShutdown(c -> {
                    c.write("got " + received.get() + " bytes after your FIN\n");
                    c.close();
                })
                .start());
        ProxyCommand.Running p = fx.proxy("tcp", "--listen", "127.0.0.1:0", "--to", "127.0.0.1:" + upstream.port(), "--threads", "1");
        try (Socket s = new Socket("127.0.0.1", p.port)) {
            s.setSoTimeout(10_000);
            OutputStream out = s.getOutputStream();
            out.write(new byte[100_000]);
            s.shutdownOutput();
            String reply = new String(s.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
            assertEquals("got 100000 bytes after your FIN\n", reply);
        }
    }

    /**
     * 64 MiB from the upstream to a client that reads slowly at first: everything arrives in order, and
     * the proxy's queues stay within the high-water mark plus one read (it stops reading the upstream
     * instead of buffering).
     */
    @Test
    void a64MiBTransferToASlowReaderStaysWithinTheWaterMarks() throws Exception {
        final long total = 64L << 20;
        byte[] chunk = new byte[64 * 1024];
        TcpServer upstream = fx.add(TcpServer.create("127.0.0.1", 0).threads(1)
                .onConnection(c -> {
                    if (!c.isConnected()) return;
                    c.context(new long[] {0});
                    sendMore(c, chunk, total);
                })
                .onWriteComplete(c -> sendMore(c, chunk, total))
                .start());
        ProxyCommand.Running p = fx.proxy("tcp", "--listen", "127.0.0.1:0", "--to", "127.0.0.1:" + upstream.port(), "--threads", "1");
        try (Socket s = new Socket("127.0.0.1", p.port)) {
            s.setSoTimeout(10_000);
            InputStream in = s.getInputStream();
            byte[] buf = new byte[256 * 1024];
            long slowUntil = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(1500);
            long got = 0;
            while (got < total) {
                boolean slow = System.nanoTime() < slowUntil;
                int n = in.read(buf, 0, slow ? 2048 : buf.length);
                if (n < 0) break;
                for (int i = 0; i < n; i++) {
                    if (buf[i] != pattern(got + i)) throw new AssertionError("byte " + (got + i) + " is wrong");
                }
                got += n;
                if (slow) Thread.sleep(5); // a slow reader, not synchronisation
            }
            assertEquals(total, got);
            Connection down = ProxyFixture.connectionOf(p.server(), s);
            long[] q = ProxyFixture.onLoop(down, () -> {
                Connection up = TcpProxy.upstreamOf(down);
                return new long[] {down.maxQueuedBytes(), up == null ? -1 : up.maxQueuedBytes()};
            });
            long high = TcpServer.DEFAULT_HIGH_WATER_MARK, bound = high + 64 * 1024;
            System.out.println("proxy tcp, 64 MiB to a slow reader: max queued downstream " + q[0] + ", upstream " + q[1]
                    + " bytes (high-water mark " + high + ")");
            assertTrue(q[1] >= 0, "no upstream connection");
            assertTrue(q[0] > high / 2, "the downstream queue never filled, the test proves nothing: " + q[0]);
            assertTrue(q[0] <= bound, "downstream queue reached " + q[0] + " > " + bound);
            assertTrue(q[1] <= bound, "upstream queue reached " + q[1] + " > " + bound);
        }
    }

    /** Writes the pattern in chunks until the queue is non-empty (then onWriteComplete calls again). */
    private static void sendMore(Connection c, byte[] chunk, long total) {
        long[] sent = c.context();
        while (sent[0] < total && c.queuedBytes() == 0) {
            int n = (int) Math.min(chunk.length, total - sent[0]);
            byte[] b = new byte[n];
            for (int i = 0; i < n; i++) b[i] = pattern(sent[0] + i);
            c.write(b);
            sent[0] += n;
        }
        if (sent[0] >= total && c.queuedBytes() == 0) c.close();
    }

    @Test
    void anUnreachableUpstreamClosesTheClientAndIsLogged() throws Exception {
        int dead;
        try (ServerSocket ss = new ServerSocket(0, 1, java.net.InetAddress.getByName("127.0.0.1"))) {
            dead = ss.getLocalPort();
        }
        ProxyCommand.Running p = fx.proxy("tcp", "--listen", "127.0.0.1:0", "--to", "127.0.0.1:" + dead, "--threads", "1");
        try (Socket s = new Socket("127.0.0.1", p.port)) {
            s.setSoTimeout(10_000);
            assertEquals(-1, s.getInputStream().read());
        }
        fx.awaitLog("cannot reach upstream 127.0.0.1:" + dead);
        assertTrue(fx.log().contains("refused"), fx.log());
    }

    /** An upstream whose accept queue is full drops SYNs: the connect times out after --connect-timeout. */
    @Test
    void anUpstreamThatNeverAnswersTimesOut() throws Exception {
        try (ServerSocket full = new ServerSocket(0, 1, java.net.InetAddress.getByName("127.0.0.1"))) {
            List<Socket> fillers = new ArrayList<>();
            boolean queueFull = false;
            try {
                // fill the accept queue (never accepted); later SYNs are dropped by the kernel
                for (int i = 0; i < 8; i++) {
                    Socket f = new Socket();
                    try {
                        f.connect(new InetSocketAddress("127.0.0.1", full.getLocalPort()), 300);
                        fillers.add(f);
                    } catch (java.net.SocketTimeoutException e) {
                        f.close();
                        queueFull = true;
                        break; // full
                    }
                }
                org.junit.jupiter.api.Assumptions.assumeTrue(queueFull, "this kernel accepts connections beyond a full accept queue");
                ProxyCommand.Running p = fx.proxy("tcp", "--listen", "127.0.0.1:0", "--to", "127.0.0.1:" + full.getLocalPort(),
                        "--threads", "1", "--connect-timeout", "0.5");
                long t0 = System.nanoTime();
                try (Socket s = new Socket("127.0.0.1", p.port)) {
                    s.setSoTimeout(10_000);
                    assertEquals(-1, s.getInputStream().read());
                }
                long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
                fx.awaitLog("timed out");
                assertTrue(ms >= 400 && ms < 5000, "closed after " + ms + " ms");
            } finally {
                for (Socket f : fillers) f.close();
            }
        }
    }

    /** TLS from the client ends at the proxy; the proxy speaks TLS again to a TLS upstream it verifies with --ca. */
    @Test
    void tlsInAndTlsOut() throws Exception {
        SelfSignedCertificate upCert = SelfSignedCertificate.generate("localhost");
        SelfSignedCertificate.PemFiles upFiles = upCert.writeTo(dir.resolve("up"));
        SelfSignedCertificate proxyCert = SelfSignedCertificate.generate("localhost");
        SelfSignedCertificate.PemFiles proxyFiles = proxyCert.writeTo(dir.resolve("proxy"));
        CompletableFuture<Boolean> upstreamSawTls = new CompletableFuture<>();
        TcpServer upstream = fx.add(TcpServer.create("127.0.0.1", 0).threads(1)
                .tls(TlsConfig.server().certificate(upCert).build())
                .onConnection(c -> { if (c.isConnected()) upstreamSawTls.complete(c.isSecure()); })
                .onMessage((c, buf) -> c.write(buf))
                .start());
        ProxyCommand.Running p = fx.proxy("tcp", "--listen", "127.0.0.1:0", "--to", "localhost:" + upstream.port(), "--threads", "1",
                "--tls-in", "--cert", proxyFiles.certificate().toString(), "--key", proxyFiles.privateKey().toString(),
                "--tls-out", "--ca", upFiles.certificate().toString());
        TlsConfig client = TlsConfig.client().trust(proxyFiles.certificate()).build();
        try (SSLSocket s = (SSLSocket) client.sslContext().getSocketFactory().createSocket("localhost", p.port)) {
            s.setSoTimeout(10_000);
            s.getOutputStream().write("hello through two TLS hops".getBytes(StandardCharsets.US_ASCII));
            byte[] b = s.getInputStream().readNBytes(26);
            assertEquals("hello through two TLS hops", new String(b, StandardCharsets.US_ASCII));
            assertEquals(proxyCert.certificate(), s.getSession().getPeerCertificates()[0]);
        }
        assertTrue(upstreamSawTls.get(5, TimeUnit.SECONDS));

        // an upstream certificate the proxy does not trust: the client's connection is closed, the log says why
        ProxyCommand.Running strict = fx.proxy("tcp", "--listen", "127.0.0.1:0", "--to", "localhost:" + upstream.port(),
                "--threads", "1", "--tls-out");
        try (Socket s = new Socket("127.0.0.1", strict.port)) {
            s.setSoTimeout(10_000);
            s.getOutputStream().write("x".getBytes(StandardCharsets.US_ASCII));
            assertEquals(-1, s.getInputStream().read());
        }
        fx.awaitLog("TLS handshake with localhost:" + upstream.port() + " failed");
    }

    @Test
    void badCommandLinesAreUsageErrors() {
        assertThrows(Args.UsageException.class, () -> fx.proxy("tcp", "--listen", "127.0.0.1:0"));
        assertThrows(Args.UsageException.class, () -> fx.proxy("tcp", "--listen", "127.0.0.1:0", "--to", "nohost"));
        assertThrows(Args.UsageException.class, () -> fx.proxy("tcp", "--listen", "::1:80", "--to", "a:1"));
        assertThrows(Args.UsageException.class, () -> fx.proxy("tcp", "--listen", "0", "--to", "a:1", "--insecure"));
        assertThrows(Args.UsageException.class, () -> fx.proxy("nosuch", "--listen", "0"));
        assertThrows(Args.UsageException.class, () -> fx.proxy("tcp", "--listen", "0", "--to", "a:1", "--user", "u"));
        assertThrows(Args.UsageException.class, () -> fx.proxy("udp", "--listen", "0", "--to", "a:1", "--threads", "2"));
        assertThrows(Args.UsageException.class, () -> fx.proxy("socks5", "--listen", "0", "--response-timeout", "2"));
        assertThrows(Args.UsageException.class, () -> fx.proxy("http", "--listen", "0", "--user", "u"));
        assertThrows(Args.UsageException.class, () -> fx.proxy("http", "--listen", "0", "--allow", "host:99999"));
        assertEquals(2, Main.run(new String[] {"proxy", "tcp", "--listen"}));
        assertTrue(Main.HELP.contains("proxy    hv proxy tcp|udp|http|socks5"), Main.HELP);
        assertTrue(Main.HELP.contains("nc       hv nc "), Main.HELP);
    }
}
