package io.jhv.cli.bench;

import java.io.PrintStream;
import java.util.Locale;

/**
 * What a run of {@code hv bench} measured: the loops' counters and histograms merged. Built by
 * {@link BenchEngine#run} once the loops have stopped; then read it from any one thread.
 */
public final class BenchResult {
    final BenchOptions options;
    public final double durationSeconds;
    public final Histogram latency = new Histogram();
    public final long[] status = new long[600];
    public long requests, bytes, otherStatus;
    public long errConnect, errRead, errWrite, errTimeout, errStatus;

    BenchResult(BenchOptions options, double durationSeconds) {
        this.options = options;
        this.durationSeconds = durationSeconds;
    }

    public long errors() { return errConnect + errRead + errWrite + errTimeout + errStatus; }

    public double requestsPerSecond() { return durationSeconds > 0 ? requests / durationSeconds : 0; }

    public double bytesPerSecond() { return durationSeconds > 0 ? bytes / durationSeconds : 0; }

    /** Responses with this status code. */
    public long status(int code) { return code >= 0 && code < 600 ? status[code] : 0; }

    static String ms(long nanos) { return String.format(Locale.ROOT, "%.3f", nanos / 1e6); }

    /** A duration in the unit that reads best, like wrk's. */
    static String time(double nanos) {
        if (nanos < 1e3) return String.format(Locale.ROOT, "%.0fns", nanos);
        if (nanos < 1e6) return String.format(Locale.ROOT, "%.2fus", nanos / 1e3);
        if (nanos < 1e9) return String.format(Locale.ROOT, "%.2fms", nanos / 1e6);
        return String.format(Locale.ROOT, "%.2fs", nanos / 1e9);
    }

    static String size(double bytes) {
        if (bytes < 1024) return String.format(Locale.ROOT, "%.0fB", bytes);
        if (bytes < 1024 * 1024) return String.format(Locale.ROOT, "%.2fKB", bytes / 1024);
        if (bytes < 1024.0 * 1024 * 1024) return String.format(Locale.ROOT, "%.2fMB", bytes / (1024 * 1024));
        return String.format(Locale.ROOT, "%.2fGB", bytes / (1024.0 * 1024 * 1024));
    }

    /** The report for people, like wrk's. */
    public void print(PrintStream out, String url) {
        BenchOptions o = options;
        out.printf(Locale.ROOT, "Running %s test @ %s%n", o.requests >= 0 && o.durationNanos == 0 ? o.requests + " requests" : time(o.durationNanos), url);
        out.printf(Locale.ROOT, "  %d loop(s) and %d connection(s)%s%s%s%n", o.threads, o.connections,
                o.pipeline > 1 ? ", pipeline " + o.pipeline : "", o.keepAlive ? "" : ", no keep-alive",
                o.rate > 0 ? String.format(Locale.ROOT, ", rate %.0f req/s", o.rate) : "");
        out.printf(Locale.ROOT, "  Latency    avg %s  stdev %s  max %s%n", time(latency.mean()), time(latency.stdev()), time(latency.max()));
        out.printf(Locale.ROOT, "  Latency    p50 %s  p90 %s  p99 %s  p99.9 %s%n", time(latency.percentile(50)),
                time(latency.percentile(90)), time(latency.percentile(99)), time(latency.percentile(99.9)));
        if (o.latency) {
            out.println("  Latency Distribution");
            for (double p : new double[] {50, 75, 90, 95, 99, 99.9, 99.99, 100}) {
                out.printf(Locale.ROOT, "    %7s%%  %s%n", p == Math.rint(p) ? String.valueOf((int) p) : String.valueOf(p), time(latency.percentile(p)));
            }
        }
        out.printf(Locale.ROOT, "  %d requests in %.2fs, %s read%n", requests, durationSeconds, size(bytes));
        StringBuilder codes = new StringBuilder();
        for (int i = 0; i < status.length; i++) if (status[i] > 0) codes.append(' ').append(i).append('=').append(status[i]);
        if (otherStatus > 0) codes.append(" other=").append(otherStatus);
        long c2 = range(200), c3 = range(300), c4 = range(400), c5 = range(500);
        out.printf(Locale.ROOT, "  Status: 2xx %d, 3xx %d, 4xx %d, 5xx %d;%s%n", c2, c3, c4, c5, codes.length() == 0 ? " none" : codes);
        if (errors() > 0) {
            out.printf(Locale.ROOT, "  Errors: connect %d, read %d, write %d, timeout %d, status %d%n",
                    errConnect, errRead, errWrite, errTimeout, errStatus);
        }
        out.printf(Locale.ROOT, "Requests/sec: %.2f%n", requestsPerSecond());
        out.printf(Locale.ROOT, "Transfer/sec: %s%n", size(bytesPerSecond()));
    }

    long range(int from) {
        long n = 0;
        for (int i = from; i < from + 100; i++) n += status[i];
        return n;
    }

    /** The result as one JSON object. */
    public String toJson() {
        StringBuilder sb = new StringBuilder(512);
        sb.append('{');
        sb.append("\"requests\":").append(requests);
        sb.append(",\"duration_s\":").append(num(durationSeconds));
        sb.append(",\"requests_per_sec\":").append(num(requestsPerSecond()));
        sb.append(",\"bytes\":").append(bytes);
        sb.append(",\"bytes_per_sec\":").append(num(bytesPerSecond()));
        sb.append(",\"connections\":").append(options.connections);
        sb.append(",\"threads\":").append(options.threads);
        sb.append(",\"pipeline\":").append(options.pipeline);
        sb.append(",\"errors\":{\"connect\":").append(errConnect).append(",\"read\":").append(errRead)
                .append(",\"write\":").append(errWrite).append(",\"timeout\":").append(errTimeout)
                .append(",\"status\":").append(errStatus).append(",\"total\":").append(errors()).append('}');
        sb.append(",\"status\":{");
        boolean first = true;
        for (int i = 0; i < status.length; i++) {
            if (status[i] == 0) continue;
            if (!first) sb.append(',');
            first = false;
            sb.append('"').append(i).append("\":").append(status[i]);
        }
        if (otherStatus > 0) sb.append(first ? "" : ",").append("\"other\":").append(otherStatus);
        sb.append('}');
        sb.append(",\"latency_ms\":{\"p50\":").append(ms(latency.percentile(50)))
                .append(",\"p90\":").append(ms(latency.percentile(90)))
                .append(",\"p99\":").append(ms(latency.percentile(99)))
                .append(",\"p999\":").append(ms(latency.percentile(99.9)))
                .append(",\"max\":").append(ms(latency.max()))
                .append(",\"mean\":").append(num(latency.mean() / 1e6))
                .append(",\"stdev\":").append(num(latency.stdev() / 1e6)).append('}');
        sb.append('}');
        return sb.toString();
    }

    private static String num(double d) {
        if (Double.isNaN(d) || Double.isInfinite(d)) return "0";
        return String.format(Locale.ROOT, "%.3f", d);
    }
}
