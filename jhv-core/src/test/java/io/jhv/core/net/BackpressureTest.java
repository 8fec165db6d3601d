package io.jhv.core.net;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.zip.CRC32;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * An echo server and a client that reads slowly at first: the server's write queue stays bounded
 * (reading pauses above the high-water mark) and every byte arrives intact.
 */
@Timeout(60)
class BackpressureTest {
    private static final long TOTAL = 64L << 20;
    private static final int READ_BUFFER = 64 * 1024; // the loop's read buffer (the default)

    @Test
    void sixtyFourMebibytesThroughAnEchoServerToASlowReaderStayWithinTheWaterMark() throws Exception {
        AtomicInteger unwritable = new AtomicInteger();
        AtomicInteger writableAgain = new AtomicInteger();
        CompletableFuture<Connection> serverSide = new CompletableFuture<>();
        try (TcpServer server = TcpServer.create("127.0.0.1", 0).threads(1)
                .onConnection(c -> { if (c.isConnected()) serverSide.complete(c); })
                .onMessage((c, buf) -> c.write(buf))
                .onWritable((c, writable) -> (writable ? writableAgain : unwritable).incrementAndGet())
                .start();
             Socket s = new Socket("127.0.0.1", server.port())) {
            Connection conn = serverSide.get(5, TimeUnit.SECONDS);

            CompletableFuture<Long> sentCrc = new CompletableFuture<>();
            Thread writer = new Thread(() -> {
                try {
                    OutputStream out = s.getOutputStream();
                    Random rnd = new Random(11);
                    CRC32 crc = new CRC32();
                    byte[] chunk = new byte[32 * 1024];
                    for (long sent = 0; sent < TOTAL; sent += chunk.length) {
                        rnd.nextBytes(chunk);
                        crc.update(chunk);
                        out.write(chunk);
                    }
                    out.flush();
                    sentCrc.complete(crc.getValue());
                } catch (Throwable t) {
                    sentCrc.completeExceptionally(t);
                }
            }, "bp-writer");
            writer.start();

            InputStream in = s.getInputStream();
            CRC32 crc = new CRC32();
            byte[] buf = new byte[64 * 1024];
            long received = 0;
            long slowUntil = System.nanoTime() + 1_500_000_000L;
            while (received < TOTAL) {
                boolean slow = System.nanoTime() < slowUntil;
                int n = in.read(buf, 0, slow ? 4096 : buf.length);
                if (n < 0) break;
                crc.update(buf, 0, n);
                received += n;
                if (slow) Thread.sleep(20); // the slow phase: the queues upstream must fill up
            }
            writer.join(10_000);
            assertEquals(TOTAL, received, "bytes echoed");
            assertEquals(sentCrc.get(5, TimeUnit.SECONDS), crc.getValue(), "checksum");

            CompletableFuture<long[]> stats = new CompletableFuture<>();
            conn.loop().post(() -> stats.complete(new long[] {conn.maxQueuedBytes(), conn.queuedBytes()}));
            long maxQueued = stats.get(5, TimeUnit.SECONDS)[0];
            long bound = TcpEndpoint.DEFAULT_HIGH_WATER_MARK + READ_BUFFER;
            assertTrue(maxQueued > TcpEndpoint.DEFAULT_HIGH_WATER_MARK,
                    "the slow reader should have pushed the queue over the high-water mark, max was " + maxQueued);
            assertTrue(maxQueued <= bound, "write queue reached " + maxQueued + " > " + bound);
            assertTrue(unwritable.get() >= 1, "onWritable(false) was not called");
            assertTrue(writableAgain.get() >= 1, "onWritable(true) was not called");
            assertEquals(0, stats.get()[1]);
            assertTrue(conn.isWritable());
        }
    }

    @Test
    void onWriteCompleteComesWhenTheQueueHasDrained() throws Exception {
        int size = 8 << 20;
        java.util.List<Long> queuedAtCallback = new java.util.concurrent.CopyOnWriteArrayList<>();
        try (TcpServer server = TcpServer.create("127.0.0.1", 0).threads(1)
                .onConnection(c -> {
                    if (!c.isConnected()) return;
                    for (int i = 0; i < 8; i++) c.write(new byte[size / 8]); // one drain, one callback
                })
                .onWriteComplete(c -> queuedAtCallback.add(c.queuedBytes()))
                .start();
             Socket s = new Socket("127.0.0.1", server.port())) {
            byte[] all = new byte[size];
            new java.io.DataInputStream(s.getInputStream()).readFully(all);
            assertTrue(io.jhv.core.loop.Probes.await(() -> !queuedAtCallback.isEmpty(), java.time.Duration.ofSeconds(5)));
            assertEquals(java.util.List.of(0L), queuedAtCallback, "one onWriteComplete, with an empty queue");
        }
    }

    @Test
    void pauseAndResumeReadingAreHonoured() throws Exception {
        CompletableFuture<Connection> serverSide = new CompletableFuture<>();
        java.util.concurrent.atomic.AtomicLong received = new java.util.concurrent.atomic.AtomicLong();
        try (TcpServer server = TcpServer.create("127.0.0.1", 0).threads(1)
                .onConnection(c -> {
                    if (!c.isConnected()) return;
                    c.pauseReading();
                    serverSide.complete(c);
                })
                .onMessage((c, buf) -> received.addAndGet(buf.readBytes().length))
                .start();
             Socket s = new Socket("127.0.0.1", server.port())) {
            Connection conn = serverSide.get(5, TimeUnit.SECONDS);
            s.getOutputStream().write(new byte[1000]);
            java.util.concurrent.CountDownLatch never = new java.util.concurrent.CountDownLatch(1);
            never.await(150, TimeUnit.MILLISECONDS);
            assertEquals(0, received.get(), "nothing is read while paused");
            conn.resumeReading(); // from another thread
            assertTrue(io.jhv.core.loop.Probes.await(() -> received.get() == 1000, java.time.Duration.ofSeconds(5)));
        }
    }
}
