package io.jhv.cli;

import io.jhv.core.net.TcpServer;
import io.jhv.core.net.UdpSocket;
import io.jhv.core.tls.SelfSignedCertificate;
import io.jhv.core.tls.TlsConfig;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code hv nc} in-process, with stdin and stdout given, against jhv servers and curl. */
@Timeout(30)
class NcCommandTest {
    final ProxyFixture fx = new ProxyFixture();

    @AfterEach
    void close() {
        fx.close();
    }

    record Run(int exit, String out, String err) {}

    private static Run nc(String stdin, String... args) {
        String[] argv = new String[args.length + 1];
        argv[0] = "nc";
        System.arraycopy(args, 0, argv, 1, args.length);
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        int code = NcCommand.run(argv, new ByteArrayInputStream(stdin.getBytes(StandardCharsets.UTF_8)),
                new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    private static int deadPort() throws Exception {
        try (ServerSocket ss = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            return ss.getLocalPort();
        }
    }

    @Test
    void copiesStdinToAnEchoServerAndHalfClosesAtItsEnd() {
        TcpServer echo = fx.add(TcpServer.create("127.0.0.1", 0).threads(1).onMessage((c, buf) -> c.write(buf)).start());
        String input = "hello\n" + "x".repeat(200_000) + "\nbye\n";
        Run r = nc(input, "127.0.0.1", Integer.toString(echo.port()));
        assertEquals(0, r.exit(), r.err());
        assertEquals(input, r.out(), "the whole echo, then the server closed after our FIN");
    }

    @Test
    void halfCloseLetsTheReplyComeAfterTheEndOfStdin() {
        AtomicLong got = new AtomicLong();
        TcpServer server = fx.add(TcpServer.create("127.0.0.1", 0).threads(1)
                .onMessage((c, buf) -> {
                    got.addAndGet(buf.readableBytes());
                    buf.skip(buf.readableBytes());
                })
                .onPeerShutdown(c -> {
                    c.write("you sent " + got.get() + "\n");
                    c.close();
                })
                .start());
        Run r = nc("12345", "127.0.0.1", Integer.toString(server.port()));
        assertEquals(0, r.exit(), r.err());
        assertEquals("you sent 5\n", r.out());
    }

    /** The peer half-closes first (it has nothing to say): all of stdin still reaches it. */
    @Test
    void aPeerThatHalfClosesFirstStillGetsAllOfStdin() {
        AtomicLong got = new AtomicLong();
        CompletableFuture<Long> atFin = new CompletableFuture<>();
        TcpServer sink = fx.add(TcpServer.create("127.0.0.1", 0).threads(1)
                .onConnection(c -> { if (c.isConnected()) c.shutdownOutput(); })
                .onMessage((c, buf) -> {
                    got.addAndGet(buf.readableBytes());
                    buf.skip(buf.readableBytes());
                })
                .onPeerShutdown(c -> {
                    atFin.complete(got.get());
                    c.close();
                })
                .start());
        String input = "z".repeat(8 << 20);
        Run r = nc(input, "127.0.0.1", Integer.toString(sink.port()));
        assertEquals(0, r.exit(), r.err());
        assertEquals(input.length(), atFin.join(), "bytes the sink got before our FIN");
    }

    @Test
    void tlsWithInsecureAndWithCa() throws Exception {
        SelfSignedCertificate cert = SelfSignedCertificate.generate("localhost");
        java.nio.file.Path ca = java.nio.file.Files.createTempFile("hv-nc-ca", ".pem");
        try {
            java.nio.file.Files.writeString(ca, cert.certificatePem());
            TcpServer echo = fx.add(TcpServer.create("127.0.0.1", 0).threads(1).tls(TlsConfig.server().certificate(cert).build())
                    .onMessage((c, buf) -> c.write(buf)).start());
            Run r = nc("secret\n", "--tls", "-k", "127.0.0.1", Integer.toString(echo.port()));
            assertEquals(0, r.exit(), r.err());
            assertEquals("secret\n", r.out());
            r = nc("verified\n", "--tls", "--ca", ca.toString(), "localhost", Integer.toString(echo.port()));
            assertEquals(0, r.exit(), r.err());
            assertEquals("verified\n", r.out());
            r = nc("x", "--tls", "localhost", Integer.toString(echo.port()));
            assertEquals(1, r.exit(), "an untrusted certificate fails");
            assertTrue(r.err().contains("TLS handshake"), r.err());
        } finally {
            java.nio.file.Files.deleteIfExists(ca);
        }
    }

    @Test
    void udpSendsDatagramsAndPrintsReplies() {
        UdpSocket echo = fx.add(UdpSocket.bind("127.0.0.1", 0).onMessage((s, from, dg) -> s.sendTo(from, dg)).start());
        Run r = nc("ping over udp", "-u", "-w", "0.5", "127.0.0.1", Integer.toString(echo.port()));
        assertEquals(0, r.exit(), r.err());
        assertEquals("ping over udp", r.out());
    }

    @Test
    void scanReportsOpenPortsOnly() throws Exception {
        TcpServer open = fx.add(TcpServer.create("127.0.0.1", 0).threads(1).onMessage((c, buf) -> buf.skip(buf.readableBytes())).start());
        int closed = deadPort();
        int lo = Math.min(open.port(), closed), hi = Math.max(open.port(), closed);
        Run r;
        if (hi - lo <= 200) {
            r = nc("", "-z", "-w", "1", "127.0.0.1", lo + "-" + hi);
        } else {
            r = nc("", "-z", "-w", "1", "127.0.0.1", Integer.toString(open.port()));
        }
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("127.0.0.1 " + open.port() + " open"), r.out());
        assertFalse(r.out().contains(" " + closed + " open"), r.out());
        // only the closed one: exit 1, nothing printed
        r = nc("", "-z", "-w", "1", "127.0.0.1", closed + "-" + closed);
        assertEquals(1, r.exit());
        assertEquals("", r.out());
    }

    @Test
    void failuresExitWithOne() throws Exception {
        Run r = nc("", "127.0.0.1", Integer.toString(deadPort()));
        assertEquals(1, r.exit());
        assertTrue(r.err().contains("refused"), r.err());
        // -w: a server that accepts and never says anything nor closes
        try (ServerSocket silent = new ServerSocket(0, 5, InetAddress.getByName("127.0.0.1"))) {
            long t0 = System.nanoTime();
            r = nc("", "-w", "0.4", "127.0.0.1", Integer.toString(silent.getLocalPort()));
            long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
            assertEquals(1, r.exit());
            assertTrue(r.err().contains("nothing received"), r.err());
            assertTrue(ms >= 300 && ms < 5000, ms + " ms");
        }
        assertThrows(Args.UsageException.class, () -> nc("", "127.0.0.1"));
        assertThrows(Args.UsageException.class, () -> nc("", "-q", "127.0.0.1", "80"));
        assertThrows(Args.UsageException.class, () -> nc("", "-k", "127.0.0.1", "80"));
        assertEquals(2, Main.run(new String[] {"nc", "-l"}));
    }

    /** {@code hv nc -l} serves one connection: curl's request arrives on stdout, stdin is the reply. */
    @Test
    void listenServesOneConnectionToCurl() throws Exception {
        String response = "HTTP/1.1 200 OK\r\nContent-Length: 12\r\nConnection: close\r\n\r\nfrom hv nc\r\n";
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        PipedErr err = new PipedErr();
        CompletableFuture<Integer> exit = CompletableFuture.supplyAsync(() -> NcCommand.run(
                new String[] {"nc", "-l", "127.0.0.1", "0"},
                new ByteArrayInputStream(response.getBytes(StandardCharsets.US_ASCII)),
                new PrintStream(out, true, StandardCharsets.UTF_8), err.stream));
        int port = err.awaitPort();
        Curl.Result c = Curl.run("http://127.0.0.1:" + port + "/from-curl");
        assertEquals(0, c.exit(), c.err());
        assertEquals("from hv nc\r\n", c.out());
        assertEquals(0, exit.get(10, TimeUnit.SECONDS));
        assertTrue(out.toString(StandardCharsets.UTF_8).startsWith("GET /from-curl HTTP/1.1\r\n"), out.toString(StandardCharsets.UTF_8));
    }

    /** Collects stderr and finds the port in "listening on HOST:PORT". */
    static final class PipedErr {
        final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        final PrintStream stream = new PrintStream(bytes, true, StandardCharsets.UTF_8);

        int awaitPort() throws InterruptedException {
            Pattern p = Pattern.compile("listening on [^\\s]*:(\\d+)");
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (System.nanoTime() < deadline) {
                String s;
                synchronized (bytes) {
                    s = bytes.toString(StandardCharsets.UTF_8);
                }
                Matcher m = p.matcher(s);
                if (m.find()) return Integer.parseInt(m.group(1));
                Thread.sleep(10);
            }
            throw new AssertionError("hv nc -l never said where it listens");
        }
    }
}
