package io.jhv.core.loop;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * N event loops, one thread each (libhv's {@code EventLoopThreadPool}, muduo's sub-reactors).
 *
 * <p>Thread-safe. {@link #next()} picks a loop round-robin, or the least loaded one when built with
 * {@link Balance#LEAST_CONNECTIONS}.
 *
 * {@snippet :
 * EventLoopGroup group = EventLoopGroup.create(4).start();
 * group.next().post(() -> System.out.println("on some loop"));
 * group.shutdownGracefully(Duration.ofSeconds(5));
 * }
 */
public final class EventLoopGroup implements AutoCloseable {

    /** How {@link #next()} chooses a loop. */
    public enum Balance { ROUND_ROBIN, LEAST_CONNECTIONS }

    private final EventLoop[] loops;
    private final Balance balance;
    private final AtomicInteger index = new AtomicInteger();

    private EventLoopGroup(EventLoop[] loops, Balance balance) {
        this.loops = loops;
        this.balance = balance;
    }

    /** A group of as many loops as there are processors (not started). Any thread. */
    public static EventLoopGroup create() {
        return create(Runtime.getRuntime().availableProcessors());
    }

    /** A group of {@code n} loops (not started). Any thread. */
    public static EventLoopGroup create(int n) {
        return create(n, Balance.ROUND_ROBIN, "default");
    }

    /** A group of {@code n} loops with a balance policy and a poller kind (see {@link EventLoop.Builder#poller}). Any thread. */
    public static EventLoopGroup create(int n, Balance balance, String poller) {
        if (n < 1) throw new IllegalArgumentException("loops < 1: " + n);
        EventLoop[] loops = new EventLoop[n];
        int gid = GROUP_IDS.incrementAndGet();
        for (int i = 0; i < n; i++) loops[i] = EventLoop.builder().name("jhv-g" + gid + "-loop-" + i).poller(poller).build();
        return new EventLoopGroup(loops, balance);
    }

    /** A group over loops you built. Any thread. */
    public static EventLoopGroup of(Balance balance, EventLoop... loops) {
        if (loops.length == 0) throw new IllegalArgumentException("no loops");
        return new EventLoopGroup(loops.clone(), balance);
    }

    private static final AtomicInteger GROUP_IDS = new AtomicInteger();

    /** Starts every loop that is not running. Thread-safe. */
    public EventLoopGroup start() {
        for (EventLoop l : loops) if (!l.isRunning()) l.start();
        return this;
    }

    /** The next loop by the group's balance policy. Thread-safe. */
    public EventLoop next() {
        if (loops.length == 1) return loops[0];
        if (balance == Balance.LEAST_CONNECTIONS) {
            EventLoop best = loops[0];
            for (int i = 1; i < loops.length; i++) if (loops[i].load() < best.load()) best = loops[i];
            return best;
        }
        return loops[Math.floorMod(index.getAndIncrement(), loops.length)];
    }

    /** Thread-safe. */
    public int size() { return loops.length; }

    /** Thread-safe. */
    public EventLoop get(int i) { return loops[i]; }

    /** Thread-safe. */
    public List<EventLoop> loops() { return List.of(loops); }

    /** Stops every loop and waits up to {@code timeout} for all threads to end. Returns true if they did. */
    public boolean shutdownGracefully(Duration timeout) {
        for (EventLoop l : loops) l.stop();
        long deadline = System.nanoTime() + timeout.toNanos();
        boolean all = true;
        try {
            for (EventLoop l : loops) {
                long left = Math.max(0, deadline - System.nanoTime());
                all &= l.awaitTermination(Duration.ofNanos(left));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
        return all;
    }

    /** Thread-safe. */
    @Override
    public void close() {
        shutdownGracefully(Duration.ofSeconds(5));
    }
}
