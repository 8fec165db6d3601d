package io.jhv.testing;

import io.jhv.core.internal.LoopErrors;
import io.jhv.core.loop.EventLoop;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Inherited;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import java.lang.reflect.AnnotatedElement;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;

/**
 * A JUnit 5 extension that fails a test, or a test class, which leaves something behind:
 * <ul>
 * <li><b>errors</b>: a jhv loop without an error handler of its own reported a failure (a callback
 *     threw: an assertion in an {@code onMessage}, an NPE in a handler) while the test ran. Such
 *     failures are otherwise only a log line; a test that provokes them on purpose opts out;</li>
 * <li><b>threads</b>: jhv loop threads, or other non-daemon threads, that the test started and that
 *     are still alive after a grace period (polled, so a clean test pays nothing). The JDK's own
 *     threads (the cleaner, the fork-join pools, virtual-thread carriers, the HTTP client's) are
 *     daemon threads or listed in {@link #IGNORED_THREADS};</li>
 * <li><b>descriptors</b>: more descriptors open in {@code /proc/self/fd} than before, beyond a small
 *     tolerance, after the same grace period (skipped where {@code /proc} is absent). Class-path
 *     JARs and the JDK's own files (opened once, lazily) do not count.</li>
 * </ul>
 * Each test is checked from before its {@code @BeforeEach} methods to after its {@code @AfterEach}
 * methods, and each class from before its {@code @BeforeAll} to after its {@code @AfterAll}: a
 * server a class shares from {@code @BeforeAll} is fine as long as {@code @AfterAll} closes it.
 *
 * <p>Use it with {@code @ExtendWith(LeakCheck.class)}, or for every test of a module with JUnit's
 * extension auto-detection: {@code src/test/resources/META-INF/services/org.junit.jupiter.api.extension.Extension}
 * listing {@code io.jhv.testing.LeakCheck}, and {@code junit.jupiter.extensions.autodetection.enabled=true}
 * in {@code src/test/resources/junit-platform.properties} (the jhv modules do this).
 *
 * <p>Opting out, with a reason: {@link Allow @LeakCheck.Allow(threads = true)} on a test class or
 * method, or, without touching the test, a configuration parameter (junit-platform.properties or a
 * system property) {@code jhv.leakcheck.allow.<class name>[#<method name>]=threads,fds,errors}.
 * Other parameters: {@code jhv.leakcheck.enabled} (default true), {@code jhv.leakcheck.graceMillis}
 * (how long leftovers may take to go away, default 5000), {@code jhv.leakcheck.fdTolerance}
 * (default 2).
 *
 * <p>Thread contract: JUnit calls it on the test's thread; tests run one at a time (the checks see
 * the whole process, so they do not attribute leaks correctly under parallel execution: turn the
 * extension off there).
 */
public final class LeakCheck implements BeforeAllCallback, AfterAllCallback, BeforeEachCallback, AfterEachCallback {

    /**
     * Lets a test class or method keep what it names: a thread it deliberately leaves running (a
     * server shared by every test of the JVM), descriptors, or loop failures it provokes on purpose.
     * Say why in {@link #reason()}.
     */
    @Documented
    @Inherited
    @Retention(RetentionPolicy.RUNTIME)
    @Target({ElementType.TYPE, ElementType.METHOD})
    public @interface Allow {
        /** Threads may outlive the test. */
        boolean threads() default false;

        /** Descriptors may outlive the test. */
        boolean fds() default false;

        /** Loops may report unhandled failures. */
        boolean errors() default false;

        /** Why (for the reader). */
        String reason() default "";
    }

    /**
     * Name prefixes of threads never counted as leaks (the JDK's and the test runner's own threads,
     * most of them daemons anyway). Extend with {@code jhv.leakcheck.ignoreThreads=prefix1,prefix2}.
     */
    public static final List<String> IGNORED_THREADS = List.of(
            "Common-Cleaner", "ForkJoinPool", "HttpClient-", "Reference Handler", "Finalizer",
            "Signal Dispatcher", "Attach Listener", "DestroyJavaVM", "process reaper", "Notification Thread",
            "surefire-", "junit-", "JFR ", "Keep-Alive-", "InnocuousThread", "VirtualThread-unparker",
            "Read-Poller", "Write-Poller", "jdk.internal", "Jazzer");

    private static final String LOOP_THREAD_CLASS = "io.jhv.core.loop.EventLoop$LoopThread";
    private static final Path FDS = Path.of("/proc/self/fd");
    private static final ExtensionContext.Namespace NS = ExtensionContext.Namespace.create(LeakCheck.class);
    private static final int KEEP_ERRORS = 16;

    // Unhandled loop failures, process-wide: a count and the last few (for the message).
    private static final Object ERRORS_LOCK = new Object();
    private static long errorCount;                                              // guarded by ERRORS_LOCK
    private static final ArrayDeque<Reported> LAST_ERRORS = new ArrayDeque<>(); // guarded by ERRORS_LOCK

    static {
        LoopErrors.addListener(LeakCheck::record);
    }

    private record Reported(long seq, String loop, String thread, Throwable error) {}

    /** What was there before: threads, descriptors, the error count. */
    private record Snapshot(Set<Thread> threads, Map<String, Integer> fds, long errors) {}

    /** Public for the service loader (auto-detection) and {@code @ExtendWith}. */
    public LeakCheck() {}

    private static void record(EventLoop loop, Throwable t) {
        synchronized (ERRORS_LOCK) {
            long seq = errorCount++;
            if (LAST_ERRORS.size() == KEEP_ERRORS) LAST_ERRORS.removeFirst();
            LAST_ERRORS.addLast(new Reported(seq, String.valueOf(loop), Thread.currentThread().getName(), t));
        }
    }

    @Override
    public void beforeAll(ExtensionContext context) {
        if (enabled(context)) context.getStore(NS).put("class", snapshot());
    }

    @Override
    public void beforeEach(ExtensionContext context) {
        if (enabled(context)) context.getStore(NS).put("test", snapshot());
    }

    @Override
    public void afterEach(ExtensionContext context) {
        Snapshot before = context.getStore(NS).remove("test", Snapshot.class);
        if (before == null) return;
        try {
            check(context, before, "test " + context.getDisplayName(), 0);
        } finally {
            // The class's check leaves out what its tests' checks already covered.
            Optional<ExtensionContext> parent = context.getParent();
            if (parent.isPresent()) {
                long[] covered = parent.get().getStore(NS).getOrComputeIfAbsent("covered", k -> new long[1], long[].class);
                synchronized (ERRORS_LOCK) {
                    covered[0] += errorCount - before.errors;
                }
            }
        }
    }

    @Override
    public void afterAll(ExtensionContext context) {
        Snapshot before = context.getStore(NS).remove("class", Snapshot.class);
        if (before == null) return;
        long[] covered = context.getStore(NS).remove("covered", long[].class);
        check(context, before, "class " + context.getDisplayName() + " (outside its tests)", covered == null ? 0 : covered[0]);
    }

    private static boolean enabled(ExtensionContext context) {
        return context.getConfigurationParameter("jhv.leakcheck.enabled").map(Boolean::parseBoolean).orElse(true);
    }

    // ---------------------------------------------------------------- the check

    private static void check(ExtensionContext context, Snapshot before, String what, long errorsCovered) {
        Allowed allowed = allowed(context);
        long grace = context.getConfigurationParameter("jhv.leakcheck.graceMillis").map(Long::parseLong).orElse(5_000L);
        int tolerance = context.getConfigurationParameter("jhv.leakcheck.fdTolerance").map(Integer::parseInt).orElse(2);
        List<String> ignored = new ArrayList<>(IGNORED_THREADS);
        context.getConfigurationParameter("jhv.leakcheck.ignoreThreads").ifPresent(s -> {
            for (String p : s.split(",")) if (!p.isBlank()) ignored.add(p.strip());
        });
        long deadline = System.nanoTime() + grace * 1_000_000L;
        List<String> problems = new ArrayList<>();

        if (!allowed.threads) {
            List<Thread> left = pollUntilEmpty(() -> leakedThreads(before.threads, ignored), deadline);
            if (!left.isEmpty()) problems.add(describeThreads(left, grace));
        }
        if (!allowed.fds && before.fds != null) {
            int[] now = new int[1];
            Map<String, Integer> after = pollUntil(() -> openFds(), m -> (now[0] = total(m)) <= total(before.fds) + tolerance, deadline);
            if (after != null && now[0] > total(before.fds) + tolerance) {
                problems.add((now[0] - total(before.fds)) + " more descriptors open than before (tolerance " + tolerance
                        + ", after " + grace + " ms): new " + difference(after, before.fds));
            }
        }
        if (!allowed.errors) {
            String errors = errorsSince(before.errors, errorsCovered);
            if (errors != null) problems.add(errors);
        }
        if (!problems.isEmpty()) {
            // (suppressed: the loop failures seen in this window, for their stack traces)
            AssertionError e = new AssertionError("LeakCheck: the " + what + " left something behind:\n  - "
                    + String.join("\n  - ", problems)
                    + "\n(@LeakCheck.Allow or jhv.leakcheck.allow." + context.getRequiredTestClass().getName()
                    + context.getTestMethod().map(m -> "#" + m.getName()).orElse("") + "=threads,fds,errors opts out, with a reason)");
            synchronized (ERRORS_LOCK) {
                for (Reported r : LAST_ERRORS) if (r.seq >= before.errors && printable(r.error)) e.addSuppressed(r.error);
            }
            throw e;
        }
    }

    private static Snapshot snapshot() {
        Set<Thread> threads = Collections.newSetFromMap(new IdentityHashMap<>());
        threads.addAll(Thread.getAllStackTraces().keySet());
        long errors;
        synchronized (ERRORS_LOCK) {
            errors = errorCount;
        }
        return new Snapshot(threads, openFds(), errors);
    }

    private record Allowed(boolean threads, boolean fds, boolean errors) {}

    private static Allowed allowed(ExtensionContext context) {
        boolean threads = false, fds = false, errors = false;
        List<AnnotatedElement> places = new ArrayList<>();
        context.getTestMethod().ifPresent(places::add);
        for (Class<?> c = context.getRequiredTestClass(); c != null; c = c.getEnclosingClass()) places.add(c);
        for (AnnotatedElement e : places) {
            Allow a = e.getAnnotation(Allow.class);
            if (a == null) continue;
            threads |= a.threads();
            fds |= a.fds();
            errors |= a.errors();
        }
        List<String> keys = new ArrayList<>();
        for (Class<?> c = context.getRequiredTestClass(); c != null; c = c.getEnclosingClass()) keys.add(c.getName());
        context.getTestMethod().ifPresent(m -> keys.add(m.getDeclaringClass().getName() + "#" + m.getName()));
        for (String key : keys) {
            Optional<String> v = context.getConfigurationParameter("jhv.leakcheck.allow." + key);
            if (v.isEmpty()) continue;
            for (String kind : v.get().split(",")) {
                switch (kind.strip()) {
                    case "threads" -> threads = true;
                    case "fds" -> fds = true;
                    case "errors" -> errors = true;
                    case "all" -> threads = fds = errors = true;
                    default -> throw new IllegalArgumentException("jhv.leakcheck.allow." + key + ": unknown kind '" + kind
                            + "' (threads, fds, errors, all)");
                }
            }
        }
        return new Allowed(threads, fds, errors);
    }

    // ---------------------------------------------------------------- threads

    private static List<Thread> leakedThreads(Set<Thread> before, List<String> ignored) {
        List<Thread> left = new ArrayList<>();
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            if (before.contains(t) || !t.isAlive() || t.isVirtual() || t == Thread.currentThread()) continue;
            boolean loop = t.getClass().getName().equals(LOOP_THREAD_CLASS);
            if (!loop && (t.isDaemon() || isIgnored(t.getName(), ignored))) continue;
            left.add(t);
        }
        return left;
    }

    private static boolean isIgnored(String name, List<String> ignored) {
        for (String p : ignored) if (name.startsWith(p)) return true;
        return false;
    }

    private static String describeThreads(List<Thread> left, long grace) {
        StringBuilder sb = new StringBuilder(left.size() + " thread(s) started during it still alive after " + grace + " ms:");
        for (Thread t : left) {
            boolean loop = t.getClass().getName().equals(LOOP_THREAD_CLASS);
            sb.append("\n      ").append(t.getName()).append(loop ? " (jhv loop, " : " (").append(t.isDaemon() ? "daemon)" : "non-daemon)");
            StackTraceElement[] st = t.getStackTrace();
            for (int i = 0; i < Math.min(st.length, 6); i++) sb.append("\n        at ").append(st[i]);
        }
        return sb.toString();
    }

    // ---------------------------------------------------------------- descriptors

    /** Open descriptors by what they point to (a count per target), or null where /proc is absent. */
    static Map<String, Integer> openFds() {
        if (!Files.isDirectory(FDS)) return null;
        Map<String, Integer> m = new HashMap<>();
        String javaHome = System.getProperty("java.home", "/nonexistent");
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(FDS)) {
            for (Path p : ds) {
                String target;
                try {
                    target = Files.readSymbolicLink(p).toString();
                } catch (IOException e) {
                    continue; // closed meanwhile (this stream's own descriptor, a racing close)
                }
                if (target.startsWith("/proc/")) continue;                        // this listing
                if (target.endsWith(".jar") || target.endsWith(".zip")) continue;  // class path, opened lazily, kept
                if (target.startsWith(javaHome)) continue;                         // the JDK's modules, ct.sym
                if (target.startsWith("/dev/random") || target.startsWith("/dev/urandom")) continue; // SecureRandom keeps them
                m.merge(kind(target), 1, Integer::sum);
            }
        } catch (IOException e) {
            return null;
        }
        return m;
    }

    /** socket:[123] -> socket: the inode differs every time, the kind is what a reader wants. */
    private static String kind(String target) {
        int i = target.indexOf(":[");
        return i > 0 ? target.substring(0, i) : target;
    }

    private static int total(Map<String, Integer> m) {
        int n = 0;
        for (int v : m.values()) n += v;
        return n;
    }

    private static String difference(Map<String, Integer> after, Map<String, Integer> before) {
        Map<String, Integer> d = new TreeMap<>();
        after.forEach((k, v) -> {
            int diff = v - before.getOrDefault(k, 0);
            if (diff > 0) d.put(k, diff);
        });
        return d.toString();
    }

    // ---------------------------------------------------------------- errors

    private static String errorsSince(long mark, long covered) {
        synchronized (ERRORS_LOCK) {
            long n = errorCount - mark - covered;
            if (n <= 0) return null;
            StringBuilder sb = new StringBuilder(n + " unhandled failure(s) reported by loops (a callback threw; they are attached as suppressed):");
            for (Reported r : LAST_ERRORS) {
                if (r.seq >= mark) sb.append("\n      ").append(r.loop).append(" on ").append(r.thread).append(": ").append(firstLines(r.error));
            }
            return sb.toString();
        }
    }

    /** Whether the runner can print {@code t} (a test may throw one whose toString fails, on purpose). */
    private static boolean printable(Throwable t) {
        try {
            for (Throwable c = t; c != null; c = c.getCause()) {
                c.toString();
                if (c.getCause() == c) break;
            }
            return true;
        } catch (Throwable notPrintable) {
            return false;
        }
    }

    private static String firstLines(Throwable t) {
        if (!printable(t)) return t.getClass().getName() + " (its toString() fails)";
        StringWriter w = new StringWriter();
        try {
            t.printStackTrace(new PrintWriter(w));
        } catch (Throwable failed) {
            return t.getClass().getName() + " (cannot print it: " + failed.getClass().getName() + ")";
        }
        String[] lines = w.toString().split("\n");
        StringBuilder sb = new StringBuilder(lines[0]);
        for (int i = 1; i < Math.min(lines.length, 4); i++) sb.append("\n        ").append(lines[i].strip());
        return sb.toString();
    }

    // ---------------------------------------------------------------- polling

    private static List<Thread> pollUntilEmpty(java.util.function.Supplier<List<Thread>> f, long deadline) {
        return pollUntil(f, List::isEmpty, deadline);
    }

    private static <T> T pollUntil(java.util.function.Supplier<T> f, java.util.function.Predicate<T> done, long deadline) {
        long pause = 1;
        while (true) {
            T v = f.get();
            if (v == null || done.test(v) || System.nanoTime() - deadline > 0) return v;
            try {
                Thread.sleep(pause);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return v;
            }
            pause = Math.min(pause * 2, 50);
        }
    }
}
