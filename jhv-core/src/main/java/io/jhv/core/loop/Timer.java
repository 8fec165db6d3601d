package io.jhv.core.loop;

/**
 * A timer on an {@link EventLoop}: a one-shot timeout, an interval, or a timer with a repeat count.
 *
 * <p>Thread-safe: {@link #cancel()} and {@link #reset()} may be called from any thread; from another
 * thread they take effect on the loop. The callback always runs on the loop thread.
 */
public final class Timer {
    /** Repeat forever. */
    public static final int INFINITE = -1;
    /** The longest timer period: about 73 years, so deadline arithmetic never overflows. */
    private static final long MAX_PERIOD_NANOS = Long.MAX_VALUE / 4;

    final EventLoop loop;
    final Runnable callback;
    final int priority;
    long periodNanos;
    long deadline;     // System.nanoTime() based
    int repeat;        // remaining runs, or INFINITE
    int heapIndex = -1; // position in the loop's heap, -1 when not scheduled
    long seq;          // insertion order, breaks deadline ties (FIFO)
    volatile boolean cancelled;

    Timer(EventLoop loop, Runnable callback, long periodNanos, int repeat, int priority) {
        this.loop = loop;
        this.callback = callback;
        this.periodNanos = periodNanos;
        this.repeat = repeat;
        this.priority = priority;
    }

    /**
     * Stops the timer; its callback will not run again (nor at all, if it has not run yet). Harmless
     * on a loop that has terminated (its timers are gone).
     * Any thread.
     */
    public void cancel() {
        cancelled = true;
        if (loop.inLoop()) {
            loop.timers.remove(this); // the common case (connection timeouts): no task, no lambda
        } else {
            try {
                loop.queueInLoop(() -> loop.timers.remove(this));
            } catch (java.util.concurrent.RejectedExecutionException terminated) {
                // the loop has ended and dropped its timers: nothing to remove
            }
        }
    }

    /** Restarts the countdown with the timer's own period, from now. Any thread. */
    public void reset() {
        reset(periodNanos / 1_000_000L);
    }

    /**
     * Restarts the countdown with a new period in milliseconds, from now. A timer that has already
     * run its last time runs once more (libhv's {@code htimer_reset}); a cancelled timer stays
     * cancelled.
     * Any thread.
     *
     * @throws java.util.concurrent.RejectedExecutionException if called from another thread after
     *         the loop has terminated
     */
    public void reset(long millis) {
        if (millis < 0) throw new IllegalArgumentException("millis < 0: " + millis);
        loop.runInLoop(() -> {
            if (cancelled) return;
            periodNanos = toNanos(millis);
            loop.timers.remove(this);
            if (repeat == 0) repeat = 1; // finished: 0 would otherwise count down to INFINITE (-1)
            deadline = System.nanoTime() + periodNanos;
            loop.timers.add(this);
        });
    }

    /** True until the timer has run its last time or was cancelled. Thread-safe (a snapshot off the loop). */
    public boolean isActive() {
        return !cancelled && (heapIndex >= 0 || repeat != 0);
    }

    /** {@code millis} in nanoseconds, capped at {@code MAX_PERIOD_NANOS}. */
    static long toNanos(long millis) {
        return millis >= MAX_PERIOD_NANOS / 1_000_000L ? MAX_PERIOD_NANOS : millis * 1_000_000L;
    }

    /** The loop this timer runs on. Thread-safe. */
    public EventLoop loop() { return loop; }
}
