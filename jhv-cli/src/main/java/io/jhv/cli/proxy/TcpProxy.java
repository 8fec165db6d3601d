package io.jhv.cli.proxy;

import io.jhv.core.buffer.Buffer;
import io.jhv.core.net.Connection;
import io.jhv.core.net.TcpServer;

import java.util.Objects;

/**
 * A TCP proxy ({@code hv proxy tcp}, libhv's {@code tcp_proxy_server}): every accepted connection
 * is piped into a new connection to one upstream address, with back-pressure both ways and
 * half-closes passed on ({@link io.jhv.core.net.Upstream}). TLS may end at the proxy (the server's
 * {@code tls}) and start again towards the upstream (the {@link Dialer}'s). An upstream that cannot
 * be reached (refused, timed out, a failed TLS handshake) is logged and the client's connection is
 * closed.
 *
 * <p>Thread contract: {@link #install} configures the server before its {@code start()}; the rest
 * runs on the server's loops.
 */
public final class TcpProxy {
    private TcpProxy() {}

    /**
     * Makes {@code server} a proxy to {@code host:port}; takes over its {@code onConnection},
     * {@code onMessage} and {@code onPeerShutdown} and each connection's context. Before {@code start()}.
     *
     * @return {@code server}
     */
    public static TcpServer install(TcpServer server, Dialer dialer, String host, int port, ProxyLog log) {
        Objects.requireNonNull(host, "host");
        if (port <= 0 || port > 65535) throw new IllegalArgumentException("port out of range: " + port);
        return server
                .onConnection(c -> {
                    if (c.isConnected() && c.context() == null) new Tunnel(c, log).start(dialer, host, port);
                })
                .onMessage((c, buf) -> buf.skip(buf.readableBytes())) // replaced per connection
                .onPeerShutdown(Dialer::peerShutdown);
    }

    /** The upstream connection of a proxied connection, or null (for tests and metrics). Loop thread. */
    public static Connection upstreamOf(Connection down) {
        return down.context() instanceof Session s ? s.up : null;
    }

    private static final class Tunnel extends Session {
        Tunnel(Connection down, ProxyLog log) {
            super(down, log);
        }

        void start(Dialer dialer, String host, int port) {
            dial(dialer, host, port, up -> {
                log.info(down, "connected to " + host + ":" + port);
                pipe();
            }, e -> {
                log.warn(down, "cannot reach upstream " + host + ":" + port + ": " + e.getMessage() + "; closing the client connection");
                down.close();
            });
        }

        @Override
        void onInput(Buffer in) {
            // never called: the session dials at once, and holds what comes meanwhile
        }
    }
}
