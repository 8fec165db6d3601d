package io.jhv.core.net;

import io.jhv.core.buffer.Buffer;
import io.jhv.core.loop.Timer;

import java.time.Duration;

/**
 * Pipes two TCP connections into each other (libhv's {@code hio_setup_tcp_upstream}), and a TCP
 * proxy built on it.
 *
 * <p>Thread contract: {@link #pipe} runs on the connections' loop; {@link #proxy} configures a server
 * before its {@code start()}. All callbacks of a pipe run on that one loop.
 *
 * <p>What a pipe does:
 * <pre>
 *   A --onMessage--> B.write        B above its high-water mark -> A.pauseReading()
 *   B --onMessage--> A.write        B below its low-water mark  -> A.resumeReading()   (and vice versa)
 *   A's peer half-closes (EOF)  -> B.shutdownOutput(): B flushes its queue, then sends FIN
 *   both directions ended       -> both connections close
 *   A resets                    -> B is reset at once (queue dropped, RST sent)
 *   A errs or times out         -> B is aborted at once (queue dropped)
 *   A is closed otherwise       -> B.close(): B flushes what it has queued, then closes   (and vice versa)
 * </pre>
 * A connection in a pipe does not pause its own reading when its own queue is full; it pauses the
 * other side instead. So the two directions are flow-controlled independently, as on a direct
 * connection: a client that does not read its download can still upload. And a half-close passes
 * through: a client that sends its request and then shuts down its output (a batch protocol,
 * {@code nc -q}) still gets the whole reply.
 *
 * <p>Half-closes pass through only if both connections' endpoints hand them to the pipe:
 * {@link #proxy} does that itself; for {@link #pipe} set {@code onPeerShutdown(Upstream::peerShutdown)}
 * on both endpoints. Without it, an end of stream closes that connection once its queue has drained,
 * and the pipe then closes the other one.
 *
 * {@snippet :
 * // listen on 8000, forward every connection to 127.0.0.1:7000
 * Upstream.proxy(TcpServer.create(8000), "127.0.0.1", 7000).start();
 * }
 */
public final class Upstream {
    /** How long the proxy waits for the upstream connection before it closes the downstream one. */
    static final long PROXY_CONNECT_TIMEOUT_MS = 10_000;

    /** The pipe of each piped connection, for {@link #peerShutdown} (a connection has no slot for it but the user's context). */
    private static final java.util.concurrent.ConcurrentHashMap<Connection, Pipe> PIPES = new java.util.concurrent.ConcurrentHashMap<>();

    private Upstream() {}

    /**
     * Pipes {@code a} and {@code b} both ways with back-pressure in each direction, passes half-closes
     * on (with {@link #peerShutdown} as the endpoints' {@code onPeerShutdown}), and ends each when the
     * other ends, as the class description says. Replaces both connections' message and writable
     * handlers and adds a close handler. The connections' endpoints should not have an
     * {@link Unpacker}: a pipe forwards what the message handler receives.
     *
     * <p>Loop thread only; both connections must be on the same loop (so bytes move without a copy
     * and without locks).
     *
     * @throws IllegalArgumentException if the connections are the same or on different loops
     * @throws IllegalStateException    if not called on their loop
     */
    public static void pipe(Connection a, Connection b) {
        newPipe(a, b);
    }

    private static Pipe newPipe(Connection a, Connection b) {
        if (a == b) throw new IllegalArgumentException("cannot pipe a connection into itself: " + a);
        if (a.loop() != b.loop()) {
            throw new IllegalArgumentException("pipe needs both connections on one loop: " + a + " is on "
                    + a.loop().name() + ", " + b + " on " + b.loop().name());
        }
        a.loop().assertInLoop();
        Pipe p = new Pipe(a, b);
        for (Connection c : new Connection[] {a, b}) {
            c.pauseReadingAboveHighWater(false);
            c.onMessage(p);
            c.onWritable(p);
            c.addCloseListener(p);
        }
        // A queue already above its mark crossed it before the pipe saw it.
        if (!b.isWritable()) a.pauseReading();
        if (!a.isWritable()) b.pauseReading();
        if (a.isClosed() || !a.isConnected()) b.close();
        if (b.isClosed() || !b.isConnected()) a.close();
        if (!a.isClosed() && !b.isClosed()) {
            PIPES.put(a, p);
            PIPES.put(b, p);
        }
        return p;
    }

    /**
     * Passes a half-close on through the pipe of {@code conn}: its peer shut down its output, so the
     * other connection of the pipe shuts down its output once its queued bytes are flushed, and the
     * reply can still flow back. Meant as the endpoints' handler:
     * {@code server.onPeerShutdown(Upstream::peerShutdown)}. A connection in no pipe is closed (after
     * flushing), which is what happens without a handler. Loop thread (it is a callback).
     */
    public static void peerShutdown(Connection conn) {
        Pipe p = PIPES.get(conn);
        if (p != null) {
            p.peerShutdown(conn);
        } else if (conn.context() instanceof ProxySession s && s.down == conn) {
            s.downShutdown(); // before the upstream is up
        } else {
            conn.close();
        }
    }

    /** The handlers of one pipe; the same object serves both connections. */
    private static final class Pipe implements MessageHandler, WritableHandler, CloseHandler {
        private final Connection a, b;

        Pipe(Connection a, Connection b) {
            this.a = a;
            this.b = b;
        }

        private Connection other(Connection c) { return c == a ? b : a; }

        @Override
        public void onMessage(Connection conn, Buffer buf) {
            Connection peer = other(conn);
            if (peer.isConnected()) {
                peer.write(buf); // on the loop: sent now or copied into the queue
            } else {
                // The other side is closing or gone; this side follows it from its close handler.
                buf.skip(buf.readableBytes());
                conn.close();
            }
        }

        @Override
        public void onWritable(Connection conn, boolean writable) {
            Connection peer = other(conn);
            if (peer.isClosed()) return;
            if (writable) peer.resumeReading();
            else peer.pauseReading();
        }

        /** {@code conn}'s peer sent FIN: so does the other side, after what it has queued. */
        void peerShutdown(Connection conn) {
            Connection peer = other(conn);
            if (peer.isConnected()) {
                peer.shutdownOutput(); // both shut: each connection closes itself
            } else {
                conn.close(); // the other side is closing already; nothing more can be passed on
            }
        }

        @Override
        public void onClose(Connection conn, CloseCause cause) {
            PIPES.remove(a);
            PIPES.remove(b);
            Connection peer = other(conn);
            if (peer.isClosed()) return;
            switch (cause.kind()) {
                case RESET -> reset(peer);
                case ERROR, TIMEOUT, ABORTED -> peer.abort(); // data was lost on this side: so it is on the other
                default -> peer.close(); // a normal end: what the other side has queued still goes out
            }
        }

        /**
         * Passes a reset on as a reset: a peer must not take a stream cut off by a reset for a complete
         * one (a clean FIN would say the reply ended there).
         */
        private static void reset(Connection c) {
            try {
                c.channel().setOption(java.net.StandardSocketOptions.SO_LINGER, 0); // close() then sends RST
            } catch (java.io.IOException | RuntimeException ignored) {
                // closed or closing already: the abort below is all there is to do
            }
            c.abort();
        }
    }

    // ---------------------------------------------------------------- proxy

    /**
     * Makes {@code server} a TCP proxy: each accepted connection opens a connection to
     * {@code host:port} on the same loop and is piped into it. Bytes that arrive before the upstream
     * connection is up are held, in order, and sent first (above the server's high-water mark the
     * downstream connection stops reading until then). If the upstream cannot be reached, the
     * downstream connection is closed. The upstream connections get the server's water marks and
     * TCP_NODELAY setting.
     *
     * <p>A half-close passes through (see the class description): a client that shuts down its output
     * after the request (also before the upstream connection is up) still gets the whole reply, and
     * the connections close when both directions have ended. The upstream connections also get the
     * server's write, keepalive and close timeouts, so a setting meant to drop stalled peers covers
     * both sides.
     *
     * <p>Takes over the server's {@code onConnection}, {@code onMessage} and {@code onPeerShutdown}
     * callbacks and each connection's context; other callbacks ({@code onClose}...) still run. Call
     * before {@code start()}; don't set an unpacker on the server.
     *
     * @return {@code server}, to chain {@code start()}
     */
    public static TcpServer proxy(TcpServer server, String host, int port) {
        java.util.Objects.requireNonNull(host, "host");
        if (port <= 0 || port > 65535) throw new IllegalArgumentException("port out of range: " + port);
        server.onConnection(down -> {
            if (down.isConnected() && down.context() == null) new ProxySession(server, down, host, port).start();
        });
        server.onPeerShutdown(Upstream::peerShutdown);
        // Until the session installs its own handler; no byte can arrive before onConnection, but
        // a server-level handler keeps the data path defined either way.
        server.onMessage((c, buf) -> {
            if (c.context() instanceof ProxySession s) s.onMessage(c, buf);
        });
        return server;
    }

    /** The upstream connection of a proxied downstream connection, or null (for tests and metrics). */
    static Connection upstreamOf(Connection down) {
        return down.context() instanceof ProxySession s ? s.up : null;
    }

    /** Bytes a proxied downstream connection sent before its upstream was up (for tests and metrics). */
    static long heldBytes(Connection down) {
        return down.context() instanceof ProxySession s ? s.heldTotal : 0;
    }

    /** One downstream connection of a proxy and its upstream client, until they are piped. */
    private static final class ProxySession implements MessageHandler, ConnectionHandler, CloseHandler {
        private final TcpServer server;
        private final Connection down;
        private final String host;
        private final int port;
        private TcpClient client;
        private Connection up;
        private Buffer held;
        private long heldTotal;
        private boolean heldPaused;
        private boolean downEnded; // the client half-closed before the upstream was up
        private Timer guard;

        ProxySession(TcpServer server, Connection down, String host, int port) {
            this.server = server;
            this.down = down;
            this.host = host;
            this.port = port;
        }

        void start() {
            down.context(this);
            down.onMessage(this);
            down.addCloseListener(this);
            client = TcpClient.create(host, port)
                    .loop(down.loop())
                    .connectTimeout(java.time.Duration.ofMillis(PROXY_CONNECT_TIMEOUT_MS))
                    .waterMarks(server.highWaterMark, server.lowWaterMark)
                    .tcpNoDelay(server.tcpNoDelay)
                    .writeTimeout(Duration.ofMillis(server.writeTimeoutMs))
                    .keepAliveTimeout(Duration.ofMillis(server.keepAliveTimeoutMs))
                    .closeTimeout(Duration.ofMillis(server.closeTimeoutMs))
                    .pauseReadingAboveHighWater(false)
                    .onPeerShutdown(Upstream::peerShutdown)
                    .onConnection(this)
                    .onClose(this);
            // TcpClient reports failures before a socket exists (bad host, no descriptors) with no
            // close callback, so a timer makes sure the downstream side never waits for ever.
            guard = down.loop().setTimeout(PROXY_CONNECT_TIMEOUT_MS + 1000, this::giveUp);
            client.start(); // on this loop: may connect (and call onConnection) before it returns
        }

        private void giveUp() {
            guard = null;
            if (up == null) {
                client.close();
                down.close();
            }
        }

        /** The client half-closed before the upstream was up: pass it on once it is. */
        void downShutdown() {
            downEnded = true;
        }

        /** Downstream bytes before the upstream is up: hold them, in order. */
        @Override
        public void onMessage(Connection conn, Buffer buf) {
            if (held == null) held = Buffer.allocate(Math.max(1024, buf.readableBytes()));
            heldTotal += buf.readableBytes();
            held.write(buf);
            if (!heldPaused && held.readableBytes() > server.highWaterMark) {
                heldPaused = true;
                down.pauseReading();
            }
        }

        /** The upstream connection came up (or went down: then {@link #onClose} acts). */
        @Override
        public void onConnection(Connection c) {
            if (!c.isConnected() || up != null) return;
            up = c;
            if (guard != null) guard.cancel();
            guard = null;
            if (down.isClosed()) {
                client.close();
                return;
            }
            // Pipe first, so the write of the held bytes already has the pipe's back-pressure.
            Pipe p = newPipe(down, up);
            Buffer h = held;
            held = null;
            if (h != null && h.isReadable() && up.isConnected()) up.write(h.nioBuffer()); // owned: no copy
            if (downEnded) p.peerShutdown(down);
            if (heldPaused && up.isWritable()) down.resumeReading();
        }

        @Override
        public void onClose(Connection conn, CloseCause cause) {
            // Once piped, the pipe ends the other side as the cause says (flush, reset, abort); this
            // handler runs before the pipe's, so it must not close that side itself.
            if (conn == down) {
                if (guard != null) guard.cancel();
                guard = null;
                held = null;
                if (up == null) client.close(); // stops connecting (the client has no reconnect)
            } else if (up == null) {
                // An attempt to connect the upstream failed.
                if (guard != null) guard.cancel();
                guard = null;
                down.close();
            }
        }
    }
}
