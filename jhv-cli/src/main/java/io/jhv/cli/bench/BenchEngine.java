package io.jhv.cli.bench;

import io.jhv.core.buffer.Buffer;
import io.jhv.core.loop.EventLoop;
import io.jhv.core.loop.EventLoopGroup;
import io.jhv.core.loop.Timer;
import io.jhv.core.net.CloseCause;
import io.jhv.core.net.Connection;
import io.jhv.core.net.Connector;
import io.jhv.core.tls.TlsConfig;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The load engine of {@code hv bench}: raw connections from a {@link Connector} on an
 * {@link EventLoopGroup} (one {@link Worker} per loop, owning its connections and its statistics),
 * one request encoded once, and an incremental response parser that works on the received bytes in
 * place. In steady state with keep-alive nothing is allocated per request: the request is written
 * from a per-connection {@link Buffer} whose reader index is rewound, the send times live in a ring
 * of longs, and the statistics are plain fields and a {@link Histogram} per loop, merged at the end.
 *
 * <p>Use: {@link #run(BenchOptions, PrintStream)} from any thread; it blocks for the run.
 */
public final class BenchEngine {
    /** A response head larger than this is garbage. */
    static final int MAX_HEAD = 64 * 1024;
    /** Delay before reconnecting after a failed connect (so a refused port does not spin). */
    static final long RECONNECT_DELAY_MS = 10;

    final BenchOptions o;
    final byte[] request;
    final boolean headRequest;
    final String address;
    final Connector connector;
    final EventLoopGroup group;
    final Worker[] workers;
    final AtomicLong budget;
    final CountDownLatch finished;
    final long rateIntervalNanos;
    volatile boolean stopping;
    long startNanos;

    private BenchEngine(BenchOptions o, String address) {
        this.o = o;
        this.address = address;
        this.request = encodeRequest(o);
        this.headRequest = o.method.equals("HEAD");
        this.budget = o.requests >= 0 ? new AtomicLong(o.requests) : null;
        this.rateIntervalNanos = o.rate > 0 ? Math.max(1, (long) (o.connections * 1e9 / o.rate)) : 0;
        Connector c = Connector.create()
                .connectTimeout(Duration.ofNanos(o.timeoutNanos))
                .handshakeTimeout(Duration.ofNanos(o.timeoutNanos))
                .onMessage((conn, buf) -> {
                    Conn b = conn.context();
                    if (b != null) b.onData(conn, buf);
                    else buf.skip(buf.readableBytes());
                })
                .onClose((conn, cause) -> {
                    Conn b = conn.context();
                    if (b != null) b.onClose(conn, cause);
                });
        if (o.https) {
            TlsConfig.Builder tls = TlsConfig.client();
            if (o.insecure) tls.trustAll();
            if (!isLiteral(o.host)) tls.serverName(o.host);
            c.tls(tls.build());
        }
        this.connector = c;
        this.group = EventLoopGroup.create(o.threads);
        this.workers = new Worker[o.threads];
        int base = o.connections / o.threads, extra = o.connections % o.threads, g = 0;
        for (int i = 0; i < o.threads; i++) {
            int n = base + (i < extra ? 1 : 0);
            workers[i] = new Worker(group.get(i), g, n);
            g += n;
        }
        this.finished = new CountDownLatch(o.threads);
    }

    static boolean isLiteral(String h) {
        if (h.indexOf(':') >= 0) return true;
        for (int i = 0; i < h.length(); i++) {
            char ch = h.charAt(i);
            if ((ch < '0' || ch > '9') && ch != '.') return false;
        }
        return true;
    }

    /** The request bytes, built once. */
    static byte[] encodeRequest(BenchOptions o) {
        StringBuilder sb = new StringBuilder(256);
        sb.append(o.method).append(' ').append(o.target).append(" HTTP/1.1\r\n");
        boolean host = false, ua = false, connection = false;
        for (String[] h : o.headers) {
            String n = h[0].toLowerCase(Locale.ROOT);
            host |= n.equals("host");
            ua |= n.equals("user-agent");
            connection |= n.equals("connection");
        }
        if (!host) sb.append("Host: ").append(o.hostHeader()).append("\r\n");
        if (!ua) sb.append("User-Agent: hv-bench\r\n");
        for (String[] h : o.headers) sb.append(h[0]).append(": ").append(h[1]).append("\r\n");
        if (!o.keepAlive && !connection) sb.append("Connection: close\r\n");
        if (o.body != null) sb.append("Content-Length: ").append(o.body.length).append("\r\n");
        sb.append("\r\n");
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(sb.toString().getBytes(StandardCharsets.ISO_8859_1));
        if (o.body != null) out.writeBytes(o.body);
        return out.toByteArray();
    }

    /**
     * Runs the benchmark the options describe and returns its result. Progress lines (one a
     * second) go to {@code progress} unless it is null. Any thread; blocks until the run ends.
     *
     * @throws UnknownHostException if the URL's host cannot be resolved
     */
    public static BenchResult run(BenchOptions o, PrintStream progress) throws UnknownHostException, InterruptedException {
        String address = InetAddress.getByName(o.host).getHostAddress();
        BenchEngine e = new BenchEngine(o, address);
        return e.execute(progress);
    }

    private BenchResult execute(PrintStream progress) throws InterruptedException {
        group.start();
        try {
            startNanos = System.nanoTime();
            for (Worker w : workers) w.loop.post(w::start);
            if (o.warmupNanos > 0) {
                // --warmup: the same load, then every counter and histogram starts again from zero
                Thread.sleep(o.warmupNanos / 1_000_000L, (int) (o.warmupNanos % 1_000_000L));
                List<CompletableFuture<Worker>> reset = new ArrayList<>();
                for (Worker w : workers) reset.add(w.loop.submit(() -> { w.reset(); return w; }));
                for (CompletableFuture<Worker> f : reset) {
                    try {
                        f.get(5, TimeUnit.SECONDS);
                    } catch (Exception ex) {
                        throw new IllegalStateException("an event loop did not answer: " + ex, ex);
                    }
                }
                startNanos = System.nanoTime();
            }
            long deadline = o.durationNanos > 0 ? startNanos + o.durationNanos : Long.MAX_VALUE;
            long nextProgress = startNanos + 1_000_000_000L;
            long lastCount = 0;
            while (true) {
                long now = System.nanoTime();
                long wait = Math.min(deadline, nextProgress) - now;
                if (wait > 0 && finished.await(wait, TimeUnit.NANOSECONDS)) break;
                now = System.nanoTime();
                if (now >= deadline) break;
                if (now >= nextProgress) {
                    long count = 0, errs = 0;
                    for (Worker w : workers) { count += w.completed; errs += w.errorsRacy(); }
                    if (progress != null) {
                        progress.printf(Locale.ROOT, "  %3ds  %,d requests  %,d req/s  %,d errors%n",
                                (now - startNanos + 500_000_000L) / 1_000_000_000L, count, count - lastCount, errs);
                    }
                    lastCount = count;
                    nextProgress += 1_000_000_000L;
                }
            }
            long end = System.nanoTime();
            stopping = true;
            List<CompletableFuture<Worker>> stopped = new ArrayList<>();
            for (Worker w : workers) stopped.add(w.loop.submit(() -> { w.stop(); return w; }));
            BenchResult r = new BenchResult(o, (end - startNanos) / 1e9);
            for (CompletableFuture<Worker> f : stopped) {
                Worker w;
                try {
                    w = f.get(5, TimeUnit.SECONDS);
                } catch (Exception ex) {
                    throw new IllegalStateException("an event loop did not stop: " + ex, ex);
                }
                w.addTo(r);
            }
            return r;
        } finally {
            group.shutdownGracefully(Duration.ofSeconds(2));
        }
    }

    /** Takes up to {@code k} requests from the -n budget; 0 when it is spent. Any thread. */
    int claim(int k) {
        if (budget == null) return k;
        while (true) {
            long left = budget.get();
            if (left <= 0) return 0;
            int take = (int) Math.min(k, left);
            if (budget.compareAndSet(left, left - take)) return take;
        }
    }

    // =================================================================== one loop

    /** One loop's connections and statistics; everything in it runs on that loop. */
    final class Worker {
        final EventLoop loop;
        final Conn[] conns;
        final Histogram latency = new Histogram();
        final long[] status = new long[600];
        /** Read racily by the progress line (a long on a 64-bit JVM is not torn). */
        long completed;
        long bytes;
        long otherStatus;
        long errConnect, errRead, errWrite, errTimeout, errStatus;
        int active;
        Timer tick;

        Worker(EventLoop loop, int firstIndex, int n) {
            this.loop = loop;
            this.conns = new Conn[n];
            for (int i = 0; i < n; i++) conns[i] = new Conn(this, firstIndex + i);
            this.active = n;
        }

        long errorsRacy() { return errConnect + errRead + errWrite + errTimeout + errStatus; }

        void start() {
            if (conns.length == 0) { finished.countDown(); return; }
            long period = rateIntervalNanos > 0 ? 1 : Math.max(10, Math.min(100, o.timeoutNanos / 4_000_000L));
            tick = loop.setInterval(period, this::onTick);
            for (Conn c : conns) {
                // -R: the connections' schedules are spread evenly over one interval
                if (rateIntervalNanos > 0) c.nextIntended = startNanos + c.index * (rateIntervalNanos / o.connections);
                c.connect();
            }
        }

        void onTick() {
            long now = System.nanoTime();
            for (Conn c : conns) c.onTick(now);
        }

        void connDone() {
            if (--active == 0) finished.countDown();
        }

        void stop() {
            if (tick != null) tick.cancel();
            for (Conn c : conns) c.stop();
        }

        void reset() {
            latency.reset();
            java.util.Arrays.fill(status, 0);
            completed = bytes = otherStatus = 0;
            errConnect = errRead = errWrite = errTimeout = errStatus = 0;
        }

        void addTo(BenchResult r) {
            r.latency.add(latency);
            r.requests += completed;
            r.bytes += bytes;
            for (int i = 0; i < status.length; i++) r.status[i] += status[i];
            r.otherStatus += otherStatus;
            r.errConnect += errConnect;
            r.errRead += errRead;
            r.errWrite += errWrite;
            r.errTimeout += errTimeout;
            r.errStatus += errStatus;
        }
    }

    // =================================================================== one connection

    private static final int HEAD = 0, BODY = 1, CHUNK_SIZE = 2, CHUNK_DATA = 3, TRAILER = 4, UNTIL_EOF = 5;

    /** One connection slot: reconnected after every close. Loop thread only. */
    final class Conn {
        final Worker w;
        final int index;
        final Buffer out;
        /** Where the requests start in {@link #out} (after its prepend room). */
        final int base;
        final long[] sent;
        Connection c;
        boolean connecting, done;
        int head, outstanding;
        long nextIntended;
        /** When this connection last became free to send (-R). */
        long idleSince;
        // the response being parsed
        int state;
        long remaining;
        int status;
        boolean closeAfter;

        Conn(Worker w, int index) {
            this.w = w;
            this.index = index;
            int depth = o.pipeline;
            this.out = Buffer.allocate(request.length * depth);
            this.base = out.readerIndex();
            for (int i = 0; i < depth; i++) out.write(request);
            this.sent = new long[depth];
        }

        /** Opens a new connection unless the run is over (or the -n budget spent: then this slot is done). */
        void reconnect() {
            if (budget != null && budget.get() <= 0) { finish(); return; }
            connect();
        }

        void connect() {
            if (stopping || done) return;
            connecting = true;
            connector.connect(w.loop, address, o.port).whenComplete(this::onConnect);
        }

        void onConnect(Connection conn, Throwable failure) {
            connecting = false;
            if (failure != null) {
                if (stopping || done) return;
                if (claim(1) == 0) { finish(); return; } // with -n, a failed connect uses up one request
                w.errConnect++;
                w.loop.setTimeout(RECONNECT_DELAY_MS, this::connect);
                return;
            }
            if (stopping || done) { conn.close(); return; }
            c = conn;
            conn.context(this);
            state = HEAD;
            outstanding = 0;
            head = 0;
            long now = System.nanoTime();
            idleSince = now;
            send(now);
        }

        void finish() {
            if (done) return;
            done = true;
            w.connDone();
        }

        /** Sends the next request(s) if the connection is idle (and, with -R, if one is due). */
        void send(long now) {
            if (stopping || done || c == null || outstanding > 0) return;
            long at = now;
            if (rateIntervalNanos > 0) {
                if (now < nextIntended) return;
                // Late because the previous response (or the connect) came after the slot: latency
                // counts from the slot (coordinated-omission correction). Idle at the slot and only
                // late by our timer's granularity: from now, so the generator's lag is not the server's.
                at = idleSince > nextIntended ? nextIntended : now;
            }
            int k = claim(o.pipeline);
            if (k == 0) {
                Connection old = c;
                c = null;
                old.close();
                finish();
                return;
            }
            if (rateIntervalNanos > 0) nextIntended += rateIntervalNanos;
            out.readerIndex(base).writerIndex(base + k * request.length);
            for (int i = 0; i < k; i++) sent[i] = at;
            head = 0;
            outstanding = k;
            try {
                c.write(out);
            } catch (IllegalStateException closed) {
                // closed under us: onClose counts the requests as failed
            }
        }

        void onTick(long now) {
            if (c != null && outstanding > 0 && now - sent[head] > o.timeoutNanos) {
                w.errTimeout += outstanding;
                outstanding = 0;
                Connection old = c;
                c = null;
                old.abort();
                reconnect();
                return;
            }
            if (rateIntervalNanos > 0) send(now);
        }

        void stop() {
            done = true;
            if (c != null) {
                Connection old = c;
                c = null;
                old.abort();
            }
        }

        void onClose(Connection conn, CloseCause cause) {
            if (conn != c) return; // one we left (timeout, Connection: close, stop)
            c = null;
            if (state == UNTIL_EOF && outstanding > 0) {
                responseDone(System.nanoTime(), false);
            }
            if (outstanding > 0) {
                if (isWriteFailure(cause)) w.errWrite += outstanding;
                else w.errRead += outstanding;
                outstanding = 0;
            }
            if (!stopping && !done) reconnect();
        }

        private boolean isWriteFailure(CloseCause cause) {
            String d = cause.error() != null ? String.valueOf(cause.error().getMessage()) : "";
            return d.contains("Broken pipe");
        }

        /** A response protocol error: counted as a read error, connection reopened. */
        private void garbage() {
            w.errRead += Math.max(1, outstanding);
            outstanding = 0;
            Connection old = c;
            c = null;
            old.abort();
            reconnect();
        }

        void onData(Connection conn, Buffer buf) {
            int start = buf.readerIndex();
            int end = buf.writerIndex();
            if (conn != c) { buf.readerIndex(end); return; }
            byte[] a = buf.array();
            int r = start;
            parse:
            while (r < end) {
                switch (state) {
                    case HEAD -> {
                        if (outstanding == 0) { buf.readerIndex(end); garbage(); return; }
                        int n = Math.min(end - r, 5);
                        for (int i = 0; i < n; i++) {
                            if (a[r + i] != HTTP_SLASH[i]) { buf.readerIndex(end); garbage(); return; }
                        }
                        int headEnd = headEnd(a, r, end);
                        if (headEnd < 0) {
                            if (end - r > MAX_HEAD) { buf.readerIndex(end); garbage(); return; }
                            break parse;
                        }
                        if (!parseHead(a, r, headEnd)) { buf.readerIndex(end); garbage(); return; }
                        r = headEnd;
                        if (status >= 100 && status < 200 && status != 101) continue; // interim: the final one follows
                        if (headRequest || status < 200 || status == 204 || status == 304) {
                            if (!responseDone(System.nanoTime(), true)) { buf.readerIndex(end); w.bytes += r - start; return; }
                        } else if (state == BODY && remaining == 0) {
                            if (!responseDone(System.nanoTime(), true)) { buf.readerIndex(end); w.bytes += r - start; return; }
                        }
                    }
                    case BODY, CHUNK_DATA -> {
                        int take = (int) Math.min(remaining, end - r);
                        r += take;
                        remaining -= take;
                        if (remaining > 0) break parse;
                        if (state == CHUNK_DATA) {
                            state = CHUNK_SIZE;
                        } else if (!responseDone(System.nanoTime(), true)) {
                            buf.readerIndex(end); w.bytes += r - start; return;
                        }
                    }
                    case CHUNK_SIZE -> {
                        int nl = indexOfLf(a, r, end);
                        if (nl < 0) {
                            if (end - r > 4096) { buf.readerIndex(end); garbage(); return; }
                            break parse;
                        }
                        long size = 0;
                        int digits = 0;
                        for (int i = r; i < nl; i++) {
                            int d = hex(a[i]);
                            if (d < 0) break;
                            if (++digits > 15) { buf.readerIndex(end); garbage(); return; }
                            size = size << 4 | d;
                        }
                        if (digits == 0) { buf.readerIndex(end); garbage(); return; }
                        r = nl + 1;
                        if (size == 0) {
                            state = TRAILER;
                        } else {
                            remaining = size + 2; // the data and its CRLF
                            state = CHUNK_DATA;
                        }
                    }
                    case TRAILER -> {
                        int nl = indexOfLf(a, r, end);
                        if (nl < 0) {
                            if (end - r > MAX_HEAD) { buf.readerIndex(end); garbage(); return; }
                            break parse;
                        }
                        boolean empty = nl == r || (nl == r + 1 && a[r] == '\r');
                        r = nl + 1;
                        if (empty && !responseDone(System.nanoTime(), true)) {
                            buf.readerIndex(end); w.bytes += r - start; return;
                        }
                    }
                    default -> { // UNTIL_EOF
                        r = end;
                    }
                }
            }
            buf.readerIndex(r);
            w.bytes += r - start;
        }

        /**
         * One response is complete. Returns false when the connection was left (closed, reopened)
         * and the rest of the received bytes must be dropped.
         */
        private boolean responseDone(long now, boolean open) {
            Worker wk = w;
            wk.latency.record(now - sent[head]);
            wk.completed++;
            if (status >= 0 && status < 600) wk.status[status]++;
            else wk.otherStatus++;
            if (status >= 400) wk.errStatus++;
            head++;
            outstanding--;
            state = HEAD;
            if (closeAfter && open) {
                // the server closes (or we asked it to): requests still pipelined behind are lost
                if (outstanding > 0) { wk.errRead += outstanding; outstanding = 0; }
                Connection old = c;
                c = null;
                old.close();
                reconnect();
                return false;
            }
            if (outstanding == 0 && open) {
                idleSince = now;
                send(now);
            }
            return true;
        }

        /** Parses the status line and the headers that frame the body; false if they are not HTTP. */
        private boolean parseHead(byte[] a, int from, int to) {
            // "HTTP/1.x SSS"
            if (to - from < 14 || a[from + 5] != '1' || a[from + 6] != '.' || a[from + 8] != ' ') return false;
            boolean http10 = a[from + 7] == '0';
            int s = 0;
            for (int i = from + 9; i < from + 12; i++) {
                int d = a[i] - '0';
                if (d < 0 || d > 9) return false;
                s = s * 10 + d;
            }
            status = s;
            long contentLength = -1;
            boolean chunked = false, close = false, keepAlive = false;
            int line = indexOfLf(a, from, to) + 1;
            while (line < to) {
                int nl = indexOfLf(a, line, to);
                if (nl < 0) nl = to;
                int le = nl > line && a[nl - 1] == '\r' ? nl - 1 : nl;
                if (le == line) break; // the empty line
                int colon = -1;
                for (int i = line; i < le; i++) if (a[i] == ':') { colon = i; break; }
                if (colon > line) {
                    int vs = colon + 1, ve = le;
                    while (vs < ve && (a[vs] == ' ' || a[vs] == '\t')) vs++;
                    while (ve > vs && (a[ve - 1] == ' ' || a[ve - 1] == '\t')) ve--;
                    int nlen = colon - line;
                    if (nlen == 14 && equalsLower(a, line, CONTENT_LENGTH)) {
                        if (ve == vs || ve - vs > 18) return false;
                        long v = 0;
                        for (int i = vs; i < ve; i++) {
                            int d = a[i] - '0';
                            if (d < 0 || d > 9) return false;
                            v = v * 10 + d;
                        }
                        contentLength = v;
                    } else if (nlen == 17 && equalsLower(a, line, TRANSFER_ENCODING)) {
                        chunked = ve - vs >= 7 && equalsLower(a, ve - 7, CHUNKED);
                    } else if (nlen == 10 && equalsLower(a, line, CONNECTION)) {
                        close |= containsLower(a, vs, ve, CLOSE);
                        keepAlive |= containsLower(a, vs, ve, KEEP_ALIVE);
                    }
                }
                line = nl + 1;
            }
            closeAfter = close || (http10 && !keepAlive) || !o.keepAlive;
            if (chunked) {
                state = CHUNK_SIZE;
            } else if (contentLength >= 0) {
                state = BODY;
                remaining = contentLength;
            } else if (headRequest || s < 200 || s == 204 || s == 304) {
                state = HEAD;
            } else {
                state = UNTIL_EOF;
                closeAfter = true;
            }
            if (headRequest || s < 200 || s == 204 || s == 304) state = HEAD;
            return true;
        }
    }

    private static final byte[] HTTP_SLASH = "HTTP/".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] CONTENT_LENGTH = "content-length".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] TRANSFER_ENCODING = "transfer-encoding".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] CONNECTION = "connection".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] CHUNKED = "chunked".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] CLOSE = "close".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] KEEP_ALIVE = "keep-alive".getBytes(StandardCharsets.US_ASCII);

    /** The index just after the first CRLFCRLF in [from, to), or -1. */
    static int headEnd(byte[] a, int from, int to) {
        for (int i = from + 3; i < to; i++) {
            if (a[i] == '\n' && a[i - 1] == '\r' && a[i - 2] == '\n' && a[i - 3] == '\r') return i + 1;
        }
        return -1;
    }

    static int indexOfLf(byte[] a, int from, int to) {
        for (int i = from; i < to; i++) if (a[i] == '\n') return i;
        return -1;
    }

    static int hex(byte b) {
        if (b >= '0' && b <= '9') return b - '0';
        if (b >= 'a' && b <= 'f') return b - 'a' + 10;
        if (b >= 'A' && b <= 'F') return b - 'A' + 10;
        return -1;
    }

    /** Whether {@code a[at..]} equals the lower-case ASCII {@code lower}, ignoring case. */
    static boolean equalsLower(byte[] a, int at, byte[] lower) {
        for (int i = 0; i < lower.length; i++) {
            int b = a[at + i];
            if (b >= 'A' && b <= 'Z') b += 32;
            if (b != lower[i]) return false;
        }
        return true;
    }

    static boolean containsLower(byte[] a, int from, int to, byte[] lower) {
        for (int i = from; i + lower.length <= to; i++) if (equalsLower(a, i, lower)) return true;
        return false;
    }
}
