package io.jhv.core.loop;

import io.jhv.core.internal.Internals;
import io.jhv.core.internal.IoHandler;
import io.jhv.core.internal.ListenSocket;
import io.jhv.core.internal.Poller;
import io.jhv.core.internal.StreamSocket;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

@Timeout(30)
class EventLoopTest {

    private static void await(CountDownLatch l) throws InterruptedException {
        assertTrue(l.await(5, TimeUnit.SECONDS), "timed out");
    }

    private static <T> T onLoop(EventLoop loop, java.util.function.Supplier<T> s) throws Exception {
        CompletableFuture<T> f = new CompletableFuture<>();
        loop.post(() -> f.complete(s.get()));
        return f.get(5, TimeUnit.SECONDS);
    }

    @Test
    void postRunInLoopAndInLoop() throws Exception {
        try (EventLoop loop = EventLoop.create().start()) {
            assertFalse(loop.inLoop());
            List<String> order = new CopyOnWriteArrayList<>();
            CountDownLatch done = new CountDownLatch(1);
            loop.post(() -> {
                order.add("task inLoop=" + loop.inLoop());
                loop.runInLoop(() -> order.add("runInLoop runs at once"));
                loop.queueInLoop(() -> { order.add("queued runs later"); done.countDown(); });
                order.add("task ends");
            });
            await(done);
            assertEquals(List.of("task inLoop=true", "runInLoop runs at once", "task ends", "queued runs later"), order);

            // From another thread runInLoop queues; execute() is the Executor face of post().
            CompletableFuture<Boolean> viaRun = new CompletableFuture<>();
            loop.runInLoop(() -> viaRun.complete(loop.inLoop()));
            assertTrue(viaRun.get(5, TimeUnit.SECONDS));
            CompletableFuture<Boolean> viaExecutor = CompletableFuture.supplyAsync(loop::inLoop, loop);
            assertTrue(viaExecutor.get(5, TimeUnit.SECONDS));
            assertThrows(IllegalStateException.class, loop::assertInLoop);
            assertTrue(onLoop(loop, () -> { loop.assertInLoop(); return true; }));
            assertNotNull(loop.pollerName());
        }
    }

    @Test
    void higherPriorityTasksRunFirstWithinAnIteration() throws Exception {
        try (EventLoop loop = EventLoop.create().start()) {
            CountDownLatch blocked = new CountDownLatch(1);
            CountDownLatch release = new CountDownLatch(1);
            loop.post(() -> {
                blocked.countDown();
                try {
                    release.await(); // hold the loop so the posts below land in one batch
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            await(blocked);
            List<String> order = Collections.synchronizedList(new ArrayList<>());
            CountDownLatch ran = new CountDownLatch(7);
            int[] prios = {EventLoop.PRIORITY_LOW, EventLoop.PRIORITY_NORMAL, EventLoop.PRIORITY_HIGHEST,
                    EventLoop.PRIORITY_LOWEST, EventLoop.PRIORITY_HIGH, EventLoop.PRIORITY_NORMAL, EventLoop.PRIORITY_HIGHEST};
            for (int i = 0; i < prios.length; i++) {
                String tag = prios[i] + "#" + i;
                loop.post(prios[i], () -> { order.add(tag); ran.countDown(); });
            }
            release.countDown();
            await(ran);
            // Highest first; equal priorities keep their posting order.
            assertEquals(List.of("5#2", "5#6", "3#4", "0#1", "0#5", "-3#0", "-5#3"), order);
        }
    }

    @Test
    void higherPriorityTimersRunFirstWhenDueInTheSameIteration() throws Exception {
        try (EventLoop loop = EventLoop.create().start()) {
            List<String> order = Collections.synchronizedList(new ArrayList<>());
            CountDownLatch ran = new CountDownLatch(5);
            int[] prios = {EventLoop.PRIORITY_LOWEST, EventLoop.PRIORITY_NORMAL, EventLoop.PRIORITY_HIGH,
                    EventLoop.PRIORITY_NORMAL, EventLoop.PRIORITY_HIGHEST};
            loop.post(() -> {
                // 0 ms timers set in one task are all due at the next timer step of the loop.
                for (int i = 0; i < prios.length; i++) {
                    String tag = prios[i] + "#" + i;
                    loop.setTimer(0, 1, prios[i], () -> { order.add(tag); ran.countDown(); });
                }
            });
            await(ran);
            assertEquals(List.of("5#4", "3#2", "0#1", "0#3", "-5#0"), order);
        }
    }

    @Test
    void postsFromAnotherThreadAreCoalescedIntoFewWakeups() throws Exception {
        try (EventLoop loop = EventLoop.create().start()) {
            Thread t = onLoop(loop, Thread::currentThread);
            // Idle in poll for real (no timers): right after a task the loop may spin a few
            // microseconds and take a burst of posts with no wake-up at all.
            assertTrue(Probes.await(() -> inSelect(t), Duration.ofSeconds(5)), "loop never blocked in poll");
            int before = loop.wakeupCount();
            int[] count = new int[1]; // loop-confined
            int n = 10_000;
            for (int i = 0; i < n; i++) loop.post(() -> count[0]++);
            assertEquals(n, (int) onLoop(loop, () -> count[0]));
            int wakeups = loop.wakeupCount() - before;
            assertTrue(wakeups >= 1, "the idle loop must have been woken");
            assertTrue(wakeups < 1_000, "posts must share wake-ups, got " + wakeups + " for " + n + " posts");
        }
    }

    @Test
    void stopFromAnotherThreadEndsAnIdleLoopWithinOneSecond() throws Exception {
        EventLoop loop = EventLoop.create().start();
        Thread t = onLoop(loop, Thread::currentThread);
        // Wait until the loop thread is really blocked in the selector (no timer, no IO).
        assertTrue(Probes.await(() -> inSelect(t), Duration.ofSeconds(5)), "loop never blocked in poll");
        long start = System.nanoTime();
        loop.stop();
        assertTrue(loop.awaitTermination(Duration.ofSeconds(1)), "loop did not stop within 1 s");
        long ms = (System.nanoTime() - start) / 1_000_000;
        assertTrue(ms < 1_000, "stop took " + ms + " ms");
        t.join(1_000);
        assertFalse(t.isAlive());
        assertFalse(loop.isRunning());
    }

    private static boolean inSelect(Thread t) {
        for (StackTraceElement e : t.getStackTrace()) {
            String m = e.getMethodName();
            if (m.equals("doSelect") || m.equals("epollWait") || m.equals("poll") && e.getClassName().contains("Poll")) return true;
        }
        return false;
    }

    @Test
    void thousandStartStopCyclesLeakNoThreadsOrDescriptors() throws Exception {
        // Warm up once, so class loading and JDK caches do not count as leaks.
        cycle(EventLoop.builder().name("jhv-cycle-warm").build(), true);
        cycle(EventLoop.builder().name("jhv-cycle-warm-poll").poller("poll").build(), true);
        int threads0 = Probes.threads();
        int fds0 = Probes.canCountFds() ? Probes.openFds() : 0;

        for (int i = 0; i < 500; i++) {
            // new loops, alternating the epoll and the poll(2) selector
            cycle(EventLoop.builder().name("jhv-cycle-" + i).poller(i % 2 == 0 ? "default" : "poll").build(), true);
        }
        EventLoop same = EventLoop.builder().name("jhv-cycle-same").build();
        for (int i = 0; i < 500; i++) {
            // the same loop restarted; every other time start() comes before the old thread ended
            cycle(same, i % 2 == 0);
        }
        same.stop();
        assertTrue(same.awaitTermination(Duration.ofSeconds(5)));

        assertEquals(0, Probes.settle(() -> Probes.threadsNamed("jhv-cycle"), 0, Duration.ofSeconds(5)), "loop threads left");
        int threads = Probes.settle(Probes::threads, threads0, Duration.ofSeconds(5));
        assertTrue(threads <= threads0, "threads: " + threads0 + " before, " + threads + " after");
        if (Probes.canCountFds()) {
            int fds = Probes.settle(Probes::openFds, fds0, Duration.ofSeconds(5));
            assertTrue(fds <= fds0, "descriptors: " + fds0 + " before, " + fds + " after");
        }
    }

    private static void cycle(EventLoop loop, boolean awaitStop) throws Exception {
        loop.start();
        CountDownLatch ran = new CountDownLatch(1);
        loop.post(ran::countDown);
        await(ran);
        loop.stop();
        if (awaitStop) assertTrue(loop.awaitTermination(Duration.ofSeconds(5)));
    }

    @Test
    void restartAcceptsTasksAgainAndRejectsDoubleStart() throws Exception {
        EventLoop loop = EventLoop.create().start();
        assertThrows(IllegalStateException.class, loop::start);
        loop.stop();
        loop.start(); // waits for the old thread, then runs again
        assertTrue(onLoop(loop, loop::inLoop));
        loop.stop();
        assertTrue(loop.awaitTermination(Duration.ofSeconds(5)));
        CountDownLatch ran = new CountDownLatch(1);
        // terminated: nothing would ever run the task (see TerminatedLoopTest)
        assertThrows(java.util.concurrent.RejectedExecutionException.class, () -> loop.post(ran::countDown));
        loop.start();
        loop.post(ran::countDown); // running again: accepted
        await(ran);
        loop.close();
        assertFalse(loop.isRunning());
    }

    @Test
    void tasksPostedBeforeStopStillRun() throws Exception {
        EventLoop loop = EventLoop.create().start();
        CountDownLatch hold = new CountDownLatch(1);
        loop.post(() -> {
            try {
                hold.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        AtomicInteger ran = new AtomicInteger();
        for (int i = 0; i < 100; i++) loop.post(ran::incrementAndGet);
        loop.stop();
        hold.countDown();
        assertTrue(loop.awaitTermination(Duration.ofSeconds(5)));
        assertEquals(100, ran.get());
    }

    @Test
    void throwingCallbacksAreReportedAndTheLoopGoesOn() throws Exception {
        List<Throwable> errors = new CopyOnWriteArrayList<>();
        AtomicReference<Thread> reportedOn = new AtomicReference<>();
        try (EventLoop loop = EventLoop.builder().errorHandler((t, e) -> { reportedOn.set(t); errors.add(e); }).build().start()) {
            Thread loopThread = onLoop(loop, Thread::currentThread);
            loop.post(() -> { throw new IllegalStateException("from a task"); });
            loop.setTimeout(1, () -> { throw new IllegalStateException("from a timer"); });
            loop.addIdle(1, () -> { throw new IllegalStateException("from an idle"); });

            // An IO handler that throws (registered through the poller as transports do).
            ListenSocket listener = Internals.loops().transport(loop).openListener();
            try {
                listener.bind(new InetSocketAddress("127.0.0.1", 0), 8);
                CountDownLatch registered = new CountDownLatch(1);
                loop.post(() -> {
                    try {
                        IoHandler h = ops -> {
                            try {
                                StreamSocket s = listener.accept();
                                if (s != null) s.close();
                            } catch (java.io.IOException e) {
                                throw new java.io.UncheckedIOException(e);
                            }
                            throw new IllegalStateException("from an IO handler");
                        };
                        Internals.loops().poller(loop).register(listener, Poller.ACCEPT, h);
                    } catch (java.io.IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                    registered.countDown();
                });
                await(registered);
                try (java.net.Socket client = new java.net.Socket("127.0.0.1", ((InetSocketAddress) listener.localAddress()).getPort())) {
                    assertTrue(Probes.await(() -> errors.size() >= 4, Duration.ofSeconds(5)), "reported: " + errors);
                }
                List<String> messages = new ArrayList<>();
                for (Throwable e : errors) messages.add(e.getMessage());
                assertTrue(messages.containsAll(List.of("from a task", "from a timer", "from an idle", "from an IO handler")), messages.toString());
                assertSame(loopThread, reportedOn.get());
                assertTrue(loop.isRunning());
                assertEquals(42, (int) onLoop(loop, () -> 42));
            } finally {
                listener.close();
            }
        }
    }

    @Test
    void idleCallbacksRunWithARepeatCount() throws Exception {
        try (EventLoop loop = EventLoop.create().start()) {
            AtomicInteger three = new AtomicInteger();
            AtomicInteger forever = new AtomicInteger();
            loop.addIdle(3, three::incrementAndGet);
            EventLoop.Idle idle = loop.addIdle(Timer.INFINITE, forever::incrementAndGet);
            assertTrue(Probes.await(() -> three.get() == 3 && forever.get() >= 5, Duration.ofSeconds(5)));
            idle.cancel();
            assertFalse(idle.isActive());
            int afterCancel = onLoop(loop, forever::get);
            // Idle iterations keep happening (the loop polls at most 100 ms while idles exist, and
            // none are left now, so it blocks): give them a moment and check nothing more ran.
            loop.setTimeout(250, () -> {});
            CountDownLatch later = new CountDownLatch(1);
            loop.setTimeout(300, later::countDown);
            await(later);
            assertEquals(3, three.get());
            assertEquals(afterCancel, forever.get());
            assertThrows(IllegalArgumentException.class, () -> loop.addIdle(0, () -> {}));
        }
    }

    @Test
    void anIdleCallbackMayCancelAnotherWhileTheLoopWalksTheList() throws Exception {
        try (EventLoop loop = EventLoop.create().start()) {
            AtomicInteger a = new AtomicInteger(), b = new AtomicInteger(), c = new AtomicInteger();
            AtomicReference<EventLoop.Idle> bRef = new AtomicReference<>();
            CountDownLatch added = new CountDownLatch(1);
            loop.post(() -> {
                loop.addIdle(Timer.INFINITE, () -> { a.incrementAndGet(); bRef.get().cancel(); });
                bRef.set(loop.addIdle(Timer.INFINITE, b::incrementAndGet));
                loop.addIdle(Timer.INFINITE, c::incrementAndGet);
                added.countDown();
            });
            await(added);
            assertTrue(Probes.await(() -> c.get() >= 3, Duration.ofSeconds(5)));
            assertEquals(0, b.get(), "cancelled before its turn in the first idle round");
            assertTrue(a.get() >= 3);
        }
    }

    @Test
    void anInterruptedLoopThreadDoesNotSpin() throws Exception {
        try (EventLoop loop = EventLoop.create().start()) {
            Thread t = onLoop(loop, Thread::currentThread);
            t.interrupt();
            assertEquals(7, (int) onLoop(loop, () -> 7));
            long before = onLoop(loop, loop::iterations);
            CountDownLatch later = new CountDownLatch(1);
            loop.setTimeout(200, later::countDown);
            await(later);
            long iterations = onLoop(loop, loop::iterations) - before;
            assertTrue(iterations < 50, "the loop spun: " + iterations + " iterations in 200 ms");
        }
    }

    @Test
    void pollerKindsAreSelectable() throws Exception {
        for (String kind : List.of("default", "poll")) {
            try (EventLoop loop = EventLoop.builder().poller(kind).build().start()) {
                assertEquals(kind.equals("poll") ? "poll" : "epoll", loop.pollerName());
                assertTrue(onLoop(loop, () -> true));
            }
        }
        int before = Probes.threadsNamed("jhv-bogus");
        EventLoop bogus = EventLoop.builder().name("jhv-bogus").poller("kqueue-on-linux").build();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, bogus::start);
        assertTrue(e.getMessage().contains("unknown poller"), e.getMessage());
        assertFalse(bogus.isRunning());
        assertEquals(before, Probes.threadsNamed("jhv-bogus"));
    }

    @Test
    void groupBalancesAndShutsDown() throws Exception {
        EventLoopGroup rr = EventLoopGroup.create(3).start();
        try {
            assertSame(rr.get(0), rr.next());
            assertSame(rr.get(1), rr.next());
            assertSame(rr.get(2), rr.next());
            assertSame(rr.get(0), rr.next());
        } finally {
            assertTrue(rr.shutdownGracefully(Duration.ofSeconds(5)));
        }
        for (EventLoop l : rr.loops()) assertFalse(l.isRunning());

        EventLoopGroup lc = EventLoopGroup.create(3, EventLoopGroup.Balance.LEAST_CONNECTIONS, "default").start();
        try {
            lc.get(0).addLoad(2);
            lc.get(1).addLoad(1);
            lc.get(2).addLoad(3);
            assertSame(lc.get(1), lc.next());
        } finally {
            assertTrue(lc.shutdownGracefully(Duration.ofSeconds(5)));
        }
    }

    @Test
    void currentIsTheCallingLoopOrNull() throws Exception {
        assertEquals(null, EventLoop.current());
        try (EventLoop a = EventLoop.create().start(); EventLoop b = EventLoop.create().start()) {
            assertSame(a, a.submit(EventLoop::current).get(5, TimeUnit.SECONDS));
            assertSame(b, b.submit(EventLoop::current).get(5, TimeUnit.SECONDS));
            // A virtual thread started from a loop callback is not that loop.
            CompletableFuture<EventLoop> fromOther = new CompletableFuture<>();
            a.post(() -> Thread.ofVirtual().start(() -> fromOther.complete(EventLoop.current())));
            assertEquals(null, fromOther.get(5, TimeUnit.SECONDS));
        }
    }

    @Test
    void submitCompletesWithTheResultOrTheFailureOnTheLoop() throws Exception {
        try (EventLoop loop = EventLoop.create().start()) {
            assertEquals("on loop", loop.submit(() -> loop.inLoop() ? "on loop" : "elsewhere").get(5, TimeUnit.SECONDS));
            CompletableFuture<Object> failing = loop.submit(() -> { throw new IllegalStateException("boom"); });
            java.util.concurrent.ExecutionException e =
                    assertThrows(java.util.concurrent.ExecutionException.class, () -> failing.get(5, TimeUnit.SECONDS));
            assertEquals("boom", e.getCause().getMessage());
            // Submitted from the loop itself: queued, never run inline.
            AtomicReference<String> order = new AtomicReference<>("");
            loop.submit(() -> {
                CompletableFuture<Void> inner = loop.submit(() -> { order.updateAndGet(o -> o + "inner "); return null; });
                order.updateAndGet(o -> o + "outer ");
                return inner;
            }).get(5, TimeUnit.SECONDS).get(5, TimeUnit.SECONDS);
            assertEquals("outer inner ", order.get());
        }
        EventLoop stopped = EventLoop.create().start();
        stopped.stop();
        assertTrue(stopped.awaitTermination(Duration.ofSeconds(5)));
        assertThrows(java.util.concurrent.RejectedExecutionException.class, () -> stopped.submit(() -> 1));
    }

    @Test
    void scheduleRunsAfterTheDelayAndCancelStopsTheTimer() throws Exception {
        try (EventLoop loop = EventLoop.create().start()) {
            long t0 = System.nanoTime();
            assertEquals(42, loop.schedule(Duration.ofMillis(50), () -> 42).get(5, TimeUnit.SECONDS));
            assertTrue(System.nanoTime() - t0 >= TimeUnit.MILLISECONDS.toNanos(50), "ran before its delay");

            AtomicInteger ran = new AtomicInteger();
            CompletableFuture<Integer> cancelled = loop.schedule(Duration.ofMillis(100), ran::incrementAndGet);
            assertTrue(cancelled.cancel(false));
            assertEquals(0, (int) onLoop(loop, loop::timerCount), "the cancelled timer is gone");
            // A later timer proves the loop moved past the cancelled one's deadline.
            loop.schedule(Duration.ofMillis(150), () -> null).get(5, TimeUnit.SECONDS);
            assertEquals(0, ran.get());
        }
    }
}
