package io.jhv.core.net;

import io.jhv.core.internal.Internals;
import io.jhv.core.internal.StreamSocket;
import io.jhv.core.loop.EventLoop;
import io.jhv.core.loop.EventLoopGroup;
import io.jhv.core.loop.Timer;

import javax.net.ssl.SSLHandshakeException;
import java.io.IOException;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;

/**
 * Opens client connections on a loop you own: the one-shot connect under {@link TcpClient} (which
 * adds reconnect), for proxies, pools and clients that share an {@link EventLoopGroup} instead of
 * starting a thread each.
 *
 * <p>Configured like a {@link TcpServer} (callbacks, unpacker or protocol, TLS, timeouts), then
 * {@link #connect(EventLoop, String, int)} as often as you like; every connection gets those
 * settings. A host name is resolved on a virtual thread, never on the loop, by the
 * {@link #resolver(Resolver) resolver} (the JDK's by default); the connect timeout covers the
 * lookup too, and a lookup that outlives its attempt (timeout, cancellation) has its thread
 * interrupted and its answer ignored. The addresses it returns are dialled in turn (the next when a
 * connect is refused or fails, within the same connect timeout). The connect and, with
 * {@link #tls TLS}, the handshake (with SNI for the host name and the config's ALPN protocols) run on
 * the loop. The returned future completes on that loop thread when the connection is up, before
 * {@code onConnection} and before any {@code onMessage}; the negotiated ALPN protocol is then in
 * {@code connection.tls().applicationProtocol()}.
 *
 * <p>Failures complete the future exceptionally, on the loop thread: {@link UnknownHostException}
 * (naming the host; also when the resolver returns no address or throws),
 * {@link ConnectException} (refused, unreachable, no descriptors), {@link ConnectTimeoutException}
 * (its {@link ConnectTimeoutException#phase() phase} says connect, proxy tunnel or handshake),
 * {@link SSLHandshakeException} (a TLS failure, the peer closing during the handshake),
 * {@link ProxyException} (through a {@link #proxy(Proxy) proxy}: it refused the tunnel). A failed
 * attempt that had a socket also reaches {@code onClose}, as for every client connection (each socket
 * of one that tried several addresses does); its socket is closed. Cancelling the future (or completing it from outside) before it is complete abandons
 * the attempt and closes its socket.
 *
 * <p>Thread contract: configure before the first {@code connect} (the setters are not
 * thread-safe); {@code connect} is thread-safe.
 *
 * {@snippet :
 * Connector connector = Connector.create()
 *     .tls(TlsConfig.client().alpn("h2", "http/1.1").build())
 *     .connectTimeout(Duration.ofSeconds(3))
 *     .onMessage((c, buf) -> System.out.println(buf.readString()));
 * connector.connect(group, "example.com", 443)
 *     .thenAccept(c -> c.write("hello\n"));
 * }
 */
public final class Connector extends TcpEndpoint<Connector> {
    /** Default connect timeout (resolving and the TCP connect): 10 s. */
    public static final Duration DEFAULT_CONNECT_TIMEOUT = Duration.ofSeconds(10);
    /** Default TLS handshake timeout: 10 s. */
    public static final Duration DEFAULT_HANDSHAKE_TIMEOUT = Duration.ofSeconds(10);

    private long connectTimeoutMs = DEFAULT_CONNECT_TIMEOUT.toMillis();
    private long handshakeTimeoutMs = DEFAULT_HANDSHAKE_TIMEOUT.toMillis();
    private InetSocketAddress localAddress;
    private Proxy proxy = Proxy.NONE;
    private Resolver resolver = Resolver.SYSTEM;

    private Connector() {}

    /** A connector with default settings. Any thread. */
    public static Connector create() { return new Connector(); }

    /** Gives up when name resolution and the TCP connect together take longer (default 10 s). Before the first connect, one thread. */
    public Connector connectTimeout(Duration timeout) {
        mutable();
        this.connectTimeoutMs = positiveMillis(timeout, "connect timeout");
        return this;
    }

    /**
     * Gives up when the TLS handshake, from the TCP connect on, takes longer (default 10 s; the
     * {@link io.jhv.core.tls.TlsConfig} has a handshake timeout too: the shorter wins).
     * Before the first connect, one thread.
     */
    public Connector handshakeTimeout(Duration timeout) {
        mutable();
        this.handshakeTimeoutMs = positiveMillis(timeout, "handshake timeout");
        return this;
    }

    /**
     * Connects through {@code proxy} ({@link Proxy#NONE}, the default: directly). {@code connect(loop,
     * host, port)} then resolves the proxy's name (off the loop) and connects to it, and opens a
     * tunnel to {@code host:port} in plaintext ({@code CONNECT host:port}, or SOCKS5 with the name
     * as a domain address unless the proxy {@link Proxy#resolveLocally() resolves locally}); only
     * then does TLS start, with SNI and host name verification for {@code host}. The tunnel
     * handshake is bounded by the {@link #handshakeTimeout handshake timeout} (phase
     * {@link ConnectTimeoutException.Phase#PROXY}), and TLS after it by another. A proxy that
     * refuses, rejects the credentials, closes early or answers garbage fails the future with a
     * {@link ProxyException} carrying its status line or reply code. Bytes the target sends right
     * behind the proxy's reply are not lost. The connection's {@code remoteAddress()} is the
     * proxy's. Before the first connect, one thread.
     */
    public Connector proxy(Proxy proxy) {
        mutable();
        this.proxy = Objects.requireNonNull(proxy, "proxy (Proxy.NONE for none)");
        return this;
    }

    /**
     * Resolves host names with {@code resolver} (default {@link Resolver#SYSTEM}): the target's,
     * or the proxy's and, for a SOCKS5 proxy that {@link Proxy#resolveLocally() resolves locally},
     * the target's too. It runs on a virtual thread within the {@link #connectTimeout connect
     * timeout}; the addresses it returns are dialled in its order (best first), the next one when a
     * connect is refused or fails before TCP is up, all within that one timeout. IP literals skip it. Before the first
     * connect, one thread.
     */
    public Connector resolver(Resolver resolver) {
        mutable();
        this.resolver = Objects.requireNonNull(resolver, "resolver (Resolver.SYSTEM for the JDK's)");
        return this;
    }

    /** The resolver set with {@link #resolver(Resolver)}; {@link Resolver#SYSTEM} by default. Any thread. */
    public Resolver resolver() { return resolver; }

    /** The proxy set with {@link #proxy(Proxy)}; {@link Proxy#NONE} by default. Any thread. */
    public Proxy proxy() { return proxy; }

    /** Binds the local side to {@code address} before connecting (null: any). Before the first connect, one thread. */
    public Connector bind(InetSocketAddress address) {
        mutable();
        this.localAddress = address;
        return this;
    }

    /**
     * Connects to {@code host:port} on {@code loop}. Thread-safe; the future completes on the loop
     * thread (see the class comment). The first {@code connect} fixes the settings: a setter
     * called afterwards throws {@link IllegalStateException}.
     */
    public CompletableFuture<Connection> connect(EventLoop loop, String host, int port) {
        Objects.requireNonNull(loop, "loop");
        if (!frozen()) freeze();
        Attempt a = new Attempt(this, loop, host, port, connectTimeoutMs, handshakeTimeoutMs, localAddress, proxy, null);
        a.resolver = resolver;
        a.start();
        return a.future;
    }

    /** Connects on the group's next loop (by its balance policy). Thread-safe. */
    public CompletableFuture<Connection> connect(EventLoopGroup group, String host, int port) {
        return connect(group.next(), host, port);
    }

    static long positiveMillis(Duration d, String what) {
        Objects.requireNonNull(d, what);
        if (d.isNegative() || d.isZero()) throw new IllegalArgumentException(what + " must be > 0: " + d);
        return Math.max(1, d.toMillis());
    }

    static boolean isLiteral(String h) {
        if (h.indexOf(':') >= 0) return true; // IPv6
        for (int i = 0; i < h.length(); i++) {
            char c = h.charAt(i);
            if ((c < '0' || c > '9') && c != '.') return false;
        }
        return !h.isEmpty();
    }

    /**
     * One connect attempt: resolve (off the loop), connect, handshake, each bounded by its timeout;
     * ends exactly once, up (the future completes with the connection) or failed (exceptionally).
     * Everything but {@link #start()} runs on the loop thread.
     */
    static final class Attempt {
        /** What a {@link TcpClient} hears of its attempts (loop thread). */
        interface Owner {
            /** The TCP connect succeeded; the connection is not up yet (TLS: the handshake comes). */
            void tcpConnected(Connection c);

            /** The connection is up; before {@code onConnection}. */
            void established(Connection c);

            /** The attempt failed (or was abandoned); its socket, if it had one, is closed. */
            void attemptFailed(CloseCause cause);

            /** A connection that was up has closed. */
            void connectionClosed(Connection c, CloseCause cause);
        }

        private final TcpEndpoint<?> ep;
        private final EventLoop loop;
        private final String host;
        private final int port;
        private final long connectMs, handshakeMs;
        private final InetSocketAddress bind;
        private final Proxy proxy; // Proxy.NONE: direct
        private final Owner owner;
        final CompletableFuture<Connection> future = new CompletableFuture<>();
        Resolver resolver = Resolver.SYSTEM; // set before start()
        private Thread lookup; // the virtual thread resolving, until its answer is back on the loop
        private String resolvingName; // what it resolves (for the timeout message)

        private Connection conn;
        private Timer timer;
        private ConnectTimeoutException.Phase phase = ConnectTimeoutException.Phase.CONNECT;
        private Throwable failure; // why, when known better than the close cause says
        private volatile boolean finished;
        private boolean up;
        private java.util.List<InetAddress> addrs; // the resolved addresses being dialled in turn, until TCP is up
        private int addrIndex, dialPort;
        private String dialTunnelTo;
        private boolean dialFailed; // the current socket failed to connect (not a timeout, not a cancel)

        Attempt(TcpEndpoint<?> ep, EventLoop loop, String host, int port, long connectMs, long handshakeMs,
                InetSocketAddress bind, Proxy proxy, Owner owner) {
            if (port <= 0 || port > 65535) throw new IllegalArgumentException("port out of range: " + port);
            this.ep = ep;
            this.loop = loop;
            this.host = Objects.requireNonNull(host, "host");
            this.port = port;
            this.connectMs = connectMs;
            this.handshakeMs = handshakeMs;
            this.bind = bind;
            this.proxy = proxy == null ? Proxy.NONE : proxy;
            this.owner = owner;
        }

        /** Starts on the loop. Any thread. */
        void start() {
            // Cancelled or completed from outside before it is done: abandon, close the socket.
            future.whenComplete((c, e) -> {
                if (e != null && !finished) {
                    try {
                        loop.runInLoop(() -> abort(CloseCause.aborted("connect to " + where() + " cancelled")));
                    } catch (RejectedExecutionException dead) {
                        // the loop has ended and closed its sockets
                    }
                }
            });
            try {
                loop.runInLoop(this::begin);
            } catch (RejectedExecutionException e) {
                finished = true;
                future.completeExceptionally(new ConnectException("cannot connect to " + where() + ": loop " + loop.name() + " has stopped"));
            }
        }

        private String where() {
            String t = (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + port;
            return proxy.isProxied() ? t + " via proxy " + proxy : t;
        }

        private void begin() {
            if (finished) return;
            timer = loop.setTimeout(connectMs, this::timedOut);
            // Through a proxy, the proxy's name is resolved; the target's is sent as it is (unless
            // a SOCKS5 proxy is to be given its address: resolved too, on the same thread).
            boolean proxied = proxy.isProxied();
            String dialHost = proxied ? proxy.host() : host;
            int dialPort = proxied ? proxy.port() : port;
            boolean resolveTarget = proxied && proxy.resolveLocally() && !isLiteral(host);
            String what = proxied ? "proxy host " : "";
            if (isLiteral(dialHost) && !resolveTarget) {
                InetAddress a;
                try {
                    a = InetAddress.getByName(dialHost); // a literal: no lookup, does not block
                } catch (UnknownHostException e) {
                    fail(unknownHost("bad address " + what + dialHost, e), CloseCause.error("bad address " + dialHost + ": " + e.getMessage(), e));
                    return;
                }
                connect(new InetSocketAddress(a, dialPort), host);
                return;
            }
            // Name resolution blocks: a virtual thread, then back to the loop.
            Resolver r = resolver;
            resolvingName = what + dialHost;
            lookup = Thread.ofVirtual().name("jhv-resolve-" + dialHost).start(() -> {
                Runnable next;
                String resolving = what + dialHost;
                try {
                    java.util.List<InetAddress> all = lookup(r, dialHost);
                    String sent = host;
                    if (resolveTarget) {
                        resolving = host;
                        sent = lookup(r, host).get(0).getHostAddress();
                    }
                    String tunnelTo = sent;
                    next = () -> {
                        lookup = null;
                        dial(all, dialPort, tunnelTo);
                    };
                } catch (Throwable e) { // whatever the resolver threw (an Error too): the attempt must hear it, now
                    String name = resolving;
                    UnknownHostException u = e instanceof UnknownHostException x ? x : resolverFailed(name, e);
                    next = () -> {
                        lookup = null;
                        fail(unknownHost("cannot resolve " + name, u), CloseCause.error("cannot resolve " + name + ": " + u.getMessage(), u));
                    };
                }
                try {
                    loop.post(next);
                } catch (RejectedExecutionException dead) {
                    finished = true;
                    future.completeExceptionally(new ConnectException("cannot connect to " + where() + ": loop " + loop.name() + " has stopped"));
                }
            });
        }

        /**
         * The addresses {@code r} gives for {@code name}, in its order, without nulls (never empty);
         * its failures, an empty answer and anything it throws (an Error, a sneaky checked
         * exception) included, as an UnknownHostException.
         */
        private static java.util.List<InetAddress> lookup(Resolver r, String name) throws UnknownHostException {
            java.util.List<InetAddress> all;
            try {
                all = r.resolve(name);
            } catch (UnknownHostException e) {
                throw e;
            } catch (Throwable e) {
                throw resolverFailed(name, e);
            }
            java.util.List<InetAddress> found = new java.util.ArrayList<>(all == null ? 0 : all.size());
            if (all != null) {
                for (InetAddress a : all) if (a != null) found.add(a);
            }
            if (found.isEmpty()) throw new UnknownHostException(name + " (the resolver returned no address)");
            return found;
        }

        private static UnknownHostException resolverFailed(String name, Throwable e) {
            UnknownHostException u = new UnknownHostException(name + " (the resolver failed: " + e + ")");
            u.initCause(e);
            return u;
        }

        /** Dials {@code all} in order, the next when one fails to connect (see {@link #closed}). */
        private void dial(java.util.List<InetAddress> all, int port, String tunnelTo) {
            addrs = all;
            addrIndex = 0;
            dialPort = port;
            dialTunnelTo = tunnelTo;
            connect(new InetSocketAddress(all.get(0), port), tunnelTo);
        }

        private static UnknownHostException unknownHost(String what, UnknownHostException e) {
            UnknownHostException u = new UnknownHostException(what + ": " + e.getMessage());
            u.initCause(e);
            return u;
        }

        /** Opens the socket to {@code addr} (the target, or the proxy that tunnels to {@code tunnelTo}). */
        private void connect(InetSocketAddress addr, String tunnelTo) {
            if (finished) return;
            StreamSocket ch;
            try {
                ch = Internals.loops().transport(loop).openStream();
            } catch (IOException e) {
                fail(connectException("cannot open a socket to " + where() + ": " + e.getMessage(), e),
                        CloseCause.error("cannot open a socket: " + e.getMessage(), e));
                return;
            }
            Connection c = proxy.isProxied()
                    ? new Connection(loop, ch, ep, true, ProxyTunnel.of(proxy, tunnelTo, port), host, port)
                    : new Connection(loop, ch, ep, true);
            c.attempt = this;
            conn = c;
            try {
                if (bind != null) ch.bind(bind);
                c.registerInLoop(true);
                if (ch.connect(addr)) finishConnect();
            } catch (IOException | RuntimeException e) {
                failure = connectException("connect to " + where() + " (" + addr + ") failed: " + e.getMessage(), e);
                dialFailed = true;
                c.closeInLoop(CloseCause.error("connect to " + addr + " failed: " + e.getMessage(), e), true);
            }
        }

        private static ConnectException connectException(String message, Throwable cause) {
            ConnectException e = new ConnectException(message);
            e.initCause(cause);
            return e;
        }

        /** OP_CONNECT fired, or connect() completed at once. */
        void finishConnect() {
            Connection c = conn;
            try {
                if (!c.finishConnect()) return;
            } catch (IOException e) {
                failure = connectException("connect to " + where() + " failed: " + e.getMessage(), e);
                dialFailed = true;
                CloseCause why = CloseCause.classify(e); // a reset during the handshake of TCP is a RESET
                c.closeInLoop(why.kind() == CloseCause.Kind.RESET ? why
                        : CloseCause.error("connect to " + where() + " failed: " + e.getMessage(), e), true);
                return;
            }
            cancelTimer();
            addrs = null; // TCP is up: no other address is tried from here on
            if (proxy.isProxied()) {
                phase = ConnectTimeoutException.Phase.PROXY;
                timer = loop.setTimeout(handshakeMs, this::timedOut);
            } else if (ep.layerFactory != null) {
                phase = ConnectTimeoutException.Phase.HANDSHAKE;
                timer = loop.setTimeout(handshakeMs, this::timedOut);
            }
            if (owner != null) owner.tcpConnected(c);
            c.establishInLoop(); // up now (plain TCP) or after the handshake: up() comes
        }

        /** The proxy tunnel is up (loop thread): the TLS handshake, if any, gets its own timeout. */
        void tunnelUp() {
            cancelTimer();
            if (finished) return;
            if (ep.layerFactory != null) {
                phase = ConnectTimeoutException.Phase.HANDSHAKE;
                timer = loop.setTimeout(handshakeMs, this::timedOut);
            }
        }

        /** The proxy refused or broke the tunnel (loop thread): the connection closes next, and the attempt fails with {@code e}. */
        void tunnelFailed(ProxyException e) {
            if (failure == null) failure = e;
        }

        private void timedOut() {
            timer = null;
            if (finished) return;
            boolean connecting = phase == ConnectTimeoutException.Phase.CONNECT;
            long ms = connecting ? connectMs : handshakeMs;
            String what = switch (phase) {
                case CONNECT -> "connect to ";
                case PROXY -> "proxy tunnel handshake to ";
                case HANDSHAKE -> "TLS handshake with ";
            };
            if (connecting && lookup != null) what = "resolving " + resolvingName + " to connect to ";
            ConnectTimeoutException e = new ConnectTimeoutException(phase, what + where() + " timed out after " + ms + " ms");
            CloseCause cause = CloseCause.timeout(switch (phase) {
                case CONNECT -> "connect";
                case PROXY -> "proxy tunnel handshake";
                case HANDSHAKE -> "TLS handshake";
            });
            if (conn == null) {
                fail(e, cause);
            } else {
                failure = e;
                conn.closeInLoop(cause, true); // closed(): fails with it
            }
        }

        /**
         * The connection is up (after the handshake, the protocol attached), before
         * {@code onConnection}. False if the attempt was abandoned meanwhile: the connection is then
         * closed and the application never hears of it.
         */
        boolean up(Connection c) {
            cancelTimer();
            if (finished) {
                c.closeInLoop(CloseCause.aborted("connect to " + where() + " cancelled"), true);
                return false;
            }
            up = true;
            finished = true;
            if (owner != null) owner.established(c);
            if (!future.complete(c)) { // cancelled at this very moment
                c.closeInLoop(CloseCause.aborted("connect to " + where() + " cancelled"), true);
                return false;
            }
            return true;
        }

        /** The attempt's connection closed (last in its close). */
        void closed(Connection c, CloseCause cause) {
            if (!up && dialFailed && !finished && addrs != null && addrIndex + 1 < addrs.size()) {
                // refused or unreachable before TCP was up: the next address, within the same connect timeout
                dialFailed = false;
                failure = null;
                conn = null;
                connect(new InetSocketAddress(addrs.get(++addrIndex), dialPort), dialTunnelTo);
                return;
            }
            cancelTimer();
            if (up) {
                if (owner != null) owner.connectionClosed(c, cause);
                return;
            }
            fail(failure != null ? failure : describe(cause), cause);
        }

        /** Abandons the attempt: closes its socket, if any; fails the future. */
        void abort(CloseCause cause) {
            if (finished) return;
            if (conn != null) {
                conn.closeInLoop(cause, true); // closed(): fails
            } else {
                fail(new ConnectException("connect to " + where() + ": " + cause.detail()), cause);
            }
        }

        private void fail(Throwable error, CloseCause cause) {
            if (finished) return;
            finished = true;
            cancelTimer();
            Thread t = lookup; // a lookup still running: its answer is ignored; let it end
            lookup = null;
            if (t != null) t.interrupt();
            future.completeExceptionally(error);
            if (owner != null) owner.attemptFailed(cause);
        }

        private Throwable describe(CloseCause cause) {
            if (phase == ConnectTimeoutException.Phase.PROXY) {
                if (cause.kind() == CloseCause.Kind.TIMEOUT) {
                    return new ConnectTimeoutException(phase, "proxy tunnel handshake to " + where() + " timed out: " + cause.detail());
                }
                ProxyException early = conn != null && conn.link != null ? conn.link.tunnelClosedEarly() : null;
                if (early != null) {
                    if (cause.kind() != CloseCause.Kind.PEER_CLOSED) {
                        early = new ProxyException(early.proxy(), early.reason(), -1, early.getMessage() + " (" + cause + ")");
                    }
                    if (cause.error() != null) early.initCause(cause.error());
                    return early;
                }
            }
            if (phase == ConnectTimeoutException.Phase.HANDSHAKE) {
                if (cause.kind() == CloseCause.Kind.TIMEOUT) {
                    return new ConnectTimeoutException(phase, "TLS handshake with " + where() + " timed out: " + cause.detail());
                }
                SSLHandshakeException e = new SSLHandshakeException("TLS handshake with " + where() + " failed: " + cause);
                if (cause.error() != null) e.initCause(cause.error());
                return e;
            }
            return connectException("connect to " + where() + " failed: " + cause, cause.error());
        }

        private void cancelTimer() {
            if (timer != null) timer.cancel();
            timer = null;
        }
    }
}
