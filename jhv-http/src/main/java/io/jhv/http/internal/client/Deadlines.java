package io.jhv.http.internal.client;

import io.jhv.core.loop.EventLoop;
import io.jhv.core.loop.Timer;

/**
 * The call deadlines of the callback form's recycled calls on one loop, without a timer per call:
 * the calls in deadline order (an intrusive list through {@link Call.Recycled}; with one
 * {@code callTimeout} for the whole client they arrive in order, so an insert is O(1) from the
 * tail), and one timer for the earliest. The timer is not moved when the earliest call ends
 * early: it fires, finds nothing due yet and is set again for the new earliest, so with a steady
 * stream of calls it costs one timer per timeout period instead of one per call. Loop thread only.
 */
final class Deadlines implements Runnable {
    private final EventLoop loop;
    private Call head, tail;
    private Timer timer;
    private long armedAt;

    Deadlines(EventLoop loop) {
        this.loop = loop;
    }

    /** Watches {@code c}'s deadline ({@code c.rc.deadlineAt}, System.nanoTime based). */
    void add(Call c) {
        Call.Recycled r = c.rc;
        long at = r.deadlineAt;
        Call p = tail;
        while (p != null && p.rc.deadlineAt - at > 0) p = p.rc.dPrev;
        // insert after p (null: at the head)
        Call n = p == null ? head : p.rc.dNext;
        r.dPrev = p;
        r.dNext = n;
        if (p == null) head = c; else p.rc.dNext = c;
        if (n == null) tail = c; else n.rc.dPrev = c;
        r.dList = this;
        arm(head.rc.deadlineAt);
    }

    /** Stops watching {@code c} (its call ended, or it moves to another loop). */
    void remove(Call c) {
        Call.Recycled r = c.rc;
        if (r.dList != this) return;
        Call p = r.dPrev, n = r.dNext;
        if (p == null) head = n; else p.rc.dNext = n;
        if (n == null) tail = p; else n.rc.dPrev = p;
        r.dPrev = r.dNext = null;
        r.dList = null;
    }

    private void arm(long at) {
        if (timer != null && armedAt - at <= 0) return; // fires first anyway
        if (timer != null) timer.cancel();
        armedAt = at;
        long ms = Math.max(1, (at - System.nanoTime()) / 1_000_000L + 1);
        timer = loop.setTimeout(ms, this);
    }

    /** The timer: expire what is due, then wait for the next. */
    @Override
    public void run() {
        timer = null;
        Call c;
        while ((c = head) != null && c.rc.deadlineAt - System.nanoTime() <= 0) {
            remove(c);
            c.deadlineExpired();
        }
        if (head != null) arm(head.rc.deadlineAt);
    }
}
