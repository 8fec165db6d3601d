package io.jhv.core.internal;

/**
 * A socket a {@link Poller} can watch: the transport's handle for one descriptor (a stream socket,
 * a listener, a datagram socket). Only the transport that made it knows what is inside (a NIO
 * channel and its selection key, a file descriptor, an in-memory pipe).
 *
 * <p>Loop-thread only once registered, except {@link #isOpen()}.
 */
public interface Pollable extends java.io.Closeable {

    /** True until {@link #close()}. Thread-safe. */
    boolean isOpen();

    /**
     * Releases the descriptor; never throws (a close that fails has released it all the same).
     * Idempotent. A registration still in the poller is dropped by it.
     */
    @Override
    void close();
}
