package io.jhv.core.internal;

import java.io.IOException;

/**
 * The IO multiplexer behind an event loop: register, modify, cancel, poll, wake up.
 *
 * <p>Loop-thread only, except {@link #wakeup()} which any thread may call. A poller watches the
 * {@link Pollable}s of its own {@link Transport}. The JDK selector is the default ({@link NioPoller},
 * with the epoll or the poll(2) provider); a native epoll poller through FFM sits behind the same
 * interface, which speaks of sockets and interest bits, never of NIO channels or selection keys.
 */
public interface Poller extends AutoCloseable {

    // The bits have SelectionKey's values so the NIO poller passes them through untranslated;
    // another transport maps them to its own (EPOLLIN, EPOLLOUT...).

    /** Interest/readiness: bytes (or end of stream) to read, a datagram to receive. */
    int READ = 1;
    /** Interest/readiness: the socket takes writes. */
    int WRITE = 4;
    /** Interest/readiness: a non-blocking connect finished (or failed). */
    int CONNECT = 8;
    /** Interest/readiness: a listener has a connection to accept. */
    int ACCEPT = 16;

    /** A short name: "epoll", "poll", ... */
    String name();

    /** Watches {@code socket} (made non-blocking) for {@code ops}, dispatching readiness to {@code handler}. */
    void register(Pollable socket, int ops, IoHandler handler) throws IOException;

    /** Changes what {@code socket} is watched for; does nothing if it is not (or no longer) registered. */
    void modify(Pollable socket, int ops);

    /** Stops watching {@code socket} (its descriptor is released with {@link Pollable#close()}). */
    void cancel(Pollable socket);

    /**
     * Waits up to {@code timeoutMillis} (0: don't wait, -1: forever) and dispatches ready sockets to
     * their {@link IoHandler}. Returns the number of sockets dispatched. Does not allocate.
     */
    int poll(long timeoutMillis) throws IOException;

    /** Makes a blocked or the next {@link #poll} return at once. Thread-safe. */
    void wakeup();

    /** Number of registered sockets. */
    int registered();

    /** Releases the multiplexer and closes every socket still registered with it. Loop thread. */
    @Override
    void close();
}
