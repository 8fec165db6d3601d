package io.jhv.core.loop;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.function.BooleanSupplier;
import java.util.function.IntSupplier;

/**
 * Test helpers to count open file descriptors and threads, and to wait for a condition by polling
 * (never a blind sleep).
 */
public final class Probes {
    private static final Path FDS = Path.of("/proc/self/fd");

    private Probes() {}

    /** True where {@code /proc/self/fd} exists (Linux). */
    public static boolean canCountFds() {
        return Files.isDirectory(FDS);
    }

    /** Open descriptors of this process (the directory stream's own descriptor included, every time). */
    public static int openFds() {
        int n = 0;
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(FDS)) {
            for (Path ignored : ds) n++;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return n;
    }

    /** Live platform threads (JVM-internal ones such as compiler threads are not listed). */
    public static int threads() {
        return Thread.getAllStackTraces().size();
    }

    /** Live threads whose name starts with {@code prefix}. */
    public static int threadsNamed(String prefix) {
        int n = 0;
        for (Thread t : Thread.getAllStackTraces().keySet()) if (t.getName().startsWith(prefix)) n++;
        return n;
    }

    /** Polls until {@code cond} holds or {@code timeout} passes; returns whether it held. */
    public static boolean await(BooleanSupplier cond, Duration timeout) {
        long end = System.nanoTime() + timeout.toNanos();
        long pause = 1;
        while (true) {
            if (cond.getAsBoolean()) return true;
            if (System.nanoTime() - end > 0) return false;
            try {
                Thread.sleep(pause);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
            pause = Math.min(pause * 2, 50);
        }
    }

    /**
     * Polls {@code value} until it is at most {@code limit} (descriptors close a poll later, threads
     * end a moment after their latch) and returns the last reading.
     */
    public static int settle(IntSupplier value, int limit, Duration timeout) {
        int[] last = new int[1];
        await(() -> (last[0] = value.getAsInt()) <= limit, timeout);
        return last[0];
    }
}
