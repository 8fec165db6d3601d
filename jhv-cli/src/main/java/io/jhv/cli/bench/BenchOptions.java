package io.jhv.cli.bench;

import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The command line of {@code hv bench}, parsed and checked: wrk's short options and a few long
 * ones. A bad command line throws {@link BadUsage} (the command exits with status 2).
 *
 * <p>A plain holder: filled by {@link #parse} on one thread, then only read (the engine reads it
 * from its loops after {@link BenchEngine#run} has published it by starting them).
 */
public final class BenchOptions {
    public static final String USAGE = "hv bench [-c conns] [-t loops] [-d 10s] [-n requests] [-X METHOD] [-H 'N: V']...\n"
            + "                [--body STRING | --body-file FILE] [--pipeline N] [--no-keepalive] [-R rate]\n"
            + "                [--timeout 2s] [--warmup T] [--latency] [--json] [-q] [-k] URL";

    public static final String HELP = """
            usage: %s

            A load generator like wrk: keeps every connection busy with the same request and
            reports requests/s, transfer/s, status codes, errors and latency percentiles.

            options:
              -c, --connections N   connections to keep open (default 10)
              -t, --threads N       event loops (default 1; never more than connections)
              -d, --duration T      how long to run: 500ms, 10s, 2m, 1h (default 10s unless -n)
              -n, --requests N      stop after N requests ended (answered or failed); with -d too,
                                    whichever comes first
              -X, --method M        request method (default GET; POST with a body)
              -H, --header 'N: V'   add a header (repeatable); 'Connection: close' = --no-keepalive
              --body STRING         request body (sent with Content-Length)
              --body-file FILE      request body read from FILE
              --pipeline N          N requests written at once per connection, N responses awaited
                                    before the next N (default 1)
              --no-keepalive        a new connection per request (Connection: close)
              -R, --rate N          constant throughput: N requests/s over all connections, latency
                                    measured from the intended send time (like wrk2)
              --timeout T           a request unanswered this long is a timeout error, its
                                    connection reopened; also the connect timeout (default 2s)
              --warmup T            run the load for T first and drop what it measured (lets the
                                    JIT compile the engine before the measurement)
              --latency             print the latency distribution (more percentiles)
              --json                print one JSON object instead of the report
              -q, --quiet           no progress line on stderr
              -k, --insecure        https: accept any certificate (testing only)

            URL: http://host[:port]/path or https://...
            exit status: 0 when the run completed (whatever errors it counted), 1 when it could
            not run, 2 for a bad command line.
            """.formatted(USAGE);

    /** A bad command line. */
    public static final class BadUsage extends RuntimeException {
        private static final long serialVersionUID = 1L;

        public BadUsage(String message) { super(message); }
    }

    public boolean help;
    public boolean https;
    public String host;
    public int port;
    /** The request target: path and query, as given. */
    public String target = "/";
    public int connections = 10;
    public int threads = 1;
    /** 0: not given. */
    public long durationNanos;
    /** -1: not given. */
    public long requests = -1;
    public String method = "GET";
    public final List<String[]> headers = new ArrayList<>();
    public byte[] body;
    public int pipeline = 1;
    public boolean keepAlive = true;
    /** Requests per second over all connections; 0: as fast as possible. */
    public double rate;
    public long timeoutNanos = 2_000_000_000L;
    /** Load run before the measurement, whose results are dropped; 0: none. */
    public long warmupNanos;
    public boolean latency;
    public boolean json;
    public boolean quiet;
    public boolean insecure;

    /** Parses {@code argv} from index {@code from} (after the command name). */
    public static BenchOptions parse(String[] argv, int from) {
        BenchOptions o = new BenchOptions();
        String url = null;
        boolean durationGiven = false, methodGiven = false;
        String bodyString = null, bodyFile = null;
        for (int i = from; i < argv.length; i++) {
            String a = argv[i];
            String name = a, value = null;
            if (a.startsWith("--") && a.indexOf('=') > 0) {
                name = a.substring(0, a.indexOf('='));
                value = a.substring(a.indexOf('=') + 1);
            } else if (a.startsWith("-") && !a.startsWith("--") && a.length() > 2 && takesValue(a.substring(0, 2))) {
                name = a.substring(0, 2); // -c64, -d10s
                value = a.substring(2);
            }
            switch (name) {
                case "-h", "--help" -> o.help = true;
                case "--no-keepalive" -> o.keepAlive = false;
                case "--latency" -> o.latency = true;
                case "--json" -> o.json = true;
                case "-q", "--quiet" -> o.quiet = true;
                case "-k", "--insecure" -> o.insecure = true;
                default -> {
                    if (!takesValue(name)) {
                        if (a.startsWith("-") && a.length() > 1) throw new BadUsage("unknown option: " + a);
                        if (url != null) throw new BadUsage("unexpected argument: " + a + " (one URL only)");
                        url = a;
                        continue;
                    }
                    if (value == null) {
                        if (i + 1 >= argv.length) throw new BadUsage(name + " needs a value");
                        value = argv[++i];
                    }
                    switch (name) {
                        case "-c", "--connections" -> o.connections = (int) number(name, value, 1, 1_000_000);
                        case "-t", "--threads" -> o.threads = (int) number(name, value, 1, 1024);
                        case "-d", "--duration" -> { o.durationNanos = duration(name, value); durationGiven = true; }
                        case "-n", "--requests" -> o.requests = number(name, value, 1, Long.MAX_VALUE);
                        case "-X", "--method" -> { o.method = token(name, value); methodGiven = true; }
                        case "-H", "--header" -> o.headers.add(header(value));
                        case "--body" -> bodyString = value;
                        case "--body-file" -> bodyFile = value;
                        case "--pipeline" -> o.pipeline = (int) number(name, value, 1, 1024);
                        case "-R", "--rate" -> o.rate = rate(name, value);
                        case "--timeout" -> o.timeoutNanos = duration(name, value);
                        case "--warmup" -> o.warmupNanos = duration(name, value);
                        default -> throw new IllegalStateException(name);
                    }
                }
            }
        }
        if (o.help) return o;
        if (url == null) throw new BadUsage("hv bench needs a URL (http://host:port/path)");
        o.url(url);
        if (bodyString != null && bodyFile != null) throw new BadUsage("--body and --body-file: one or the other");
        if (bodyString != null) o.body = bodyString.getBytes(StandardCharsets.UTF_8);
        if (bodyFile != null) {
            try {
                o.body = Files.readAllBytes(Path.of(bodyFile));
            } catch (IOException e) {
                throw new BadUsage("cannot read --body-file " + bodyFile + ": " + e.getMessage());
            }
        }
        if (o.body != null && !methodGiven) o.method = "POST"; // a body without -X: POST, like curl -d
        for (String[] h : o.headers) {
            String n = h[0].toLowerCase(Locale.ROOT);
            if (n.equals("connection") && h[1].toLowerCase(Locale.ROOT).contains("close")) o.keepAlive = false;
            if (n.equals("content-length") || n.equals("transfer-encoding")) {
                throw new BadUsage("-H " + h[0] + ": hv bench sets the body framing itself (use --body/--body-file)");
            }
        }
        if (!durationGiven && o.requests < 0) o.durationNanos = 10_000_000_000L;
        if (o.warmupNanos > 0 && o.requests >= 0) throw new BadUsage("--warmup goes with -d, not with -n");
        if (o.threads > o.connections) o.threads = o.connections;
        if (o.rate > 0 && o.pipeline > 1) throw new BadUsage("-R and --pipeline do not go together (a paced request is sent alone)");
        if (!o.keepAlive && o.pipeline > 1) throw new BadUsage("--pipeline needs keep-alive (it cannot go with --no-keepalive or Connection: close)");
        return o;
    }

    private static boolean takesValue(String name) {
        return switch (name) {
            case "-c", "--connections", "-t", "--threads", "-d", "--duration", "-n", "--requests", "-X", "--method",
                 "-H", "--header", "--body", "--body-file", "--pipeline", "-R", "--rate", "--timeout", "--warmup" -> true;
            default -> false;
        };
    }

    private void url(String url) {
        URI u;
        try {
            u = new URI(url);
        } catch (URISyntaxException e) {
            throw new BadUsage("bad URL " + url + ": " + e.getMessage());
        }
        String scheme = u.getScheme() == null ? "" : u.getScheme().toLowerCase(Locale.ROOT);
        if (!scheme.equals("http") && !scheme.equals("https")) throw new BadUsage("not an http:// or https:// URL: " + url);
        https = scheme.equals("https");
        host = u.getHost();
        if (host == null || host.isEmpty()) throw new BadUsage("no host in URL " + url);
        if (host.startsWith("[") && host.endsWith("]")) host = host.substring(1, host.length() - 1);
        port = u.getPort() > 0 ? u.getPort() : (https ? 443 : 80);
        String path = u.getRawPath() == null || u.getRawPath().isEmpty() ? "/" : u.getRawPath();
        target = u.getRawQuery() == null ? path : path + "?" + u.getRawQuery();
        if (u.getRawFragment() != null) throw new BadUsage("a URL for hv bench has no #fragment: " + url);
    }

    /** The Host header value for the URL. */
    public String hostHeader() {
        String h = host.indexOf(':') >= 0 ? "[" + host + "]" : host;
        boolean defaultPort = https ? port == 443 : port == 80;
        return defaultPort ? h : h + ":" + port;
    }

    static long number(String name, String v, long min, long max) {
        String s = v.trim().toLowerCase(Locale.ROOT);
        long mult = 1;
        if (s.endsWith("k")) { mult = 1_000; s = s.substring(0, s.length() - 1); }
        else if (s.endsWith("m")) { mult = 1_000_000; s = s.substring(0, s.length() - 1); }
        try {
            long n = Math.multiplyExact(Long.parseLong(s), mult);
            if (n < min || n > max) throw new BadUsage(name + " must be between " + min + " and " + max + ": " + v);
            return n;
        } catch (NumberFormatException | ArithmeticException e) {
            throw new BadUsage(name + " must be a number: " + v);
        }
    }

    static double rate(String name, String v) {
        try {
            double r = Double.parseDouble(v.trim());
            if (!(r > 0) || r > 1e9 || Double.isNaN(r)) throw new BadUsage(name + " must be a rate above 0 (requests/s): " + v);
            return r;
        } catch (NumberFormatException e) {
            throw new BadUsage(name + " must be a number of requests/s: " + v);
        }
    }

    /** A duration like wrk's: {@code 500ms}, {@code 10s}, {@code 2m}, {@code 1h}, or seconds ({@code 10}, {@code 1.5}). */
    public static long duration(String name, String v) {
        String s = v.trim().toLowerCase(Locale.ROOT);
        double unit;
        String num;
        if (s.endsWith("ms")) { unit = 1e6; num = s.substring(0, s.length() - 2); }
        else if (s.endsWith("us")) { unit = 1e3; num = s.substring(0, s.length() - 2); }
        else if (s.endsWith("s")) { unit = 1e9; num = s.substring(0, s.length() - 1); }
        else if (s.endsWith("m")) { unit = 60e9; num = s.substring(0, s.length() - 1); }
        else if (s.endsWith("h")) { unit = 3600e9; num = s.substring(0, s.length() - 1); }
        else { unit = 1e9; num = s; }
        double d;
        try {
            d = Double.parseDouble(num);
        } catch (NumberFormatException e) {
            throw new BadUsage(name + " must be a duration like 500ms, 10s, 2m or 1h: " + v);
        }
        if (!(d > 0) || Double.isInfinite(d) || d * unit > 366 * 24 * 3600e9) {
            throw new BadUsage(name + " must be a duration above 0 (like 500ms, 10s, 2m, 1h): " + v);
        }
        return Math.max(1, (long) (d * unit));
    }

    private static String token(String name, String v) {
        if (v.isEmpty() || !v.chars().allMatch(c -> c > 32 && c < 127 && "()<>@,;:\\\"/[]?={}".indexOf(c) < 0)) {
            throw new BadUsage(name + " must be a method token: " + v);
        }
        return v;
    }

    private static String[] header(String v) {
        int colon = v.indexOf(':');
        if (colon <= 0) throw new BadUsage("-H needs 'Name: value': " + v);
        String n = v.substring(0, colon).trim();
        String val = v.substring(colon + 1).trim();
        if (n.isEmpty() || !n.chars().allMatch(c -> c > 32 && c < 127 && "()<>@,;:\\\"/[]?={}".indexOf(c) < 0)) {
            throw new BadUsage("-H: bad header name: " + n);
        }
        if (val.indexOf('\r') >= 0 || val.indexOf('\n') >= 0) throw new BadUsage("-H: a header value cannot hold a line break");
        return new String[] {n, val};
    }
}
