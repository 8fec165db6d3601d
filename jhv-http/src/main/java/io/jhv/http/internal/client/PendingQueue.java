package io.jhv.http.internal.client;

/**
 * The calls waiting for a connection of one {@link Pool}, in arrival order: an intrusive doubly
 * linked list through {@link Call#qPrev}/{@link Call#qNext}, so a call that gives up (its
 * deadline, acquire timeout or cancel) leaves in O(1) wherever it is, instead of a scan of the
 * queue per expiring call, and nothing is allocated per call. The subset of
 * {@link java.util.ArrayDeque}'s methods the pool uses. Loop thread only.
 */
final class PendingQueue {
    private Call head, tail;
    private int size;

    int size() {
        return size;
    }

    void addLast(Call c) {
        assert c.queue == null : c + " waits already";
        if (c.queue != null) c.queue.remove(c); // never expected: a call waits in one queue at a time
        c.queue = this;
        c.qPrev = tail;
        c.qNext = null;
        if (tail == null) head = c; else tail.qNext = c;
        tail = c;
        size++;
    }

    Call peekFirst() {
        return head;
    }

    Call pollFirst() {
        Call c = head;
        if (c != null) remove(c);
        return c;
    }

    /** Takes {@code c} out; false if it was not in this queue. */
    boolean remove(Call c) {
        if (c.queue != this) return false;
        Call p = c.qPrev, n = c.qNext;
        if (p == null) head = n; else p.qNext = n;
        if (n == null) tail = p; else n.qPrev = p;
        c.qPrev = c.qNext = null;
        c.queue = null;
        size--;
        return true;
    }
}
