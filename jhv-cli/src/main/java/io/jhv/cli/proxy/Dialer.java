package io.jhv.cli.proxy;

import io.jhv.core.net.ConnectTimeoutException;
import io.jhv.core.net.Connection;
import io.jhv.core.net.Connector;
import io.jhv.core.net.TcpEndpoint;
import io.jhv.core.net.Upstream;
import io.jhv.core.tls.TlsConfig;

import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import javax.net.ssl.SSLException;

/**
 * Opens the upstream connections of a proxy: on the downstream connection's loop (so the two can be
 * piped without locks or copies), with the proxy's connect timeout, water marks and TLS (if the
 * upstream speaks it), and with reading not paused by the connection's own queue (a pipe pauses the
 * other side instead, see {@link Upstream}).
 *
 * <p>Thread contract: {@link #dial} is called on the downstream connection's loop thread; its future
 * completes there.
 */
public final class Dialer {
    private final Connector connector;
    private final Duration connectTimeout;

    /**
     * @param tls            TLS towards the upstream (a client config), or null for plain TCP
     * @param connectTimeout bounds resolving, the TCP connect and the TLS handshake
     */
    public Dialer(TlsConfig tls, Duration connectTimeout, int highWaterMark, int lowWaterMark) {
        this.connectTimeout = connectTimeout;
        connector = Connector.create()
                .tls(tls)
                .connectTimeout(connectTimeout)
                .handshakeTimeout(connectTimeout)
                .waterMarks(highWaterMark, lowWaterMark)
                .pauseReadingAboveHighWater(false)
                .onPeerShutdown(Dialer::peerShutdown);
    }

    /** A plain-TCP dialer with the default water marks. */
    public Dialer(Duration connectTimeout) {
        this(null, connectTimeout, TcpEndpoint.DEFAULT_HIGH_WATER_MARK, TcpEndpoint.DEFAULT_HIGH_WATER_MARK / 2);
    }

    /** The connect timeout. */
    public Duration connectTimeout() { return connectTimeout; }

    /** Connects to {@code host:port} on {@code down}'s loop. Loop thread of {@code down}. */
    CompletableFuture<Connection> dial(Connection down, String host, int port) {
        return connector.connect(down.loop(), host, port);
    }

    /**
     * The peer of {@code c} half-closed: a connection whose context wants to hear it (a session not
     * piped yet, an HTTP exchange) is told; otherwise the pipe passes it on ({@link Upstream#peerShutdown}).
     * Every proxy endpoint uses this as its {@code onPeerShutdown}.
     */
    static void peerShutdown(Connection c) {
        if (c.context() instanceof PeerShutdown p && p.peerShutdown(c)) return;
        Upstream.peerShutdown(c);
    }

    /** A connection context that handles a half-close itself until it says it is piped. */
    interface PeerShutdown {
        /** True if handled; false to let the pipe pass it on. Loop thread. */
        boolean peerShutdown(Connection c);
    }

    /** The cause of a failed dial, unwrapped. */
    static Throwable cause(Throwable e) {
        while (e instanceof CompletionException && e.getCause() != null) e = e.getCause();
        return e;
    }

    /** What kind of failure a dial had, for the reply codes of each protocol. */
    enum Failure {
        UNKNOWN_HOST, REFUSED, UNREACHABLE, TIMEOUT, TLS, OTHER;

        static Failure of(Throwable e) {
            e = cause(e);
            if (e instanceof UnknownHostException) return UNKNOWN_HOST;
            if (e instanceof ConnectTimeoutException) return TIMEOUT;
            if (e instanceof SSLException) return TLS;
            if (e instanceof NoRouteToHostException) return UNREACHABLE;
            String m = String.valueOf(e.getMessage()).toLowerCase(java.util.Locale.ROOT);
            if (m.contains("refused")) return REFUSED;
            if (m.contains("unreachable") || m.contains("no route")) return UNREACHABLE;
            if (e instanceof ConnectException) return OTHER;
            return OTHER;
        }
    }
}
