package io.jhv.core.net;

import io.jhv.core.buffer.Buffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.DataInputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Writes never drop, reorder or overwrite: within a callback, and from many threads at once. */
@Timeout(30)
class TcpOrderingTest {

    private static byte[] filled(int n, char c) {
        byte[] b = new byte[n];
        Arrays.fill(b, (byte) c);
        return b;
    }

    private static byte[] readExactly(InputStream in, int n) throws Exception {
        byte[] b = new byte[n];
        new DataInputStream(in).readFully(b);
        return b;
    }

    @Test
    void threeWritesInOneOnMessageArriveInOrder() throws Exception {
        int big = 4 << 20; // more than the socket takes at once, so the later writes queue behind it
        try (TcpServer server = TcpServer.create("127.0.0.1", 0).threads(1)
                .onMessage((c, buf) -> {
                    String cmd = buf.toString(StandardCharsets.US_ASCII);
                    if (cmd.startsWith("small")) {
                        buf.skip(5);
                        c.write("1");
                        c.write(new byte[] {'2'});
                        c.write(ByteBuffer.wrap(new byte[] {'3'}));
                    } else if (cmd.startsWith("big")) {
                        buf.skip(3);
                        c.write(filled(big, 'a'));                  // byte[]: mostly queued
                        c.write(buf.readableBytes() == 0 ? "B" : "?"); // String: behind it
                        Buffer tail = Buffer.allocate(16);
                        tail.write(filled(1 << 20, 'c'));
                        c.write(tail);                                // Buffer: last
                    } else {
                        // echo of the borrowed read buffer while the queue is not empty: the
                        // queued rest must be a copy, since the loop reuses that buffer
                        c.write(buf);
                    }
                })
                .start();
             Socket s = new Socket("127.0.0.1", server.port())) {
            OutputStream out = s.getOutputStream();
            InputStream in = s.getInputStream();
            for (int round = 0; round < 100; round++) {
                out.write("small".getBytes(StandardCharsets.US_ASCII));
                assertEquals("123", new String(readExactly(in, 3), StandardCharsets.US_ASCII), "round " + round);
            }
            out.write("big".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            assertArrayEquals(filled(big, 'a'), readExactly(in, big));
            assertEquals('B', in.read());
            assertArrayEquals(filled(1 << 20, 'c'), readExactly(in, 1 << 20));
        }
    }

    @Test
    void echoOfTheBorrowedBufferBehindAQueuedWriteIsNotOverwrittenByTheNextRead() throws Exception {
        int big = 8 << 20;
        CountDownLatch firstHandled = new CountDownLatch(1);
        try (TcpServer server = TcpServer.create("127.0.0.1", 0).threads(1)
                .onMessage((c, buf) -> {
                    if (firstHandled.getCount() == 1) {
                        c.write(filled(big, 'x')); // fills the socket; what follows is queued
                        c.write(buf);              // "hello" from the loop's read buffer
                        c.write("!");
                        firstHandled.countDown();
                    } else {
                        c.write(buf);              // "world": read into the same loop buffer
                    }
                })
                .start();
             Socket s = new Socket("127.0.0.1", server.port())) {
            OutputStream out = s.getOutputStream();
            out.write("hello".getBytes(StandardCharsets.US_ASCII));
            assertTrue(firstHandled.await(5, TimeUnit.SECONDS));
            out.write("world".getBytes(StandardCharsets.US_ASCII)); // read while "hello" is queued
            InputStream in = s.getInputStream();
            assertArrayEquals(filled(big, 'x'), readExactly(in, big));
            assertEquals("hello!world", new String(readExactly(in, 11), StandardCharsets.US_ASCII));
        }
    }

    @Test
    void aWriteBeforeTheConnectionIsRegisteredIsQueuedNotBlocking() throws Exception {
        // A server lists a connection a moment before its loop registers it (and makes the channel
        // non-blocking); a write from another thread can get there first. It must queue.
        int size = 16 << 20; // far more than the socket buffers: a blocking write would hang
        io.jhv.core.loop.EventLoop loop = io.jhv.core.loop.EventLoop.create().start();
        TcpServer settings = TcpServer.create("127.0.0.1", 0);
        try (io.jhv.core.internal.ListenSocket listener = io.jhv.core.internal.Internals.loops().transport(loop).openListener()) {
            listener.bind(new java.net.InetSocketAddress("127.0.0.1", 0), 8);
            try (Socket peer = new Socket("127.0.0.1", ((java.net.InetSocketAddress) listener.localAddress()).getPort())) {
                io.jhv.core.internal.StreamSocket ch = null; // blocking, as accept() hands it out
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
                while (ch == null && System.nanoTime() < deadline) ch = listener.accept(); // the listener is non-blocking
                assertNotNull(ch, "accepted");
                Connection conn = new Connection(loop, ch, settings, false);
                CompletableFuture<Void> registered = new CompletableFuture<>();
                loop.post(() -> {
                    conn.write(filled(size, 'p')); // before registration, on the loop thread
                    try {
                        conn.registerInLoop(false);
                    } catch (java.io.IOException e) {
                        registered.completeExceptionally(e);
                        return;
                    }
                    conn.establishInLoop();
                    registered.complete(null);
                });
                registered.get(5, TimeUnit.SECONDS);
                assertArrayEquals(filled(size, 'p'), readExactly(peer.getInputStream(), size));
                conn.close();
            }
        } finally {
            loop.close();
        }
    }

    @Test
    void eightThreadsWritingToOneConnectionKeepEachThreadsOrder() throws Exception {
        int threads = 8, perThread = 10_000, msgLen = 10; // "t3 0000042\n" minus the space
        CompletableFuture<Connection> serverSide = new CompletableFuture<>();
        try (TcpServer server = TcpServer.create("127.0.0.1", 0).threads(1)
                .onConnection(c -> { if (c.isConnected()) serverSide.complete(c); })
                .start();
             Socket s = new Socket("127.0.0.1", server.port())) {
            Connection conn = serverSide.get(5, TimeUnit.SECONDS);
            CountDownLatch go = new CountDownLatch(1);
            List<Thread> writers = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int id = t;
                Thread w = new Thread(() -> {
                    try {
                        go.await();
                    } catch (InterruptedException e) {
                        return;
                    }
                    for (int i = 0; i < perThread; i++) {
                        String msg = "t" + id + String.format("%07d", i) + "\n";
                        switch (id % 4) { // every write overload, from outside the loop
                            case 0 -> conn.write(msg);
                            case 1 -> conn.write(msg.getBytes(StandardCharsets.US_ASCII));
                            case 2 -> conn.write(ByteBuffer.wrap(msg.getBytes(StandardCharsets.US_ASCII)));
                            default -> conn.write(Buffer.of(msg));
                        }
                    }
                }, "writer-" + t);
                w.start();
                writers.add(w);
            }
            go.countDown();
            byte[] all = readExactly(s.getInputStream(), threads * perThread * msgLen);
            for (Thread w : writers) w.join();
            int[] next = new int[threads];
            for (int off = 0; off < all.length; off += msgLen) {
                String msg = new String(all, off, msgLen, StandardCharsets.US_ASCII);
                assertTrue(msg.charAt(0) == 't' && msg.charAt(9) == '\n', "torn message at " + off + ": " + msg);
                int id = msg.charAt(1) - '0';
                int seq = Integer.parseInt(msg.substring(2, 9));
                assertEquals(next[id], seq, "thread " + id + " out of order at byte " + off);
                next[id]++;
            }
            for (int t = 0; t < threads; t++) assertEquals(perThread, next[t], "thread " + t);
            s.setSoTimeout(200);
            assertTrue(readsNothingMore(s.getInputStream()), "no extra bytes");
        }
    }

    private static boolean readsNothingMore(InputStream in) throws Exception {
        try {
            return in.read() < 0;
        } catch (java.net.SocketTimeoutException expected) {
            return true;
        }
    }
}
