package io.jhv.cli;

import io.jhv.cli.bench.BenchEngine;
import io.jhv.cli.bench.BenchOptions;
import io.jhv.cli.bench.BenchResult;

import java.io.PrintStream;
import java.net.UnknownHostException;

/**
 * {@code hv bench URL}: an HTTP load generator like wrk (and wrk2 with {@code -R}). The engine is in
 * {@link BenchEngine}; this class parses the command line and prints the report (or JSON).
 *
 * <p>Exit status: 0 after a run (whatever errors it counted), 1 when it cannot run (unknown host),
 * 2 for a bad command line.
 */
final class BenchCommand {
    static final String USAGE = "hv bench [-c conns] [-t loops] [-d 10s] [-n requests] [options] URL  (a load generator like wrk)";

    private BenchCommand() {}

    static int run(String[] argv) {
        return run(argv, System.out, System.err);
    }

    static int run(String[] argv, PrintStream out, PrintStream err) {
        BenchOptions o;
        try {
            o = BenchOptions.parse(argv, 1);
        } catch (BenchOptions.BadUsage e) {
            throw new Args.UsageException(e.getMessage());
        }
        if (o.help) {
            out.print(BenchOptions.HELP);
            return 0;
        }
        String url = argv.length > 0 ? urlOf(argv) : "";
        BenchResult r;
        try {
            r = BenchEngine.run(o, o.quiet || o.json ? null : err);
        } catch (UnknownHostException e) {
            err.println("hv bench: cannot resolve " + o.host + ": " + e.getMessage());
            return 1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            err.println("hv bench: interrupted");
            return 1;
        }
        if (o.json) out.println(r.toJson());
        else r.print(out, url);
        return 0;
    }

    private static String urlOf(String[] argv) {
        for (String a : argv) if (a.startsWith("http://") || a.startsWith("https://")) return a;
        return "";
    }
}
