package io.jhv.core.net;

import io.jhv.core.buffer.Buffer;
import io.jhv.core.loop.EventLoop;
import io.jhv.core.loop.EventLoopGroup;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * A TCP server: an acceptor on one loop handing connections to the loops of a group (main/sub
 * reactor), or with {@link #reusePort(boolean)} one acceptor per loop on the same port.
 *
 * <p>Configure before {@link #start()}; after it, {@link #connections()}, {@link #broadcast},
 * {@link #close()} and the counters are thread-safe.
 *
 * <p>If one of its loops ends abnormally (see {@link EventLoop#onTerminated}), the server cannot
 * serve what that loop held: it closes itself (listeners and every connection) and
 * {@link #closeFuture()} completes exceptionally with the cause.
 *
 * {@snippet :
 * TcpServer server = TcpServer.create(7000)
 *     .onMessage((conn, buf) -> conn.write(buf))   // echo
 *     .start();
 * }
 */
public final class TcpServer extends TcpEndpoint<TcpServer> implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(TcpServer.class.getName());

    private final String host;
    private final int requestedPort;
    private int threads = Runtime.getRuntime().availableProcessors();
    private EventLoopGroup group;
    private boolean ownGroup;
    private boolean reusePort;
    private int backlog = 1024;
    private int maxConnections = Integer.MAX_VALUE;
    private String poller = "default";

    private final List<Acceptor> acceptors = new ArrayList<>();
    private final ConnectionRegistry registry = new ConnectionRegistry();
    private volatile int port = -1;
    private volatile boolean started, closing;
    private final CountDownLatch closeDone = new CountDownLatch(1);
    private final CompletableFuture<Void> closeFuture = new CompletableFuture<>();
    private volatile Throwable loopFailure;
    private final Consumer<Throwable> onLoopTerminated = this::loopTerminated;

    private TcpServer(String host, int port) {
        if (port < 0 || port > 65535) throw new IllegalArgumentException("port out of range: " + port);
        this.host = host;
        this.requestedPort = port;
    }

    /** A server on all interfaces; port 0 picks a free port ({@link #port()} after start). Any thread. */
    public static TcpServer create(int port) {
        return new TcpServer(null, port);
    }

    /** A server on {@code host}. Any thread. */
    public static TcpServer create(String host, int port) {
        return new TcpServer(host, port);
    }

    /** Loops to run connections on, when the server makes its own group (default: processors). Before {@link #start()}, one thread. */
    public TcpServer threads(int n) {
        mutable();
        if (n < 1) throw new IllegalArgumentException("threads < 1: " + n);
        this.threads = n;
        return this;
    }

    /** Runs on an existing group (not stopped by {@link #close()}). Before {@link #start()}, one thread. */
    public TcpServer group(EventLoopGroup group) {
        mutable();
        this.group = group;
        return this;
    }

    /** One acceptor per loop on the same port with SO_REUSEPORT, instead of one acceptor handing out. Before {@link #start()}, one thread. */
    public TcpServer reusePort(boolean on) {
        mutable();
        this.reusePort = on;
        return this;
    }

    /** The listen backlog. Before {@link #start()}, one thread. */
    public TcpServer backlog(int n) {
        mutable();
        this.backlog = n;
        return this;
    }

    /** Connections above this many are closed at once, and counted in {@link #rejectedCount()}. Before {@link #start()}, one thread. */
    public TcpServer maxConnections(int n) {
        mutable();
        if (n < 1) throw new IllegalArgumentException("maxConnections < 1: " + n);
        this.maxConnections = n;
        return this;
    }

    /**
     * Reads a PROXY protocol header (v1 or v2) from the trusted sources of {@code config} ahead of
     * each connection (and TLS), so {@link Connection#remoteAddress()} is the client behind the load
     * balancer; a header from any other source is refused. Null: off (the default). Before
     * {@link #start()}, one thread.
     */
    public TcpServer proxyProtocol(ProxyProtocol config) {
        mutable();
        this.proxyProtocol = config;
        return this;
    }

    ProxyProtocol proxyProtocol;

    /** The poller of the loops the server makes: "default", "epoll" or "poll". Before {@link #start()}, one thread. */
    public TcpServer poller(String kind) {
        mutable();
        this.poller = kind;
        return this;
    }

    /**
     * Binds and starts accepting. Returns when the server listens.
     * Any thread, once.
     *
     * @throws UncheckedIOException if the address cannot be bound
     * @throws IllegalStateException if already started
     */
    public TcpServer start() {
        synchronized (this) {
            if (started) throw new IllegalStateException("server already started");
            started = true;
            freeze();
        }
        if (group == null) {
            group = EventLoopGroup.create(threads, EventLoopGroup.Balance.ROUND_ROBIN, poller);
            ownGroup = true;
        }
        group.start();
        for (EventLoop l : group.loops()) l.onTerminated(onLoopTerminated);
        try {
            InetSocketAddress addr = host == null ? new InetSocketAddress(requestedPort) : new InetSocketAddress(host, requestedPort);
            if (reusePort) {
                int p = requestedPort;
                for (EventLoop l : group.loops()) {
                    Acceptor a = Acceptor.open(this, registry, l, p == 0 ? addr : new InetSocketAddress(addr.getAddress(), p), backlog, null, maxConnections);
                    acceptors.add(a);
                    p = a.port;
                }
            } else {
                acceptors.add(Acceptor.open(this, registry, group.get(0), addr, backlog, group, maxConnections));
            }
            port = acceptors.get(0).port;
        } catch (IOException | RuntimeException e) {
            close(Duration.ZERO);
            if (e instanceof IOException io) throw new UncheckedIOException("cannot listen on " + (host == null ? "*" : host) + ":" + requestedPort + ": " + io.getMessage(), io);
            throw (RuntimeException) e;
        }
        return this;
    }

    /** Whether {@link #close} has begun: acceptors close what they accept from then on. Any thread. */
    boolean isClosing() { return closing; }

    /** Called by a connection when it has closed. */
    void removed(Connection c) {
        registry.removed(c);
    }

    /** The port the server listens on (after {@link #start()}). Thread-safe. */
    public int port() {
        if (port < 0) throw new IllegalStateException("server not started");
        return port;
    }

    /** The live connections (a thread-safe view). */
    public Collection<Connection> connections() { return registry.connections(); }

    /** Thread-safe. */
    public int connectionCount() { return registry.count(); }

    /** Connections closed at once because {@link #maxConnections} was reached. Thread-safe. */
    public long rejectedCount() { return registry.rejected(); }

    /** Connections accepted so far. Thread-safe. */
    public long acceptedCount() { return registry.accepted(); }

    /** The loops connections run on. Thread-safe. */
    public EventLoopGroup group() { return group; }

    /** Sends {@code bytes} to every live connection. Thread-safe. */
    public void broadcast(byte[] bytes) {
        registry.broadcast(bytes);
    }

    /** Any thread. */
    public void broadcast(String s) { broadcast(s.getBytes(java.nio.charset.StandardCharsets.UTF_8)); }

    /** Any thread. */
    public void broadcast(Buffer b) { broadcast(b.readBytes()); }

    /**
     * Stops accepting new connections (the listening sockets close); live connections go on.
     * Thread-safe; returns without waiting. {@link #close(Duration)} does this too.
     */
    public void stopAccepting() {
        for (Acceptor a : acceptors) a.stop();
    }

    /**
     * Completes when the server has closed: normally after {@link #close(Duration)}, exceptionally
     * (with an {@link IllegalStateException} whose cause is the loop's) when one of its loops ended
     * abnormally and the server closed itself. Thread-safe; callbacks run on the closing thread.
     */
    public CompletableFuture<Void> closeFuture() { return closeFuture; }

    /** A loop of the group ended (listener, on that loop's ending thread). */
    private void loopTerminated(Throwable cause) {
        if (cause == null || closing) return; // a normal stop (group shutdown), or already closing
        EventLoop dead = null;
        for (EventLoop l : group.loops()) if (l.isTerminated() && l.terminationCause() == cause) dead = l;
        loopFailure = new IllegalStateException("event loop " + (dead != null ? dead.name() : "?") + " of the server on port "
                + port + " ended abnormally: " + cause, cause);
        try {
            LOG.log(System.Logger.Level.ERROR, "server on port " + port + " lost an event loop; closing it", cause);
        } catch (Throwable ignored) {
            // the close future still reports it
        }
        // Off the ending loop thread: close() waits for loops, this one included.
        try {
            Thread.ofVirtual().name("jhv-server-close-" + port).start(() -> close(Duration.ofSeconds(1)));
        } catch (Throwable e) {
            close(Duration.ofSeconds(1));
        }
    }

    /** {@link #close(Duration)} with 5 s. Thread-safe. */
    @Override
    public void close() {
        close(Duration.ofSeconds(5));
    }

    /**
     * Stops accepting, closes every connection after flushing its write queue, aborts what is still
     * open at the deadline, and stops the loops the server made. Thread-safe; blocks until done unless
     * called on one of the server's loops (then it finishes in the background). A concurrent second
     * call waits for the first; a later one returns at once. When it returns, the port is free.
     *
     * <p>A client whose connect races with the listener's close may be left connected to nothing:
     * Linux can finish the handshake and then drop the half-made connection without a reset (it
     * counts it in TcpExtListenDrops). No descriptor is left open here; the client learns of it
     * when it next sends.
     */
    public void close(Duration deadline) {
        long deadlineNanos = System.nanoTime() + deadline.toNanos();
        // Waiting for loops from one of them would deadlock: finish in the background then.
        boolean onLoop = false;
        if (group != null) for (EventLoop l : group.loops()) onLoop |= l.inLoop();
        boolean first;
        synchronized (this) {
            first = !closing;
            closing = true;
        }
        if (!first) {
            // Someone else is closing: wait for it like they do (a close() after it is a no-op).
            if (!onLoop) {
                try {
                    closeDone.await(Math.max(0, deadlineNanos - System.nanoTime()) + TimeUnit.SECONDS.toNanos(6), TimeUnit.NANOSECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            return;
        }
        if (onLoop) {
            Thread.ofVirtual().name("jhv-server-close-" + port).start(() -> finishClose(deadlineNanos));
        } else {
            finishClose(deadlineNanos);
        }
    }

    private void finishClose(long deadlineNanos) {
        try {
            // 1. Stop accepting, and wait for it: an acceptor hands connections out on its own loop,
            //    so once its close ran there, every accepted connection is in `live`. The barrier
            //    runs after the acceptor loop's next poll, which is when the selector drops the key
            //    and the listening descriptor (and the port) is really released.
            CountDownLatch stopped = new CountDownLatch(acceptors.size());
            for (Acceptor a : acceptors) a.closeThen(stopped);
            ConnectionRegistry.awaitUntil(stopped, deadlineNanos);
            // 2. Close every connection after flushing; abort what is left at the deadline.
            registry.closeAll(deadlineNanos);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            if (group != null) for (EventLoop l : group.loops()) l.removeOnTerminated(onLoopTerminated);
            if (ownGroup && group != null) group.shutdownGracefully(Duration.ofSeconds(5));
            closeDone.countDown();
            Throwable failure = loopFailure;
            if (failure != null) closeFuture.completeExceptionally(failure);
            else closeFuture.complete(null);
        }
    }
}
