package io.jhv.core.internal;

import java.io.IOException;
import java.lang.reflect.InvocationTargetException;
import java.nio.channels.CancelledKeyException;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.spi.SelectorProvider;
import java.util.function.Consumer;

/**
 * A {@link Poller} on a JDK {@link Selector}, watching the sockets of a {@link NioTransport}. Uses {@code select(Consumer, timeout)} so a poll
 * allocates nothing: no selected-key set is built or iterated.
 *
 * <p>An exception (or error) thrown by an {@link IoHandler} is caught per key, handed to the error
 * sink given at {@link #open(String, Consumer)}, and the handler is told with
 * {@link IoHandler#onIoFailure}: one failing handler neither aborts the dispatch of the other ready
 * keys nor ends the loop.
 */
public final class NioPoller implements Poller, Consumer<SelectionKey> {
    private static final String POLL_PROVIDER = "sun.nio.ch.PollSelectorProvider";

    private final SelectorProvider provider;
    private final Selector selector;
    private final String name;
    private final Consumer<Throwable> onError;

    NioPoller(SelectorProvider provider, String name, Consumer<Throwable> onError) throws IOException {
        this.provider = provider;
        this.selector = provider.openSelector();
        this.name = name;
        this.onError = onError;
    }

    /** {@link #open(String, Consumer)} without an error sink: handler exceptions propagate out of {@link #poll}. */
    public static NioPoller open(String kind) throws IOException {
        return open(kind, null);
    }

    /**
     * Opens a poller. {@code kind}: "default" (the JDK default, epoll on Linux), "epoll", or "poll"
     * (the JDK's poll(2) selector; needs {@code --add-exports java.base/sun.nio.ch=ALL-UNNAMED} or
     * {@code =io.jhv.core} when run on the module path). {@code onError} receives what an
     * {@link IoHandler} throws (null: it propagates out of {@link #poll}).
     */
    public static NioPoller open(String kind, Consumer<Throwable> onError) throws IOException {
        return (NioPoller) NioTransport.forKind(kind).openPoller(onError);
    }

    static String providerName(SelectorProvider p) {
        String cn = p.getClass().getSimpleName();
        if (cn.startsWith("EPoll")) return "epoll";
        if (cn.startsWith("Poll")) return "poll";
        if (cn.startsWith("KQueue")) return "kqueue";
        return cn;
    }

    private static volatile SelectorProvider pollProvider;

    static SelectorProvider pollProvider() {
        SelectorProvider p = pollProvider;
        if (p != null) return p;
        synchronized (NioPoller.class) {
            if (pollProvider != null) return pollProvider;
            try {
                Class<?> c = Class.forName(POLL_PROVIDER);
                p = (SelectorProvider) c.getDeclaredConstructor().newInstance();
            } catch (ClassNotFoundException e) {
                throw new IllegalArgumentException("the poll(2) selector is not available on this JDK/OS", e);
            } catch (IllegalAccessException | IllegalAccessError e) {
                throw new IllegalArgumentException("the poll(2) selector needs the JVM flag "
                        + "--add-exports java.base/sun.nio.ch=ALL-UNNAMED (class path) or =io.jhv.core (module path)", e);
            } catch (InstantiationException | NoSuchMethodException | InvocationTargetException e) {
                throw new IllegalArgumentException("cannot create the poll(2) selector: " + e, e);
            }
            pollProvider = p;
            return p;
        }
    }

    /** The provider sockets must be opened with to be registrable here. */
    SelectorProvider provider() { return provider; }

    @Override public String name() { return name; }

    // The Poller bits are SelectionKey's OP_* values: passed through as they are.

    @Override
    public void register(Pollable socket, int ops, IoHandler handler) throws IOException {
        NioTransport.Channel s = (NioTransport.Channel) socket;
        s.channel().configureBlocking(false);
        s.key = s.channel().register(selector, ops, handler);
    }

    @Override
    public void modify(Pollable socket, int ops) {
        SelectionKey key = ((NioTransport.Channel) socket).key;
        if (key != null && key.isValid() && key.interestOps() != ops) key.interestOps(ops);
    }

    @Override
    public void cancel(Pollable socket) {
        SelectionKey key = ((NioTransport.Channel) socket).key;
        if (key != null) key.cancel();
    }

    @Override
    public int poll(long timeoutMillis) throws IOException {
        if (timeoutMillis == 0) return selector.selectNow(this);
        return selector.select(this, timeoutMillis < 0 ? 0 : timeoutMillis);
    }

    /** Dispatch of one ready key (the select consumer). */
    @Override
    public void accept(SelectionKey key) {
        int ready;
        try {
            ready = key.readyOps();
        } catch (CancelledKeyException e) {
            return;
        }
        if (onError == null) {
            ((IoHandler) key.attachment()).onIoReady(ready);
            return;
        }
        IoHandler h = (IoHandler) key.attachment();
        try {
            h.onIoReady(ready);
        } catch (Throwable t) {
            // An exception escaping select(Consumer) would abort the dispatch of the other ready
            // keys and, uncaught, end the loop: report it, let the handler clean up (a connection
            // closes) and go on with the next key. Errors too: an OutOfMemoryError in one callback
            // must not take every other connection of the loop down with it.
            failed(h, t);
        }
    }

    private void failed(IoHandler h, Throwable t) {
        try {
            onError.accept(t);
        } catch (Throwable ignored) {
            // the sink does not throw; if it does anyway, the handler must still hear of it
        }
        try {
            h.onIoFailure(t);
        } catch (Throwable t2) {
            try {
                onError.accept(t2);
            } catch (Throwable ignored) {
                // nothing more to do: go on with the next key
            }
        }
    }

    @Override public void wakeup() { selector.wakeup(); }
    @Override public int registered() { return selector.keys().size(); }

    /**
     * Closes the selector and every channel still registered with it. Owners close their channels
     * before (loop stop hooks); this is the backstop, so a loop that stops never leaks a descriptor.
     */
    @Override
    public void close() {
        try {
            for (SelectionKey k : selector.keys()) {
                try {
                    k.channel().close();
                } catch (IOException ignored) {
                    // the descriptor is released either way
                }
            }
        } catch (java.nio.channels.ClosedSelectorException alreadyClosed) {
            return;
        }
        try {
            selector.close();
        } catch (IOException ignored) {
            // closing a selector only fails on an already broken fd; nothing to do
        }
    }
}
