package io.jhv.core.loop;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Hostile review of the EventLoop split (LoopRunner, TaskQueue, LoopLifecycle, ErrorReporter, Idles,
 * ReadBuffer, LoopBridge): the lifecycle and ordering guarantees the class comment makes.
 */
@Timeout(30)
class LoopSplitReviewTest {

    /** stop() from a callback ends the loop; it can be started again (a new thread) and serves posts. */
    @Test
    void stopFromCallbackThenRestart() throws Exception {
        EventLoop loop = EventLoop.create();
        for (int round = 0; round < 3; round++) {
            loop.start();
            Thread first = loop.submit(Thread::currentThread).get(5, TimeUnit.SECONDS);
            AtomicBoolean after = new AtomicBoolean();
            loop.post(() -> {
                loop.post(() -> after.set(true)); // queued before the stop: still runs
                loop.stop();
                // a restart from the loop's own thread while it stops is refused
                assertThrows(IllegalStateException.class, loop::start);
            });
            assertTrue(loop.awaitTermination(Duration.ofSeconds(5)));
            assertTrue(loop.isTerminated());
            assertNull(loop.terminationCause());
            assertTrue(after.get(), "a task posted before stop() ran");
            assertThrows(RejectedExecutionException.class, () -> loop.post(() -> { }));
            loop.start();
            Thread second = loop.submit(Thread::currentThread).get(5, TimeUnit.SECONDS);
            assertFalse(first == second, "a restart runs on a new thread");
            assertEquals(loop, loop.submit(EventLoop::current).get(5, TimeUnit.SECONDS));
            loop.close();
            assertTrue(loop.isTerminated());
        }
    }

    /** Posts racing the end of the loop: each one either runs (exactly once) or is rejected. */
    @Test
    void postsRacingTerminationRunOrAreRejected() throws Exception {
        for (int round = 0; round < 20; round++) {
            EventLoop loop = EventLoop.create().start();
            int posters = 3;
            AtomicLong accepted = new AtomicLong(), ran = new AtomicLong();
            CountDownLatch go = new CountDownLatch(1), done = new CountDownLatch(posters);
            for (int p = 0; p < posters; p++) {
                Thread.ofPlatform().start(() -> {
                    try {
                        go.await();
                        for (;;) {
                            try {
                                loop.post(ran::incrementAndGet);
                                accepted.incrementAndGet();
                            } catch (RejectedExecutionException e) {
                                return;
                            }
                        }
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    } finally {
                        done.countDown();
                    }
                });
            }
            go.countDown();
            while (accepted.get() < 1000) Thread.onSpinWait();
            loop.stop();
            assertTrue(loop.awaitTermination(Duration.ofSeconds(10)));
            assertTrue(done.await(10, TimeUnit.SECONDS), "a poster never saw the rejection");
            assertEquals(accepted.get(), ran.get(), "round " + round + ": accepted posts that did not run (or ran twice)");
        }
    }

    /** Within one batch higher priorities run first, equal priorities in posting order; timers likewise. */
    @Test
    void prioritiesOrderABatch() throws Exception {
        try (EventLoop loop = EventLoop.create().start()) {
            List<String> order = Collections.synchronizedList(new ArrayList<>());
            CountDownLatch done = new CountDownLatch(1);
            loop.post(() -> { // all queued from the loop thread: one batch
                loop.post(EventLoop.PRIORITY_LOW, () -> order.add("low"));
                loop.post(() -> order.add("normal1"));
                loop.post(EventLoop.PRIORITY_HIGHEST, () -> order.add("highest"));
                loop.post(() -> order.add("normal2"));
                loop.post(EventLoop.PRIORITY_HIGH, () -> order.add("high"));
                loop.post(EventLoop.PRIORITY_LOWEST, done::countDown);
            });
            assertTrue(done.await(5, TimeUnit.SECONDS));
            assertEquals(List.of("highest", "high", "normal1", "normal2", "low"), order);

            List<String> timers = Collections.synchronizedList(new ArrayList<>());
            CountDownLatch fired = new CountDownLatch(3);
            loop.post(() -> {
                loop.setTimer(0, 1, EventLoop.PRIORITY_LOW, () -> { timers.add("low"); fired.countDown(); });
                loop.setTimer(0, 1, EventLoop.PRIORITY_NORMAL, () -> { timers.add("normal"); fired.countDown(); });
                loop.setTimer(0, 1, EventLoop.PRIORITY_HIGH, () -> { timers.add("high"); fired.countDown(); });
            });
            assertTrue(fired.await(5, TimeUnit.SECONDS));
            // set in one task with the same (zero) delay: due together, so one batch
            assertEquals(List.of("high", "normal", "low"), timers);
        }
    }

    /** Idle callbacks run only when an iteration had nothing else, the given number of times, and stop when cancelled. */
    @Test
    void idleCallbacksCountAndCancel() throws Exception {
        try (EventLoop loop = EventLoop.create().start()) {
            AtomicInteger three = new AtomicInteger(), forever = new AtomicInteger();
            CountDownLatch threeDone = new CountDownLatch(3);
            EventLoop.Idle limited = loop.addIdle(3, () -> { three.incrementAndGet(); threeDone.countDown(); });
            EventLoop.Idle endless = loop.addIdle(Timer.INFINITE, forever::incrementAndGet);
            assertTrue(threeDone.await(5, TimeUnit.SECONDS));
            assertTrue(Probes.await(() -> forever.get() >= 5, Duration.ofSeconds(5)), "idles run while the loop is idle");
            assertEquals(3, three.get());
            assertFalse(limited.isActive());
            assertTrue(endless.isActive());
            endless.cancel();
            loop.submit(() -> null).get(5, TimeUnit.SECONDS); // the cancel's removal has run
            int n = forever.get();
            // a few idle iterations later (idles block at most 100 ms; without idles the loop blocks)
            CountDownLatch later = new CountDownLatch(1);
            loop.setTimeout(250, later::countDown);
            assertTrue(later.await(5, TimeUnit.SECONDS));
            assertEquals(n, forever.get(), "a cancelled idle ran again");
            assertEquals(3, three.get());
        }
    }

    /** An idle that cancels itself and another from its callback: neither runs again, the loop goes on. */
    @Test
    void idleCancelledFromIdleCallback() throws Exception {
        try (EventLoop loop = EventLoop.create().start()) {
            AtomicInteger a = new AtomicInteger(), b = new AtomicInteger();
            EventLoop.Idle[] idles = new EventLoop.Idle[2];
            CountDownLatch added = new CountDownLatch(1);
            loop.post(() -> {
                idles[0] = loop.addIdle(Timer.INFINITE, () -> {
                    if (a.incrementAndGet() == 2) { idles[0].cancel(); idles[1].cancel(); }
                });
                idles[1] = loop.addIdle(Timer.INFINITE, b::incrementAndGet);
                added.countDown();
            });
            assertTrue(added.await(5, TimeUnit.SECONDS));
            assertTrue(Probes.await(() -> !idles[0].isActive(), Duration.ofSeconds(5)));
            CountDownLatch later = new CountDownLatch(1);
            loop.setTimeout(300, later::countDown);
            assertTrue(later.await(5, TimeUnit.SECONDS));
            assertEquals(2, a.get());
            assertTrue(b.get() <= 2, "cancelled idle kept running: " + b.get());
            assertEquals(1, (int) loop.submit(() -> 1).get(5, TimeUnit.SECONDS));
        }
    }
}
