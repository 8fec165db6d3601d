package io.jhv.core.loop;

import io.jhv.core.internal.Internals;
import io.jhv.core.internal.Poller;
import io.jhv.core.internal.Transport;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiConsumer;
import java.util.function.Consumer;

/**
 * One reactor on one platform thread: IO readiness, timers, posted tasks and idle callbacks.
 *
 * <p>Each iteration: poll IO (up to the next timer deadline) and dispatch it, run expired timers,
 * run posted tasks, and when nothing else happened run the idle callbacks. Timers and posted tasks
 * carry a priority (libhv's {@code hevent_set_priority}); within one iteration higher priorities run
 * first, equal priorities in order.
 *
 * <p>Thread contract: {@link #post}, {@link #runInLoop}, {@link #setTimeout}, {@link #setInterval},
 * {@link #stop()} and {@link #start()} are thread-safe. Everything registered on a loop (connections,
 * timers, listeners) runs its callbacks on the loop thread, so callbacks never need locks.
 *
 * <p>Lifecycle of tasks: tasks posted before the first {@link #start()} wait for it. Once a stopping
 * loop begins its final drain (after its stop hooks ran and its poller closed), tasks from other
 * threads are rejected with {@link RejectedExecutionException} until the loop is started again; the
 * tasks that got in before that run once, on the loop thread, in that final drain (their loop is gone
 * by then: registering a channel fails, which they handle like any failure). No task is kept for a
 * loop that is not coming back.
 *
 * <p>Failures: whatever a callback throws (IO handlers, timers, posted tasks, idle callbacks), errors
 * such as {@link OutOfMemoryError} included, is reported (to the {@link Builder#errorHandler} or a
 * rate-limited log line) and the loop goes on; an IO handler that threw is told so
 * ({@link io.jhv.core.internal.IoHandler#onIoFailure}), a connection closes. If the loop ends
 * abnormally all the same (its poller fails), the {@link #onTerminated} listeners hear the cause.
 *
 * <p>Wake-ups are coalesced: a post from another thread wakes the poller only when the loop is about
 * to block (or blocked) and no other wake-up is already on its way, so a burst of posts costs one
 * wake-up, not one each. Tasks queued from the loop thread itself go to a plain local queue: no
 * allocation, no wake-up.
 *
 * {@snippet :
 * EventLoop loop = EventLoop.create().start();
 * loop.setInterval(1000, () -> System.out.println("tick"));
 * loop.post(() -> System.out.println("on the loop: " + loop.inLoop()));
 * }
 */
public final class EventLoop implements Executor, AutoCloseable {
    private static final AtomicInteger IDS = new AtomicInteger();

    public static final int PRIORITY_LOWEST = -5;
    public static final int PRIORITY_LOW = -3;
    public static final int PRIORITY_NORMAL = 0;
    public static final int PRIORITY_HIGH = 3;
    public static final int PRIORITY_HIGHEST = 5;

    private final String name;
    private final String pollerKind;

    // The parts, package-private, one job each: TaskQueue (posted tasks, wake-ups), TimerQueue,
    // Idles, LoopRunner (the thread's body: iterations, shutdown), LoopLifecycle (start, end,
    // termination), ErrorReporter (failed callbacks), ReadBuffer and LoopBridge (for transports).
    final TimerQueue timers = new TimerQueue();
    final ErrorReporter errors;
    final ReadBuffer readBuffer;
    private final TaskQueue tasks;
    private final Idles idles;
    private final LoopRunner runner;
    private final LoopLifecycle lifecycle;

    volatile boolean stopRequested;
    volatile Thread thread;
    volatile Poller poller;
    private volatile Transport transport; // from pollerKind, resolved at the first start (or first use)
    private volatile int load; // connections or other units of work, for least-loaded balancing

    private EventLoop(Builder b) {
        this.name = b.name != null ? b.name : "jhv-loop-" + IDS.incrementAndGet();
        this.pollerKind = b.poller;
        this.readBuffer = new ReadBuffer(b.readBufferSize);
        this.errors = new ErrorReporter(this, name, b.errorHandler);
        this.tasks = new TaskQueue(this, errors);
        this.idles = new Idles(errors);
        this.lifecycle = new LoopLifecycle(this, name, b.daemon, tasks, errors);
        this.runner = new LoopRunner(this, name, timers, tasks, idles, errors, lifecycle);
    }

    /** A loop with default settings (not started). Any thread. */
    public static EventLoop create() {
        return builder().build();
    }

    /** A builder for a loop. Any thread; a builder is used from one thread. */
    public static Builder builder() {
        return new Builder();
    }

    /** Settings of a loop. */
    public static final class Builder {
        private String name;
        private String poller = "default";
        private boolean daemon;
        private BiConsumer<Thread, Throwable> errorHandler;
        private int readBufferSize = 64 * 1024;

        private Builder() {}

        /** The thread's name. Builder methods: one thread at a time. */
        public Builder name(String name) { this.name = name; return this; }

        /** "default" (epoll on Linux), "epoll" or "poll" (the JDK's poll(2) selector). Builder methods: one thread at a time. */
        public Builder poller(String kind) {
            this.poller = Objects.requireNonNull(kind, "kind");
            return this;
        }

        /** Whether the loop thread is a daemon thread (default false: a running loop keeps the JVM up). */
        public Builder daemon(boolean daemon) { this.daemon = daemon; return this; }

        /**
         * Called, on the loop thread, with every exception (or error) a callback throws; the loop goes
         * on. Without it, failures are logged at WARNING, at most one line per second per loop. A
         * handler that throws is ignored (its failure is added to the reported one as suppressed).
         */
        public Builder errorHandler(BiConsumer<Thread, Throwable> handler) { this.errorHandler = handler; return this; }

        /** Size of the one read buffer the loop owns and reads every socket into (default 64 KiB). */
        public Builder readBufferSize(int bytes) {
            if (bytes < 512) throw new IllegalArgumentException("readBufferSize < 512: " + bytes);
            this.readBufferSize = bytes;
            return this;
        }

        /** Builds the loop (not started). Any thread. */
        public EventLoop build() { return new EventLoop(this); }
    }

    // ---------------------------------------------------------------- lifecycle

    /**
     * Starts the loop on a new thread and returns. Thread-safe. A loop that has stopped may be started
     * again; it gets a new thread and a new poller. If the loop is still stopping, this waits for its
     * old thread to end first.
     *
     * @throws IllegalStateException if the loop is running (and not stopping), or if called on the
     *         loop's own thread while it stops
     * @throws java.io.UncheckedIOException if the poller cannot be opened
     */
    public EventLoop start() {
        lifecycle.start();
        return this;
    }

    /**
     * Asks the loop to stop: it finishes its current iteration, runs the tasks already posted, runs
     * the stop hooks (connections and listeners close, with their callbacks), closes its poller and
     * any channel still registered with it, and its thread ends. Timers and idle callbacks are
     * dropped. Thread-safe, prompt even when the loop is blocked in poll, and harmless when the loop
     * is not running.
     */
    public void stop() {
        stopRequested = true;
        Poller p = poller;
        if (p != null) p.wakeup();
    }

    /** Waits for the loop thread to end. Returns true if it ended (or never started). */
    public boolean awaitTermination(Duration timeout) throws InterruptedException {
        return lifecycle.await(timeout);
    }

    /** {@link #stop()} then waits up to 5 s for the thread. */
    @Override
    public void close() {
        stop();
        try {
            awaitTermination(Duration.ofSeconds(5));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Thread-safe. */
    public boolean isRunning() { return lifecycle.state() == LoopLifecycle.State.RUNNING && !stopRequested; }

    /**
     * True once the loop thread has ended (until the loop is started again); false before the first
     * start. Posts are rejected a little earlier, from the start of the final drain. Thread-safe.
     */
    public boolean isTerminated() { return lifecycle.state() == LoopLifecycle.State.TERMINATED; }

    /**
     * Why the loop last ended abnormally (its poller failed, or something else outside any callback
     * threw), or null: still running, never started, or stopped normally. Thread-safe.
     */
    public Throwable terminationCause() { return lifecycle.cause(); }

    /**
     * Adds a listener called each time the loop thread ends, with null after {@link #stop()} or with
     * the cause when the loop ended abnormally. It runs on the ending loop thread after the loop has
     * terminated ({@link #awaitTermination} has returned true), so it must not block for long; a
     * server closes itself from there. Thread-safe; listeners stay registered across restarts.
     */
    public void onTerminated(Consumer<Throwable> listener) {
        lifecycle.addListener(Objects.requireNonNull(listener, "listener"));
    }

    /** Removes a listener added with {@link #onTerminated}. Thread-safe. */
    public void removeOnTerminated(Consumer<Throwable> listener) {
        lifecycle.removeListener(listener);
    }

    /** The thread name. Thread-safe. */
    public String name() { return name; }

    /** The poller's name ("epoll", "poll", ...); null before the first start. Thread-safe. */
    public String pollerName() {
        Poller p = poller;
        return p == null ? null : p.name();
    }

    /** True when called on this loop's thread. */
    public boolean inLoop() { return Thread.currentThread() == thread; }

    /** Throws unless called on this loop's thread (muduo's assertInLoopThread). */
    public void assertInLoop() {
        if (!inLoop()) throw new IllegalStateException("not on the loop thread of " + name + " (on " + Thread.currentThread().getName() + ")");
    }

    // ---------------------------------------------------------------- tasks

    /**
     * Runs {@code task} on the loop: now if called on the loop thread, else queued. Thread-safe. Tasks
     * queued before the first start run once it is started.
     *
     * @throws RejectedExecutionException if the loop has terminated (see the class comment)
     */
    public void runInLoop(Runnable task) {
        if (inLoop()) {
            errors.run(task);
        } else {
            queueInLoop(task);
        }
    }

    /**
     * Queues {@code task} to run on the loop in a later step of this or the next iteration. Thread-safe.
     *
     * @throws RejectedExecutionException if the loop has terminated (see the class comment)
     */
    public void queueInLoop(Runnable task) {
        Objects.requireNonNull(task, "task");
        if (inLoop()) {
            tasks.addLocal(task); // the loop looks at its queues before it blocks: no wake-up needed
        } else if (!tasks.addRemote(task)) {
            throw rejected(task);
        }
    }

    private RejectedExecutionException rejected(Runnable task) {
        return new RejectedExecutionException("event loop " + name + " has terminated"
                + (terminationCause() != null ? " abnormally (" + terminationCause() + ")" : "")
                + ": task " + task + " not accepted (start the loop again to post to it)");
    }

    /**
     * Same as {@link #queueInLoop(Runnable)}: posts a custom event, which runs on the loop thread
     * after what is queued. Any thread.
     *
     * @throws RejectedExecutionException if the loop has terminated
     */
    public void post(Runnable task) { queueInLoop(task); }

    /** Posts a custom event with a priority; within one iteration higher priorities run first. Any thread. */
    public void post(int priority, Runnable task) {
        queueInLoop(TaskQueue.withPriority(priority, task));
    }

    /** {@link java.util.concurrent.Executor} view of {@link #post(Runnable)}. Any thread. */
    @Override
    public void execute(Runnable task) { queueInLoop(task); }

    /**
     * Runs {@code task} on the loop and returns a future of its result, completed on the loop thread
     * (exceptionally with what the task threw). Thread-safe; from the loop thread the task is queued,
     * not run inline, so the caller never waits on its own loop.
     *
     * @throws RejectedExecutionException if the loop has terminated
     */
    public <T> CompletableFuture<T> submit(Callable<T> task) {
        Objects.requireNonNull(task, "task");
        CompletableFuture<T> f = new CompletableFuture<>();
        queueInLoop(() -> {
            if (f.isDone()) return; // cancelled before it ran
            try {
                f.complete(task.call());
            } catch (Throwable e) {
                f.completeExceptionally(e);
            }
        });
        return f;
    }

    /**
     * Runs {@code callback} once after {@code delay} on the loop; the future completes (on the loop)
     * with what it returns. Cancelling the future cancels the timer. Thread-safe.
     *
     * @throws RejectedExecutionException if called from another thread after the loop has terminated
     */
    public <T> CompletableFuture<T> schedule(Duration delay, Callable<T> callback) {
        Objects.requireNonNull(callback, "callback");
        CompletableFuture<T> f = new CompletableFuture<>();
        Timer t = setTimeout(delay.toMillis(), () -> {
            if (f.isDone()) return;
            try {
                f.complete(callback.call());
            } catch (Throwable e) {
                f.completeExceptionally(e);
            }
        });
        f.whenComplete((v, e) -> { if (f.isCancelled()) t.cancel(); });
        return f;
    }

    /**
     * The loop whose thread is calling, or null when the caller is not a loop thread (libhv's
     * {@code currentThreadEventLoop}). Thread-safe; no lookup table: loop threads know their loop.
     */
    public static EventLoop current() {
        return Thread.currentThread() instanceof LoopThread t ? t.loop : null;
    }

    /** A loop's thread: knows its loop, so {@link #current()} is a type check, not a ThreadLocal. */
    static final class LoopThread extends Thread {
        final EventLoop loop;

        LoopThread(EventLoop loop, String name) {
            super(loop.runner, name);
            this.loop = loop;
        }
    }

    /** How many times other threads woke this loop (posts are coalesced into one wake-up per batch). */
    public int wakeupCount() { return tasks.wakeups(); }

    /** Tasks waiting to run (approximate when called from another thread). */
    public int pendingTasks() { return tasks.pending(); }

    /** Completed loop iterations (for tests and metrics). Thread-safe (approximate off the loop). */
    public long iterations() { return runner.iterations(); }

    // ---------------------------------------------------------------- timers

    /**
     * Runs {@code callback} once after {@code millis} ms. Thread-safe.
     *
     * @throws RejectedExecutionException if called from another thread after the loop has terminated
     */
    public Timer setTimeout(long millis, Runnable callback) {
        return setTimer(millis, 1, PRIORITY_NORMAL, callback);
    }

    /** Runs {@code callback} once after {@code delay}. Thread-safe. See {@link #setTimeout(long, Runnable)}. */
    public Timer setTimeout(Duration delay, Runnable callback) {
        return setTimeout(delay.toMillis(), callback);
    }

    /** Runs {@code callback} every {@code period} until cancelled. Thread-safe. */
    public Timer setInterval(Duration period, Runnable callback) {
        return setInterval(period.toMillis(), callback);
    }

    /** Runs {@code callback} every {@code millis} ms until cancelled. Thread-safe. */
    public Timer setInterval(long millis, Runnable callback) {
        return setTimer(millis, Timer.INFINITE, PRIORITY_NORMAL, callback);
    }

    /**
     * Runs {@code callback} every {@code millis} ms, {@code repeat} times ({@link Timer#INFINITE} for
     * ever), with an event priority. Thread-safe.
     */
    public Timer setTimer(long millis, int repeat, int priority, Runnable callback) {
        if (millis < 0) throw new IllegalArgumentException("millis < 0: " + millis);
        if (repeat == 0 || repeat < Timer.INFINITE) throw new IllegalArgumentException("repeat must be > 0 or INFINITE: " + repeat);
        Objects.requireNonNull(callback, "callback");
        Timer t = new Timer(this, callback, Timer.toNanos(millis), repeat, priority);
        t.deadline = System.nanoTime() + t.periodNanos;
        if (inLoop()) {
            timers.add(t);
        } else {
            queueInLoop(() -> { if (!t.cancelled) timers.add(t); });
        }
        return t;
    }

    /** Number of scheduled timers (loop-thread view). */
    public int timerCount() { return timers.size(); }

    // ---------------------------------------------------------------- idle

    /** An idle callback, run when an iteration had nothing else to do. */
    public final class Idle {
        final Runnable callback;
        int repeat;
        volatile boolean cancelled;

        Idle(Runnable callback, int repeat) {
            this.callback = callback;
            this.repeat = repeat;
        }

        /** Removes the idle callback; it does not run again once this returns. Thread-safe. */
        public void cancel() {
            cancelled = true;
            // Queued, not run in place: cancel() may be called from an idle callback while the loop
            // walks the list.
            try {
                queueInLoop(() -> idles.remove(this));
            } catch (RejectedExecutionException terminated) {
                // the loop has ended: its idle callbacks are gone already
            }
        }

        /** True until the callback has run its last time or was cancelled. Thread-safe. */
        public boolean isActive() { return !cancelled; }
    }

    /**
     * Adds an idle callback run {@code repeat} times ({@link Timer#INFINITE} for ever) when an
     * iteration has no IO, timer or task to process. While idles exist, a poll blocks at most 100 ms.
     * Thread-safe.
     */
    public Idle addIdle(int repeat, Runnable callback) {
        if (repeat == 0 || repeat < Timer.INFINITE) throw new IllegalArgumentException("repeat must be > 0 or INFINITE: " + repeat);
        Idle idle = new Idle(Objects.requireNonNull(callback, "callback"), repeat);
        runInLoop(() -> idles.add(idle));
        return idle;
    }

    // ---------------------------------------------------------------- for transports (io.jhv.core.net)
    // Package-private: the transports reach these through Internals.loops() (LoopBridge), which
    // is not exported; they are not public API.

    static {
        Internals.install(new LoopBridge());
    }

    /**
     * The transport of this loop's poller kind: what opens the sockets its poller can watch (also
     * before the loop's first start). Thread-safe.
     *
     * @throws IllegalArgumentException if the poller kind is unknown or not available here
     */
    Transport transport() {
        Transport t = transport;
        if (t == null) transport = t = Transport.forKind(pollerKind); // a race makes two equal ones
        return t;
    }

    /** Adds {@code delta} to this loop's load (live connections), for least-loaded balancing. Thread-safe. */
    void addLoad(int delta) { LOAD.getAndAdd(this, delta); }

    /** This loop's load (live connections), for least-loaded balancing. Thread-safe. */
    public int load() { return load; }

    private static final VarHandle LOAD;

    static {
        try {
            LOAD = MethodHandles.lookup().findVarHandle(EventLoop.class, "load", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    // ---------------------------------------------------------------- stop hooks

    /**
     * Registers {@code hook} to run on the loop thread when the loop stops, before its poller closes
     * (transports abort their connections here). Loop-thread only. Returns the hook, to remove it.
     */
    public Runnable onStop(Runnable hook) {
        assertInLoop();
        runner.addStopHook(hook);
        return hook;
    }

    /** Removes a hook added with {@link #onStop(Runnable)}. Loop-thread only. */
    public void removeOnStop(Runnable hook) {
        runner.removeStopHook(hook);
    }

    @Override
    public String toString() {
        return "EventLoop[" + name + ", " + lifecycle.state() + "]";
    }
}
