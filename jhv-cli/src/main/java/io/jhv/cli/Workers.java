package io.jhv.cli;

import java.io.IOException;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * {@code hv httpd --processes N} (libhv's {@code setProcessNum}): this process supervises N copies
 * of itself, each an ordinary {@code hv httpd} listening on the same port with SO_REUSEPORT, so the
 * kernel spreads connections over them and one process crashing takes only its own connections.
 *
 * <p>A worker that exits while the supervisor is running is started again (after 0.5 s). A worker
 * that exits within {@link #QUICK_EXIT_MS} of its start {@link #MAX_QUICK_EXITS} times in a row
 * (it cannot start: a bad option, the port taken by another program) makes the supervisor give up:
 * it stops the others and exits with status 1. SIGTERM/SIGINT to the supervisor is passed to every
 * worker (each drains gracefully: readiness first, then in-flight requests) and the supervisor exits
 * when they have, or kills them at the deadline.
 *
 * <p>Thread contract: {@link #run} on the command's main thread; a watcher thread per worker.
 */
final class Workers {
    /** The environment variable that makes a process a worker (its value: the worker's number). */
    static final String WORKER_ENV = "JHV_HTTPD_WORKER";
    static final long QUICK_EXIT_MS = 2_000;
    static final int MAX_QUICK_EXITS = 3;
    private static final long RESTART_DELAY_MS = 500;

    private final List<String> command;
    private final PrintStream out;
    private final PrintStream err;
    private final Process[] workers;
    private final int[] quickExits;
    private volatile boolean stopping;
    private final CompletableFuture<Void> gaveUp = new CompletableFuture<>();

    private Workers(List<String> command, int count, PrintStream out, PrintStream err) {
        this.command = command;
        this.out = out;
        this.err = err;
        this.workers = new Process[count];
        this.quickExits = new int[count];
    }

    /** True in a worker started by a supervisor. */
    static boolean isWorker() {
        return System.getenv(WORKER_ENV) != null;
    }

    /** Supervises {@code count} workers running this same command line until a signal; returns the exit status. */
    static int run(HttpdConfig c, PrintStream out, PrintStream err) {
        if (c.port == 0) throw new Args.UsageException("--processes needs a fixed --port (0 would give each process its own port)");
        ProcessHandle.Info self = ProcessHandle.current().info();
        List<String> cmd = new ArrayList<>();
        cmd.add(self.command().orElseThrow(() -> new IllegalStateException("cannot tell how this process was started")));
        cmd.addAll(List.of(self.arguments().orElseThrow(() -> new IllegalStateException("cannot read this process's arguments"))));
        Workers w = new Workers(cmd, c.processes, out, err);
        for (int i = 0; i < c.processes; i++) w.start(i);
        out.println("hv httpd: " + c.processes + " processes on port " + c.port + " (SO_REUSEPORT), supervised by pid "
                + ProcessHandle.current().pid());
        out.flush();
        long deadline = c.drainDelayMs + c.shutdownTimeoutMs + HttpdCommand.SHUTDOWN_MARGIN_MS;
        return Lifetime.serve("httpd", () -> w.stop(deadline), deadline + 1_000, List.of(w.gaveUp), out, err,
                "hv httpd: stopping " + c.processes + " processes", "hv httpd: all processes stopped");
    }

    private synchronized void start(int i) {
        if (stopping) return;
        ProcessBuilder pb = new ProcessBuilder(command).inheritIO();
        pb.environment().put(WORKER_ENV, Integer.toString(i));
        Process p;
        try {
            p = pb.start();
        } catch (IOException e) {
            giveUp("cannot start process " + i + ": " + e.getMessage());
            return;
        }
        workers[i] = p;
        long started = System.nanoTime();
        Thread.ofPlatform().daemon().name("hv-httpd-worker-" + i).start(() -> watch(i, p, started));
    }

    private void watch(int i, Process p, long started) {
        int status;
        try {
            status = p.waitFor();
        } catch (InterruptedException e) {
            return;
        }
        if (stopping) return;
        boolean quick = System.nanoTime() - started < TimeUnit.MILLISECONDS.toNanos(QUICK_EXIT_MS);
        synchronized (this) {
            quickExits[i] = quick ? quickExits[i] + 1 : 0;
            if (quickExits[i] >= MAX_QUICK_EXITS) {
                giveUp("process " + i + " exited " + MAX_QUICK_EXITS + " times right after starting (last status " + status + ")");
                return;
            }
        }
        err.println("hv httpd: process " + i + " (pid " + p.pid() + ") exited with status " + status + "; starting it again");
        err.flush();
        try {
            Thread.sleep(RESTART_DELAY_MS); // a back-off, so a crash loop does not spin
        } catch (InterruptedException e) {
            return;
        }
        start(i);
    }

    private void giveUp(String why) {
        stopping = true;
        for (Process p : snapshot()) p.destroy();
        gaveUp.completeExceptionally(new IllegalStateException(why));
    }

    private synchronized List<Process> snapshot() {
        List<Process> l = new ArrayList<>();
        for (Process p : workers) if (p != null) l.add(p);
        return l;
    }

    /** SIGTERM to every worker; waits for them up to {@code deadlineMs}, then kills what is left. */
    private void stop(long deadlineMs) {
        stopping = true;
        List<Process> ps = snapshot();
        for (Process p : ps) p.destroy();
        long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(deadlineMs);
        for (Process p : ps) {
            try {
                long left = end - System.nanoTime();
                if (left <= 0 || !p.waitFor(left, TimeUnit.NANOSECONDS)) p.destroyForcibly();
            } catch (InterruptedException e) {
                p.destroyForcibly();
            }
        }
    }
}
