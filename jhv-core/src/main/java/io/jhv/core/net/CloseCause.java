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

    @Override
    public String toString() {
        return error == null ? kind + " (" + detail + ")" : kind + " (" + detail + ": " + error + ")";
    }
}
