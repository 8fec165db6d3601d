package io.jhv.testing;

import io.jhv.core.internal.Internals;
import io.jhv.core.internal.Transport;
import io.jhv.core.loop.EventLoop;
import io.jhv.core.net.CloseCause;
import io.jhv.core.net.Connection;
import io.jhv.core.net.MessageHandler;
import io.jhv.core.net.ProtocolHandler;
import io.jhv.core.net.TcpEndpoint;
import io.jhv.core.net.TcpServer;
import io.jhv.core.net.Unpacker;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

/**
 * A real {@link Connection} over an in-memory pipe instead of a socket, for codec and protocol tests
 * (the idea of Netty's {@code EmbeddedChannel}): the test plays the peer. Bytes written with
 * {@link #writeInbound} reach the connection's {@link ProtocolHandler} (or its unpacker and
 * {@code onMessage}); what the connection writes comes back from {@link #readOutbound}; and
 * {@link #closeInbound} is the peer's FIN. Everything between is the production code: the read
 * buffer, unconsumed input kept for the next read, handover, the write queue, close causes, timers.
 *
 * <p>The connection runs on a loop thread of its own (an {@link EventLoop} over the in-memory
 * transport, one per embedded connection), so callbacks run on a loop thread as in production.
 * The calls here wait until the loop has dealt with what they did ({@link #runPending()}), so a test
 * asserts right after them with no latch; timers are real (a read timeout of 50 ms fires after 50 ms).
 *
 * {@snippet :
 * try (EmbeddedConnection ec = EmbeddedConnection.open(LineProtocol::new)) {
 *     ec.writeInbound("hel");
 *     ec.writeInbound("lo\n");                         // a frame split across two reads
 *     assertEquals("echo:hello\n", ec.readOutboundString());
 *     ec.closeInbound();                               // the peer closes its output
 *     assertEquals(CloseCause.Kind.PEER_CLOSED, ec.awaitClose(Duration.ofSeconds(5)).kind());
 * }
 * }
 *
 * <p>Thread contract: the methods here are for the test thread (any thread except the connection's
 * loop thread, since they wait for it); {@link #connection()} follows {@link Connection}'s own
 * contract. Close it (try-with-resources) to stop its loop thread.
 */
public final class EmbeddedConnection implements AutoCloseable {
    /** The poller kind of the embedded loops (registered with the transport SPI once). */
    static final String KIND = "jhv-testing-memory";
    private static final Duration WAIT = Duration.ofSeconds(10);
    private static final AtomicInteger IDS = new AtomicInteger();

    static {
        Transport.register(KIND, new MemoryTransport());
    }

    private final EventLoop loop;
    private final MemoryTransport.Endpoint local;
    private final MemoryTransport.Endpoint peer;
    private final Connection conn;
    private final CompletableFuture<CloseCause> closed = new CompletableFuture<>();

    private EmbeddedConnection(TcpEndpoint<?> settings, boolean client) {
        MemoryTransport.Endpoint[] pair = MemoryTransport.pair();
        local = pair[0];
        peer = pair[1];
        loop = EventLoop.builder().poller(KIND).name("jhv-embedded-" + IDS.incrementAndGet()).daemon(true).build().start();
        CompletableFuture<Connection> up = new CompletableFuture<>();
        try {
            loop.runInLoop(() -> {
                try {
                    Connection c = Internals.connections().open(loop, local, settings, client);
                    c.addCloseListener((x, cause) -> closed.complete(cause));
                    if (c.isClosed()) closed.complete(c.closeCause()); // refused while coming up
                    up.complete(c);
                } catch (Throwable t) {
                    up.completeExceptionally(t);
                }
            });
            conn = up.get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            loop.close();
            throw new IllegalStateException("the embedded connection did not come up", e.getCause());
        } catch (InterruptedException | TimeoutException | RuntimeException e) {
            loop.close();
            if (e instanceof InterruptedException) Thread.currentThread().interrupt();
            throw new IllegalStateException("the embedded connection did not come up", e);
        }
    }

    /**
     * A connection with the settings and callbacks of {@code settings}: its {@code protocol} or
     * {@code unpacker} + {@code onMessage}, {@code onConnection}, {@code onClose}, timeouts, water
     * marks. {@code settings} is only read (a {@code TcpServer.create(0)} that is never started is
     * the usual holder); the connection is a server-side one, as if {@code settings} had accepted it.
     */
    public static EmbeddedConnection open(TcpEndpoint<?> settings) {
        return new EmbeddedConnection(Objects.requireNonNull(settings, "settings"), false);
    }

    /** A connection speaking the protocol {@code protocol} makes (called once, on the loop thread). */
    public static EmbeddedConnection open(Supplier<? extends ProtocolHandler> protocol) {
        return open(TcpServer.create(0).protocol(Objects.requireNonNull(protocol, "protocol")));
    }

    /** A connection that cuts its input with {@code unpacker} and hands each package to {@code onMessage}. */
    public static EmbeddedConnection open(Unpacker unpacker, MessageHandler onMessage) {
        return open(TcpServer.create(0).unpacker(unpacker).onMessage(onMessage));
    }

    /** The connection under test (its own thread contract applies). */
    public Connection connection() { return conn; }

    /** The loop the connection runs on. */
    public EventLoop loop() { return loop; }

    // ---------------------------------------------------------------- inbound: the peer writes

    /**
     * Delivers {@code bytes} to the connection as the peer's next bytes and waits until the loop
     * has read them (and the handler has run) or stopped reading (paused, closed).
     */
    public EmbeddedConnection writeInbound(byte[] bytes) {
        try {
            peer.send(bytes);
        } catch (IOException e) {
            throw new UncheckedIOException("the connection no longer reads (closed)", e);
        }
        runPending();
        return this;
    }

    /** {@link #writeInbound(byte[])} of {@code s} in UTF-8. */
    public EmbeddedConnection writeInbound(String s) {
        return writeInbound(s.getBytes(StandardCharsets.UTF_8));
    }

    /**
     * The peer shuts down its output (a FIN): the connection reads end of stream and, without an
     * {@code onPeerShutdown} handler, closes with {@link CloseCause.Kind#PEER_CLOSED} once its write
     * queue has drained. Waits until the loop has seen it.
     */
    public void closeInbound() {
        peer.shutdownOutput();
        runPending();
    }

    /** Bytes written with {@link #writeInbound} that the connection has not read yet (it paused reading, say). */
    public int pendingInbound() { return local.available(); }

    // ---------------------------------------------------------------- outbound: what the connection wrote

    /** Everything the connection has written so far that was not read yet (empty if nothing); waits for its write queue to drain first. */
    public byte[] readOutbound() {
        runPending();
        return take(peer.available());
    }

    /** {@link #readOutbound()} as UTF-8. */
    public String readOutboundString() {
        return new String(readOutbound(), StandardCharsets.UTF_8);
    }

    /**
     * Waits up to {@code timeout} for the connection to write {@code n} more bytes and returns them;
     * fewer if the connection closed or the time ran out (for writes a timer or another thread makes).
     */
    public byte[] readOutbound(int n, Duration timeout) {
        try {
            return peer.receive(n, timeout.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

    /** True once the connection has closed or shut down its output and everything it wrote was read here. */
    public boolean isOutboundClosed() {
        return peer.atEof();
    }

    private byte[] take(int n) {
        try {
            return peer.receive(n, 0);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

    // ---------------------------------------------------------------- state

    /** Whether the connection is connected (not closing, not closed). */
    public boolean isConnected() { return conn.isConnected(); }

    /** Whether the connection has closed. */
    public boolean isClosed() { return conn.isClosed(); }

    /** Why the connection closed, or null while it is open. */
    public CloseCause closeCause() { return closed.getNow(null); }

    /** Waits up to {@code timeout} for the connection to close and returns why. */
    public CloseCause awaitClose(Duration timeout) {
        try {
            return closed.get(timeout.toNanos(), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            throw new AssertionError("the connection did not close within " + timeout + " (" + conn + ")");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        } catch (ExecutionException e) {
            throw new IllegalStateException(e.getCause());
        }
    }

    /**
     * Waits until the loop has run what is pending: the tasks posted so far, the input it can read
     * now, and the writes it can flush now. Returns early (without failing) when the connection
     * stops reading or writing (paused, closed, output blocked), or when the loop has stopped.
     */
    public void runPending() {
        int noProgress = 0;
        long lastIn = -1, lastOut = -1;
        for (int round = 0; round < 1000 && noProgress < 2; round++) {
            long[] q = barrier();
            if (q == null) return;       // the loop has stopped
            long in = q[0], out = q[1];
            if (in == 0 && out == 0 && round > 0) return; // one full iteration after the last change
            noProgress = in == lastIn && out == lastOut ? noProgress + 1 : 0;
            lastIn = in;
            lastOut = out;
        }
    }

    /** Runs a task through the loop: every IO and task before it is done. Returns {inbound pending, queued outbound}. */
    private long[] barrier() {
        if (loop.inLoop()) throw new IllegalStateException("EmbeddedConnection waits for its loop: do not call it from the loop thread");
        CompletableFuture<long[]> f = new CompletableFuture<>();
        try {
            loop.post(() -> f.complete(new long[] {local.available(), conn.isClosed() ? 0 : conn.queuedBytes()}));
            return f.get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException e) {
            return null;
        } catch (TimeoutException e) {
            if (loop.isTerminated()) return null;
            throw new AssertionError("the embedded loop did not run a task within " + WAIT + " (a callback blocks it?)");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        } catch (ExecutionException e) {
            throw new IllegalStateException(e.getCause());
        }
    }

    /**
     * Closes the connection (as {@link Connection#close()}: what is queued is flushed first) and
     * stops its loop, waiting for the loop thread to end. Idempotent.
     */
    @Override
    public void close() {
        if (!loop.isTerminated()) {
            conn.close();
            runPending();
        }
        loop.close();
        local.close();
        peer.close();
    }

    @Override
    public String toString() {
        return "EmbeddedConnection[" + conn + "]";
    }
}
