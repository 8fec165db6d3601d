package io.jhv.core.loop;

import io.jhv.core.internal.Poller;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A loop's posted tasks: an MPSC queue for other threads, a plain queue for the loop thread itself,
 * priorities within a batch, the coalesced wake-up of the poller and the rejection of posts once the
 * loop ends. Adding is thread-safe as each method says; running and the wake-up flag's arming are
 * loop-thread only.
 */
final class TaskQueue {
    /** Posted tasks run per iteration at most, so IO is not starved by a flood of posts. */
    private static final int MAX_TASKS_PER_ITERATION = 65536;
    private static final VarHandle WAKE;

    static {
        try {
            WAKE = MethodHandles.lookup().findVarHandle(TaskQueue.class, "wakeupPending", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final EventLoop loop;
    private final ErrorReporter errors;
    /** Tasks from other threads (MPSC). */
    private final ConcurrentLinkedQueue<Runnable> remote = new ConcurrentLinkedQueue<>();
    /** Tasks queued on the loop thread itself: no CAS, and no node allocated per task. */
    private final ArrayDeque<Runnable> local = new ArrayDeque<>();
    private final ArrayList<Runnable> running = new ArrayList<>();
    @SuppressWarnings("unused") private volatile int wakeupPending; // 1: a wake-up is already on its way
    private final AtomicInteger wakeups = new AtomicInteger();
    /** Set when the final drain begins: posts from other threads are rejected from then on. */
    private volatile boolean rejecting;
    private int remoteTasksRun; // in the last batch

    TaskQueue(EventLoop loop, ErrorReporter errors) {
        this.loop = loop;
        this.errors = errors;
    }

    /** Queues a task of the loop thread: no allocation, no wake-up (the loop looks before it blocks). Loop thread. */
    void addLocal(Runnable task) {
        local.add(task);
    }

    /**
     * Queues a task from another thread and wakes the loop if it may be blocked. Returns false if the
     * loop has begun its final drain and the task was taken back (rejected). Thread-safe.
     */
    boolean addRemote(Runnable task) {
        remote.add(task);
        // Queue first, then look: the loop sets the flag first, then drains. So either the loop's
        // final drain sees this task, or this sees the flag and takes the task back (if the drain
        // did not take it first: then it ran, and the post succeeded).
        if (rejecting && remote.remove(task)) return false;
        wakeupIfNeeded();
        return true;
    }

    private void wakeupIfNeeded() {
        // wakeupPending is 0 only while the loop is about to block or blocked in poll; the first post
        // that sees 0 wakes it, every later one sees 1 and just queues.
        if (WAKE.compareAndSet(this, 0, 1)) {
            Poller p = loop.poller;
            if (p != null) {
                wakeups.incrementAndGet();
                p.wakeup();
            }
        }
    }

    /** The loop is awake: posts need no wake-up until it is about to block again. Loop thread. */
    void awake() {
        WAKE.setVolatile(this, 1);
    }

    /**
     * The loop is about to block: from here on a post must wake it. The caller looks at
     * {@link #hasRemote()} again after this, so a post that still saw the flag set (and skipped its
     * wake-up) is not slept through. Loop thread.
     */
    void aboutToBlock() {
        WAKE.setVolatile(this, 0);
    }

    /** From now on posts from other threads are rejected (the final drain begins), or accepted again. Thread-safe. */
    void rejecting(boolean reject) {
        rejecting = reject;
    }

    boolean hasTasks() {
        return !local.isEmpty() || !remote.isEmpty();
    }

    boolean hasRemote() {
        return !remote.isEmpty();
    }

    /** Tasks from other threads run in the last batch. Loop thread. */
    int remoteTasksRun() {
        return remoteTasksRun;
    }

    /** Tasks waiting to run (approximate when called from another thread). */
    int pending() {
        return remote.size() + local.size();
    }

    /** How many times other threads woke the loop. Thread-safe. */
    int wakeups() {
        return wakeups.get();
    }

    /** Drops the tasks the loop thread queued, returning how many. Loop thread. */
    int dropLocal() {
        int dropped = 0;
        for (Runnable r; (r = local.poll()) != null; ) dropped++;
        return dropped;
    }

    /**
     * Runs one batch: the loop thread's own tasks first, then those from other threads, at most
     * {@link #MAX_TASKS_PER_ITERATION}, higher priorities first. Returns how many ran. Loop thread.
     */
    int run() {
        ArrayList<Runnable> batch = running;
        Runnable r;
        boolean prioritized = false;
        while (batch.size() < MAX_TASKS_PER_ITERATION && (r = local.poll()) != null) {
            batch.add(r);
            prioritized |= r instanceof Prioritized;
        }
        int fromLoop = batch.size();
        while (batch.size() < MAX_TASKS_PER_ITERATION && (r = remote.poll()) != null) {
            batch.add(r);
            prioritized |= r instanceof Prioritized;
        }
        int n = batch.size();
        remoteTasksRun = n - fromLoop;
        if (n == 0) return 0;
        if (prioritized) batch.sort((a, b) -> Integer.compare(priorityOf(b), priorityOf(a)));
        try {
            for (int i = 0; i < n; i++) {
                try {
                    batch.get(i).run();
                } catch (Throwable t) {
                    errors.report(t);
                }
            }
        } finally {
            batch.clear();
        }
        return n;
    }

    /** {@code task} with a priority other than normal, for {@link EventLoop#post(int, Runnable)}. */
    static Runnable withPriority(int priority, Runnable task) {
        return priority == EventLoop.PRIORITY_NORMAL ? task : new Prioritized(priority, task);
    }

    private record Prioritized(int priority, Runnable task) implements Runnable {
        @Override public void run() { task.run(); }
    }

    private static int priorityOf(Runnable r) {
        return r instanceof Prioritized p ? p.priority : EventLoop.PRIORITY_NORMAL;
    }
}
