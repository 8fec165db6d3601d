package io.jhv.core.net;

import java.net.SocketTimeoutException;

/**
 * A client connection did not come up in time: the TCP connect (name resolution included), the
 * proxy tunnel handshake or the TLS handshake took longer than its timeout. {@link #phase()} says
 * which. Immutable.
 */
public final class ConnectTimeoutException extends SocketTimeoutException {
    private static final long serialVersionUID = 1L;

    /** Which part of coming up took too long. */
    public enum Phase {
        /** Resolving the name and the TCP connect. */
        CONNECT,
        /** The TLS handshake, after the TCP connect (and the proxy tunnel, if any). */
        HANDSHAKE,
        /**
         * Opening the tunnel through a {@link Proxy} (HTTP {@code CONNECT} or SOCKS5), after the TCP
         * connect to the proxy; bounded by the handshake timeout.
         */
        PROXY
    }

    private final Phase phase;

    public ConnectTimeoutException(Phase phase, String message) {
        super(message);
        this.phase = phase;
    }

    public Phase phase() { return phase; }
}
