package io.jhv.core.net;

/**
 * Why a connection closed: a kind, a human-readable detail, and the exception if there was one.
 */
public record CloseCause(Kind kind, String detail, Throwable error) {

    /** The kinds of close. */
    public enum Kind {
        /** Closed by this side: {@code close()}, {@code abort()}, server or loop shutdown. */
        NORMAL,
        /** The peer closed its side (end of stream). */
        PEER_CLOSED,
        /** The peer reset the connection (or the pipe broke). */
        RESET,
        /** A connect, read, write or keepalive timeout fired. */
        TIMEOUT,
        /** An I/O error, a protocol error (bad package) or an exception from a callback. */
        ERROR
    }

    public static final CloseCause NORMAL = new CloseCause(Kind.NORMAL, "closed", null);
    public static final CloseCause ABORTED = new CloseCause(Kind.NORMAL, "aborted", null);
    public static final CloseCause PEER_CLOSED = new CloseCause(Kind.PEER_CLOSED, "peer closed", null);

    public static CloseCause timeout(String which) { return new CloseCause(Kind.TIMEOUT, which + " timeout", null); }

    public static CloseCause error(String detail, Throwable error) { return new CloseCause(Kind.ERROR, detail, error); }

    public static CloseCause reset(Throwable error) { return new CloseCause(Kind.RESET, "connection reset", error); }

    @Override
    public String toString() {
        return error == null ? kind + " (" + detail + ")" : kind + " (" + detail + ": " + error + ")";
    }
}
