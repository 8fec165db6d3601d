package io.jhv.core.loop;

import java.util.Arrays;

/**
 * An indexed binary min-heap of timers by deadline: add, remove and reschedule in O(log n), and the
 * next deadline in O(1). Each timer knows its index, so cancel needs no search. Loop-thread only.
 */
final class TimerQueue {
    private Timer[] heap = new Timer[64];
    private int size;
    private long seq;

    int size() { return size; }

    Timer peek() { return size == 0 ? null : heap[0]; }

    void add(Timer t) {
        if (t.heapIndex >= 0) return;
        if (size == heap.length) heap = Arrays.copyOf(heap, size * 2);
        t.seq = seq++;
        heap[size] = t;
        t.heapIndex = size;
        size++;
        siftUp(t.heapIndex);
    }

    void remove(Timer t) {
        int i = t.heapIndex;
        if (i < 0 || i >= size || heap[i] != t) return;
        size--;
        Timer last = heap[size];
        heap[size] = null;
        t.heapIndex = -1;
        if (i != size) {
            heap[i] = last;
            last.heapIndex = i;
            siftDown(i);
            siftUp(last.heapIndex);
        }
    }

    Timer poll() {
        Timer t = peek();
        if (t != null) remove(t);
        return t;
    }

    private static boolean less(Timer a, Timer b) {
        long d = a.deadline - b.deadline;
        return d < 0 || (d == 0 && a.seq < b.seq);
    }

    private void siftUp(int i) {
        Timer t = heap[i];
        while (i > 0) {
            int p = (i - 1) >>> 1;
            Timer parent = heap[p];
            if (!less(t, parent)) break;
            heap[i] = parent;
            parent.heapIndex = i;
            i = p;
        }
        heap[i] = t;
        t.heapIndex = i;
    }

    private void siftDown(int i) {
        Timer t = heap[i];
        int half = size >>> 1;
        while (i < half) {
            int c = 2 * i + 1;
            int r = c + 1;
            if (r < size && less(heap[r], heap[c])) c = r;
            if (!less(heap[c], t)) break;
            heap[i] = heap[c];
            heap[i].heapIndex = i;
            i = c;
        }
        heap[i] = t;
        t.heapIndex = i;
    }
}
