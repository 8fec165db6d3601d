package io.jhv.core.net;

import io.jhv.core.buffer.Buffer;
import io.jhv.core.loop.EventLoop;
import io.jhv.core.loop.Probes;
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

    /**
     * Cancel racing completion: every future ends either with a connection the application heard
     * of (onConnection up) or cancelled with its socket closed; nothing in between, nothing left open.
     */
    @Test
    void cancelRacingCompletion() throws Exception {
        EventLoop loop = EventLoop.create().start();
        AtomicInteger up = new AtomicInteger();
        try (TcpServer server = TcpServer.create("127.0.0.1", 0).threads(1).start()) {
            Connector connector = Connector.create().onConnection(c -> { if (c.isConnected()) up.incrementAndGet(); });
            List<CompletableFuture<Connection>> all = new ArrayList<>();
            java.util.Random rnd = new java.util.Random(42);
            for (int i = 0; i < 300; i++) {
                CompletableFuture<Connection> f = connector.connect(loop, "127.0.0.1", server.port());
                for (int k = rnd.nextInt(20_000); k > 0; k--) Thread.onSpinWait();
                f.cancel(false);
                all.add(f);
            }
            int won = 0;
            for (CompletableFuture<Connection> f : all) {
                try {
                    Connection c = f.get(5, TimeUnit.SECONDS);
                    won++;
                    c.close();
                } catch (java.util.concurrent.CancellationException expected) {
                }
            }
            int w = won;
            assertTrue(Probes.await(() -> up.get() == w, Duration.ofSeconds(5)), "onConnection(up) " + up.get() + " for " + w + " won futures");
            assertTrue(Probes.await(() -> server.connections().isEmpty(), Duration.ofSeconds(10)),
                    server.connections().size() + " server connections still open after every client closed or was cancelled");
        } finally {
            loop.stop();
        }
    }

    /** A name that does not resolve, the loop stopping meanwhile: the future fails, nothing hangs. */
    @Test
    void unresolvableNameWhileTheLoopStops() throws Exception {
        EventLoop loop = EventLoop.create().start();
        CompletableFuture<Connection> f = Connector.create().connectTimeout(Duration.ofSeconds(2))
                .connect(loop, "nothing-here.invalid", 80);
        loop.stop();
        try {
            f.get(10, TimeUnit.SECONDS);
            throw new AssertionError("connected to nothing-here.invalid");
        } catch (java.util.concurrent.ExecutionException expected) {
            assertTrue(expected.getCause() instanceof java.net.ConnectException || expected.getCause() instanceof java.net.UnknownHostException,
                    expected.getCause().toString());
        }
    }

    /** A port that accepts and resets at once: the client hears up then RESET (or a connect failure), never hangs. */
    @Test
    void peerThatAcceptsThenResets() throws Exception {
        EventLoop loop = EventLoop.create().start();
        try (java.net.ServerSocket ss = new java.net.ServerSocket(0, 50, java.net.InetAddress.getByName("127.0.0.1"))) {
            Thread acceptor = Thread.ofPlatform().start(() -> {
                try (Socket s = ss.accept()) {
                    s.setSoLinger(true, 0); // RST on close
                } catch (IOException ignored) {
                }
            });
            CompletableFuture<CloseCause> closed = new CompletableFuture<>();
            CompletableFuture<Connection> f = Connector.create().onClose((c, cause) -> closed.complete(cause))
                    .connect(loop, "127.0.0.1", ss.getLocalPort());
            try {
                Connection c = f.get(5, TimeUnit.SECONDS);
                c.write("x"); // may fail later with RESET
            } catch (java.util.concurrent.ExecutionException e) {
                // a reset before the connect finished: a failed attempt (ConnectException)
                assertTrue(e.getCause() instanceof java.net.ConnectException, e.getCause().toString());
            } catch (IllegalStateException alreadyClosed) {
            }
            CloseCause cause = closed.get(5, TimeUnit.SECONDS);
            // a reset, during the connect or after it, is RESET (or the peer's close was seen first)
            assertTrue(cause.kind() == CloseCause.Kind.RESET || cause.kind() == CloseCause.Kind.PEER_CLOSED, cause.toString());
            acceptor.join(5000);
        } finally {
            loop.stop();
        }
    }

    /**
     * A custom protocol handler that takes one line, pauses reading while it answers it later, and
     * resumes: the line the client pipelined behind it is already read, so it must be offered again
     * on resume (as the default unpacker protocol does), not only when more bytes happen to arrive.
     */
    @Test
    void customHandlerGetsBufferedInputAfterResumeReading() throws Exception {
        CompletableFuture<String> second = new CompletableFuture<>();
        class OneAtATime implements ProtocolHandler {
            int lines;
            @Override public void onData(Connection conn, Buffer in) {
                int eol = in.indexOf(new byte[] {'\n'}, 0);
                if (eol < 0) return;
                String line = in.readString(eol, StandardCharsets.ISO_8859_1);
                in.skip(1);
                if (++lines == 2) { second.complete(line); return; }
                conn.pauseReading(); // one at a time: the rest waits in the connection
                conn.loop().setTimeout(20, conn::resumeReading);
            }
        }
        try (TcpServer s = TcpServer.create("127.0.0.1", 0).threads(1).protocol(OneAtATime::new).start();
             Socket p = peer(s)) {
            p.getOutputStream().write("one\ntwo\n".getBytes(StandardCharsets.ISO_8859_1));
            p.getOutputStream().flush();
            assertEquals("two", second.get(5, TimeUnit.SECONDS));
        }
    }
}
