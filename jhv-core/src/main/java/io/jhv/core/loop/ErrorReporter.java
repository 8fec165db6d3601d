package io.jhv.core.loop;

import io.jhv.core.internal.LoopErrors;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiConsumer;

/**
 * Where a loop's failed callbacks go: the loop's error handler, or else the process-wide listeners
 * ({@link LoopErrors}) and a rate-limited log line. Thread-safe (the loop thread mostly; a lost
 * update of the rate limit only costs a line).
 */
final class ErrorReporter {
    private static final System.Logger LOG = System.getLogger(EventLoop.class.getName());
    /** How often at most a loop logs a failed callback (without an error handler). */
    private static final long ERROR_LOG_INTERVAL_NANOS = TimeUnit.SECONDS.toNanos(1);

    private final EventLoop loop;
    private final String name;
    private final BiConsumer<Thread, Throwable> handler;
    private volatile long nextErrorLogNanos = System.nanoTime();
    private final AtomicInteger unloggedErrors = new AtomicInteger();

    ErrorReporter(EventLoop loop, String name, BiConsumer<Thread, Throwable> handler) {
        this.loop = loop;
        this.name = name;
        this.handler = handler;
    }

    /**
     * Reports an exception a callback threw, to the error handler or as a log line (at most one per
     * second; the next one says how many were not logged). Never throws: it runs where the loop has
     * just caught a failure, perhaps out of memory or descriptors, and must go on.
     */
    void report(Throwable t) {
        if (handler != null) {
            try {
                handler.accept(Thread.currentThread(), t);
                return;
            } catch (Throwable t2) {
                try {
                    t.addSuppressed(t2);
                } catch (Throwable ignored) {
                    // out of memory: report the original failure alone
                }
            }
        }
        LoopErrors.unhandled(loop, t); // test listeners (jhv-testing's LeakCheck); never throws
        long now = System.nanoTime();
        if (now - nextErrorLogNanos < 0) {
            unloggedErrors.incrementAndGet();
            return;
        }
        nextErrorLogNanos = now + ERROR_LOG_INTERVAL_NANOS;
        int skipped = unloggedErrors.getAndSet(0);
        try {
            LOG.log(System.Logger.Level.WARNING, skipped == 0 ? "[" + name + "] callback failed"
                    : "[" + name + "] callback failed (and " + skipped + " more not logged in the last second)", t);
        } catch (Throwable logFailed) {
            // The logger itself failed (out of memory, no descriptor for its file, a throwing
            // toString): nothing more can be reported, and the loop must go on.
        }
    }

    /** Runs {@code r}, reporting what it throws. Loop thread. */
    void run(Runnable r) {
        try {
            r.run();
        } catch (Throwable t) {
            report(t);
        }
    }
}
