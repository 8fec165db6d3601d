package io.jhv.core.internal;

import io.jhv.core.loop.EventLoop;

import java.util.Objects;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BiConsumer;

/**
 * Process-wide listeners of the failures loops report without an error handler of their own
 * ({@code EventLoop.Builder.errorHandler}): the callbacks that threw and would otherwise only be
 * logged (rate-limited). jhv-testing's {@code LeakCheck} listens here, so that an assertion failing
 * inside a loop callback fails the test instead of becoming a log line. Not public API.
 *
 * <p>Thread-safe; listeners are called on the thread that reports (mostly a loop thread) and must
 * be quick and must not throw (what they throw is ignored).
 */
public final class LoopErrors {
    private static final CopyOnWriteArrayList<BiConsumer<EventLoop, Throwable>> LISTENERS = new CopyOnWriteArrayList<>();

    private LoopErrors() {}

    /** Adds {@code listener}; it hears every unhandled failure reported from now on. */
    public static void addListener(BiConsumer<EventLoop, Throwable> listener) {
        LISTENERS.add(Objects.requireNonNull(listener, "listener"));
    }

    /** Removes a listener added with {@link #addListener}. */
    public static void removeListener(BiConsumer<EventLoop, Throwable> listener) {
        LISTENERS.remove(listener);
    }

    /** Called by {@code EventLoop} with a failure no error handler took. Never throws. */
    public static void unhandled(EventLoop loop, Throwable t) {
        if (LISTENERS.isEmpty()) return;
        for (BiConsumer<EventLoop, Throwable> l : LISTENERS) {
            try {
                l.accept(loop, t);
            } catch (Throwable ignored) {
                // a listener must not stop the report (or the loop)
            }
        }
    }
}
