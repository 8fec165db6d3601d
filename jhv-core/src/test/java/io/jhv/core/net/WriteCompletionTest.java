package io.jhv.core.net;

import io.jhv.core.buffer.Buffer;
import io.jhv.core.loop.Probes;
import io.jhv.testing.LeakCheck;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Per-write completion: a WriteListener hears once, on the loop, when its bytes reached the socket. */
@Timeout(60)
class WriteCompletionTest {
    private static final int BIG = 32 << 20; // far more than loopback socket buffers hold

    /** A one-loop server; {@code conn} completes with the server side of the first connection. */
    private static TcpServer server(CompletableFuture<Connection> conn) {
        return TcpServer.create("127.0.0.1", 0).threads(1)
                .onConnection(c -> { if (c.isConnected()) conn.complete(c); })
                .start();
    }

    private static Socket peer(TcpServer s) throws IOException {
        Socket p = new Socket("127.0.0.1", s.port());
        p.setSoTimeout(20_000);
        return p;
    }

    private static long drain(InputStream in, long atLeast) throws IOException {
        byte[] b = new byte[64 * 1024];
        long total = 0;
        while (total < atLeast) {
            int n = in.read(b);
            if (n < 0) break;
            total += n;
        }
        return total;
    }

    @Test
    void listenersAreCalledOnceEachInWriteOrderOnTheLoopThread() throws Exception {
        CompletableFuture<Connection> sc = new CompletableFuture<>();
        try (TcpServer s = server(sc); Socket p = peer(s)) {
            Connection c = sc.get(5, TimeUnit.SECONDS);
            List<String> calls = Collections.synchronizedList(new ArrayList<>());
            AtomicBoolean offLoop = new AtomicBoolean();
            int n = 200;
            CompletableFuture<Void> last = new CompletableFuture<>();
            // half from the loop thread, half from this one: still one order
            c.loop().submit(() -> {
                for (int i = 0; i < n / 2; i++) {
                    int k = i;
                    c.write(("m" + i + ";").getBytes(), (conn, failure) -> {
                        if (!conn.loop().inLoop()) offLoop.set(true);
                        calls.add(k + ":" + failure);
                    });
                }
                return null;
            }).get();
            for (int i = n / 2; i < n; i++) {
                int k = i;
                c.write(("m" + i + ";").getBytes(), (conn, failure) -> {
                    if (!conn.loop().inLoop()) offLoop.set(true);
                    calls.add(k + ":" + failure);
                    if (k == n - 1) last.complete(null);
                });
            }
            last.get(5, TimeUnit.SECONDS);
            List<String> expected = new ArrayList<>();
            for (int i = 0; i < n; i++) expected.add(i + ":null");
            assertEquals(expected, List.copyOf(calls));
            assertFalse(offLoop.get());
            // and the peer got every byte
            StringBuilder all = new StringBuilder();
            for (int i = 0; i < n; i++) all.append("m").append(i).append(';');
            byte[] got = p.getInputStream().readNBytes(all.length());
            assertEquals(all.toString(), new String(got));
            assertEquals(n, calls.size(), "exactly once each");
        }
    }

    @Test
    void aSlowReaderGetsTheCompletionOnlyAfterItDrained() throws Exception {
        CompletableFuture<Connection> sc = new CompletableFuture<>();
        try (TcpServer s = TcpServer.create("127.0.0.1", 0).threads(1).waterMarks(BIG * 2, BIG)
                .onConnection(c -> { if (c.isConnected()) sc.complete(c); }).start();
             Socket p = peer(s)) {
            Connection c = sc.get(5, TimeUnit.SECONDS);
            AtomicLong readWhenDone = new AtomicLong(-1);
            AtomicLong read = new AtomicLong();
            CompletableFuture<Throwable> done = new CompletableFuture<>();
            c.write(new byte[BIG], (conn, failure) -> {
                readWhenDone.set(read.get());
                done.complete(failure);
            });
            // the socket is full and the rest waits in the queue: no completion yet
            assertTrue(Probes.await(() -> c.queuedBytes() > 0, Duration.ofSeconds(5)));
            assertFalse(done.isDone());
            assertEquals(true, c.loop().submit(() -> !done.isDone()).get(), "still pending after a loop turn");
            InputStream in = p.getInputStream();
            byte[] b = new byte[64 * 1024];
            while (read.get() < BIG) {
                int n = in.read(b);
                if (n < 0) break;
                read.addAndGet(n);
            }
            assertNull(done.get(10, TimeUnit.SECONDS));
            assertTrue(readWhenDone.get() > 0, "completed before the reader read anything");
            assertEquals(0, c.queuedBytes());
        }
    }

    @Test
    void aPeerThatVanishesWithPendingWritesFailsTheirListeners() throws Exception {
        CompletableFuture<Connection> sc = new CompletableFuture<>();
        try (TcpServer s = TcpServer.create("127.0.0.1", 0).threads(1).waterMarks(BIG * 2, BIG)
                .onConnection(c -> { if (c.isConnected()) sc.complete(c); }).start()) {
            Socket p = peer(s);
            Connection c = sc.get(5, TimeUnit.SECONDS);
            AtomicInteger calls = new AtomicInteger();
            CompletableFuture<Throwable> small = new CompletableFuture<>();
            CompletableFuture<Throwable> big = new CompletableFuture<>();
            CompletableFuture<Throwable> after = new CompletableFuture<>();
            c.write("first".getBytes(), (conn, f) -> { calls.incrementAndGet(); small.complete(f); });
            c.write(new byte[BIG], (conn, f) -> { calls.incrementAndGet(); big.complete(f); });
            c.write("after".getBytes(), (conn, f) -> { calls.incrementAndGet(); after.complete(f); });
            assertNull(small.get(5, TimeUnit.SECONDS), "the first write reached the socket");
            assertTrue(Probes.await(() -> c.queuedBytes() > 0, Duration.ofSeconds(5)));
            p.setSoLinger(true, 0);
            p.close(); // RST: gone without reading
            Throwable f = big.get(10, TimeUnit.SECONDS);
            assertInstanceOf(IOException.class, f);
            assertTrue(f.getMessage().contains("closed before"), f.getMessage());
            assertInstanceOf(IOException.class, after.get(5, TimeUnit.SECONDS));
            assertTrue(Probes.await(c::isClosed, Duration.ofSeconds(5)));
            assertEquals(3, c.loop().submit(calls::get).get(), "once each");
        }
    }

    @Test
    void abortFailsPendingListenersAndCloseFlushesThem() throws Exception {
        CompletableFuture<Connection> sc = new CompletableFuture<>();
        try (TcpServer s = TcpServer.create("127.0.0.1", 0).threads(1).waterMarks(BIG * 2, BIG)
                .onConnection(c -> { if (c.isConnected()) sc.complete(c); }).start();
             Socket p = peer(s)) {
            Connection c = sc.get(5, TimeUnit.SECONDS);
            CompletableFuture<Throwable> big = new CompletableFuture<>();
            CompletableFuture<String> order = new CompletableFuture<>();
            List<String> seen = new ArrayList<>(); // loop thread only
            c.loop().submit(() -> {
                c.write(new byte[BIG], (conn, f) -> { seen.add("write"); big.complete(f); });
                c.addCloseListener((conn, cause) -> { seen.add("onClose"); order.complete(String.join(",", seen)); });
                c.abort();
                // a write after the abort is refused at once: no listener call
                assertThrows(IllegalStateException.class, () -> c.write("x".getBytes(), (conn, f) -> seen.add("late")));
                return null;
            }).get();
            assertInstanceOf(IOException.class, big.get(5, TimeUnit.SECONDS));
            assertEquals("write,onClose", order.get(5, TimeUnit.SECONDS), "listeners hear before onClose");
        }
        CompletableFuture<Connection> sc2 = new CompletableFuture<>();
        try (TcpServer s = TcpServer.create("127.0.0.1", 0).threads(1).waterMarks(BIG * 2, BIG)
                .onConnection(c -> { if (c.isConnected()) sc2.complete(c); }).start();
             Socket p = peer(s)) {
            Connection c = sc2.get(5, TimeUnit.SECONDS);
            CompletableFuture<Void> f = c.writeFuture(new byte[BIG]);
            c.close(); // flushes first
            assertEquals(BIG, drain(p.getInputStream(), BIG));
            assertNull(f.get(10, TimeUnit.SECONDS));
        }
    }

    @Test
    void writeFutureAndBufferAndSendFileReportToo(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
        CompletableFuture<Connection> sc = new CompletableFuture<>();
        Path file = dir.resolve("f.bin");
        Files.write(file, "from a file".getBytes());
        try (TcpServer s = server(sc); Socket p = peer(s)) {
            Connection c = sc.get(5, TimeUnit.SECONDS);
            CompletableFuture<Throwable> viaBuffer = new CompletableFuture<>();
            CompletableFuture<Throwable> viaFile = new CompletableFuture<>();
            CompletableFuture<Void> viaFuture = c.writeFuture("one;".getBytes());
            c.write(Buffer.wrap("two;".getBytes()), (conn, f) -> viaBuffer.complete(f));
            c.sendFile(FileChannel.open(file, StandardOpenOption.READ), 0, Files.size(file), true, (conn, f) -> viaFile.complete(f));
            assertNull(viaFuture.get(5, TimeUnit.SECONDS));
            assertNull(viaBuffer.get(5, TimeUnit.SECONDS));
            assertNull(viaFile.get(5, TimeUnit.SECONDS));
            assertEquals("one;two;from a file", new String(p.getInputStream().readNBytes(19)));
            c.close();
            assertTrue(Probes.await(c::isClosed, Duration.ofSeconds(5)));
            CompletableFuture<Void> refused = c.writeFuture(ByteBuffer.wrap("late".getBytes()));
            assertTrue(refused.isCompletedExceptionally());
        }
    }

    @Test
    @LeakCheck.Allow(errors = true, reason = "the listener throws on purpose; the loop reports it, unhandled")
    void aThrowingListenerDoesNotHurtTheConnection() throws Exception {
        CompletableFuture<Connection> sc = new CompletableFuture<>();
        try (TcpServer s = server(sc); Socket p = peer(s)) {
            Connection c = sc.get(5, TimeUnit.SECONDS);
            CompletableFuture<Throwable> next = new CompletableFuture<>();
            c.write("a".getBytes(), (conn, f) -> { throw new IllegalStateException("listener bug (expected in this test)"); });
            c.write("b".getBytes(), (conn, f) -> next.complete(f));
            assertNull(next.get(5, TimeUnit.SECONDS));
            assertEquals("ab", new String(p.getInputStream().readNBytes(2)));
            assertTrue(c.isConnected());
        }
    }
}
