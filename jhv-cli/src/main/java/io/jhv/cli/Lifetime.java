package io.jhv.cli;

import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryNotificationInfo;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import javax.management.NotificationEmitter;

/**
 * How a server command lives: until SIGTERM/SIGINT (graceful close, bounded), or until the server
 * fails (one of its event loops ended abnormally: exit status 1).
 *
 * <p>The shutdown hook is built, with its messages and its closing thread, before it is needed: when
 * the signal comes the process may be out of memory, or a loop may be stuck. It runs the graceful
 * close on that thread and waits up to a deadline; if the close has not finished by then it halts
 * the JVM with status {@value #HALT_STATUS}. A small heap reserve is released when the heap is nearly
 * exhausted after a collection, so the JVM can still allocate the thread that delivers the signal
 * (the JDK drops a signal whose handler thread cannot be allocated).
 *
 * <p>Thread contract: {@link #install} is called once, by the command's main thread, and
 * {@link #awaitFailure()} blocks it.
 */
final class Lifetime {
    /** Exit status when the graceful close did not finish in time. */
    static final int HALT_STATUS = 3;
    /** Exit status when the server failed (an event loop ended abnormally). */
    static final int FAILED_STATUS = 1;

    private static final int RESERVE_BYTES = 4 << 20;
    @SuppressWarnings("unused") // held only to be released under memory pressure
    private static volatile byte[] reserve;

    private final CompletableFuture<Integer> failed = new CompletableFuture<>();

    private Lifetime() {}

    /** {@link #install} then {@link #awaitFailure()}. */
    static int serve(String name, Runnable close, long deadlineMs, List<CompletableFuture<Void>> failures,
                     PrintStream out, PrintStream err, String stopping, String stopped) {
        return install(name, close, deadlineMs, failures, out, err, stopping, stopped).awaitFailure();
    }

    /**
     * Blocks until one of the failure futures completes exceptionally (then returns
     * {@link #FAILED_STATUS}; the hook still closes on exit). A signal ends the process from the
     * shutdown hook, so then this never returns.
     */
    int awaitFailure() {
        return failed.join();
    }

    /**
     * Registers the shutdown hook and watches {@code failures}: one that completes exceptionally is
     * reported on {@code err} and ends {@link #awaitFailure()}.
     *
     * @param name       the command, for messages ("httpd")
     * @param close      the graceful close
     * @param deadlineMs how long the close may take before the process halts
     * @param stopping   printed on {@code out} when the signal arrives
     * @param stopped    printed on {@code out} when the close has finished (null: nothing)
     */
    static Lifetime install(String name, Runnable close, long deadlineMs, List<CompletableFuture<Void>> failures,
                            PrintStream out, PrintStream err, String stopping, String stopped) {
        Lifetime life = new Lifetime();
        armMemoryReserve();
        String gaveUp = "hv " + name + ": graceful shutdown did not finish within " + deadlineMs + " ms; halting";
        boolean[] finished = new boolean[1];
        Thread closer = new Thread(() -> {
            try {
                close.run();
            } catch (Throwable t) {
                print(err, "hv " + name + ": error while shutting down: " + t);
            }
            synchronized (finished) {
                finished[0] = true;
            }
        }, "hv-" + name + "-close");
        closer.setDaemon(true);
        Thread hook = new Thread(() -> {
            reserve = null; // whatever little we still need, we need now
            print(out, stopping);
            try {
                closer.start();
                closer.join(deadlineMs);
            } catch (Throwable t) {
                // cannot start or wait for the closer (out of memory, interrupted): decided below
            }
            boolean done;
            synchronized (finished) {
                done = finished[0];
            }
            if (!done) {
                print(err, gaveUp);
                Runtime.getRuntime().halt(HALT_STATUS);
            }
            if (stopped != null) print(out, stopped);
        }, "hv-" + name + "-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);

        for (CompletableFuture<Void> f : failures) {
            if (f == null) continue;
            f.whenComplete((v, e) -> {
                if (e == null) return;
                Throwable cause = e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
                print(err, "hv " + name + ": " + cause.getMessage() + "; exiting");
                life.failed.complete(FAILED_STATUS);
            });
        }
        return life;
    }

    /** Prints without ever throwing (out of memory, a closed stream): the shutdown must go on. */
    private static void print(PrintStream s, String line) {
        try {
            s.println(line);
            s.flush();
        } catch (Throwable ignored) {
            // nothing to be done
        }
    }

    /**
     * Holds a few MiB and lets go of them when a collection leaves the heap nearly full, so a signal
     * (whose delivery allocates a thread) still gets through. Best effort: without the management
     * beans it just holds the reserve until the shutdown hook drops it.
     */
    private static void armMemoryReserve() {
        try {
            reserve = new byte[RESERVE_BYTES];
            for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
                long max = pool.getUsage().getMax();
                if (pool.getType() == MemoryType.HEAP && pool.isCollectionUsageThresholdSupported() && max > 0) {
                    pool.setCollectionUsageThreshold(max / 10 * 9);
                }
            }
            ((NotificationEmitter) ManagementFactory.getMemoryMXBean()).addNotificationListener((n, handback) -> {
                if (MemoryNotificationInfo.MEMORY_COLLECTION_THRESHOLD_EXCEEDED.equals(n.getType())) reserve = null;
            }, null, null);
        } catch (Throwable e) {
            // no management beans here: the reserve is only dropped by the hook
        }
    }
}
