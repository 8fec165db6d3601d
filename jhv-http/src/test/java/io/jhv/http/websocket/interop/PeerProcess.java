package io.jhv.http.websocket.interop;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * A peer process (a Node or python WebSocket script) started for a test: its output (stdout and
 * stderr, merged) is read line by line by a daemon thread, kept for failure messages, and waited on
 * by the test ({@link #awaitLine}). {@link #close()} ends it: stdin closed (the servers exit on
 * that), then destroy, then destroyForcibly, and the reader thread joined, so nothing outlives the
 * test.
 *
 * <p>Thread contract: used by one test thread; the reader thread only appends lines.
 */
final class PeerProcess implements AutoCloseable {
    private final String name;
    private final Process process;
    private final Thread reader;
    private final List<String> lines = new ArrayList<>(); // guarded by itself
    private int cursor;                                    // next line awaitLine looks at; guarded by lines
    private boolean ended;                                 // the output ended; guarded by lines

    private PeerProcess(String name, Process process) {
        this.name = name;
        this.process = process;
        this.reader = new Thread(this::read, "interop-peer-" + name);
        this.reader.setDaemon(true);
        this.reader.start();
    }

    /** Starts {@code command} in {@code dir} with {@code env} added to (or, for a null value, removed from) the environment. */
    static PeerProcess start(String name, List<String> command, Path dir, Map<String, String> env) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true);
        env.forEach((k, v) -> {
            if (v == null) pb.environment().remove(k);
            else pb.environment().put(k, v);
        });
        return new PeerProcess(name, pb.start());
    }

    private void read() {
        try (BufferedReader in = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
            for (String line; (line = in.readLine()) != null; ) {
                synchronized (lines) {
                    lines.add(line);
                    lines.notifyAll();
                }
            }
        } catch (IOException e) {
            synchronized (lines) {
                lines.add("(reading the output failed: " + e + ")");
            }
        } finally {
            synchronized (lines) {
                ended = true;
                lines.notifyAll();
            }
        }
    }

    /**
     * Waits for the next line (after those returned before) that {@code match} accepts, and returns
     * it. Fails with the whole output when a line starting with {@code FAIL} comes first, when the
     * output ends (the process exited) or at the deadline.
     */
    String awaitLine(String what, Predicate<String> match, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (lines) {
            while (true) {
                while (cursor < lines.size()) {
                    String line = lines.get(cursor++);
                    if (match.test(line)) return line;
                    if (line.startsWith("FAIL")) throw new AssertionError(name + " failed while we waited for " + what + ": " + line + describe());
                }
                if (ended) throw new AssertionError(name + " ended its output before " + what + describe());
                long left = deadline - System.nanoTime();
                if (left <= 0) throw new AssertionError("no " + what + " from " + name + " within " + timeout + describe());
                TimeUnit.NANOSECONDS.timedWait(lines, left);
            }
        }
    }

    /** {@link #awaitLine(String, Predicate, Duration)} for a line starting with {@code prefix}. */
    String awaitLine(String prefix, Duration timeout) throws InterruptedException {
        return awaitLine("a line starting with \"" + prefix + "\"", l -> l.startsWith(prefix), timeout);
    }

    /** Waits for the process to exit and its output to end; returns the exit code. */
    int awaitExit(Duration timeout) throws InterruptedException {
        if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            throw new AssertionError(name + " did not exit within " + timeout + describe());
        }
        reader.join(timeout.toMillis());
        return process.exitValue();
    }

    /** Every line the process printed so far. */
    String output() {
        synchronized (lines) {
            return String.join("\n", lines);
        }
    }

    /** The output, as a suffix for an assertion message. */
    String describe() {
        return "\n--- " + name + " (" + (process.isAlive() ? "running" : "exit " + process.exitValue()) + ") output ---\n"
                + output() + "\n--- end of " + name + " output ---";
    }

    String name() {
        return name;
    }

    /**
     * Runs {@code body}; an assertion or exception from it is rethrown as an AssertionError carrying
     * the peer's output, so a failure shows what the peer saw.
     */
    void check(ThrowingRunnable body) {
        try {
            body.run();
        } catch (Throwable t) {
            String msg = String.valueOf(t.getMessage());
            if (msg.contains("--- " + name + " (")) {
                if (t instanceof AssertionError a) throw a;
                throw new AssertionError(t.toString(), t);
            }
            throw new AssertionError(t + describe(), t);
        }
    }

    @FunctionalInterface
    interface ThrowingRunnable {
        void run() throws Exception;
    }

    /** Ends the process (stdin closed first: the servers exit on that) and the reader thread. Idempotent. */
    @Override
    public void close() {
        try {
            process.getOutputStream().close();
        } catch (IOException ignored) {
            // already gone
        }
        try {
            if (!process.waitFor(3, TimeUnit.SECONDS)) {
                process.destroy();
                if (!process.waitFor(3, TimeUnit.SECONDS)) {
                    process.destroyForcibly();
                    process.waitFor(5, TimeUnit.SECONDS);
                }
            }
            reader.join(5_000);
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        } finally {
            try {
                process.getInputStream().close();
                process.getErrorStream().close();
            } catch (IOException ignored) {
                // nothing more to do
            }
        }
    }
}
