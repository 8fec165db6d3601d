package io.jhv.testing;

import io.jhv.core.loop.EventLoop;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.condition.EnabledIf;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.platform.launcher.Launcher;
import org.junit.platform.launcher.LauncherDiscoveryRequest;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;
import org.junit.platform.launcher.listeners.SummaryGeneratingListener;
import org.junit.platform.launcher.listeners.TestExecutionSummary;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;

/**
 * LeakCheck itself: fixture tests that leak (a loop thread, a plain thread, a socket, a callback
 * that throws) run through the JUnit launcher and must fail with a LeakCheck message; the same
 * shapes that clean up must pass. The fixtures run only from here ({@link #running}); what they
 * leak is cleaned up afterwards so that this test's own LeakCheck stays green.
 */
@Timeout(60)
class LeakCheckTest {
    private static volatile boolean running;
    static final List<AutoCloseable> LEFT = new ArrayList<>();

    /** For the fixtures' {@code @EnabledIf}: they run only inside {@link #run}. */
    static boolean running() { return running; }

    @AfterEach
    void cleanUp() throws Exception {
        synchronized (LEFT) {
            for (AutoCloseable c : LEFT) c.close();
            LEFT.clear();
        }
    }

    private static TestExecutionSummary run(Class<?> fixture) {
        LauncherDiscoveryRequest request = LauncherDiscoveryRequestBuilder.request()
                .selectors(selectClass(fixture))
                .configurationParameter("jhv.leakcheck.graceMillis", "300")
                .configurationParameter("junit.jupiter.extensions.autodetection.enabled", "false")
                .build();
        Launcher launcher = LauncherFactory.create();
        SummaryGeneratingListener listener = new SummaryGeneratingListener();
        running = true;
        try {
            launcher.execute(request, listener);
        } finally {
            running = false;
        }
        return listener.getSummary();
    }

    private static String failures(TestExecutionSummary s) {
        StringBuilder sb = new StringBuilder();
        for (TestExecutionSummary.Failure f : s.getFailures()) sb.append(f.getTestIdentifier().getDisplayName()).append(": ").append(f.getException().getMessage()).append('\n');
        return sb.toString();
    }

    private static void assertLeakFailure(Class<?> fixture, String expected) {
        TestExecutionSummary s = run(fixture);
        assertEquals(1, s.getTestsSucceededCount() + s.getTestsFailedCount(), "one fixture test ran: " + failures(s));
        String msg = failures(s);
        assertEquals(1, s.getTestsFailedCount(), "the leaking test must fail: " + msg);
        assertTrue(s.getTotalFailureCount() <= 2, "the test, and its class (which the leak outlived), fail: " + msg);
        assertTrue(msg.contains("LeakCheck") && msg.contains(expected), msg);
    }

    // ---------------------------------------------------------------- fixtures

    @ExtendWith(LeakCheck.class)
    @EnabledIf("io.jhv.testing.LeakCheckTest#running")
    static class LeaksALoop {
        @Test
        void leaks() {
            EventLoop loop = EventLoop.builder().name("leaked-loop").daemon(true).build().start();
            synchronized (LEFT) { LEFT.add(loop); }
        }
    }

    @ExtendWith(LeakCheck.class)
    @EnabledIf("io.jhv.testing.LeakCheckTest#running")
    static class LeaksAThread {
        @Test
        void leaks() {
            CountDownLatch done = new CountDownLatch(1);
            Thread t = new Thread(() -> {
                try {
                    done.await();
                } catch (InterruptedException ignored) {
                    // end
                }
            }, "leaked-thread");
            t.start();
            synchronized (LEFT) { LEFT.add(() -> { done.countDown(); t.join(); }); }
        }
    }

    @ExtendWith(LeakCheck.class)
    @EnabledIf("io.jhv.testing.LeakCheckTest#running")
    static class LeaksASocket {
        @Test
        void leaks() throws IOException {
            ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
            ServerSocket s2 = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
            ServerSocket s3 = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
            synchronized (LEFT) { LEFT.add(s); LEFT.add(s2); LEFT.add(s3); }
        }
    }

    @ExtendWith(LeakCheck.class)
    @EnabledIf("io.jhv.testing.LeakCheckTest#running")
    static class AForgottenEmbeddedConnection {
        @Test
        void leaks() {
            EmbeddedConnection ec = EmbeddedConnection.open(() -> (conn, in) -> in.skip(in.readableBytes()));
            synchronized (LEFT) { LEFT.add(ec); }
        }
    }

    @ExtendWith(LeakCheck.class)
    @EnabledIf("io.jhv.testing.LeakCheckTest#running")
    static class ACallbackThrows {
        @Test
        void throwsOnTheLoop() throws Exception {
            try (EventLoop loop = EventLoop.builder().name("throwing-loop").build().start()) {
                CountDownLatch ran = new CountDownLatch(1);
                loop.post(() -> {
                    ran.countDown();
                    assertEquals(1, 2, "an assertion inside a loop callback");
                });
                assertTrue(ran.await(5, TimeUnit.SECONDS));
            }
        }
    }

    @ExtendWith(LeakCheck.class)
    @EnabledIf("io.jhv.testing.LeakCheckTest#running")
    @LeakCheck.Allow(threads = true, errors = true, fds = true, reason = "the opt-out is honoured")
    static class AllowedLeaks {
        @Test
        void leaks() throws IOException {
            EventLoop loop = EventLoop.builder().name("allowed-loop").daemon(true).build().start();
            ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
            synchronized (LEFT) { LEFT.add(loop); LEFT.add(s); }
            loop.post(() -> { throw new IllegalStateException("allowed"); });
        }
    }

    @ExtendWith(LeakCheck.class)
    @EnabledIf("io.jhv.testing.LeakCheckTest#running")
    static class Clean {
        @Test
        void cleansUp() throws Exception {
            try (EventLoop loop = EventLoop.builder().name("clean-loop").build().start();
                 ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
                 EmbeddedConnection ec = EmbeddedConnection.open(() -> (conn, in) -> conn.write(in.readBytes()))) {
                ec.writeInbound("x");
                assertEquals("x", ec.readOutboundString());
                Thread t = new Thread(() -> { }, "short-lived");
                t.start();
                assertTrue(loop.isRunning() && s.isBound());
            }
            // Loop threads end a moment after close(): the grace period covers it without a sleep here.
        }
    }

    // ---------------------------------------------------------------- the tests

    @Test
    void aLeakedLoopThreadFailsTheTest() {
        assertLeakFailure(LeaksALoop.class, "leaked-loop (jhv loop, daemon)");
    }

    @Test
    void aLeakedNonDaemonThreadFailsTheTest() {
        assertLeakFailure(LeaksAThread.class, "leaked-thread (non-daemon)");
    }

    @Test
    void leakedDescriptorsFailTheTest() {
        org.junit.jupiter.api.Assumptions.assumeTrue(LeakCheck.openFds() != null, "no /proc/self/fd here");
        assertLeakFailure(LeaksASocket.class, "more descriptors open than before");
    }

    @Test
    void aForgottenEmbeddedConnectionFailsTheTest() {
        assertLeakFailure(AForgottenEmbeddedConnection.class, "jhv-embedded-");
    }

    @Test
    @LeakCheck.Allow(errors = true, reason = "the fixture's loop failure is reported in this test's window too")
    void anAssertionFailingInALoopCallbackFailsTheTest() {
        assertLeakFailure(ACallbackThrows.class, "an assertion inside a loop callback");
    }

    @Test
    @LeakCheck.Allow(errors = true, reason = "the fixture's loop failure is reported in this test's window too")
    void allowLetsATestKeepWhatItNames() {
        TestExecutionSummary s = run(AllowedLeaks.class);
        assertEquals(1, s.getTestsSucceededCount(), failures(s));
        assertEquals(0, s.getTotalFailureCount(), failures(s));
    }

    @Test
    void aTestThatCleansUpPasses() {
        TestExecutionSummary s = run(Clean.class);
        assertEquals(1, s.getTestsSucceededCount(), failures(s));
        assertEquals(0, s.getTotalFailureCount(), failures(s));
    }
}
