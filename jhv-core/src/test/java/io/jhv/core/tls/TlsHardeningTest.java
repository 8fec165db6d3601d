package io.jhv.core.tls;

import io.jhv.core.loop.Probes;
import io.jhv.core.net.CloseCause;
import io.jhv.core.net.Connection;
import io.jhv.core.net.TcpServer;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.lang.ref.WeakReference;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import javax.net.ssl.SSLSocket;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Regression tests for TLS (and TLS-versus-plain) close and handshake defects. One test per defect. */
@Timeout(60)
class TlsHardeningTest {
    @TempDir
    static Path dir;

    private static byte[] filled(int n, char c) {
        byte[] b = new byte[n];
        Arrays.fill(b, (byte) c);
        return b;
    }

    private static void assertKind(String expected, CloseCause cause) {
        assertNotNull(cause);
        assertEquals(expected, cause.kind().name(), cause.toString());
    }

    private static long drain(InputStream in) throws Exception {
        byte[] buf = new byte[64 * 1024];
        long total = 0;
        try {
            for (int n; (n = in.read(buf)) >= 0; ) total += n;
        } catch (java.net.SocketException reset) {
            // counted up to the reset
        }
        return total;
    }

    private static Connection awaitOnlyConnection(TcpServer server) {
        assertTrue(Probes.await(() -> server.connectionCount() == 1, Duration.ofSeconds(5)));
        return server.connections().iterator().next();
    }

    /**
     * Item 6: a write from another thread passes its check, then loses the race with close() on the
     * loop. It is dropped; the connection neither aborts nor loses what was queued before close(),
     * with TLS exactly as without.
     */
    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void aWriteRacingCloseFromAnotherThreadIsDroppedAndTheQueueStillFlushes(boolean tls) throws Exception {
        int size = 16 << 20;
        CompletableFuture<CloseCause> closed = new CompletableFuture<>();
        AtomicReference<Throwable> lateWrite = new AtomicReference<>();
        TcpServer b = TcpServer.create("127.0.0.1", 0).threads(1);
        if (tls) b.tls(TlsTestSupport.server().build());
        try (TcpServer server = b
                .onConnection(c -> {
                    if (!c.isConnected()) return;
                    c.write(filled(size, 'q'));
                    // Another thread's write: its check passes now and its task is queued behind us.
                    Thread t = Thread.ofPlatform().start(() -> {
                        try {
                            c.write("late");
                        } catch (Throwable e) {
                            lateWrite.set(e);
                        }
                    });
                    try {
                        t.join();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                    c.close(); // the late write runs after this
                })
                .onClose((c, cause) -> closed.complete(cause))
                .start()) {
            long got;
            if (tls) {
                try (SSLSocket s = TlsTestSupport.jdkClient(server.port(), TlsTestSupport.client().build())) {
                    s.startHandshake();
                    got = drain(s.getInputStream());
                }
            } else {
                try (Socket s = new Socket("127.0.0.1", server.port())) {
                    got = drain(s.getInputStream());
                }
            }
            assertNull(lateWrite.get(), "the late write was accepted by write() (it could not know)");
            assertEquals(size, got, "everything queued before close(), and not the late write");
            assertKind("NORMAL", closed.get(5, TimeUnit.SECONDS));
        }
    }

    /**
     * Item 7: writes made during the TLS handshake, then close(): the handshake finishes, the writes
     * go out, then the connection closes NORMAL.
     */
    @Test
    void closeDuringTheHandshakeFlushesEarlierWritesAfterIt() throws Exception {
        CompletableFuture<CloseCause> closed = new CompletableFuture<>();
        TlsConfig client = TlsTestSupport.client().build();
        try (TcpServer server = TcpServer.create("127.0.0.1", 0).threads(1).tls(TlsTestSupport.server().build())
                .onClose((c, cause) -> closed.complete(cause))
                .start();
             Socket raw = new Socket("127.0.0.1", server.port())) { // TCP only: no ClientHello yet
            Connection c = awaitOnlyConnection(server);
            c.write("written during the handshake");
            c.close();
            SSLSocket s = (SSLSocket) client.sslContext().getSocketFactory().createSocket(raw, "localhost", server.port(), true);
            s.setSSLParameters(client.sslParameters());
            s.setSoTimeout(10_000);
            s.startHandshake();
            byte[] got = s.getInputStream().readAllBytes();
            assertEquals("written during the handshake", new String(got, StandardCharsets.UTF_8));
            assertKind("NORMAL", closed.get(5, TimeUnit.SECONDS));
        }
    }

    /** Item 7: if that handshake fails, the writes are lost, and the cause says ERROR (not NORMAL). */
    @Test
    void closeDuringAFailingHandshakeReportsError() throws Exception {
        CompletableFuture<CloseCause> closed = new CompletableFuture<>();
        try (TcpServer server = TcpServer.create("127.0.0.1", 0).threads(1).tls(TlsTestSupport.server().build())
                .onClose((c, cause) -> closed.complete(cause))
                .start();
             Socket raw = new Socket("127.0.0.1", server.port())) {
            Connection c = awaitOnlyConnection(server);
            c.write("never sent");
            c.close();
            OutputStream out = raw.getOutputStream();
            out.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII)); // not TLS
            out.flush();
            assertKind("ERROR", closed.get(5, TimeUnit.SECONDS));
        }
    }

    /**
     * Item 13: the handshake timer must not keep a connection closed during its handshake (and its
     * SSLEngine) alive until the handshake timeout (10 s) fires.
     */
    @Test
    void aConnectionClosedDuringTheHandshakeIsNotKeptAliveByTheHandshakeTimer() throws Exception {
        CompletableFuture<CloseCause> closed = new CompletableFuture<>();
        try (TcpServer server = TcpServer.create("127.0.0.1", 0).threads(1)
                .tls(TlsTestSupport.server().handshakeTimeout(Duration.ofSeconds(30)).build())
                .onClose((c, cause) -> closed.complete(cause))
                .start();
             Socket raw = new Socket("127.0.0.1", server.port())) {
            WeakReference<Connection> ref = closeTheOnlyConnection(server);
            closed.get(5, TimeUnit.SECONDS);
            assertEquals(-1, raw.getInputStream().read());
            assertTrue(Probes.await(() -> {
                System.gc();
                return ref.get() == null;
            }, Duration.ofSeconds(5)), "the closed connection is still reachable (the handshake timer holds it)");
        }
    }

    private static WeakReference<Connection> closeTheOnlyConnection(TcpServer server) {
        Connection c = awaitOnlyConnection(server);
        c.close();
        return new WeakReference<>(c);
    }

    // ---------------------------------------------------------------- renegotiation (item 21)

    private static Path caFile() throws Exception {
        Path f = dir.resolve("ca.pem");
        if (!Files.exists(f)) Files.writeString(f, TlsTestSupport.CA.certificatePem());
        return f;
    }

    /** A running {@code openssl s_client}: lines it prints, and its stdin. */
    private record SClient(Process process, LinkedBlockingQueue<String> lines, OutputStream stdin) implements AutoCloseable {
        static SClient start(int port, String versionFlag) throws Exception {
            Process p = new ProcessBuilder("openssl", "s_client", "-connect", "127.0.0.1:" + port,
                    "-CAfile", caFile().toString(), "-servername", "localhost", "-verify_return_error", versionFlag)
                    .redirectErrorStream(true).start();
            LinkedBlockingQueue<String> lines = new LinkedBlockingQueue<>();
            Thread.ofVirtual().start(() -> {
                try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                    for (String line; (line = r.readLine()) != null; ) lines.add(line);
                } catch (Exception e) {
                    // destroyed
                }
                lines.add("<EOF>");
            });
            return new SClient(p, lines, p.getOutputStream());
        }

        void send(String line) throws Exception {
            stdin.write((line + "\n").getBytes(StandardCharsets.UTF_8));
            stdin.flush(); // stdin stays open: s_client would close the connection at its end
        }

        /** Waits for a line equal to {@code want}; returns false at EOF or after 10 s. */
        boolean await(String want) throws Exception {
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            for (;;) {
                String l = lines.poll(Math.max(1, end - System.nanoTime()), TimeUnit.NANOSECONDS);
                if (l == null || l.equals("<EOF>")) return false;
                if (l.equals(want)) return true;
            }
        }

        @Override
        public void close() throws Exception {
            process.destroy();
            process.waitFor(5, TimeUnit.SECONDS);
        }
    }

    private static TcpServer echo(CompletableFuture<CloseCause> closed) {
        return TcpServer.create("127.0.0.1", 0).threads(1).tls(TlsTestSupport.server().build())
                .onMessage((c, b) -> c.write(b))
                .onClose((c, cause) -> closed.complete(cause))
                .start();
    }

    /** Item 21: a client-initiated TLS 1.2 renegotiation is refused: the server closes with ERROR. */
    @Test
    void clientInitiatedTls12RenegotiationIsRefused() throws Exception {
        assumeTrue(OpenSslInteropTest.hasOpenssl(), "openssl is not installed");
        CompletableFuture<CloseCause> closed = new CompletableFuture<>();
        try (TcpServer server = echo(closed); SClient s = SClient.start(server.port(), "-tls1_2")) {
            s.send("before");
            assertTrue(s.await("before"), "a normal TLS 1.2 exchange works");
            s.send("R"); // s_client renegotiates on a line "R"
            CloseCause cause = closed.get(10, TimeUnit.SECONDS);
            assertKind("ERROR", cause);
            assertTrue(cause.detail().contains("renegotiation"), cause.toString());
        }
    }

    /** Item 21: TLS 1.3 post-handshake messages (KeyUpdate, session tickets) keep working. */
    @Test
    void tls13KeyUpdateStillWorks() throws Exception {
        assumeTrue(OpenSslInteropTest.hasOpenssl(), "openssl is not installed");
        CompletableFuture<CloseCause> closed = new CompletableFuture<>();
        try (TcpServer server = echo(closed); SClient s = SClient.start(server.port(), "-tls1_3")) {
            s.send("before");
            assertTrue(s.await("before"));
            for (String k : List.of("K", "k")) { // key update, with and without update_requested
                s.send(k);
                // s_client takes a whole stdin read as the command: wait for it before sending data
                assertTrue(s.await("KEYUPDATE"), "s_client sent a key update " + k);
                s.send("after " + k);
                assertTrue(s.await("after " + k), "echo after a key update " + k);
            }
            assertTrue(!closed.isDone(), "still open: " + closed.getNow(null));
        }
    }
}
