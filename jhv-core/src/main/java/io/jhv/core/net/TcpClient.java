package io.jhv.core.net;

import io.jhv.core.buffer.Buffer;
import io.jhv.core.internal.Internals;
import io.jhv.core.loop.EventLoop;
import io.jhv.core.loop.EventLoopGroup;
import io.jhv.core.loop.Timer;

import java.net.InetSocketAddress;
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
 * <p>Each attempt is a {@link Connector} attempt: the connect timeout bounds resolving and the TCP
 * connect, the handshake timeout the TLS handshake. By default the client runs on a loop (a thread)
 * of its own; {@link #loop(EventLoop)} or {@link #group(EventLoopGroup)} put it on a shared one.
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
    private EventLoopGroup group;
    private boolean ownLoop;
    private long connectTimeoutMs = Connector.DEFAULT_CONNECT_TIMEOUT.toMillis();
    private long handshakeTimeoutMs; // 0: the connect timeout
    private ReconnectPolicy reconnect;
    private InetSocketAddress localAddress;
    private Proxy proxy = Proxy.NONE;

    private volatile Connection conn;
    private Connector.Attempt attempt; // the one in progress (loop thread)
    private volatile boolean started, closed;
    private volatile int retries;
    private volatile int connects;
    private Timer retryTimer;
    private final CountDownLatch terminated = new CountDownLatch(1);

    private TcpClient(String host, int port) {
        if (port <= 0 || port > 65535) throw new IllegalArgumentException("port out of range: " + port);
        this.host = Objects.requireNonNull(host, "host");
        this.port = port;
    }

    /** Any thread. */
    public static TcpClient create(String host, int port) {
        return new TcpClient(host, port);
    }

    /**
     * Runs on {@code loop}, shared with other clients and servers: no thread of its own, and
     * {@link #close()} does not stop it. By default the client starts its own loop (one thread).
     */
    public TcpClient loop(EventLoop loop) {
        mutable();
        this.loop = Objects.requireNonNull(loop, "loop");
        return this;
    }

    /**
     * Runs on the next loop of {@code group} (picked at {@link #start()}, by the group's balance
     * policy), shared like {@link #loop(EventLoop)}: many clients, the group's threads only.
     */
    public TcpClient group(EventLoopGroup group) {
        mutable();
        this.group = Objects.requireNonNull(group, "group");
        return this;
    }

    /**
     * Gives up a connect attempt when resolving the name and the TCP connect take longer than
     * {@code timeout} (default 10 s).
     * Before {@link #start()}, one thread.
     */
    public TcpClient connectTimeout(Duration timeout) {
        mutable();
        this.connectTimeoutMs = Connector.positiveMillis(timeout, "connect timeout");
        return this;
    }

    /**
     * Gives up a connect attempt when the TLS handshake (after the TCP connect) takes longer than
     * {@code timeout}; by default the connect timeout. The {@link io.jhv.core.tls.TlsConfig}'s own
     * handshake timeout applies too: the shorter wins. A timed-out handshake is a failed attempt.
     * Before {@link #start()}, one thread.
     */
    public TcpClient handshakeTimeout(Duration timeout) {
        mutable();
        this.handshakeTimeoutMs = Connector.positiveMillis(timeout, "handshake timeout");
        return this;
    }

    /** Reconnects after a failed connect or a lost connection. Before {@link #start()}, one thread. */
    public TcpClient reconnect(ReconnectPolicy policy) {
        mutable();
        this.reconnect = policy;
        return this;
    }

    /**
     * Connects (and reconnects) through {@code proxy}: see {@link Connector#proxy(Proxy)}. Default
     * {@link Proxy#NONE}. A proxy that refuses is a failed attempt (cause ERROR, with the
     * {@link ProxyException} message); the reconnect policy applies. Before {@link #start()}, one thread.
     */
    public TcpClient proxy(Proxy proxy) {
        mutable();
        this.proxy = Objects.requireNonNull(proxy, "proxy (Proxy.NONE for none)");
        return this;
    }

    /** Binds the local side to {@code address} before connecting. Before {@link #start()}, one thread. */
    public TcpClient bind(InetSocketAddress address) {
        mutable();
        this.localAddress = address;
        return this;
    }

    /**
     * Starts connecting (asynchronously) and returns.
     *
     * @throws IllegalStateException if already started, or closed
     * Any thread, once.
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
            if (loop == null && group != null) loop = group.next();
            if (loop == null) {
                loop = EventLoop.builder().name("jhv-client-" + host + ":" + port).build().start();
                ownLoop = true;
            }
            l = loop;
        }
        l.runInLoop(this::startConnect);
        return this;
    }

    /** The live connection, or null while not connected. Thread-safe. */
    public Connection connection() { return conn; }

    /** Thread-safe. */
    public boolean isConnected() {
        Connection c = conn;
        return c != null && c.isConnected();
    }

    /**
     * Retries in a row since the last successful connect. A connect counts as successful when the
     * connection is up: with TLS, after the handshake.
     * Thread-safe.
     */
    public int retries() { return retries; }

    /** Successful connects so far (with TLS: completed handshakes). Connections that came up so far. Thread-safe. */
    public int connectCount() { return connects; }

    /** Thread-safe. */
    public EventLoop loop() { return loop; }

    /** Writes on the live connection. Thread-safe; {@link IllegalStateException} when not connected. */
    public void write(byte[] bytes) { live().write(bytes); }
    /** Thread-safe. */
    public void write(String s) { live().write(s); }
    /** Thread-safe. */
    public void write(ByteBuffer b) { live().write(b); }
    /** Thread-safe. */
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
        Connector.Attempt a = new Connector.Attempt(this, loop, host, port, connectTimeoutMs,
                handshakeTimeoutMs > 0 ? handshakeTimeoutMs : connectTimeoutMs, localAddress, proxy, owner);
        attempt = a;
        a.start(); // on the loop: begins now
    }

    /** What the client hears of its attempts (not public API of TcpClient). */
    private final Connector.Attempt.Owner owner = new Connector.Attempt.Owner() {
        @Override
        public void tcpConnected(Connection c) {
            conn = c; // connection() has it during the handshake: writes then wait in the layer
        }

        @Override
        public void established(Connection c) {
            // only now does the attempt count as a success (TLS: after the handshake)
            attempt = null;
            conn = c;
            retries = 0;
            connects++;
        }

        @Override
        public void attemptFailed(CloseCause cause) {
            attempt = null;
            conn = null;
            LOG.log(System.Logger.Level.DEBUG, "connect to " + host + ":" + port + ": " + cause);
            if (!closed) reportConnectFailure(cause);
            afterClose();
        }

        @Override
        public void connectionClosed(Connection c, CloseCause cause) {
            if (conn == c) conn = null;
            afterClose();
        }
    };

    private java.util.function.Consumer<CloseCause> onConnectFailed;

    /**
     * Called on the loop each time a connect attempt fails, with why: a refused or timed-out connect or a
     * failed TLS handshake (which also reach {@code onClose}), and a failure before any socket exists (a name that does
     * not resolve, no descriptors left), which reaches no other callback. Configure before start.
     * Before {@link #start()}, one thread; called on the loop thread.
     */
    public TcpClient onConnectFailed(java.util.function.Consumer<CloseCause> handler) {
        mutable();
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
                Connection c = conn;
                Connector.Attempt p = attempt;
                if (p != null) p.abort(CloseCause.NORMAL); // closes its socket, if any: attemptFailed
                if (c != null) c.closeInLoop(CloseCause.NORMAL, false);
                if (c == null && p == null) finish();
            });
        } catch (java.util.concurrent.RejectedExecutionException deadLoop) {
            // the loop has ended, and its connections with it: close is idempotent and never throws
            terminated.countDown();
        }
    }

    /** Waits until the client has closed (its connection closed and, if it has its own loop, that stopped). Any thread but the client's loop. */
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
