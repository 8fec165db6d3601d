package io.jhv.cli.proxy;

import io.jhv.core.net.Connection;

import java.io.PrintStream;
import java.time.LocalTime;
import java.time.temporal.ChronoUnit;

/** Where a proxy reports what goes wrong (and, with {@code verbose}, each connection). Thread-safe. */
public final class ProxyLog {
    private final String name;
    private final PrintStream out;
    private final boolean verbose;

    /** @param name the proxy kind, printed in each line ("proxy tcp") */
    public ProxyLog(String name, PrintStream out, boolean verbose) {
        this.name = name;
        this.out = out;
        this.verbose = verbose;
    }

    /** A problem worth a line: an upstream that cannot be reached, a refused client. */
    void warn(Connection c, String message) {
        print(c, message);
    }

    /** Ordinary events, printed only when verbose. */
    void info(Connection c, String message) {
        if (verbose) print(c, message);
    }

    private void print(Connection c, String message) {
        String who = c == null ? "" : " " + c.remoteAddress();
        synchronized (out) {
            out.println(LocalTime.now().truncatedTo(ChronoUnit.MILLIS) + " hv " + name + who + ": " + message);
            out.flush();
        }
    }
}
