package io.jhv.http.server;

import io.jhv.core.loop.EventLoop;
import io.jhv.core.net.Connection;

import java.util.List;
import java.util.Locale;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.LongAdder;

/**
 * The built-in {@link ServerMetrics}: counts what a server does and writes it in the Prometheus
 * text format (version 0.0.4), for a scraper at {@code /metrics}.
 *
 * {@snippet :
 * HttpMetrics metrics = HttpMetrics.create();
 * HttpServer.create(8080)
 *     .metrics(metrics)
 *     .get("/metrics", metrics.handler())
 *     .get("/", (req, res) -> res.text("hi"))
 *     .start();
 * }
 *
 * <p>What it exposes (every name starts with {@code jhv_}):
 * <ul>
 * <li>{@code jhv_http_connections_open} (gauge), {@code jhv_http_connections_accepted_total},
 *     {@code jhv_http_connections_refused_total} (over {@link HttpServer#maxConnections});</li>
 * <li>{@code jhv_http_requests_total{code="2xx"}} by status class, and
 *     {@code jhv_http_request_duration_seconds} (a histogram: {@code _bucket{le=...}}, {@code _sum},
 *     {@code _count});</li>
 * <li>{@code jhv_http_received_bytes_total}, {@code jhv_http_sent_bytes_total}: bytes on the wire,
 *     closed connections plus the open ones at the time of the scrape;</li>
 * <li>{@code jhv_http_write_queue_bytes} (gauge): bytes waiting in the write queues of the open
 *     connections (slow readers show here);</li>
 * <li>{@code jhv_loop_lag_seconds{loop="N"}} (gauge): the largest lag of a periodic timer on each
 *     loop since the previous scrape.</li>
 * </ul>
 *
 * <p>One instance per server. Thread-safe: the callbacks run on loop threads, {@link #prometheus()}
 * on any thread. Nothing is allocated per request.
 */
public final class HttpMetrics implements ServerMetrics {
    /** How often a loop's lag is sampled, in ms. */
    public static final long LAG_SAMPLE_MS = 500;

    /** Upper bounds of the latency buckets, in seconds (the last one, +Inf, is implicit). */
    private static final double[] BUCKETS = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
    private static final long[] BUCKET_NANOS = new long[BUCKETS.length];

    static {
        for (int i = 0; i < BUCKETS.length; i++) BUCKET_NANOS[i] = (long) (BUCKETS[i] * 1e9);
    }

    private volatile HttpServer server;
    private final LongAdder accepted = new LongAdder();
    private final LongAdder closed = new LongAdder();
    private final LongAdder closedBytesRead = new LongAdder();
    private final LongAdder closedBytesWritten = new LongAdder();
    private final LongAdder[] byClass = new LongAdder[6]; // 0: other, 1..5: 1xx..5xx
    private final LongAdder[] buckets = new LongAdder[BUCKETS.length + 1];
    private final LongAdder durationNanos = new LongAdder();
    private final LongAdder count = new LongAdder();
    private final ConcurrentHashMap<EventLoop, Integer> loopIndex = new ConcurrentHashMap<>();
    private volatile AtomicLongArray lagMax = new AtomicLongArray(0);

    private HttpMetrics() {
        for (int i = 0; i < byClass.length; i++) byClass[i] = new LongAdder();
        for (int i = 0; i < buckets.length; i++) buckets[i] = new LongAdder();
    }

    /** A new, empty collector. Any thread. */
    public static HttpMetrics create() {
        return new HttpMetrics();
    }

    @Override
    public void bind(HttpServer server) {
        if (this.server != null && this.server != server) {
            throw new IllegalStateException("an HttpMetrics serves one server; make one per server");
        }
        this.server = server;
    }

    @Override
    public void connectionOpened(Connection conn) {
        accepted.increment();
    }

    @Override
    public void connectionClosed(Connection conn, long bytesRead, long bytesWritten) {
        closed.increment();
        closedBytesRead.add(bytesRead);
        closedBytesWritten.add(bytesWritten);
    }

    @Override
    public void requestCompleted(String method, int status, long nanos) {
        int cls = status / 100;
        byClass[cls >= 1 && cls <= 5 ? cls : 0].increment();
        int b = 0;
        while (b < BUCKET_NANOS.length && nanos > BUCKET_NANOS[b]) b++;
        buckets[b].increment();
        durationNanos.add(nanos);
        count.increment();
    }

    @Override
    public void loopLag(EventLoop loop, long lagNanos) {
        Integer i = loopIndex.get(loop);
        if (i == null) return;
        lagMax.accumulateAndGet(i, lagNanos, Math::max);
    }

    /** The server's loops are known (it started): one lag gauge each. Called by the server. */
    void loops(List<EventLoop> loops) {
        for (int i = 0; i < loops.size(); i++) loopIndex.put(loops.get(i), i);
        lagMax = new AtomicLongArray(loops.size());
    }

    /** Requests completed so far with a status in {@code [100*cls, 100*cls+99]} ({@code cls} 1 to 5). Any thread. */
    public long requests(int statusClass) {
        if (statusClass < 1 || statusClass > 5) throw new IllegalArgumentException("status class 1 to 5: " + statusClass);
        return byClass[statusClass].sum();
    }

    /** Requests completed so far, any status. Any thread. */
    public long requests() {
        return count.sum();
    }

    /** A handler answering with {@link #prometheus()} ({@code text/plain; version=0.0.4}). */
    public Handler handler() {
        return (req, res) -> res.contentType("text/plain; version=0.0.4; charset=utf-8").text(prometheus());
    }

    /**
     * The metrics in the Prometheus text format. Any thread; the gauges of open connections are
     * read from their loops' recent values.
     */
    public String prometheus() {
        HttpServer s = server;
        List<Connection> open = s == null ? List.of() : s.connections();
        long bytesIn = closedBytesRead.sum(), bytesOut = closedBytesWritten.sum(), queued = 0;
        for (Connection c : open) {
            bytesIn += c.bytesRead();
            bytesOut += c.bytesWritten();
            queued += c.queuedBytes();
        }
        StringBuilder b = new StringBuilder(2048);
        long acc = accepted.sum();
        gauge(b, "jhv_http_connections_open", "Open connections (HTTP, HTTPS and upgraded ones).",
                Math.max(0, acc - closed.sum()));
        counter(b, "jhv_http_connections_accepted_total", "Connections accepted.", acc);
        counter(b, "jhv_http_connections_refused_total", "Connections refused because maxConnections was reached.",
                s == null ? 0 : s.refusedConnections());
        b.append("# HELP jhv_http_requests_total Responses completed, by status class.\n");
        b.append("# TYPE jhv_http_requests_total counter\n");
        for (int c = 1; c <= 5; c++) b.append("jhv_http_requests_total{code=\"").append(c).append("xx\"} ").append(byClass[c].sum()).append('\n');
        b.append("# HELP jhv_http_request_duration_seconds From the request's head parsed to the response's last byte queued.\n");
        b.append("# TYPE jhv_http_request_duration_seconds histogram\n");
        long cumulative = 0;
        for (int i = 0; i < buckets.length; i++) {
            cumulative += buckets[i].sum();
            String le = i < BUCKETS.length ? trim(BUCKETS[i]) : "+Inf";
            b.append("jhv_http_request_duration_seconds_bucket{le=\"").append(le).append("\"} ").append(cumulative).append('\n');
        }
        b.append("jhv_http_request_duration_seconds_sum ").append(seconds(durationNanos.sum())).append('\n');
        b.append("jhv_http_request_duration_seconds_count ").append(cumulative).append('\n');
        counter(b, "jhv_http_received_bytes_total", "Bytes read from clients (on the wire).", bytesIn);
        counter(b, "jhv_http_sent_bytes_total", "Bytes written to clients (on the wire).", bytesOut);
        gauge(b, "jhv_http_write_queue_bytes", "Bytes waiting in the write queues of open connections.", queued);
        AtomicLongArray lag = lagMax;
        b.append("# HELP jhv_loop_lag_seconds The largest lag of a periodic timer on each loop since the last scrape.\n");
        b.append("# TYPE jhv_loop_lag_seconds gauge\n");
        for (int i = 0; i < lag.length(); i++) {
            b.append("jhv_loop_lag_seconds{loop=\"").append(i).append("\"} ").append(seconds(lag.getAndSet(i, 0))).append('\n');
        }
        return b.toString();
    }

    private static void counter(StringBuilder b, String name, String help, long v) {
        b.append("# HELP ").append(name).append(' ').append(help).append('\n');
        b.append("# TYPE ").append(name).append(" counter\n");
        b.append(name).append(' ').append(v).append('\n');
    }

    private static void gauge(StringBuilder b, String name, String help, long v) {
        b.append("# HELP ").append(name).append(' ').append(help).append('\n');
        b.append("# TYPE ").append(name).append(" gauge\n");
        b.append(name).append(' ').append(v).append('\n');
    }

    private static String seconds(long nanos) {
        return String.format(Locale.ROOT, "%.6f", nanos / 1e9);
    }

    private static String trim(double d) {
        return java.math.BigDecimal.valueOf(d).stripTrailingZeros().toPlainString();
    }
}
