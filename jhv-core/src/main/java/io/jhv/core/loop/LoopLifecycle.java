package io.jhv.core.loop;

import io.jhv.core.internal.Poller;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * A loop's life: NEW, RUNNING, TERMINATED and again RUNNING after a restart; the start (a new poller
 * and a new thread), the wait for the end, the termination cause and listeners. The loop's hot
 * fields ({@code thread}, {@code poller}, {@code stopRequested}) stay on {@link EventLoop}, written
 * here. Thread-safe, except {@link #ending} and {@link #ended}, called by the ending loop thread.
 */
final class LoopLifecycle {
    enum State { NEW, RUNNING, TERMINATED }

    private final EventLoop loop;
    private final String name;
    private final boolean daemon;
    private final TaskQueue tasks;
    private final ErrorReporter errors;
    private final Object lock = new Object();
    private volatile State state = State.NEW;
    private volatile CountDownLatch terminated = new CountDownLatch(1);
    private volatile Throwable cause;
    private final CopyOnWriteArrayList<Consumer<Throwable>> listeners = new CopyOnWriteArrayList<>();

    LoopLifecycle(EventLoop loop, String name, boolean daemon, TaskQueue tasks, ErrorReporter errors) {
        this.loop = loop;
        this.name = name;
        this.daemon = daemon;
        this.tasks = tasks;
        this.errors = errors;
    }

    State state() { return state; }

    Throwable cause() { return cause; }

    void addListener(Consumer<Throwable> listener) { listeners.add(listener); }

    void removeListener(Consumer<Throwable> listener) { listeners.remove(listener); }

    /** See {@link EventLoop#start()}. */
    void start() {
        for (;;) {
            CountDownLatch previous;
            synchronized (lock) {
                if (state != State.RUNNING) {
                    startLocked();
                    return;
                }
                if (!loop.stopRequested) throw new IllegalStateException("loop " + name + " already started");
                if (loop.inLoop()) throw new IllegalStateException("loop " + name + " is stopping and cannot be restarted from its own thread");
                previous = terminated;
            }
            // Stopping but not yet ended: wait outside the lock (the ending thread takes it).
            try {
                previous.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while waiting for loop " + name + " to stop", e);
            }
        }
    }

    private void startLocked() {
        Poller p;
        try {
            p = loop.transport().openPoller(errors::report);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open the poller of " + name, e);
        }
        loop.poller = p;
        loop.stopRequested = false;
        tasks.rejecting(false);
        cause = null;
        terminated = new CountDownLatch(1);
        Thread t = new EventLoop.LoopThread(loop, name);
        t.setDaemon(daemon);
        loop.thread = t;
        state = State.RUNNING;
        try {
            t.start();
        } catch (Throwable e) {
            loop.thread = null;
            state = State.TERMINATED;
            p.close();
            terminated.countDown();
            throw e;
        }
    }

    /** See {@link EventLoop#awaitTermination}. */
    boolean await(Duration timeout) throws InterruptedException {
        if (state == State.NEW) return true;
        if (loop.inLoop()) return false;
        return terminated.await(timeout.toNanos(), TimeUnit.NANOSECONDS);
    }

    /** The loop thread begins its final drain: {@code cause} (or null) is why it ends. */
    void ending(Throwable cause) {
        this.cause = cause;
    }

    /**
     * The loop thread's last step, after its final drain: the loop is terminated,
     * {@link EventLoop#awaitTermination} returns, the listeners hear the cause.
     */
    void ended(Throwable cause) {
        synchronized (lock) {
            state = State.TERMINATED;
            loop.thread = null;
        }
        terminated.countDown();
        for (Consumer<Throwable> l : listeners) {
            try {
                l.accept(cause);
            } catch (Throwable t) {
                errors.report(t);
            }
        }
    }
}
