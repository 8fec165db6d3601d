package io.jhv.bench;

import io.jhv.core.loop.EventLoop;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

import java.util.concurrent.TimeUnit;

/**
 * Posting a task to a running {@link EventLoop} from another thread ({@code loop.post}).
 *
 * <ul>
 *   <li>{@link #post()}: throughput of a producer streaming tasks to a busy loop (posts coalesce
 *       into few wake-ups); the producer may run at most a few thousand tasks ahead.</li>
 *   <li>{@link #postAndAwait()}: one task at a time, waiting until it has run: the hand-off
 *       latency including waking a loop that is blocked in poll.</li>
 * </ul>
 * The tasks are preallocated, so {@code -prof gc} shows what the loop's queue costs per post.
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
public class PostTaskBenchmark {
    private EventLoop loop;
    private LoopSync sync;
    private final Counter counter = new Counter();
    private final Flag flag = new Flag();

    /** Counts runs; loop thread only. */
    private static final class Counter implements Runnable {
        long runs;

        @Override
        public void run() {
            runs++;
        }
    }

    /** Marks one round trip done; written by the loop thread, read by the benchmark thread. */
    private static final class Flag implements Runnable {
        volatile long seq;

        @Override
        public void run() {
            seq = seq + 1;
        }
    }

    @Setup(Level.Trial)
    public void setup() {
        loop = EventLoop.builder().name("bench-post-loop").daemon(true).build().start();
        sync = new LoopSync(loop, 4096);
    }

    @TearDown(Level.Iteration)
    public void drain() {
        sync.drain();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        loop.close();
    }

    @Benchmark
    public void post() {
        loop.post(counter);
        sync.posted();
    }

    @Benchmark
    public long postAndAwait() {
        long before = flag.seq;
        loop.post(flag);
        while (flag.seq == before) Thread.onSpinWait();
        return before;
    }
}
