package io.jhv.core.internal;

import java.io.IOException;
import java.nio.channels.SelectableChannel;
import java.nio.channels.SelectionKey;
import java.nio.channels.spi.SelectorProvider;

/**
 * The IO multiplexer behind an event loop: register, modify, cancel, poll, wake up.
 *
 * <p>Loop-thread only, except {@link #wakeup()} which any thread may call. The JDK selector is the
 * implementation today ({@link NioPoller}, with the epoll or the poll(2) provider); a native epoll
 * poller through FFM can sit behind the same interface later.
 */
public interface Poller extends AutoCloseable {

    /** The provider channels must be opened with to be registrable here. */
    SelectorProvider provider();

    /** A short name: "epoll", "poll", ... */
    String name();

    SelectionKey register(SelectableChannel ch, int ops, IoHandler handler) throws IOException;

    void modify(SelectionKey key, int ops);

    void cancel(SelectionKey key);

    /**
     * Waits up to {@code timeoutMillis} (0: don't wait, -1: forever) and dispatches ready channels to
     * their {@link IoHandler}. Returns the number of channels dispatched. Does not allocate.
     */
    int poll(long timeoutMillis) throws IOException;

    /** Makes a blocked or the next {@link #poll} return at once. Thread-safe. */
    void wakeup();

    /** Number of registered channels. */
    int registered();

    /** Releases the multiplexer and closes every channel still registered with it. Loop thread. */
    @Override
    void close();
}
