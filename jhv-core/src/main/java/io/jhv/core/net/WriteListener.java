package io.jhv.core.net;

/**
 * Told when the bytes of one write reached the socket (the kernel took them), or that they never
 * will: {@link Connection#write(java.nio.ByteBuffer, WriteListener)}.
 *
 * <p>Called exactly once, on the connection's loop thread: with {@code failure == null} once every
 * byte of that write (with TLS: every byte of its records) was written to the socket, or with the
 * reason when the connection closed before that. Listeners of successive writes are called in
 * write order. A listener that throws is reported to the loop's error handler; the connection goes on.
 */
@FunctionalInterface
public interface WriteListener {
    /**
     * @param c       the connection written to
     * @param failure null when the bytes reached the socket; else why they did not (the connection
     *                closed first: an {@link java.io.IOException} naming the close cause)
     */
    void onWriteDone(Connection c, Throwable failure);
}
