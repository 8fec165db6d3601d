package io.jhv.core.net;

/**
 * Why a connection closed: a kind, a human-readable detail, and the exception if there was one.
 *
 * <p>The kind alone tells a clean close from lost data: {@link Kind#NORMAL} means this side closed
 * and every byte written before the close was handed to the kernel; {@link Kind#ABORTED} means this
 * side closed and bytes still queued were dropped. Immutable and thread-safe.
 */
public record CloseCause(Kind kind, String detail, Throwable error) {

    /** The kinds of close. */
    public enum Kind {
        /**
         * Closed by this side ({@code close()}, server or client close, loop shutdown) after every
         * queued byte was sent: nothing written was lost.
         */
        NORMAL,
        /**
         * Closed by this side and queued bytes were dropped: {@code abort()}, a close that did not
         * flush within the close timeout, or a loop that stopped with writes still queued.
         */
        ABORTED,
        /** The peer closed its side (end of stream). */
        PEER_CLOSED,
        /** The peer reset the connection (or the pipe broke). */
        RESET,
        /** A connect, read, write, keepalive or TLS handshake timeout fired. */
        TIMEOUT,
        /** An I/O error, a protocol error (bad package, TLS) or an exception from a callback or an unpacker. */
        ERROR
    }

    public static final CloseCause NORMAL = new CloseCause(Kind.NORMAL, "closed", null);
    public static final CloseCause ABORTED = new CloseCause(Kind.ABORTED, "aborted", null);
    public static final CloseCause PEER_CLOSED = new CloseCause(Kind.PEER_CLOSED, "peer closed", null);

    public static CloseCause timeout(String which) { return new CloseCause(Kind.TIMEOUT, which + " timeout", null); }

    public static CloseCause error(String detail, Throwable error) { return new CloseCause(Kind.ERROR, detail, error); }

    public static CloseCause reset(Throwable error) { return new CloseCause(Kind.RESET, "connection reset", error); }

    /** This side closed and dropped queued bytes; {@code detail} says why (and how much). */
    public static CloseCause aborted(String detail) { return new CloseCause(Kind.ABORTED, detail, null); }

    /** Whether {@code onError} hears of this close: a failure kind, or any close that carries an exception. */
    boolean isError() {
        return switch (kind) {
            case ERROR, RESET, TIMEOUT -> true;
            case NORMAL, ABORTED, PEER_CLOSED -> error != null;
        };
    }

    /** The exception for {@code onError}: the cause's own, or one that says what happened. */
    Throwable asException() {
        if (error != null) return error;
        return kind == Kind.TIMEOUT
                ? new java.net.SocketTimeoutException(detail)
                : new java.io.IOException(kind + ": " + detail);
    }

    /**
     * RESET or ERROR for an exception from the socket. The JDK has no exception type for a reset
     * connection or a broken pipe on a {@code SocketChannel}, so the message is its only signal: a
     * read that gets ECONNRESET throws a {@code SocketException("Connection reset")}
     * (SocketChannelImpl), and a write or sendfile that gets EPIPE or ECONNRESET throws an
     * {@code IOException} carrying strerror(errno), "Broken pipe" or "Connection reset by peer". This
     * is the one place that looks at messages, and it matches those exact strings only.
     */
    static CloseCause classify(java.io.IOException e) {
        String m = e.getMessage();
        // The JDK has no subtype for a reset: these are its exact messages (SocketException
        // "Connection reset" from a read; "Connection reset by peer" / "Broken pipe" from the OS
        // on a write or a connect), not substrings of arbitrary text.
        boolean reset = "Connection reset".equals(m) && e instanceof java.net.SocketException
                || "Broken pipe".equals(m) || "Connection reset by peer".equals(m);
        return reset ? reset(e) : error("I/O error: " + m, e);
    }

    @Override
    public String toString() {
        return error == null ? kind + " (" + detail + ")" : kind + " (" + detail + ": " + error + ")";
    }
}
