package io.jhv.core.loop;

import io.jhv.core.internal.Poller;

import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashSet;

/**
 * The body of a loop's thread. Each iteration: poll IO (up to the next timer deadline) and dispatch
 * it, run expired timers, run posted tasks, and when nothing else happened run the idle callbacks;
 * until {@link EventLoop#stop()}. Then the shutdown: the tasks already posted, the stop hooks, the
 * poller's close, the final drain, and the loop's termination ({@link LoopLifecycle#ended}). Failures of callbacks are reported
 * one by one and the loop goes on; a failure of the machinery itself (the poller) ends the loop, as
 * its termination cause. Loop-thread only, except {@link #iterations()}.
 */
final class LoopRunner implements Runnable {
    private static final System.Logger LOG = System.getLogger(EventLoop.class.getName());
    /**
     * After an iteration that ran tasks from other threads, the loop looks for more for up to this
     * long before it blocks. Posters in a stream (cross-thread writes, a burst of posts) then keep
     * finding it awake: without it, a loop faster than its poster sleeps and is woken once per gap,
     * hundreds of wake-ups (each a syscall on both sides) for one burst. Bounded and only after
     * remote work, so an idle loop never spins; skipped on one CPU, where spinning only delays the
     * poster.
     */
    private static final long SPIN_BEFORE_BLOCK_NANOS = Runtime.getRuntime().availableProcessors() > 1 ? 20_000 : 0;
    /** Rounds of the final drain before what is still queued is dropped (a task re-posting itself). */
    private static final int FINAL_DRAIN_ROUNDS = 64;

    private final EventLoop loop;
    private final String name;
    private final TimerQueue timers;
    private final TaskQueue tasks;
    private final Idles idles;
    private final ErrorReporter errors;
    private final LoopLifecycle lifecycle;
    private final ArrayList<Timer> expired = new ArrayList<>();
    private final LinkedHashSet<Runnable> stopHooks = new LinkedHashSet<>();
    private long iterations;

    LoopRunner(EventLoop loop, String name, TimerQueue timers, TaskQueue tasks, Idles idles, ErrorReporter errors,
               LoopLifecycle lifecycle) {
        this.loop = loop;
        this.name = name;
        this.timers = timers;
        this.tasks = tasks;
        this.idles = idles;
        this.errors = errors;
        this.lifecycle = lifecycle;
    }

    /** Completed iterations. Thread-safe (approximate off the loop). */
    long iterations() { return iterations; }

    void addStopHook(Runnable hook) { stopHooks.add(hook); }

    void removeStopHook(Runnable hook) { stopHooks.remove(hook); }

    @Override
    public void run() {
        Throwable cause = null;
        try {
            Poller poller = loop.poller; // set before the thread started, fixed until it ends
            while (!loop.stopRequested) {
                iterate(poller);
            }
        } catch (Throwable fatal) {
            // Callbacks are guarded one by one, so this is the loop's own machinery failing (the
            // poller, mostly): it cannot go on. Stop as after stop(), and tell the listeners why.
            cause = fatal;
            loop.stopRequested = true;
            try {
                LOG.log(System.Logger.Level.ERROR, "[" + name + "] loop ended abnormally", fatal);
            } catch (Throwable ignored) {
                // the listeners still hear of it
            }
        } finally {
            shutdown(cause);
        }
    }

    private void iterate(Poller poller) throws IOException {
        long timeout = pollTimeout();
        int ready;
        try {
            ready = poller.poll(timeout);
        } finally {
            tasks.awake(); // posts need no wake-up until we are about to block again
        }
        // An interrupt makes every later select return at once (a busy loop): the loop is ended with
        // stop(), not with interrupts, so clear it.
        if (Thread.interrupted() && LOG.isLoggable(System.Logger.Level.DEBUG)) {
            LOG.log(System.Logger.Level.DEBUG, "[" + name + "] interrupt ignored; use stop()");
        }
        iterations++;
        int timersRun = runTimers();
        int tasksRun = tasks.run();
        if (ready == 0 && timersRun == 0 && tasksRun == 0 && !idles.isEmpty()) idles.run();
    }

    /** Spins briefly for a task from another thread; true if one arrived (or stop was requested). */
    private boolean spinForTasks() {
        long end = System.nanoTime() + SPIN_BEFORE_BLOCK_NANOS;
        do {
            if (tasks.hasRemote() || loop.stopRequested) return true;
            Thread.onSpinWait();
        } while (System.nanoTime() - end < 0);
        return false;
    }

    /** Milliseconds the next poll may block: 0 if work is pending, else up to the next timer. */
    private long pollTimeout() {
        if (loop.stopRequested || tasks.hasTasks()) return 0;
        long timeout = -1;
        Timer next = timers.peek();
        if (next != null) {
            long nanos = next.deadline - System.nanoTime();
            if (nanos <= 0) return 0;
            timeout = Math.max(1, (nanos + 999_999) / 1_000_000);
        }
        if (!idles.isEmpty()) timeout = timeout < 0 ? Idles.MAX_BLOCK_MS : Math.min(timeout, Idles.MAX_BLOCK_MS);
        if (tasks.remoteTasksRun() > 0 && SPIN_BEFORE_BLOCK_NANOS > 0 && spinForTasks()) return 0;
        // About to block: from here on a post must wake us. Look at the queue again after publishing
        // that, so a post that still saw the flag set (and skipped its wake-up) is not slept through.
        tasks.aboutToBlock();
        if (tasks.hasRemote() || loop.stopRequested) return 0;
        return timeout;
    }

    private int runTimers() {
        Timer t = timers.peek();
        if (t == null) return 0;
        long now = System.nanoTime();
        if (t.deadline - now > 0) return 0;
        ArrayList<Timer> due = expired;
        boolean prioritized = false;
        while ((t = timers.peek()) != null && t.deadline - now <= 0) {
            timers.poll();
            due.add(t);
            prioritized |= t.priority != EventLoop.PRIORITY_NORMAL;
        }
        if (prioritized) due.sort((a, b) -> Integer.compare(b.priority, a.priority)); // stable: deadline order kept
        int n = due.size();
        for (int i = 0; i < n; i++) {
            Timer timer = due.get(i);
            // Skip a timer cancelled by an earlier callback of this batch, or reset() by one (then it
            // is back in the heap with a new deadline and must not run now).
            if (timer.cancelled || timer.heapIndex >= 0) continue;
            if (timer.repeat != Timer.INFINITE) timer.repeat--;
            if (timer.repeat != 0) {
                timer.deadline = now + Math.max(timer.periodNanos, 1);
                timers.add(timer);
            }
            try {
                timer.callback.run();
            } catch (Throwable e) {
                errors.report(e);
            }
        }
        due.clear();
        return n;
    }

    private void shutdown(Throwable cause) {
        try {
            // Tasks posted before stop() still run (a close or a final write queued from elsewhere),
            // then the stop hooks close what is registered (connections, listeners). Their callbacks
            // may queue more work or even register a channel: a few more rounds take care of that.
            for (int round = 0; round < 4; round++) {
                for (int r = 0; r < 4 && tasks.hasTasks(); r++) tasks.run();
                if (stopHooks.isEmpty() && !tasks.hasTasks()) break;
                runStopHooks();
            }
            Poller p = loop.poller;
            // Closes the selector and, as a backstop, any channel still registered with it.
            if (p != null) p.close();
        } catch (Throwable t) {
            try {
                LOG.log(System.Logger.Level.WARNING, "[" + name + "] error while stopping", t);
            } catch (Throwable ignored) {
                // go on ending the loop
            }
        } finally {
            lifecycle.ending(cause); // before rejecting: the rejections name it
            // From here posts from other threads are rejected; what got in before runs now, once.
            tasks.rejecting(true);
            finalDrain();
            idles.clear();
            Timer dropped; // dropped, so no longer active (isActive says so)
            while ((dropped = timers.poll()) != null) dropped.cancelled = true;
            stopHooks.clear();
            lifecycle.ended(cause);
        }
    }

    /**
     * Runs what is still queued, until nothing is. Tasks from other threads always run: each one
     * either got in before the queue began rejecting (and is seen here) or is taken back by its
     * poster. Tasks the loop thread keeps queueing (a task re-posting itself) are dropped, and
     * logged, after a bound.
     */
    private void finalDrain() {
        int dropped = 0;
        try {
            for (int round = 1; tasks.hasTasks(); round++) {
                if (round > FINAL_DRAIN_ROUNDS) {
                    dropped += tasks.dropLocal();
                }
                tasks.run();
            }
        } catch (Throwable t) {
            errors.report(t); // the loop's own machinery (out of memory): nothing more can run
        }
        if (dropped > 0) {
            try {
                LOG.log(System.Logger.Level.WARNING, "[" + name + "] dropped " + dropped + " tasks the loop kept queueing while it ended");
            } catch (Throwable ignored) {
                // nothing more to do
            }
        }
    }

    private void runStopHooks() {
        Runnable[] hooks = stopHooks.toArray(new Runnable[0]);
        stopHooks.clear();
        for (Runnable h : hooks) errors.run(h);
    }
}
