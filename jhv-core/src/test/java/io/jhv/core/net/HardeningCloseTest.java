package io.jhv.core.net;

import io.jhv.core.buffer.Buffer;
import io.jhv.core.internal.TransportLayer;
import io.jhv.core.loop.EventLoop;
import io.jhv.core.loop.Probes;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Regression tests for the close path: what is delivered and sent around close(), which cause is
 * reported, and that user code in the read path cannot break the loop. One test per defect.
 */
@Timeout(60)
class HardeningCloseTest {

    private static byte[] filled(int n, char c) {
        byte[] b = new byte[n];
        Arrays.fill(b, (byte) c);
        return b;
    }

    /** Reads until EOF (or a reset) and returns the byte count. */
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

    private static void assertKind(String expected, CloseCause cause) {
        assertNotNull(cause);
        assertEquals(expected, cause.kind().name(), cause.toString());
    }

    /**
     * Item 5: onMessage writes a big reply and calls close() while the same read holds more frames.
     * No frame may be delivered after close(); the reply is flushed and the cause is NORMAL.
     */
    @Test
    void framesAreNotDeliveredAfterClose() throws Exception {
        int size = 32 << 20;
        AtomicInteger messages = new AtomicInteger();
        CompletableFuture<CloseCause> closed = new CompletableFuture<>();
        try (TcpServer server = TcpServer.create("127.0.0.1", 0).threads(1)
                .unpacker(Unpackers.delimiter("\n", 1024))
                .onMessage((c, b) -> {
                    messages.incrementAndGet();
                    b.skip(b.readableBytes());
                    c.write(filled(size, 'r'));
                    c.close();
                })
                .onClose((c, cause) -> closed.complete(cause))
                .start();
             Socket s = new Socket("127.0.0.1", server.port())) {
            OutputStream out = s.getOutputStream();
            out.write("one\ntwo\nthree\n".getBytes(StandardCharsets.US_ASCII)); // one segment, one read
            out.flush();
            assertEquals(size, drain(s.getInputStream()), "the whole reply, then EOF");
            assertKind("NORMAL", closed.get(5, TimeUnit.SECONDS));
            assertEquals(1, messages.get(), "frames delivered (none after close())");
        }
    }

    /**
     * Item 10: a custom unpacker that throws a RuntimeException closes its connection with an ERROR
     * cause carrying the exception; nothing escapes to the loop.
     */
    @Test
    void anUnpackerThatThrowsClosesTheConnectionWithError() throws Exception {
        IllegalStateException bug = new IllegalStateException("unpacker bug");
        List<Throwable> loopErrors = new CopyOnWriteArrayList<>();
        CompletableFuture<CloseCause> closed = new CompletableFuture<>();
        try (EventLoop loop = EventLoop.builder().errorHandler((t, e) -> loopErrors.add(e)).build().start();
             ServerSocket peer = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            TcpClient client = TcpClient.create("127.0.0.1", peer.getLocalPort()).loop(loop)
                    .unpacker(in -> { throw bug; })
                    .onMessage((c, b) -> b.skip(b.readableBytes()))
                    .onClose((c, cause) -> closed.complete(cause))
                    .start();
            try (Socket s = peer.accept()) {
                s.getOutputStream().write("anything".getBytes(StandardCharsets.US_ASCII));
                s.getOutputStream().flush();
                CloseCause cause = closed.get(5, TimeUnit.SECONDS);
                assertKind("ERROR", cause);
                assertTrue(cause.error() == bug, "the cause carries the exception: " + cause);
                assertEquals(-1, s.getInputStream().read(), "the connection is closed");
                assertFalse(loopErrors.stream().anyMatch(e -> e != bug), "nothing else reached the loop: " + loopErrors);
            } finally {
                client.close();
            }
        }
    }

    /** Item 10: an Error from the transport layer's read path closes the connection with ERROR too. */
    @Test
    void aLayerThatThrowsAnErrorClosesTheConnectionWithError() throws Exception {
        AssertionError bug = new AssertionError("layer bug");
        CompletableFuture<CloseCause> closed = new CompletableFuture<>();
        TransportLayer.Factory throwing = (conn, clientMode) -> new TransportLayer() {
            TransportLayer.Sink sink;
            @Override public boolean start(Sink s) { sink = s; return true; }
            @Override public void onRead(Buffer in) { throw bug; }
            @Override public void write(ByteBuffer plain, boolean owned) { sink.writeRaw(plain, owned); }
            @Override public void closeOutbound() { }
        };
        try (TcpServer server = TcpServer.create("127.0.0.1", 0).threads(1)
                .transportLayer(throwing)
                .onClose((c, cause) -> closed.complete(cause))
                .start();
             Socket s = new Socket("127.0.0.1", server.port())) {
            s.getOutputStream().write("anything".getBytes(StandardCharsets.US_ASCII));
            s.getOutputStream().flush();
            CloseCause cause = closed.get(5, TimeUnit.SECONDS);
            assertKind("ERROR", cause);
            assertTrue(cause.error() == bug, cause.toString());
        }
    }

    /**
     * Item 11: after shutdownOutput() the heartbeat can no longer write; it must stop instead of
     * failing (a WARNING through the loop's error handler) every interval.
     */
    @Test
    void heartbeatStopsAfterShutdownOutput() throws Exception {
        List<Throwable> loopErrors = new CopyOnWriteArrayList<>();
        AtomicInteger beatsAfterShutdown = new AtomicInteger();
        boolean[] shut = new boolean[1]; // loop thread only
        try (EventLoop loop = EventLoop.builder().errorHandler((t, e) -> loopErrors.add(e)).build().start();
             ServerSocket peer = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            TcpClient client = TcpClient.create("127.0.0.1", peer.getLocalPort()).loop(loop)
                    .heartbeat(Duration.ofMillis(10), () -> {
                        if (shut[0]) beatsAfterShutdown.incrementAndGet();
                        return "hb\n";
                    })
                    .onConnection(c -> {
                        if (!c.isConnected()) return;
                        c.shutdownOutput();
                        shut[0] = true;
                    })
                    .start();
            try (Socket s = peer.accept()) {
                drain(s.getInputStream()); // up to our FIN
                // pace: let the interval come round about twenty times
                CountDownLatch paced = new CountDownLatch(1);
                loop.setTimeout(200, paced::countDown);
                assertTrue(paced.await(5, TimeUnit.SECONDS));
                assertEquals(List.of(), loopErrors);
                assertEquals(0, beatsAfterShutdown.get(), "heartbeats after shutdownOutput");
            } finally {
                client.close();
            }
        }
    }

    /**
     * Item 13: sendFile on a connection whose loop has stopped fails visibly and, with
     * closeWhenDone, still closes the file; write fails, close/abort are quiet and idempotent.
     */
    @Test
    void sendFileAfterTheLoopStoppedClosesTheFile(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("f");
        Files.write(file, filled(1024, 'f'));
        CompletableFuture<Connection> up = new CompletableFuture<>();
        EventLoop loop = EventLoop.create().start();
        try (ServerSocket peer = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            TcpClient client = TcpClient.create("127.0.0.1", peer.getLocalPort()).loop(loop)
                    .onConnection(c -> { if (c.isConnected()) up.complete(c); })
                    .start();
            try (Socket s = peer.accept()) {
                Connection c = up.get(5, TimeUnit.SECONDS);
                loop.close();
                assertTrue(loop.awaitTermination(Duration.ofSeconds(5)));
                FileChannel fc = FileChannel.open(file, StandardOpenOption.READ);
                IllegalStateException e = assertThrows(IllegalStateException.class, () -> c.sendFile(fc, 0, 1024, true));
                assertNotNull(e.getMessage());
                assertFalse(fc.isOpen(), "closeWhenDone: the file must be closed although it could not be sent");
                assertThrows(IllegalStateException.class, () -> c.write("late"));
                c.close();
                c.close();
                c.abort();
                c.abort();
                c.shutdownOutput();
                c.pauseReading();
                c.resumeReading();
            } finally {
                client.close();
            }
        }
    }

    /** Item 14: abort() drops the queue, so its cause says ABORTED, not NORMAL. */
    @Test
    void abortIsReportedAsAborted() throws Exception {
        CompletableFuture<CloseCause> closed = new CompletableFuture<>();
        try (TcpServer server = TcpServer.create("127.0.0.1", 0).threads(1)
                .onConnection(c -> {
                    if (!c.isConnected()) return;
                    c.write(filled(32 << 20, 'a'));
                    c.abort();
                })
                .onClose((c, cause) -> closed.complete(cause))
                .start();
             Socket s = new Socket("127.0.0.1", server.port())) {
            assertKind("ABORTED", closed.get(5, TimeUnit.SECONDS));
        }
    }

    /** Item 14: stopping the loop drops the queued bytes: ABORTED, not NORMAL. */
    @Test
    void stoppingTheLoopWithQueuedBytesIsReportedAsAborted() throws Exception {
        CompletableFuture<CloseCause> closed = new CompletableFuture<>();
        CompletableFuture<Long> queued = new CompletableFuture<>();
        EventLoop loop = EventLoop.create().start();
        try (ServerSocket peer = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            TcpClient client = TcpClient.create("127.0.0.1", peer.getLocalPort()).loop(loop)
                    .onConnection(c -> {
                        if (!c.isConnected()) return;
                        c.write(filled(32 << 20, 's'));
                        queued.complete(c.queuedBytes());
                    })
                    .onClose((c, cause) -> closed.complete(cause))
                    .start();
            try (Socket s = peer.accept()) { // never reads
                assertTrue(queued.get(5, TimeUnit.SECONDS) > 0);
                loop.close();
                assertKind("ABORTED", closed.get(5, TimeUnit.SECONDS));
            } finally {
                client.close();
            }
        } finally {
            loop.close();
        }
    }

    /** Item 14: the close timeout drops what is still queued: ABORTED, and the detail says so. */
    @Test
    void theCloseTimeoutIsReportedAsAborted() throws Exception {
        CompletableFuture<CloseCause> closed = new CompletableFuture<>();
        try (ServerSocket peer = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            TcpClient client = TcpClient.create("127.0.0.1", peer.getLocalPort())
                    .closeTimeout(Duration.ofMillis(100))
                    .onConnection(c -> {
                        if (!c.isConnected()) return;
                        c.write(filled(32 << 20, 't'));
                        c.close();
                    })
                    .onClose((c, cause) -> closed.complete(cause))
                    .start();
            try (Socket s = peer.accept()) { // never reads
                CloseCause cause = closed.get(5, TimeUnit.SECONDS);
                assertKind("ABORTED", cause);
                assertTrue(cause.detail().contains("close timeout"), cause.toString());
            } finally {
                client.close();
            }
        }
    }

    /** Item 14: a close that flushed everything stays NORMAL (so NORMAL means nothing was lost). */
    @Test
    void aCloseThatLostNothingIsNormal() throws Exception {
        CompletableFuture<CloseCause> closed = new CompletableFuture<>();
        try (TcpServer server = TcpServer.create("127.0.0.1", 0).threads(1)
                .onConnection(c -> {
                    if (!c.isConnected()) return;
                    c.write(filled(4 << 20, 'n'));
                    c.close();
                })
                .onClose((c, cause) -> closed.complete(cause))
                .start();
             Socket s = new Socket("127.0.0.1", server.port())) {
            assertEquals(4 << 20, drain(s.getInputStream()));
            assertKind("NORMAL", closed.get(5, TimeUnit.SECONDS));
        }
    }

    /** Item 14: a reset seen on a write (EPIPE / ECONNRESET) is RESET, as on a read. */
    @Test
    void aResetSeenOnWriteIsReportedAsReset() throws Exception {
        CompletableFuture<CloseCause> closed = new CompletableFuture<>();
        CompletableFuture<Connection> up = new CompletableFuture<>();
        try (TcpServer server = TcpServer.create("127.0.0.1", 0).threads(1)
                .onConnection(c -> { if (c.isConnected()) up.complete(c); })
                .onClose((c, cause) -> closed.complete(cause))
                .start()) {
            Socket s = new Socket("127.0.0.1", server.port());
            Connection c = up.get(5, TimeUnit.SECONDS);
            s.setSoLinger(true, 0);
            s.close(); // RST
            // keep writing until the server notices (the first write after the RST may still pass)
            assertTrue(Probes.await(() -> {
                try {
                    c.write(filled(64 * 1024, 'w'));
                } catch (IllegalStateException closedAlready) {
                    return true;
                }
                return closed.isDone();
            }, Duration.ofSeconds(5)));
            assertKind("RESET", closed.get(5, TimeUnit.SECONDS));
        }
    }
}
