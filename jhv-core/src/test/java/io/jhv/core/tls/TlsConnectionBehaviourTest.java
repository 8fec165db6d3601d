package io.jhv.core.tls;

import io.jhv.core.net.CloseCause;
import io.jhv.core.net.Connection;
import io.jhv.core.net.TcpClient;
import io.jhv.core.net.TcpServer;
import io.jhv.core.net.Unpackers;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.DataInputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import javax.net.ssl.SSLSocket;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The connection behaves the same with TLS on: ordered writes from threads, unpacking, timeouts, half-close. */
@Timeout(30)
class TlsConnectionBehaviourTest {

    /** 4 threads write 2,000 numbered lines each to one TLS connection: each thread's lines arrive complete and in order. */
    @Test
    void writesFromManyThreadsKeepEachThreadsOrder() throws Exception {
        int threads = 4, perThread = 2000;
        ConcurrentHashMap<Integer, List<Integer>> seen = new ConcurrentHashMap<>();
        CountDownLatch all = new CountDownLatch(threads * perThread);
        CompletableFuture<Connection> serverConn = new CompletableFuture<>();
        try (TcpServer server = TcpServer.create("127.0.0.1", 0).threads(1).tls(TlsTestSupport.server().build())
                .unpacker(Unpackers.delimiter("\n", 1024))
                .onConnection(c -> { if (c.isConnected()) serverConn.complete(c); })
                .onMessage((c, b) -> {
                    String[] parts = b.readString().strip().split(" "); // the delimiter stays on the package
                    seen.computeIfAbsent(Integer.parseInt(parts[0]), k -> new ArrayList<>()).add(Integer.parseInt(parts[1]));
                    all.countDown();
                })
                .start()) {
            CompletableFuture<Connection> up = new CompletableFuture<>();
            TcpClient client = TcpClient.create("localhost", server.port()).tls(TlsTestSupport.client().build())
                    .onConnection(c -> { if (c.isConnected()) up.complete(c); })
                    .start();
            try {
                Connection c = up.get(10, TimeUnit.SECONDS);
                List<Thread> writers = new ArrayList<>();
                for (int t = 0; t < threads; t++) {
                    int id = t;
                    writers.add(Thread.ofPlatform().start(() -> {
                        for (int i = 0; i < perThread; i++) c.write(id + " " + i + "\n");
                    }));
                }
                for (Thread t : writers) t.join();
                assertTrue(all.await(20, TimeUnit.SECONDS), "missing lines: " + all.getCount());
                for (int t = 0; t < threads; t++) {
                    List<Integer> got = seen.get(t);
                    assertEquals(perThread, got.size());
                    for (int i = 0; i < perThread; i++) assertEquals(i, got.get(i), "thread " + t);
                }
            } finally {
                client.close();
            }
        }
    }

    @Test
    void readTimeoutStillApplies() throws Exception {
        CompletableFuture<CloseCause> closed = new CompletableFuture<>();
        try (TcpServer server = TcpServer.create("127.0.0.1", 0).threads(1).tls(TlsTestSupport.server().build())
                .readTimeout(Duration.ofMillis(300))
                .onClose((c, cause) -> closed.complete(cause))
                .start();
             SSLSocket s = TlsTestSupport.jdkClient(server.port(), TlsTestSupport.client().build())) {
            s.startHandshake();
            CloseCause cause = closed.get(5, TimeUnit.SECONDS);
            assertEquals(CloseCause.Kind.TIMEOUT, cause.kind());
            assertEquals("read timeout", cause.detail());
            assertEquals(-1, s.getInputStream().read(), "close_notify, then end of stream");
        }
    }

    /**
     * TLS 1.3 half-close: the client shuts down its output (close_notify + FIN); the server still
     * answers and then closes. (TLS 1.2 has no half-close: a close_notify closes both directions.)
     */
    @Test
    void halfCloseWithTls13() throws Exception {
        AtomicReference<StringBuilder> received = new AtomicReference<>(new StringBuilder());
        CompletableFuture<String> clientGot = new CompletableFuture<>();
        CompletableFuture<CloseCause> clientClosed = new CompletableFuture<>();
        try (TcpServer server = TcpServer.create("127.0.0.1", 0).threads(1).tls(TlsTestSupport.server().build())
                .onMessage((c, b) -> received.get().append(b.readString()))
                .onPeerShutdown(c -> {
                    c.write("you said: " + received.get());
                    c.close();
                })
                .start()) {
            StringBuilder got = new StringBuilder();
            TcpClient client = TcpClient.create("localhost", server.port()).tls(TlsTestSupport.client().protocols("TLSv1.3").build())
                    .onConnection(c -> {
                        if (!c.isConnected()) return;
                        c.write("question");
                        c.shutdownOutput();
                    })
                    .onMessage((c, b) -> got.append(b.readString()))
                    .onPeerShutdown(c -> { clientGot.complete(got.toString()); c.close(); })
                    .onClose((c, cause) -> clientClosed.complete(cause))
                    .start();
            try {
                assertEquals("you said: question", clientGot.get(10, TimeUnit.SECONDS));
                clientClosed.get(5, TimeUnit.SECONDS);
            } finally {
                client.close();
                client.awaitTermination(Duration.ofSeconds(5));
            }
        }
    }

    /** A server that writes a lot and closes at once: close() flushes the ciphertext queue first. */
    @Test
    void jhvClientReceivesEverythingBeforeTheClose() throws Exception {
        int size = 3 << 20;
        try (TcpServer server = TcpServer.create("127.0.0.1", 0).threads(1).tls(TlsTestSupport.server().build())
                .onConnection(c -> {
                    if (!c.isConnected()) return;
                    for (int i = 0; i < size / 1024; i++) c.write(new byte[1024]);
                    c.close();
                })
                .start()) {
            long[] got = {0};
            CompletableFuture<CloseCause> closed = new CompletableFuture<>();
            boolean[] closeNotify = new boolean[1];
            TcpClient client = TcpClient.create("localhost", server.port()).tls(TlsTestSupport.client().build())
                    .onMessage((c, b) -> { got[0] += b.readableBytes(); b.skip(b.readableBytes()); })
                    .onClose((c, cause) -> {
                        closeNotify[0] = TlsInfo.of(c).closeNotifyReceived();
                        closed.complete(cause);
                    })
                    .start();
            try {
                assertEquals(CloseCause.Kind.PEER_CLOSED, closed.get(10, TimeUnit.SECONDS).kind());
                assertEquals(size, got[0]);
                assertTrue(closeNotify[0], "close_notify came before the end of the stream");
            } finally {
                client.close();
            }
        }
    }

    /** The JDK client checks the close too: everything, then close_notify. */
    @Test
    void jdkClientSeesCloseNotifyAfterTheData() throws Exception {
        try (TcpServer server = TcpServer.create("127.0.0.1", 0).threads(1).tls(TlsTestSupport.server().build())
                .onMessage((c, b) -> { c.write(b); c.close(); })
                .start();
             SSLSocket s = TlsTestSupport.jdkClient(server.port(), TlsTestSupport.client().build())) {
            s.getOutputStream().write("bye".getBytes(StandardCharsets.US_ASCII));
            byte[] b = new byte[3];
            new DataInputStream(s.getInputStream()).readFully(b);
            assertEquals("bye", new String(b, StandardCharsets.US_ASCII));
            assertEquals(-1, s.getInputStream().read());
        }
    }

    /**
     * close() from onWritable(false), which fires in the middle of encrypting one big write: the rest
     * of that write still goes out before close_notify.
     */
    @Test
    void closeFromOnWritableInTheMiddleOfAWrite() throws Exception {
        int size = 8 << 20;
        CompletableFuture<CloseCause> closed = new CompletableFuture<>();
        try (TcpServer server = TcpServer.create("127.0.0.1", 0).threads(1).tls(TlsTestSupport.server().build())
                .waterMarks(16 * 1024, 8 * 1024)
                .onWritable((c, writable) -> { if (!writable) c.close(); })
                .onMessage((c, b) -> {
                    b.skip(b.readableBytes());
                    byte[] big = new byte[size];
                    for (int i = 0; i < size; i++) big[i] = (byte) (i % 251);
                    c.write(big);
                })
                .onClose((c, cause) -> closed.complete(cause))
                .start();
             SSLSocket s = TlsTestSupport.jdkClient(server.port(), TlsTestSupport.client().build())) {
            s.getOutputStream().write('x');
            s.getOutputStream().flush();
            Thread.sleep(200); // let the server's socket buffer fill so the queue crosses the mark
            byte[] got = s.getInputStream().readAllBytes();
            assertEquals(size, got.length);
            for (int i = 0; i < size; i++) if (got[i] != (byte) (i % 251)) throw new AssertionError("byte " + i);
            assertEquals(CloseCause.Kind.NORMAL, closed.get(5, TimeUnit.SECONDS).kind());
        }
    }
}
