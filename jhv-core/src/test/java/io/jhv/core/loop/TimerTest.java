package io.jhv.core.loop;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.AtomicReferenceArray;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

@Timeout(30)
class TimerTest {
    private EventLoop loop;

    @BeforeEach
    void start() {
        loop = EventLoop.builder().name("jhv-timer-test").build().start();
    }

    @AfterEach
    void stop() throws InterruptedException {
        loop.stop();
        assertTrue(loop.awaitTermination(Duration.ofSeconds(5)));
    }

    private void await(CountDownLatch l) throws InterruptedException {
        assertTrue(l.await(10, TimeUnit.SECONDS), "timed out");
    }

    private <T> T onLoop(java.util.function.Supplier<T> s) throws Exception {
        CompletableFuture<T> f = new CompletableFuture<>();
        loop.post(() -> f.complete(s.get()));
        return f.get(10, TimeUnit.SECONDS);
    }

    @Test
    void timersFireInDeadlineOrder() throws Exception {
        Random rnd = new Random(42);
        int n = 60;
        long[] delays = new long[n];
        for (int i = 0; i < n; i++) delays[i] = rnd.nextInt(40); // duplicates included: those keep FIFO order
        List<Integer> fired = new ArrayList<>(); // loop-confined
        CountDownLatch all = new CountDownLatch(n);
        loop.post(() -> {
            for (int i = 0; i < n; i++) {
                int id = i;
                loop.setTimeout(delays[i], () -> { fired.add(id); all.countDown(); });
            }
        });
        await(all);
        List<Integer> expected = new ArrayList<>();
        for (int i = 0; i < n; i++) expected.add(i);
        expected.sort(Comparator.<Integer>comparingLong(i -> delays[i]).thenComparingInt(i -> i));
        assertEquals(expected, onLoop(() -> new ArrayList<>(fired)));
    }

    /** Holds the loop thread until the returned latch is counted down. */
    private CountDownLatch holdLoop() throws InterruptedException {
        CountDownLatch holding = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        loop.post(() -> {
            holding.countDown();
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        await(holding);
        return release;
    }

    private static void inThread(Runnable r) throws InterruptedException {
        Thread t = new Thread(r);
        t.start();
        t.join();
    }

    @Test
    void cancelledTimersNeverFire() throws Exception {
        int n = 2_000;
        AtomicReferenceArray<Boolean> fired = new AtomicReferenceArray<>(n);
        List<Timer> timers = new ArrayList<>();
        long t0 = System.nanoTime();
        // 1. Set from this thread and cancel from another before the loop has even added them.
        CountDownLatch release = holdLoop();
        for (int i = 0; i < n; i++) {
            int id = i;
            timers.add(loop.setTimeout(300 + i % 20, () -> fired.set(id, true)));
        }
        // 2. The first timer of the batch in which all become due cancels others of that batch.
        loop.setTimer(300, 1, EventLoop.PRIORITY_HIGHEST, () -> { for (int i = 3; i < n; i += 8) timers.get(i).cancel(); });
        inThread(() -> { for (int i = 0; i < n; i += 2) timers.get(i).cancel(); });
        release.countDown();
        assertEquals(n / 2 + 1, (int) onLoop(loop::timerCount));
        // 3. Cancel from another thread while they sit in the heap, and keep the loop busy until
        //    they are all due: the cancel must win even before its removal task has run.
        release = holdLoop();
        inThread(() -> { for (int i = 1; i < n; i += 8) timers.get(i).cancel(); });
        assertTrue(Probes.await(() -> System.nanoTime() - t0 > 330_000_000L, Duration.ofSeconds(5)));
        release.countDown();
        CountDownLatch after = new CountDownLatch(1);
        loop.setTimeout(30, after::countDown);
        await(after);
        for (int i = 0; i < n; i++) {
            boolean cancelled = i % 2 == 0 || i % 8 == 1 || i % 8 == 3;
            assertEquals(cancelled ? null : Boolean.TRUE, fired.get(i), "timer " + i);
            assertFalse(timers.get(i).isActive());
        }
        assertEquals(0, (int) onLoop(loop::timerCount));
    }

    @Test
    void resetRestartsTheCountdown() throws Exception {
        AtomicLong firedAt = new AtomicLong();
        long start = System.nanoTime();
        Timer t = loop.setTimeout(150, () -> firedAt.set(System.nanoTime()));
        CountDownLatch resetDone = new CountDownLatch(1);
        loop.setTimeout(80, () -> { t.reset(); resetDone.countDown(); });
        await(resetDone);
        assertTrue(Probes.await(() -> firedAt.get() != 0, Duration.ofSeconds(5)));
        long ms = (firedAt.get() - start) / 1_000_000;
        assertTrue(ms >= 80 + 150 - 5, "fired " + ms + " ms after start; the reset at 80 ms should delay it to ~230 ms");

        // reset(millis) with a new period, from another thread
        AtomicInteger runs = new AtomicInteger();
        Timer u = loop.setTimeout(10_000, runs::incrementAndGet);
        u.reset(20);
        assertTrue(Probes.await(() -> runs.get() == 1, Duration.ofSeconds(5)));
        assertFalse(onLoop(u::isActive));

        // A finished one-shot timer that is reset runs exactly once more (not for ever).
        u.reset(5);
        assertTrue(Probes.await(() -> runs.get() == 2, Duration.ofSeconds(5)));
        CountDownLatch later = new CountDownLatch(1);
        loop.setTimeout(60, later::countDown);
        await(later);
        assertEquals(2, runs.get());
        assertFalse(onLoop(u::isActive));

        // A cancelled timer stays cancelled when reset.
        Timer v = loop.setTimeout(10, runs::incrementAndGet);
        v.cancel();
        v.reset(5);
        CountDownLatch later2 = new CountDownLatch(1);
        loop.setTimeout(50, later2::countDown);
        await(later2);
        assertEquals(2, runs.get());
    }

    @Test
    void aTimerResetByAnotherCallbackOfTheSameBatchWaitsForItsNewDeadline() throws Exception {
        AtomicInteger bRuns = new AtomicInteger();
        AtomicReference<Timer> b = new AtomicReference<>();
        CountDownLatch set = new CountDownLatch(1);
        AtomicLong bFiredAt = new AtomicLong();
        long[] start = new long[1];
        loop.post(() -> {
            start[0] = System.nanoTime();
            // Both due at once; a runs first (earlier deadline) and resets b to 80 ms from now.
            loop.setTimeout(0, () -> b.get().reset(80));
            b.set(loop.setTimeout(0, () -> { bRuns.incrementAndGet(); bFiredAt.set(System.nanoTime()); }));
            // a few more timers so a corrupted heap would show up in their order
            for (int i = 0; i < 20; i++) loop.setTimeout(10 + i, () -> {});
            set.countDown();
        });
        await(set);
        assertTrue(Probes.await(() -> bRuns.get() == 1, Duration.ofSeconds(5)));
        assertTrue((bFiredAt.get() - start[0]) / 1_000_000 >= 75, "b ran before its new deadline");
        CountDownLatch later = new CountDownLatch(1);
        loop.setTimeout(100, later::countDown);
        await(later);
        assertEquals(1, bRuns.get(), "a reset one-shot timer runs once");
    }

    @Test
    void intervalsRepeatUntilCancelled() throws Exception {
        AtomicInteger ticks = new AtomicInteger();
        CountDownLatch five = new CountDownLatch(5);
        AtomicReference<Timer> self = new AtomicReference<>();
        self.set(loop.setInterval(10, () -> {
            if (ticks.incrementAndGet() == 5) self.get().cancel(); // cancel from its own callback
            five.countDown();
        }));
        await(five);
        CountDownLatch later = new CountDownLatch(1);
        loop.setTimeout(60, later::countDown);
        await(later);
        assertEquals(5, ticks.get());
        assertFalse(self.get().isActive());
    }

    @Test
    void setTimerRunsItsRepeatCount() throws Exception {
        AtomicInteger runs = new AtomicInteger();
        Timer t = loop.setTimer(5, 3, EventLoop.PRIORITY_NORMAL, runs::incrementAndGet);
        assertSame(loop, t.loop());
        assertTrue(Probes.await(() -> runs.get() == 3, Duration.ofSeconds(5)));
        CountDownLatch later = new CountDownLatch(1);
        loop.setTimeout(40, later::countDown);
        await(later);
        assertEquals(3, runs.get());
        assertFalse(onLoop(t::isActive));
        assertThrows(IllegalArgumentException.class, () -> loop.setTimer(5, 0, 0, () -> {}));
        assertThrows(IllegalArgumentException.class, () -> loop.setTimer(5, -2, 0, () -> {}));
        assertThrows(IllegalArgumentException.class, () -> loop.setTimeout(-1, () -> {}));
        // a huge period must not overflow into the past
        AtomicInteger never = new AtomicInteger();
        Timer huge = loop.setTimeout(Long.MAX_VALUE, never::incrementAndGet);
        CountDownLatch later2 = new CountDownLatch(1);
        loop.setTimeout(20, later2::countDown);
        await(later2);
        assertEquals(0, never.get());
        huge.cancel();
    }

    @Test
    void hundredThousandTimersAllFireAndCancelledOnesDoNot() throws Exception {
        int n = 100_000;
        Random rnd = new Random(7);
        int[] delays = new int[n];
        boolean[] cancel = new boolean[n];
        int expected = 0;
        for (int i = 0; i < n; i++) {
            delays[i] = rnd.nextInt(200);
            cancel[i] = rnd.nextInt(3) == 0;
            if (!cancel[i]) expected++;
        }
        boolean[] fired = new boolean[n]; // loop-confined
        int[] count = {0};
        long[] lastDeadline = {0};
        String[] problem = {null};
        CountDownLatch done = new CountDownLatch(1);
        int want = expected;
        loop.post(() -> {
            Timer[] timers = new Timer[n];
            for (int i = 0; i < n; i++) {
                int id = i;
                timers[i] = loop.setTimeout(delays[i], () -> {
                    long deadline = timers[id].deadline; // the loop's own deadline of this timer
                    if (fired[id] && problem[0] == null) problem[0] = "timer " + id + " fired twice";
                    fired[id] = true;
                    if (count[0] > 0 && deadline < lastDeadline[0] && problem[0] == null) {
                        problem[0] = "timer " + id + " fired " + (lastDeadline[0] - deadline) / 1_000 + " us out of deadline order";
                    }
                    lastDeadline[0] = Math.max(lastDeadline[0], deadline);
                    if (++count[0] == want) done.countDown();
                });
            }
            for (int i = 0; i < n; i++) if (cancel[i]) timers[i].cancel();
        });
        await(done);
        CountDownLatch later = new CountDownLatch(1);
        loop.setTimeout(30, later::countDown);
        await(later);
        int[] snapshot = onLoop(() -> {
            int wrong = 0;
            for (int i = 0; i < n; i++) if (fired[i] == cancel[i]) wrong++;
            return new int[] {count[0], wrong, loop.timerCount()};
        });
        assertEquals(expected, snapshot[0]);
        assertEquals(0, snapshot[1], "timers that fired although cancelled, or did not fire");
        assertEquals(0, snapshot[2]);
        assertNull(problem[0], problem[0]);
    }

    // ---------------------------------------------------------------- TimerQueue as an indexed heap

    @Test
    void timerQueueMatchesASortedModel() {
        for (long seed = 1; seed <= 20; seed++) {
            Random rnd = new Random(seed);
            TimerQueue q = new TimerQueue();
            // model: ordered by (deadline, insertion sequence), as the heap promises
            long[] seqOf = new long[1];
            java.util.Map<Timer, Long> seqs = new java.util.IdentityHashMap<>();
            TreeSet<Timer> model = new TreeSet<>(Comparator.<Timer>comparingLong(t -> t.deadline).thenComparingLong(seqs::get));
            List<Timer> inModel = new ArrayList<>();
            for (int op = 0; op < 5_000; op++) {
                int k = rnd.nextInt(10);
                if (k < 5 || model.isEmpty()) {
                    Timer t = new Timer(null, () -> {}, 0, 1, 0);
                    t.deadline = rnd.nextInt(1_000) - 500; // negative deadlines too (nanoTime may be < 0)
                    seqs.put(t, seqOf[0]++);
                    q.add(t);
                    model.add(t);
                    inModel.add(t);
                    q.add(t); // adding twice is a no-op
                } else if (k < 8) {
                    Timer t = inModel.remove(rnd.nextInt(inModel.size()));
                    q.remove(t);
                    model.remove(t);
                    assertEquals(-1, t.heapIndex);
                    q.remove(t); // removing twice is a no-op
                } else {
                    Timer polled = q.poll();
                    Timer first = model.pollFirst();
                    assertSame(first, polled, "seed " + seed + " op " + op);
                    inModel.remove(first);
                }
                assertEquals(model.size(), q.size());
                assertSame(model.isEmpty() ? null : model.first(), q.peek(), "seed " + seed + " op " + op);
            }
            while (!model.isEmpty()) assertSame(model.pollFirst(), q.poll());
            assertNull(q.poll());
            assertEquals(0, q.size());
        }
    }
}
