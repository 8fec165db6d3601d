package io.jhv.core.net;

import io.jhv.core.buffer.Buffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A hostile review of the issue-9 seams (handover, selector, per-write completion): the ways a
 * careless user or a hostile peer would use them. Real sockets on loopback.
 */
@Timeout(60)
class ReviewAttackTest {

    private static Socket peer(TcpServer s) throws IOException {
        Socket p = new Socket("127.0.0.1", s.port());
        p.setSoTimeout(20_000);
        return p;
    }

    /**
     * The natural streaming pattern: write the next chunk when the last one reached the socket. A
     * write the socket takes at once is reported before write() returns, so without a guard each
     * listener runs inside the previous one's write: the stack grows with the number of chunks
     * until StackOverflowError breaks the chain (swallowed by the loop's error handler).
     */
    @Test
    void listenerThatWritesTheNextChunkDoesNotRecurse() throws Exception {
        int chunks = 200_000;
        CompletableFuture<Connection> sc = new CompletableFuture<>();
        AtomicInteger done = new AtomicInteger();
        AtomicReference<Throwable> failed = new AtomicReference<>();
        CompletableFuture<Void> finished = new CompletableFuture<>();
        try (TcpServer s = TcpServer.create("127.0.0.1", 0).threads(1)
                .onConnection(c -> { if (c.isConnected()) sc.complete(c); }).start();
             Socket p = peer(s)) {
            Connection c = sc.get(5, TimeUnit.SECONDS);
            byte[] one = {'x'};
            WriteListener[] next = new WriteListener[1];
            next[0] = (conn, failure) -> {
                if (failure != null) { failed.compareAndSet(null, failure); finished.complete(null); return; }
                if (done.incrementAndGet() == chunks) { finished.complete(null); return; }
                conn.write(one.clone(), next[0]);
            };
            Thread reader = Thread.ofPlatform().start(() -> {
                try (InputStream in = p.getInputStream()) {
                    byte[] b = new byte[65536];
                    long total = 0;
                    while (total < chunks) {
                        int n = in.read(b);
                        if (n < 0) break;
                        total += n;
                    }
                } catch (IOException ignored) {
                }
            });
            c.loop().submit(() -> { c.write(one.clone(), next[0]); return null; });
            try {
                finished.get(30, TimeUnit.SECONDS);
            } catch (java.util.concurrent.TimeoutException e) {
                throw new AssertionError("the chain of listener writes broke after " + done.get() + " of " + chunks);
            }
            assertNull(failed.get());
            assertEquals(chunks, done.get());
            reader.join(10_000);
        }
    }

    /** A positive peek timeout below a millisecond must not mean "wait for ever". */
    @Test
    void subMillisecondPeekTimeoutIsNotForever() throws Exception {
        CompletableFuture<CloseCause> closed = new CompletableFuture<>();
        ProtocolSelector sel = ProtocolSelector.builder()
                .prefix("HELLO", () -> (conn, in) -> in.skip(in.readableBytes()))
                .peekTimeout(Duration.ofNanos(500_000))
                .build();
        try (TcpServer s = TcpServer.create("127.0.0.1", 0).threads(1).protocol(sel)
                .onClose((c, cause) -> closed.complete(cause)).start();
             Socket p = peer(s)) {
            p.getOutputStream().write('H'); // then stall
            p.getOutputStream().flush();
            CloseCause cause = closed.get(5, TimeUnit.SECONDS);
            assertEquals(CloseCause.Kind.TIMEOUT, cause.kind(), cause.toString());
        }
    }

    /** Two handovers in one onData: the last handler wins and gets every byte after the handover point, once. */
    @Test
    void twoHandoversInOneOnData() throws Exception {
        List<String> events = Collections.synchronizedList(new ArrayList<>());
        CompletableFuture<String> got = new CompletableFuture<>();
        StringBuilder sb = new StringBuilder();
        class Tail implements ProtocolHandler {
            final String name;
            Tail(String name) { this.name = name; }
            @Override public void onAttach(Connection conn) { events.add(name + ".attach"); }
            @Override public void onDetach(Connection conn) { events.add(name + ".detach"); }
            @Override public void onData(Connection conn, Buffer in) {
                events.add(name + ".data");
                sb.append(in.readString(in.readableBytes(), StandardCharsets.ISO_8859_1));
                if (sb.length() >= 6) got.complete(sb.toString());
            }
        }
        ProtocolHandler first = (conn, in) -> {
            in.skip(2); // consume "AB"
            conn.handover(new Tail("x"));
            conn.handover(new Tail("y"));
        };
        try (TcpServer s = TcpServer.create("127.0.0.1", 0).threads(1).protocol(() -> first).start();
             Socket p = peer(s)) {
            OutputStream out = p.getOutputStream();
            out.write("ABcdef".getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
            // wait until y has the first 4, then send the rest
            long deadline = System.nanoTime() + 5_000_000_000L;
            while (!events.contains("y.data") && System.nanoTime() < deadline) Thread.onSpinWait();
            out.write("gh".getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
            assertEquals("cdefgh", got.get(5, TimeUnit.SECONDS).substring(0, 6));
            assertTrue(events.indexOf("x.detach") < events.indexOf("y.attach"), events.toString());
            assertTrue(!events.contains("x.data"), events.toString());
        }
    }
}
