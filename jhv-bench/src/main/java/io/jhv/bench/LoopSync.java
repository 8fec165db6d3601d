package io.jhv.bench;

import io.jhv.core.loop.EventLoop;

/**
 * Bounds how far a benchmark thread may run ahead of an {@link EventLoop} it posts to.
 *
 * <p>Without a bound a producer that posts faster than the loop drains would grow the loop's queue
 * without limit and measure the garbage collector. Every {@code window} posts the producer posts a
 * marker and waits until the marker before the previous one has run, so at most about two windows
 * are queued. Thread contract: {@link #posted()} is called by one producer thread; the marker runs on
 * the loop thread.
 */
final class LoopSync implements Runnable {
    private final EventLoop loop;
    private final int window;
    private long sent;
    private long markersPosted;
    private volatile long markersRun; // written by the loop thread only

    LoopSync(EventLoop loop, int window) {
        this.loop = loop;
        this.window = window;
    }

    /** Counts one post; every {@code window} posts, posts a marker and waits for the one before. */
    void posted() {
        if (++sent % window != 0) return;
        loop.post(this);
        markersPosted++;
        while (markersRun < markersPosted - 1) Thread.onSpinWait();
    }

    /** Waits until everything posted so far has run. */
    void drain() {
        loop.post(this);
        markersPosted++;
        while (markersRun < markersPosted) Thread.onSpinWait();
    }

    @Override
    public void run() {
        markersRun = markersRun + 1; // single writer: the loop thread
    }
}
