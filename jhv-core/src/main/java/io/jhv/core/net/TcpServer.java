package io.jhv.core.net;

import io.jhv.core.buffer.Buffer;
import io.jhv.core.internal.Internals;
import io.jhv.core.internal.IoHandler;
import io.jhv.core.internal.ListenSocket;
import io.jhv.core.internal.LoopAccess;
import io.jhv.core.internal.Poller;
import io.jhv.core.internal.StreamSocket;
import io.jhv.core.loop.EventLoop;
import io.jhv.core.loop.EventLoopGroup;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
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
    private static final LoopAccess LOOPS = Internals.loops();
    /** How long accepting pauses after accept() failed and the spare descriptor did not help. */
    private static final long ACCEPT_RETRY_MS = 100;
    /** At most one log line about failing accepts per acceptor in this time. */
    private static final long ACCEPT_LOG_INTERVAL_NANOS = TimeUnit.SECONDS.toNanos(1);
    /** What each acceptor holds open to have a descriptor to give back when the process runs out. */
    private static final java.nio.file.Path SPARE_FD_PATH = java.nio.file.Path.of("/dev/null");

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
    private final ConcurrentHashMap<Long, Connection> live = new ConcurrentHashMap<>();
    private final AtomicInteger count = new AtomicInteger();
    private final AtomicLong accepted = new AtomicLong();
    private final AtomicLong rejected = new AtomicLong();
    private volatile int port = -1;
    private volatile boolean started, closing;
    private volatile CountDownLatch allClosed;
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
                    Acceptor a = openAcceptor(l, p == 0 ? addr : new InetSocketAddress(addr.getAddress(), p), true);
                    p = a.port;
                }
            } else {
                openAcceptor(group.get(0), addr, false);
            }
            port = acceptors.get(0).port;
        } catch (IOException | RuntimeException e) {
            close(Duration.ZERO);
            if (e instanceof IOException io) throw new UncheckedIOException("cannot listen on " + (host == null ? "*" : host) + ":" + requestedPort + ": " + io.getMessage(), io);
            throw (RuntimeException) e;
        }
        return this;
    }

    private Acceptor openAcceptor(EventLoop loop, InetSocketAddress addr, boolean reuse) throws IOException {
        ListenSocket ssc = LOOPS.transport(loop).openListener();
        try {
            ssc.setOption(StandardSocketOptions.SO_REUSEADDR, true);
            if (reuse) ssc.setOption(StandardSocketOptions.SO_REUSEPORT, true);
            ssc.bind(addr, backlog);
        } catch (IOException | RuntimeException e) {
            ssc.close();
            throw e;
        }
        Acceptor a = new Acceptor(loop, ssc, ((InetSocketAddress) ssc.localAddress()).getPort());
        acceptors.add(a);
        a.spare = Acceptor.openSpare();
        CountDownLatch registered = new CountDownLatch(1);
        IOException[] failure = new IOException[1];
        loop.runInLoop(() -> {
            try {
                (a.poller = LOOPS.poller(loop)).register(ssc, Poller.ACCEPT, a);
                a.stopHook = loop.onStop(a::closeInLoop);
            } catch (IOException e) {
                failure[0] = e;
            } finally {
                registered.countDown();
            }
        });
        try {
            if (!registered.await(10, TimeUnit.SECONDS)) throw new IOException("loop " + loop.name() + " did not register the listener");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while starting", e);
        }
        if (failure[0] != null) throw failure[0];
        return a;
    }

    /**
     * One listening socket on one loop.
     *
     * <p>Out of descriptors (EMFILE), accept() fails and the pending connection stays in the backlog:
     * the listener stays ready, so the loop would spin, and the clients hang. The classic remedy: the
     * acceptor keeps a spare descriptor (/dev/null) open; at EMFILE it closes it, accepts and closes
     * what is pending (those clients get a clean close), and opens it again. If it cannot, accepting
     * pauses briefly. Everything this path uses is loaded at start: loading a class from a directory
     * takes a descriptor too.
     */
    private final class Acceptor implements IoHandler {
        final EventLoop loop;
        final ListenSocket ssc;
        final int port;
        Poller poller; // the loop's, once registered
        Runnable stopHook;
        java.nio.channels.FileChannel spare;
        boolean paused;
        final Runnable resume = this::resume;
        long nextLogNanos = System.nanoTime();
        long shedSinceLog, failuresSinceLog;

        Acceptor(EventLoop loop, ListenSocket ssc, int port) {
            this.loop = loop;
            this.ssc = ssc;
            this.port = port;
        }

        @Override
        public void onIoReady(int readyOps) {
            for (int i = 0; i < 256; i++) {
                StreamSocket ch;
                try {
                    ch = ssc.accept();
                } catch (IOException e) {
                    acceptFailed(e);
                    return;
                }
                if (ch == null) return;
                accepted.incrementAndGet();
                if (closing) {
                    closeQuietly(ch);
                    continue;
                }
                if (count.incrementAndGet() > maxConnections) {
                    count.decrementAndGet();
                    rejected.incrementAndGet();
                    closeQuietly(ch);
                    continue;
                }
                EventLoop target = reusePort ? loop : group.next();
                Connection conn = new Connection(target, ch, TcpServer.this, false);
                live.put(conn.id(), conn);
                // A target loop that is stopping runs the task in its final drain (registration
                // fails there and closes the socket); one that has terminated rejects it.
                try {
                    target.runInLoop(() -> {
                        if (conn.isClosed()) return; // closed (server close) before its loop got to it
                        try {
                            conn.registerInLoop(false);
                        } catch (IOException | RuntimeException e) {
                            if (target.isRunning()) LOG.log(System.Logger.Level.WARNING, "cannot register " + conn + ": " + e);
                            closeQuietly(ch);
                            removed(conn);
                            return;
                        }
                        conn.establishInLoop();
                    });
                } catch (RejectedExecutionException loopGone) {
                    // Nobody would ever serve it: close it, so the client is not left hanging.
                    closeQuietly(ch);
                    removed(conn);
                }
            }
        }

        /** accept() failed: out of descriptors (usually), or something odd with the listener. */
        private void acceptFailed(IOException e) {
            if (!ssc.isOpen()) return;
            failuresSinceLog++;
            java.nio.channels.FileChannel sp = spare;
            if (sp != null && isOutOfDescriptors(e)) {
                spare = null;
                closeQuietly(sp);
                // One descriptor is free now: the log line (which may need one) goes first, then the
                // backlog is accepted and closed one at a time through the same free slot.
                logAcceptFailure(e);
                shedSinceLog += shedBacklog();
                spare = openSpare();
                if (spare != null) return; // drained: OP_ACCEPT fires again only for new connections
            } else {
                logAcceptFailure(e);
            }
            pause(); // no spare descriptor (or another failure): stop accepting for a moment
        }

        /** Accepts and closes pending connections until none is left or accept fails again. */
        private int shedBacklog() {
            int n = 0;
            for (int i = 0; i < 4096; i++) {
                StreamSocket ch;
                try {
                    ch = ssc.accept();
                } catch (IOException | RuntimeException again) {
                    break; // another thread took the descriptor: pause, retry later
                }
                if (ch == null) break;
                accepted.incrementAndGet();
                rejected.incrementAndGet();
                closeQuietly(ch);
                n++;
            }
            return n;
        }

        private void pause() {
            if (paused || poller == null || !ssc.isOpen()) return;
            paused = true;
            poller.modify(ssc, 0);
            try {
                loop.setTimeout(ACCEPT_RETRY_MS, resume);
            } catch (RuntimeException | Error e) {
                paused = false; // cannot even schedule the retry: stay ready rather than deaf
                poller.modify(ssc, Poller.ACCEPT);
            }
        }

        private void resume() {
            paused = false;
            if (spare == null) spare = openSpare();
            if (ssc.isOpen() && poller != null) poller.modify(ssc, Poller.ACCEPT);
        }

        /** At most one line a second, counting what happened in between; never throws. */
        private void logAcceptFailure(IOException e) {
            long now = System.nanoTime();
            if (now - nextLogNanos < 0) return;
            nextLogNanos = now + ACCEPT_LOG_INTERVAL_NANOS;
            long failures = failuresSinceLog, shed = shedSinceLog;
            failuresSinceLog = 0;
            shedSinceLog = 0;
            try {
                LOG.log(System.Logger.Level.WARNING, "accept failed on port " + port + ": " + e.getMessage() + " ("
                        + failures + " failures, " + shed + " pending connections closed since the last report)");
            } catch (Throwable logFailed) {
                // out of descriptors or memory for the log itself: keep serving
            }
        }

        static boolean isOutOfDescriptors(IOException e) {
            String m = e.getMessage();
            return m != null && m.contains("Too many open files"); // EMFILE, and ENFILE ("... in system")
        }

        /** The spare descriptor, or null where there is no /dev/null or no descriptor left. */
        static java.nio.channels.FileChannel openSpare() {
            try {
                return java.nio.channels.FileChannel.open(SPARE_FD_PATH, java.nio.file.StandardOpenOption.READ);
            } catch (IOException | RuntimeException e) {
                return null;
            }
        }

        /** Closes the listening socket and the spare descriptor. */
        void closeSockets() {
            closeQuietly(ssc);
            java.nio.channels.FileChannel sp = spare;
            spare = null;
            if (sp != null) closeQuietly(sp);
        }

        void closeInLoop() {
            // The channel's descriptor (and so the port) is released when the selector drops the
            // cancelled key, at the loop's next poll; close() waits for that.
            if (poller != null) poller.cancel(ssc);
            closeSockets();
            if (stopHook != null) loop.removeOnStop(stopHook);
        }
    }

    private static void closeQuietly(java.io.Closeable c) {
        try {
            c.close();
        } catch (IOException ignored) {
            // nothing more to release
        }
    }

    /** Called by a connection when it has closed. */
    void removed(Connection c) {
        if (live.remove(c.id()) != null) {
            count.decrementAndGet();
            CountDownLatch l = allClosed;
            if (l != null && live.isEmpty()) l.countDown();
        }
    }

    /** The port the server listens on (after {@link #start()}). Thread-safe. */
    public int port() {
        if (port < 0) throw new IllegalStateException("server not started");
        return port;
    }

    /** The live connections (a thread-safe view). */
    public Collection<Connection> connections() { return Collections.unmodifiableCollection(live.values()); }

    /** Thread-safe. */
    public int connectionCount() { return count.get(); }

    /** Connections closed at once because {@link #maxConnections} was reached. Thread-safe. */
    public long rejectedCount() { return rejected.get(); }

    /** Connections accepted so far. Thread-safe. */
    public long acceptedCount() { return accepted.get(); }

    /** The loops connections run on. Thread-safe. */
    public EventLoopGroup group() { return group; }

    /** Sends {@code bytes} to every live connection. Thread-safe. */
    public void broadcast(byte[] bytes) {
        for (Connection c : live.values()) {
            try {
                c.write(ByteBuffer.wrap(bytes)); // each gets its own view; the array is only read
            } catch (IllegalStateException closing) {
                // closed between the listing and the write: skip it
            }
        }
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
        for (Acceptor a : acceptors) {
            try {
                a.loop.runInLoop(a::closeInLoop);
            } catch (RejectedExecutionException loopGone) {
                a.closeSockets(); // its loop has ended (and closed its poller): only the sockets are left
            }
        }
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
            for (Acceptor a : acceptors) {
                try {
                    a.loop.runInLoop(() -> {
                        a.closeInLoop();
                        a.loop.queueInLoop(stopped::countDown);
                    });
                } catch (RejectedExecutionException loopGone) {
                    a.closeSockets();
                    stopped.countDown();
                }
            }
            awaitUntil(stopped, deadlineNanos);
            // 2. Close every connection after flushing; abort what is left at the deadline.
            CountDownLatch all = new CountDownLatch(1);
            allClosed = all;
            if (live.isEmpty()) all.countDown();
            for (Connection c : live.values()) closeOrForget(c, false);
            if (!awaitUntil(all, deadlineNanos)) {
                for (Connection c : live.values()) closeOrForget(c, true);
                all.await(1, TimeUnit.SECONDS);
            }
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

    /**
     * Closes (or aborts) {@code c}; if its loop has terminated, the loop's stop hooks and poller have
     * closed the socket already and only the server's record of it is left.
     */
    private void closeOrForget(Connection c, boolean abort) {
        try {
            if (abort) c.abort();
            else c.close();
        } catch (RejectedExecutionException loopGone) {
            removed(c);
        }
    }

    private static boolean awaitUntil(CountDownLatch latch, long deadlineNanos) throws InterruptedException {
        return latch.await(Math.max(0, deadlineNanos - System.nanoTime()), TimeUnit.NANOSECONDS);
    }
}
