package io.jhv.bench;

import io.jhv.core.loop.EventLoop;
import io.jhv.core.loop.Timer;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Adding and cancelling a timer on a running {@link EventLoop}: what a connection pays to arm and
 * disarm a read/keepalive timeout.
 *
 * <ul>
 *   <li>{@link #addCancelOnLoop()}: on the loop thread, as connections do it ({@code setTimeout}
 *       then {@code cancel}); one op is one add plus one cancel, measured over a batch run by one
 *       posted task, so the cross-thread hand-off is amortised away.</li>
 *   <li>{@link #addCancelFromOtherThread()}: the same calls from a foreign thread, each of which
 *       posts a task to the loop.</li>
 * </ul>
 * {@code pending} timers with a one-hour deadline sit in the queue the whole time, so the cost of
 * the timer structure at that size shows.
 *
 * <p>The benchmark thread and the loop thread each want a core; this machine has two.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"-Xms512m", "-Xmx512m"})
@Threads(1)
public class TimerBenchmark {
    static final int BATCH = 1024;
    private static final long HOUR_MS = 3_600_000L;
    private static final Runnable NOOP = () -> { };

    @Param({"0", "10000"})
    public int pending;

    private EventLoop loop;
    private LoopSync sync;
    private AddCancelBatch batch;

    /** Runs BATCH add+cancel pairs on the loop thread, then marks itself done. */
    private static final class AddCancelBatch implements Runnable {
        final EventLoop loop;
        volatile long done; // written by the loop thread only

        AddCancelBatch(EventLoop loop) {
            this.loop = loop;
        }

        @Override
        public void run() {
            for (int i = 0; i < BATCH; i++) {
                Timer t = loop.setTimeout(HOUR_MS, NOOP);
                t.cancel();
            }
            done = done + 1;
        }
    }

    @Setup(Level.Trial)
    public void setup() throws InterruptedException {
        loop = EventLoop.builder().name("bench-timer-loop").daemon(true).build().start();
        sync = new LoopSync(loop, 4096);
        batch = new AddCancelBatch(loop);
        CountDownLatch filled = new CountDownLatch(1);
        loop.post(() -> {
            for (int i = 0; i < pending; i++) loop.setTimeout(HOUR_MS + i, NOOP);
            filled.countDown();
        });
        if (!filled.await(30, TimeUnit.SECONDS)) throw new IllegalStateException("loop did not fill the timer queue");
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        loop.close();
    }

    @Benchmark
    @OperationsPerInvocation(BATCH)
    public long addCancelOnLoop() {
        long before = batch.done;
        loop.post(batch);
        while (batch.done == before) Thread.onSpinWait();
        return before;
    }

    @Benchmark
    public Timer addCancelFromOtherThread() {
        Timer t = loop.setTimeout(HOUR_MS, NOOP);
        t.cancel();
        sync.posted();
        return t;
    }
}
