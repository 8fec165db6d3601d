package io.jhv.core.net;

import java.net.SocketTimeoutException;

/**
 * A client connection did not come up in time: the TCP connect (name resolution included) or the
 * TLS handshake took longer than its timeout. {@link #phase()} says which. Immutable.
 */
public final class ConnectTimeoutException extends SocketTimeoutException {
    private static final long serialVersionUID = 1L;

    /** Which part of coming up took too long. */
    public enum Phase {
        /** Resolving the name and the TCP connect. */
        CONNECT,
        /** The TLS handshake, after the TCP connect. */
        HANDSHAKE
    }

    private final Phase phase;

    public ConnectTimeoutException(Phase phase, String message) {
        super(message);
        this.phase = phase;
    }

    public Phase phase() { return phase; }
}
