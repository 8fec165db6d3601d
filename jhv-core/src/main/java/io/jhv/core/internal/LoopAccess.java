package io.jhv.core.internal;

import io.jhv.core.buffer.Buffer;
import io.jhv.core.loop.EventLoop;

import java.nio.ByteBuffer;

/**
 * What the transports of this library (TCP, UDP, TLS in {@code io.jhv.core.net}, and jhv modules
 * with the qualified export) need of an {@link EventLoop} and applications must not use: its
 * poller, its read buffer, its load count, its error sink. The JDK's SharedSecrets idea: the
 * parts are package-private in {@code io.jhv.core.loop}, whose {@code LoopBridge} implements this
 * and is installed by {@code EventLoop}'s static initializer ({@link Internals#loops()}); the package
 * is not exported, so they are not public API.
 *
 * <p>Thread contract: as the {@code EventLoop} methods they call (loop-thread only, except
 * {@link #transport}, {@link #addLoad} and {@link #reportError}, which are thread-safe).
 */
public interface LoopAccess {

    /** The loop's transport (from its poller kind): opens the sockets its poller can watch. Thread-safe. */
    Transport transport(EventLoop loop);

    /** The loop's poller; null before the first start. Loop thread. */
    Poller poller(EventLoop loop);

    /** The loop's one read buffer, which every socket on it reads into; valid until the next read. Loop thread. */
    Buffer readBuffer(EventLoop loop);

    /** A heap ByteBuffer over {@link #readBuffer}'s array, positioned at its writer index, limit at its capacity. Loop thread. */
    ByteBuffer readNioBuffer(EventLoop loop);

    /** Adds {@code delta} to the loop's load (live connections), for least-loaded balancing. Thread-safe. */
    void addLoad(EventLoop loop, int delta);

    /** Reports what a callback threw to the loop's error handler (or the rate-limited log). Never throws. Thread-safe. */
    void reportError(EventLoop loop, Throwable t);
}
