package io.jhv.core.loop;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Tasks posted to a terminated loop used to be kept for ever (nothing would run them); now they are
 * rejected, and tasks that got in while the loop was ending run once in its final drain.
 */
@Timeout(30)
class TerminatedLoopTest {

    @Test
    void postsToATerminatedLoopAreRejected() throws Exception {
        EventLoop loop = EventLoop.builder().name("jhv-terminated").build().start();
        Timer timer = loop.setTimeout(60_000, () -> { });
        EventLoop.Idle idle = loop.addIdle(Timer.INFINITE, () -> { });
        loop.stop();
        assertTrue(loop.awaitTermination(Duration.ofSeconds(5)));
        assertTrue(loop.isTerminated());
        Runnable task = () -> { };
        RejectedExecutionException e = assertThrows(RejectedExecutionException.class, () -> loop.post(task));
        assertTrue(e.getMessage().contains("jhv-terminated") && e.getMessage().contains("terminated"), e.getMessage());
        assertThrows(RejectedExecutionException.class, () -> loop.queueInLoop(task));
        assertThrows(RejectedExecutionException.class, () -> loop.runInLoop(task));
        assertThrows(RejectedExecutionException.class, () -> loop.execute(task));
        assertThrows(RejectedExecutionException.class, () -> loop.post(EventLoop.PRIORITY_HIGH, task));
        assertThrows(RejectedExecutionException.class, () -> loop.setTimeout(1, task));
        assertEquals(0, loop.pendingTasks(), "nothing kept");
        // Cancelling what the loop dropped is harmless.
        assertDoesNotThrow(timer::cancel);
        assertDoesNotThrow(idle::cancel);

        // Started again, it takes tasks again.
        loop.start();
        CountDownLatch ran = new CountDownLatch(1);
        loop.post(ran::countDown);
        assertTrue(ran.await(5, TimeUnit.SECONDS));
        assertFalse(loop.isTerminated());
        loop.close();
    }

    @Test
    void everyTaskPostedWhileTheLoopEndsRunsOnceOrIsRejected() throws Exception {
        for (int round = 0; round < 20; round++) {
            EventLoop loop = EventLoop.builder().name("jhv-ending-" + round).build().start();
            AtomicInteger ran = new AtomicInteger(), accepted = new AtomicInteger(), rejected = new AtomicInteger();
            CountDownLatch go = new CountDownLatch(1);
            Thread[] posters = new Thread[2];
            for (int p = 0; p < posters.length; p++) {
                posters[p] = Thread.ofPlatform().start(() -> {
                    try {
                        go.await();
                    } catch (InterruptedException e) {
                        return;
                    }
                    while (true) {
                        try {
                            loop.post(ran::incrementAndGet);
                            accepted.incrementAndGet();
                        } catch (RejectedExecutionException e) {
                            rejected.incrementAndGet();
                            return;
                        }
                    }
                });
            }
            go.countDown();
            assertTrue(Probes.await(() -> accepted.get() > 1000, Duration.ofSeconds(5)));
            loop.stop();
            for (Thread t : posters) t.join(5_000);
            assertTrue(loop.awaitTermination(Duration.ofSeconds(5)));
            assertEquals(posters.length, rejected.get(), "every poster ends up rejected");
            assertEquals(accepted.get(), ran.get(), "every accepted task ran exactly once");
            assertEquals(0, loop.pendingTasks());
        }
    }

    @Test
    void timersAndIdlesDroppedByAnEndedLoopAreNoLongerActive() throws Exception {
        EventLoop loop = EventLoop.create().start();
        Timer timer = loop.setTimeout(Duration.ofHours(1), () -> {});
        Timer interval = loop.setInterval(Duration.ofHours(1), () -> {});
        EventLoop.Idle idle = loop.addIdle(Timer.INFINITE, () -> {});
        CountDownLatch added = new CountDownLatch(1);
        loop.post(added::countDown); // after the adds (posted in order)
        assertTrue(added.await(5, TimeUnit.SECONDS));
        assertTrue(timer.isActive() && interval.isActive() && idle.isActive(), "active while the loop runs");
        loop.stop();
        assertTrue(loop.awaitTermination(Duration.ofSeconds(5)));
        assertFalse(timer.isActive(), "the loop dropped the timer: it will never run");
        assertFalse(interval.isActive(), "the loop dropped the interval");
        assertFalse(idle.isActive(), "the loop dropped the idle callback");
    }
}
