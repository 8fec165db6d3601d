package io.jhv.core.net;

import io.jhv.core.internal.Internals;
import io.jhv.core.internal.IoHandler;
import io.jhv.core.internal.ListenSocket;
import io.jhv.core.internal.LoopAccess;
import io.jhv.core.internal.Poller;
import io.jhv.core.internal.StreamSocket;
import io.jhv.core.loop.EventLoop;
import io.jhv.core.loop.EventLoopGroup;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;

/**
 * One listening socket of a {@link TcpServer} on one loop: accepts connections and hands each to a
 * loop (its own with SO_REUSEPORT, else the group's next), admitting at most the server's
 * {@code maxConnections}. Loop thread, except {@link #open}, {@link #stop} and
 * {@link #closeThen}, which any thread may call.
 *
 * <p>Out of descriptors (EMFILE), accept() fails and the pending connection stays in the backlog:
 * the listener stays ready, so the loop would spin, and the clients hang. The classic remedy: the
 * acceptor keeps a spare descriptor (/dev/null) open; at EMFILE it closes it, accepts and closes
 * what is pending (those clients get a clean close), and opens it again. If it cannot, accepting
 * pauses briefly. Everything this path uses is loaded at start: loading a class from a directory
 * takes a descriptor too.
 */
final class Acceptor implements IoHandler {
    private static final System.Logger LOG = System.getLogger(TcpServer.class.getName());
    private static final LoopAccess LOOPS = Internals.loops();
    /** How long accepting pauses after accept() failed and the spare descriptor did not help. */
    private static final long ACCEPT_RETRY_MS = 100;
    /** At most one log line about failing accepts per acceptor in this time. */
    private static final long ACCEPT_LOG_INTERVAL_NANOS = TimeUnit.SECONDS.toNanos(1);
    /** What each acceptor holds open to have a descriptor to give back when the process runs out. */
    private static final Path SPARE_FD_PATH = Path.of("/dev/null");
    /** Connections accepted per readiness event before the loop serves others. */
    private static final int ACCEPTS_PER_READY = 256;
    /** Pending connections closed at most per shedding after EMFILE. */
    private static final int MAX_SHED = 4096;

    private final TcpServer server;
    private final ConnectionRegistry registry;
    final EventLoop loop;
    private final ListenSocket ssc;
    final int port;
    /** Where accepted connections go: null for this acceptor's own loop (SO_REUSEPORT). */
    private final EventLoopGroup handOut;
    private final int maxConnections;
    private Poller poller; // the loop's, once registered
    private Runnable stopHook;
    private FileChannel spare;
    private boolean paused;
    private final Runnable resume = this::resume;
    private long nextLogNanos = System.nanoTime();
    private long shedSinceLog, failuresSinceLog;

    private Acceptor(TcpServer server, ConnectionRegistry registry, EventLoop loop, ListenSocket ssc, int port,
                     EventLoopGroup handOut, int maxConnections) {
        this.server = server;
        this.registry = registry;
        this.loop = loop;
        this.ssc = ssc;
        this.port = port;
        this.handOut = handOut;
        this.maxConnections = maxConnections;
    }

    /**
     * Binds a listener on {@code loop} and registers it there; returns when it accepts. Hands
     * connections to {@code handOut}'s loops, or keeps them on {@code loop} if it is null (then
     * SO_REUSEPORT is set). Any thread but {@code loop}'s.
     */
    static Acceptor open(TcpServer server, ConnectionRegistry registry, EventLoop loop, InetSocketAddress addr, int backlog,
                         EventLoopGroup handOut, int maxConnections) throws IOException {
        ListenSocket ssc = LOOPS.transport(loop).openListener();
        try {
            ssc.setOption(StandardSocketOptions.SO_REUSEADDR, true);
            if (handOut == null) ssc.setOption(StandardSocketOptions.SO_REUSEPORT, true);
            ssc.bind(addr, backlog);
        } catch (IOException | RuntimeException e) {
            ssc.close();
            throw e;
        }
        Acceptor a = new Acceptor(server, registry, loop, ssc, ((InetSocketAddress) ssc.localAddress()).getPort(), handOut, maxConnections);
        a.spare = openSpare();
        try {
            OnLoop.run(loop, () -> {
                (a.poller = LOOPS.poller(loop)).register(ssc, Poller.ACCEPT, a);
                a.stopHook = loop.onStop(a::closeInLoop);
                return null;
            }, "register the listener");
        } catch (IOException | RuntimeException e) {
            a.stop(); // on its loop, in case the registration is still to come
            throw e;
        }
        return a;
    }

    @Override
    public void onIoReady(int readyOps) {
        for (int i = 0; i < ACCEPTS_PER_READY; i++) {
            StreamSocket ch;
            try {
                ch = ssc.accept();
            } catch (IOException e) {
                acceptFailed(e);
                return;
            }
            if (ch == null) return;
            registry.countAccepted();
            if (server.isClosing() || !registry.admit(maxConnections)) {
                closeQuietly(ch);
                continue;
            }
            handOut(ch, handOut == null ? loop : handOut.next());
        }
    }

    /** Gives {@code ch} to {@code target}'s loop as a connection of the server, or closes it. */
    private void handOut(StreamSocket ch, EventLoop target) {
        ProxyProtocol pp = server.proxyProtocol;
        Connection conn;
        if (pp == null) {
            conn = new Connection(target, ch, server, false);
        } else {
            java.net.SocketAddress from = ch.remoteAddress();
            boolean trusted = from instanceof java.net.InetSocketAddress i && pp.trusts(i.getAddress());
            ProxyHeaderReader reader = new ProxyHeaderReader(pp, trusted, from);
            conn = new Connection(target, ch, server, false, reader, null, 0);
            reader.bind(conn);
        }
        registry.add(conn);
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
                    registry.removed(conn);
                    return;
                }
                conn.establishInLoop();
            });
        } catch (RejectedExecutionException loopGone) {
            // Nobody would ever serve it: close it, so the client is not left hanging.
            closeQuietly(ch);
            registry.removed(conn);
        }
    }

    /** accept() failed: out of descriptors (usually), or something odd with the listener. */
    private void acceptFailed(IOException e) {
        if (!ssc.isOpen()) return;
        failuresSinceLog++;
        FileChannel sp = spare;
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
        for (int i = 0; i < MAX_SHED; i++) {
            StreamSocket ch;
            try {
                ch = ssc.accept();
            } catch (IOException | RuntimeException again) {
                break; // another thread took the descriptor: pause, retry later
            }
            if (ch == null) break;
            registry.countShed();
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
    static FileChannel openSpare() {
        try {
            return FileChannel.open(SPARE_FD_PATH, StandardOpenOption.READ);
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    /** Stops accepting: the listener closes on its loop, or here if that loop has ended. Any thread; returns at once. */
    void stop() {
        try {
            loop.runInLoop(this::closeInLoop);
        } catch (RejectedExecutionException loopGone) {
            closeSockets(); // its loop has ended (and closed its poller): only the sockets are left
        }
    }

    /**
     * Stops accepting and counts {@code stopped} down once the listening descriptor (and the port) is
     * released: after the loop's next poll, when the selector drops the cancelled key. Any thread.
     */
    void closeThen(CountDownLatch stopped) {
        try {
            loop.runInLoop(() -> {
                closeInLoop();
                loop.queueInLoop(stopped::countDown);
            });
        } catch (RejectedExecutionException loopGone) {
            closeSockets();
            stopped.countDown();
        }
    }

    /** Closes the listening socket and the spare descriptor. */
    private void closeSockets() {
        closeQuietly(ssc);
        FileChannel sp = spare;
        spare = null;
        if (sp != null) closeQuietly(sp);
    }

    private void closeInLoop() {
        // The channel's descriptor (and so the port) is released when the selector drops the
        // cancelled key, at the loop's next poll; close() waits for that.
        if (poller != null) poller.cancel(ssc);
        closeSockets();
        if (stopHook != null) loop.removeOnStop(stopHook);
    }

    static void closeQuietly(java.io.Closeable c) {
        try {
            c.close();
        } catch (IOException ignored) {
            // nothing more to release
        }
    }
}
