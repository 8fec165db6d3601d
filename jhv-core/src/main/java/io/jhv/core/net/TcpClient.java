package io.jhv.core.net;

import io.jhv.core.buffer.Buffer;
import io.jhv.core.internal.Internals;
import io.jhv.core.internal.StreamSocket;
import io.jhv.core.loop.EventLoop;
import io.jhv.core.loop.Timer;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * A TCP client with connect timeout and reconnect (libhv's {@code TcpClient}).
 *
 * <p>With a {@link ReconnectPolicy} it retries after a failed connect or a lost connection. With a
 * heartbeat and a read timeout, a server that stops answering without closing is detected (the read
 * timeout closes the connection) and the client reconnects. Host names are resolved off the loop.
 *
 * <p>Configure before {@link #start()}. {@code write}, {@link #close()} and the getters are
 * thread-safe; {@code close()} is safe at any moment, also during a reconnect back-off.
 *
 * {@snippet :
 * TcpClient client = TcpClient.create("127.0.0.1", 7000)
 *     .reconnect(ReconnectPolicy.exponential(Duration.ofMillis(100), Duration.ofSeconds(5)))
 *     .heartbeat(Duration.ofSeconds(1), () -> "ping\n").readTimeout(Duration.ofSeconds(3))
 *     .onConnection(c -> { if (c.isConnected()) c.write("hello\n"); })
 *     .onMessage((c, buf) -> System.out.println(buf.readString()))
 *     .start();
 * }
 */
public final class TcpClient extends TcpEndpoint<TcpClient> implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(TcpClient.class.getName());

    private final String host;
    private final int port;
    private EventLoop loop;
    private boolean ownLoop;
    private long connectTimeoutMs = 10_000;
    private ReconnectPolicy reconnect;
    private InetSocketAddress localAddress;

    private volatile Connection conn;
    private Connection connecting;
    private volatile boolean started, closed;
    private volatile int retries;
    private volatile int connects;
    private Timer retryTimer, connectTimer;
    private final CountDownLatch terminated = new CountDownLatch(1);

    private TcpClient(String host, int port) {
        if (port <= 0 || port > 65535) throw new IllegalArgumentException("port out of range: " + port);
        this.host = Objects.requireNonNull(host, "host");
        this.port = port;
    }

    public static TcpClient create(String host, int port) {
        return new TcpClient(host, port);
    }

    /** Runs on {@code loop} (not stopped by {@link #close()}); by default the client starts its own. */
    public TcpClient loop(EventLoop loop) {
        this.loop = loop;
        return this;
    }

    /**
     * Gives up a connect attempt after {@code ms} (default 10 s). The attempt lasts until the
     * connection is up: with TLS, this bounds the TCP connect and the handshake together.
     */
    public TcpClient connectTimeout(long ms) {
        if (ms <= 0) throw new IllegalArgumentException("connect timeout must be > 0");
        this.connectTimeoutMs = ms;
        return this;
    }

    /** Reconnects after a failed connect or a lost connection. */
    public TcpClient reconnect(ReconnectPolicy policy) {
        this.reconnect = policy;
        return this;
    }

    /** Binds the local side to {@code address} before connecting. */
    public TcpClient bind(InetSocketAddress address) {
        this.localAddress = address;
        return this;
    }

    /**
     * Starts connecting (asynchronously) and returns.
     *
     * @throws IllegalStateException if already started, or closed
     */
    public TcpClient start() {
        EventLoop l;
        synchronized (this) {
            // Under the lock with close(): a close() racing with start() either sees the loop (and
            // closes through it) or makes start() fail, never leaves an own loop running unowned.
            if (closed) throw new IllegalStateException("client closed");
            if (started) throw new IllegalStateException("client already started");
            started = true;
            freeze();
            if (loop == null) {
                loop = EventLoop.builder().name("jhv-client-" + host + ":" + port).build().start();
                ownLoop = true;
            }
            l = loop;
        }
        l.runInLoop(this::startConnect);
        return this;
    }

    /** The live connection, or null while not connected. */
    public Connection connection() { return conn; }

    public boolean isConnected() {
        Connection c = conn;
        return c != null && c.isConnected();
    }

    /**
     * Retries in a row since the last successful connect. A connect counts as successful when the
     * connection is up: with TLS, after the handshake.
     */
    public int retries() { return retries; }

    /** Successful connects so far (with TLS: completed handshakes). */
    public int connectCount() { return connects; }

    public EventLoop loop() { return loop; }

    public void write(byte[] bytes) { live().write(bytes); }
    public void write(String s) { live().write(s); }
    public void write(ByteBuffer b) { live().write(b); }
    public void write(Buffer b) { live().write(b); }

    private Connection live() {
        Connection c = conn;
        if (c == null || !c.isConnected()) throw new IllegalStateException("client to " + host + ":" + port + " is not connected");
        return c;
    }

    // ---------------------------------------------------------------- connecting (loop thread)

    private void startConnect() {
        if (closed) return;
        retryTimer = null;
        if (isLiteral(host)) {
            try {
                connectInLoop(new InetSocketAddress(InetAddress.getByName(host), port));
            } catch (UnknownHostException e) {
                failAttempt("bad address " + host + ": " + e.getMessage());
            }
            return;
        }
        // Name resolution blocks: do it on a virtual thread and come back to the loop.
        Thread.ofVirtual().name("jhv-resolve-" + host).start(() -> {
            try {
                InetSocketAddress addr = new InetSocketAddress(InetAddress.getByName(host), port);
                loop.post(() -> connectInLoop(addr));
            } catch (UnknownHostException e) {
                loop.post(() -> failAttempt("cannot resolve " + host + ": " + e.getMessage()));
            }
        });
    }

    private static boolean isLiteral(String h) {
        if (h.indexOf(':') >= 0) return true; // IPv6
        for (int i = 0; i < h.length(); i++) {
            char c = h.charAt(i);
            if ((c < '0' || c > '9') && c != '.') return false;
        }
        return !h.isEmpty();
    }

    private void connectInLoop(InetSocketAddress addr) {
        if (closed) return;
        StreamSocket ch;
        Connection c;
        try {
            ch = Internals.loops().transport(loop).openStream();
        } catch (IOException e) {
            failAttempt("cannot open a socket: " + e.getMessage());
            return;
        }
        c = new Connection(loop, ch, this, true);
        try {
            if (localAddress != null) ch.bind(localAddress);
            c.registerInLoop(true);
            connecting = c;
            connectTimer = loop.setTimeout(connectTimeoutMs, () -> c.closeInLoop(CloseCause.timeout("connect"), true));
            if (ch.connect(addr)) finishConnectInLoop(c);
        } catch (IOException | RuntimeException e) {
            connecting = c;
            c.closeInLoop(CloseCause.error("connect to " + addr + " failed: " + e.getMessage(), e), true);
        }
    }

    /** OP_CONNECT fired, or connect() completed at once. */
    void finishConnectInLoop(Connection c) {
        try {
            if (!c.finishConnect()) return;
        } catch (IOException e) {
            c.closeInLoop(CloseCause.error("connect to " + host + ":" + port + " failed: " + e.getMessage(), e), true);
            return;
        }
        // Not yet established: with TLS the handshake comes first, and a failed one is a failed
        // attempt like a refused connect (reported, backed off, counted against maxRetries). The
        // connect timeout keeps running until then, so it bounds the handshake too.
        conn = c;
        c.establishInLoop();
    }

    /**
     * Called by {@code c} when it comes up (after the TCP connect, and with TLS after the handshake),
     * before {@code onConnection}: only now does the attempt count as a success. Loop thread.
     */
    void established(Connection c) {
        if (connecting != c) return;
        if (connectTimer != null) connectTimer.cancel();
        connectTimer = null;
        connecting = null;
        retries = 0;
        connects++;
    }

    private void failAttempt(String why) {
        LOG.log(System.Logger.Level.DEBUG, "connect to " + host + ":" + port + ": " + why);
        reportConnectFailure(CloseCause.error(why, null));
        afterClose();
    }

    private java.util.function.Consumer<CloseCause> onConnectFailed;

    /**
     * Called on the loop each time a connect attempt fails, with why: a refused or timed-out connect or a
     * failed TLS handshake (which also reach {@code onClose}), and a failure before any socket exists (a name that does
     * not resolve, no descriptors left), which reaches no other callback. Configure before start.
     */
    public TcpClient onConnectFailed(java.util.function.Consumer<CloseCause> handler) {
        this.onConnectFailed = handler;
        return this;
    }

    private void reportConnectFailure(CloseCause cause) {
        java.util.function.Consumer<CloseCause> h = onConnectFailed;
        if (h == null) return;
        try {
            h.accept(cause);
        } catch (RuntimeException e) {
            Internals.loops().reportError(loop, e);
        }
    }

    /** Called by a connection of this client when it has closed (loop thread). */
    void closed(Connection c, CloseCause cause) {
        if (conn == c) conn = null;
        if (connecting == c) {
            connecting = null;
            if (connectTimer != null) connectTimer.cancel();
            connectTimer = null;
            if (!closed) reportConnectFailure(cause);
        }
        afterClose();
    }

    private void afterClose() {
        if (closed) {
            finish();
            return;
        }
        if (reconnect == null) return;
        int retry = retries + 1;
        if (!reconnect.allows(retry)) {
            LOG.log(System.Logger.Level.INFO, "giving up on " + host + ":" + port + " after " + retries + " retries");
            return;
        }
        retries = retry;
        retryTimer = loop.setTimeout(reconnect.delayMs(retry), this::startConnect);
    }

    private void finish() {
        if (terminated.getCount() == 0) return;
        terminated.countDown();
        if (ownLoop) loop.stop();
    }

    // ---------------------------------------------------------------- closing

    /** Stops reconnecting and closes the connection after flushing; stops the client's own loop. Thread-safe. */
    @Override
    public void close() {
        EventLoop l;
        synchronized (this) {
            if (closed) return;
            closed = true;
            l = started ? loop : null;
        }
        if (l == null) {
            terminated.countDown(); // never started: nothing runs
            return;
        }
        try {
            l.runInLoop(() -> {
                if (retryTimer != null) retryTimer.cancel();
                retryTimer = null;
                Connection c = conn, p = connecting;
                if (p != null) p.closeInLoop(CloseCause.NORMAL, true);
                if (c != null) c.closeInLoop(CloseCause.NORMAL, false);
                if (c == null && p == null) finish();
            });
        } catch (java.util.concurrent.RejectedExecutionException deadLoop) {
            // the loop has ended, and its connections with it: close is idempotent and never throws
            terminated.countDown();
        }
    }

    /** Waits until the client has closed (its connection closed and, if it has its own loop, that stopped). */
    public boolean awaitTermination(Duration timeout) throws InterruptedException {
        long end = System.nanoTime() + timeout.toNanos();
        if (!terminated.await(timeout.toNanos(), TimeUnit.NANOSECONDS)) return false;
        EventLoop l;
        boolean own;
        synchronized (this) {
            l = loop;
            own = ownLoop;
        }
        return !own || l.awaitTermination(Duration.ofNanos(Math.max(0, end - System.nanoTime())));
    }
}
