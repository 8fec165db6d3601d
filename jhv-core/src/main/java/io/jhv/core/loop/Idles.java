package io.jhv.core.loop;

import java.util.ArrayList;

/**
 * A loop's idle callbacks ({@link EventLoop#addIdle}), run when an iteration had no IO, timer or
 * task to process. Loop-thread only.
 */
final class Idles {
    /** How long a poll may block at most while idle callbacks are registered (libhv: 100 ms). */
    static final long MAX_BLOCK_MS = 100;

    private final ArrayList<EventLoop.Idle> idles = new ArrayList<>();
    private final ErrorReporter errors;

    Idles(ErrorReporter errors) {
        this.errors = errors;
    }

    boolean isEmpty() { return idles.isEmpty(); }

    void add(EventLoop.Idle idle) { idles.add(idle); }

    void remove(EventLoop.Idle idle) { idles.remove(idle); }

    /** Drops every idle callback (the loop ends): none is active any more. */
    void clear() {
        for (EventLoop.Idle idle : idles) idle.cancelled = true;
        idles.clear();
    }

    /** Runs the idle callbacks once each, counting down their repeats. */
    void run() {
        // Idles added by a callback wait for the next idle iteration; cancelled ones are skipped and
        // removed after the walk (a callback may cancel any idle, itself included).
        int n = idles.size();
        boolean finished = false;
        for (int i = 0; i < n; i++) {
            EventLoop.Idle idle = idles.get(i);
            if (idle.cancelled) continue;
            if (idle.repeat != Timer.INFINITE && --idle.repeat == 0) {
                idle.cancelled = true;
                finished = true;
            }
            try {
                idle.callback.run();
            } catch (Throwable t) {
                errors.report(t);
            }
        }
        if (finished) idles.removeIf(Idles::isCancelled);
    }

    private static boolean isCancelled(EventLoop.Idle idle) {
        return idle.cancelled;
    }
}
