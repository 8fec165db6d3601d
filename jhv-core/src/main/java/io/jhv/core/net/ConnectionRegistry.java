package io.jhv.core.net;

import java.nio.ByteBuffer;
import java.util.Collection;
import java.util.Collections;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The live connections of a {@link TcpServer} and its counters: admission against
 * {@code maxConnections}, broadcast, and closing them all with a drain deadline. Thread-safe.
 */
final class ConnectionRegistry {
    private final ConcurrentHashMap<Long, Connection> live = new ConcurrentHashMap<>();
    private final Collection<Connection> view = Collections.unmodifiableCollection(live.values());
    private final AtomicInteger count = new AtomicInteger();
    private final AtomicLong accepted = new AtomicLong();
    private final AtomicLong rejected = new AtomicLong();
    /** Set while {@link #closeAll} waits: counted down when the last connection is removed. */
    private volatile CountDownLatch allClosed;

    /** One more connection came out of accept(). */
    void countAccepted() { accepted.incrementAndGet(); }

    /** A pending connection was accepted and closed at once to drain the backlog (out of descriptors). */
    void countShed() {
        accepted.incrementAndGet();
        rejected.incrementAndGet();
    }

    /** Reserves a place for one more connection; false (and counted as rejected) above {@code max}. */
    boolean admit(int max) {
        if (count.incrementAndGet() > max) {
            count.decrementAndGet();
            rejected.incrementAndGet();
            return false;
        }
        return true;
    }

    /** Records an admitted connection. */
    void add(Connection c) { live.put(c.id(), c); }

    /** Forgets {@code c} and frees its place; once per connection (later calls do nothing). */
    void removed(Connection c) {
        if (live.remove(c.id()) != null) {
            count.decrementAndGet();
            CountDownLatch l = allClosed;
            if (l != null && live.isEmpty()) l.countDown();
        }
    }

    Collection<Connection> connections() { return view; }

    int count() { return count.get(); }

    long accepted() { return accepted.get(); }

    long rejected() { return rejected.get(); }

    /** Sends {@code bytes} to every live connection; each gets its own view, the array is only read. */
    void broadcast(byte[] bytes) {
        for (Connection c : live.values()) {
            try {
                c.write(ByteBuffer.wrap(bytes));
            } catch (IllegalStateException closing) {
                // closed between the listing and the write: skip it
            }
        }
    }

    /**
     * Closes every connection after flushing its write queue; aborts what is still open at the
     * deadline and waits up to a second more for those. Call once no more connections are added.
     */
    void closeAll(long deadlineNanos) throws InterruptedException {
        CountDownLatch all = new CountDownLatch(1);
        allClosed = all;
        if (live.isEmpty()) all.countDown();
        for (Connection c : live.values()) closeOrForget(c, false);
        if (!awaitUntil(all, deadlineNanos)) {
            for (Connection c : live.values()) closeOrForget(c, true);
            all.await(1, TimeUnit.SECONDS);
        }
    }

    /**
     * Closes (or aborts) {@code c}; if its loop has terminated, the loop's stop hooks and poller have
     * closed the socket already and only the record of it is left.
     */
    private void closeOrForget(Connection c, boolean abort) {
        try {
            if (abort) c.abort();
            else c.close();
        } catch (RejectedExecutionException loopGone) {
            removed(c);
        }
    }

    static boolean awaitUntil(CountDownLatch latch, long deadlineNanos) throws InterruptedException {
        return latch.await(Math.max(0, deadlineNanos - System.nanoTime()), TimeUnit.NANOSECONDS);
    }
}
