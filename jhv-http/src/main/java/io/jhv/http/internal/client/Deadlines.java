package io.jhv.http.internal.client;

import io.jhv.core.loop.EventLoop;
import io.jhv.core.loop.Timer;

import java.util.Arrays;

/**
 * The call deadlines of the callback form's recycled calls on one loop, without a timer per call:
 * a binary min-heap of the calls by deadline (each call knows its index, {@link Call.Recycled#dIndex},
 * so any call leaves in O(log n)), and one timer for the earliest. Deadlines arriving in order
 * (one {@code callTimeout} for the whole client) add in O(1); out of order (a short per-request
 * timeout among long ones) in O(log n), never a scan of the calls in flight. The heap's array
 * grows by doubling and is kept, so the steady state allocates nothing. The timer is not moved
 * when the earliest call ends early: it fires, finds nothing due yet and is set again for the new
 * earliest, so with a steady stream of calls it costs one timer per timeout period instead of one
 * per call. Loop thread only.
 */
final class Deadlines implements Runnable {
    private final EventLoop loop;
    private Call[] heap = new Call[16];
    private int size;
    private Timer timer;
    private long armedAt;

    Deadlines(EventLoop loop) {
        this.loop = loop;
    }

    /** Watches {@code c}'s deadline ({@code c.rc.deadlineAt}, System.nanoTime based). */
    void add(Call c) {
        if (size == heap.length) heap = Arrays.copyOf(heap, size * 2);
        c.rc.dList = this;
        siftUp(size++, c);
        arm(heap[0].rc.deadlineAt);
    }

    /** Stops watching {@code c} (its call ended, or it moves to another loop). */
    void remove(Call c) {
        Call.Recycled r = c.rc;
        if (r.dList != this) return;
        int i = r.dIndex;
        r.dList = null;
        Call last = heap[--size];
        heap[size] = null;
        if (last == c) return;
        // put the last one in c's place, then move it up or down to where it belongs
        if (i > 0 && before(last, heap[(i - 1) >>> 1])) siftUp(i, last);
        else siftDown(i, last);
    }

    private static boolean before(Call a, Call b) {
        return a.rc.deadlineAt - b.rc.deadlineAt < 0;
    }

    private void siftUp(int i, Call c) {
        while (i > 0) {
            int parent = (i - 1) >>> 1;
            Call p = heap[parent];
            if (!before(c, p)) break;
            heap[i] = p;
            p.rc.dIndex = i;
            i = parent;
        }
        heap[i] = c;
        c.rc.dIndex = i;
    }

    private void siftDown(int i, Call c) {
        int half = size >>> 1;
        while (i < half) {
            int child = 2 * i + 1;
            Call ch = heap[child];
            int right = child + 1;
            if (right < size && before(heap[right], ch)) ch = heap[child = right];
            if (!before(ch, c)) break;
            heap[i] = ch;
            ch.rc.dIndex = i;
            i = child;
        }
        heap[i] = c;
        c.rc.dIndex = i;
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
        while (size > 0 && (c = heap[0]).rc.deadlineAt - System.nanoTime() <= 0) {
            remove(c);
            c.deadlineExpired();
        }
        if (size > 0) arm(heap[0].rc.deadlineAt);
    }
}
