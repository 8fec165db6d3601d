package io.jhv.http.server;

import io.jhv.core.buffer.Buffer;
import io.jhv.core.loop.EventLoop;
import io.jhv.core.loop.Timer;
import io.jhv.http.client.HttpClient;
import io.jhv.http.client.HttpConnectException;
import io.jhv.http.client.HttpRequest;
import io.jhv.http.client.HttpResponse;
import io.jhv.http.client.HttpTimeoutException;
import io.jhv.http.client.ResponseHandler;
import io.jhv.http.client.ResponseStream;
import io.jhv.http.client.RetryPolicy;
import io.jhv.http.internal.http1.Http1Request;

import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A reverse proxy route: requests under a prefix go to one of several upstream servers, through
 * jhv's {@link HttpClient} and its connection pools, on the server's own loops.
 *
 * {@snippet :
 * HttpServer.create(8080)
 *     .proxy("/api", "http://10.0.0.1:9000", "http://10.0.0.2:9000")          // round robin
 *     .proxy("/search", ReverseProxy.builder().upstream("http://search:8080")
 *         .balance(ReverseProxy.Balance.LEAST_CONNECTIONS).responseTimeout(Duration.ofSeconds(5)).build())
 *     .start();
 * }
 *
 * <p>What it does with a request (like nginx's {@code proxy_pass http://upstream}, whole path kept):
 * <ul>
 * <li>the path and query go to the upstream unchanged (the upstream URL's own path, if any, is put
 *     in front); the method, the headers and the body (read whole by the server, up to its
 *     {@code maxBodySize}) go with it;</li>
 * <li>hop-by-hop headers are removed both ways ({@code Connection} and the headers it names,
 *     {@code Keep-Alive}, {@code Proxy-Connection}, {@code Proxy-Authorization}, {@code TE},
 *     {@code Trailer}, {@code Transfer-Encoding}, {@code Upgrade}); {@code X-Forwarded-For} gets the
 *     client's address appended, {@code X-Forwarded-Proto} and {@code X-Forwarded-Host} are set,
 *     and {@code Forwarded} (RFC 7239) gets an element appended; {@code Host} is the upstream's
 *     (the client's is in {@code X-Forwarded-Host});</li>
 * <li>the response comes back with its status and headers (the upstream's {@code Date} and
 *     {@code Server} are replaced by this server's); a body of known length up to
 *     {@link Builder#bufferLimit} is sent in one piece with its length, a longer or chunked one is
 *     streamed as it arrives, with back-pressure: while the client reads slowly, the upstream
 *     connection is paused (nothing piles up in memory);</li>
 * <li>balancing is round robin (default) or least connections; an upstream whose connect fails or
 *     times out is skipped for {@link Builder#failTimeout} (passive health) and the request tries
 *     the next one (nothing was sent yet, so this is safe for any method);</li>
 * <li>failures answer with {@code 502 Bad Gateway} (refused, closed, malformed answer, nothing
 *     alive) or {@code 504 Gateway Timeout} (no answer in time), with a body that says which
 *     upstream and what went wrong; an upstream that dies in the middle of a streamed body
 *     closes the client's connection (the status has gone out already).</li>
 * </ul>
 * WebSocket upgrades pass through: the upstream's {@code 101} goes back to the client, then bytes
 * are piped both ways with back-pressure until either side closes; a refused upgrade is a
 * {@code 502} quoting the upstream's status line. Other upgrade offers ({@code h2c}) are dropped
 * and the request is served as HTTP/1.1.
 *
 * <p>Per request it allocates little beyond what the {@link HttpClient} call needs: request fields
 * are read from the parsed head without making Strings of those it does not forward, the
 * forwarded-header values are made once per client connection (and again when its Host changes),
 * and the upstream URIs of recent request targets are kept (256 slots by hash, targets up to 256
 * characters; a different target in a slot replaces the one before).
 *
 * <p>Thread contract: immutable once built (its caches are safe to share between loops); one
 * instance may serve one server.
 */
public final class ReverseProxy implements Handler {
    /** How an upstream is chosen. */
    public enum Balance {
        /** In turn. */
        ROUND_ROBIN,
        /** The one with the fewest requests in progress (round robin among equals). */
        LEAST_CONNECTIONS
    }

    /** Request headers that describe one hop only (RFC 9110 7.6.1), never forwarded. */
    private static final Set<String> HOP_BY_HOP = Set.of("connection", "keep-alive", "proxy-connection",
            "proxy-authorization", "proxy-authenticate", "te", "trailer", "transfer-encoding", "upgrade");
    /** Request headers the client writes itself (it refuses them). */
    private static final Set<String> CLIENT_SETS = Set.of("host", "content-length");

    private final Upstream[] upstreams;
    private final Balance balance;
    private final long failTimeoutNanos;
    private final Duration connectTimeout, responseTimeout, readTimeout;
    private final int bufferLimit;
    private final HttpClient shared;
    private final AtomicInteger next = new AtomicInteger();
    private volatile HttpClient client;
    private volatile HttpServer server;

    private ReverseProxy(Builder b) {
        if (b.upstreams.isEmpty()) throw new IllegalArgumentException("a reverse proxy needs at least one upstream");
        this.upstreams = b.upstreams.toArray(new Upstream[0]);
        this.balance = b.balance;
        this.failTimeoutNanos = b.failTimeout.toNanos();
        this.connectTimeout = b.connectTimeout;
        this.responseTimeout = b.responseTimeout;
        this.readTimeout = b.readTimeout;
        this.bufferLimit = b.bufferLimit;
        this.shared = b.client;
    }

    /** A round-robin proxy to {@code upstreams} ({@code http://host:port[/path]} or {@code https://...}) with default settings. */
    public static ReverseProxy to(String... upstreams) {
        Builder b = builder();
        for (String u : upstreams) b.upstream(u);
        return b.build();
    }

    /** Settings for a proxy. */
    public static Builder builder() {
        return new Builder();
    }

    /** The server this proxy serves, so its client runs on the server's loops. Called by {@link HttpServer#proxy}. */
    void bind(HttpServer s) {
        if (server != null && server != s) throw new IllegalStateException("a ReverseProxy serves one server");
        server = s;
    }

    /** Closes the proxy's own client (not one given to {@link Builder#client}). Called by the server's close. */
    void close() {
        HttpClient c;
        synchronized (this) {
            c = client;
            client = null;
        }
        if (c != null && c != shared) c.close();
    }

    /** What each upstream has had: for tests and monitoring. Any thread. */
    public List<String> upstreamStates() {
        List<String> l = new ArrayList<>();
        long now = System.nanoTime();
        for (Upstream u : upstreams) {
            l.add(u.base + " active=" + u.active.get() + (u.downUntil.get() - now > 0 ? " down" : " up"));
        }
        return l;
    }

    private HttpClient client() {
        HttpClient c = client;
        if (c != null) return c;
        synchronized (this) {
            if (client != null) return client;
            if (shared != null) return client = shared;
            HttpClient.Builder b = HttpClient.builder()
                    .followRedirects(false)
                    .decompress(false)
                    .userAgent(null)
                    .retryPolicy(STALE_ONLY)
                    .connectTimeout(connectTimeout)
                    .responseHeadTimeout(responseTimeout)
                    .readIdleTimeout(readTimeout);
            HttpServer s = server;
            if (s != null && s.group() != null) b.group(s.group());
            return client = b.build();
        }
    }

    @Override
    public void handle(Request req, Response res) {
        Target known = cachedTarget(req); // seen before: its URIs are made and it passed the check below
        if (known == null && hasDotSegment(req.target())) {
            // the upstream would resolve them and serve what the prefix was meant to keep out
            res.status(400).text("Bad Request: '.' and '..' path segments are not forwarded\n");
            return;
        }
        String upgrade = req.hasHeader("Upgrade") ? req.header("Upgrade") : null;
        if (upgrade != null && upgrade.toLowerCase(Locale.ROOT).contains("websocket")) {
            if (!"HTTP/1.1".equals(req.version()) || connectionTokens(req.headers("Connection")).contains("close")) {
                res.status(400).text("Bad Request: a WebSocket upgrade needs a persistent HTTP/1.1 connection\n");
                return;
            }
            HttpServer s = server;
            if (s != null && !s.isReady()) {
                res.status(503).text("Service Unavailable: shutting down\n");
                return;
            }
            relayUpgrade(req, res);
            return;
        }
        // any other Upgrade (h2c) is hop-by-hop: dropped, the request goes on as HTTP/1.1
        // The exchange reads the request and answers on this loop only (the upstream's loop, when
        // another, reads just the method and the connection): its tables are reused once answered
        if (res instanceof io.jhv.http.internal.http1.Http1Response h1) h1.deferOnLoop();
        else res.defer();
        new Exchange(req, res, known).attempt();
    }

    /** A WebSocket upgrade: a raw connection to an upstream, piped to the client's after the 101. Loop thread. */
    private void relayUpgrade(Request req, Response res) {
        int i = pick(null);
        Upstream u = upstreams[i];
        URI base = u.baseUri;
        boolean tls = base.getScheme().equals("https");
        int port = base.getPort() > 0 ? base.getPort() : tls ? 443 : 80;
        List<String[]> headers = new ArrayList<>();
        forwardHeaders(req, null, (name, value) -> headers.add(new String[] {name, value}));
        res.defer();
        u.active.incrementAndGet();
        java.util.concurrent.atomic.AtomicBoolean released = new java.util.concurrent.atomic.AtomicBoolean();
        Runnable release = () -> { if (released.compareAndSet(false, true)) u.active.decrementAndGet(); };
        req.connection().addCloseListener((c, cause) -> release.run());
        String host = base.getHost().startsWith("[") ? base.getHost().substring(1, base.getHost().length() - 1) : base.getHost();
        io.jhv.http.internal.UpgradeRelay.start(req, res, u.path + req.target(), tls, null, host, port, headers, connectTimeout, responseTimeout, why -> {
            release.run();
            if (why.contains("cannot be reached")) u.downUntil.set(System.nanoTime() + failTimeoutNanos);
            if (!res.committed()) res.status(why.contains("in time") ? 504 : 502).text((why.contains("in time") ? "Gateway Timeout: " : "Bad Gateway: ") + why + "\n");
        });
    }

    /**
     * Hands {@code sink} the headers to send upstream: the request's end-to-end headers (not the
     * hop-by-hop ones, those {@code Connection} names, nor Host and Content-Length, which the
     * upstream connection sets), then {@code X-Forwarded-For} (the client appended),
     * {@code X-Forwarded-Proto}, {@code X-Forwarded-Host} and {@code Forwarded} (an element appended).
     * {@code d}: the client connection's state if the caller has it, else null.
     */
    private static void forwardHeaders(Request req, Downstream d, java.util.function.BiConsumer<String, String> sink) {
        if (req instanceof Http1Request r && req.connection() != null && req.loop().inLoop()) {
            forwardHeaders(r, d != null ? d : downstream(req.connection()), sink);
            return;
        }
        Set<String> named = connectionTokens(req.headers("Connection"));
        String xff = null, prior = null;
        for (Map.Entry<String, String> h : req.headers()) {
            String name = h.getKey().toLowerCase(Locale.ROOT);
            if (HOP_BY_HOP.contains(name) || CLIENT_SETS.contains(name) || named.contains(name)) continue;
            switch (name) {
                case "x-forwarded-for" -> xff = xff == null ? h.getValue() : xff + ", " + h.getValue();
                case "forwarded" -> prior = prior == null ? h.getValue() : prior + ", " + h.getValue();
                case "x-forwarded-proto", "x-forwarded-host" -> { } // replaced below
                default -> sink.accept(h.getKey(), h.getValue());
            }
        }
        String client = clientAddress(req.remoteAddress());
        sink.accept("X-Forwarded-For", xff == null ? client : xff + ", " + client);
        String proto = req.connection().isSecure() ? "https" : "http";
        sink.accept("X-Forwarded-Proto", proto);
        String host = req.header("Host");
        if (host != null) sink.accept("X-Forwarded-Host", host);
        String fwd = "for=" + forwardedNode(req.remoteAddress()) + ";proto=" + proto
                + (host != null ? ";host=\"" + host.replace("\\", "\\\\").replace("\"", "\\\"") + "\"" : "");
        sink.accept("Forwarded", prior == null ? fwd : prior + ", " + fwd);
    }

    /**
     * {@link #forwardHeaders(Request, Downstream, java.util.function.BiConsumer)} for a request of this server's
     * HTTP/1.1 engine: the fields are classified on their bytes (no String for a field that is not
     * forwarded, no lower-casing), and the client's address, {@code X-Forwarded-Host} and
     * {@code Forwarded} come from {@code d}'s strings while the request's Host is the one before.
     * Downstream loop.
     */
    private static void forwardHeaders(Http1Request r, Downstream d, java.util.function.BiConsumer<String, String> sink) {
        Set<String> named = r.hasHeader("Connection") ? connectionTokens(r.headers("Connection")) : Set.of();
        String xff = null, prior = null;
        int host = -1;
        for (int h = 0, n = r.headerCount(); h < n; h++) {
            switch (requestField(r, h)) {
                case F_HOST -> {
                    if (host < 0) host = h;
                }
                case F_XFF -> xff = xff == null ? r.headerValue(h) : xff + ", " + r.headerValue(h);
                case F_FORWARDED -> prior = prior == null ? r.headerValue(h) : prior + ", " + r.headerValue(h);
                case F_SKIP -> { }
                default -> {
                    String name = r.headerName(h);
                    if (named.isEmpty() || !named.contains(name.toLowerCase(Locale.ROOT))) sink.accept(name, r.headerValue(h));
                }
            }
        }
        sink.accept("X-Forwarded-For", xff == null ? d.client : xff + ", " + d.client);
        sink.accept("X-Forwarded-Proto", d.proto);
        String fwd;
        if (host >= 0) {
            if (d.host == null || !r.headerValueIs(host, d.host)) d.host(r.headerValue(host));
            sink.accept("X-Forwarded-Host", d.host);
            fwd = d.forwardedWithHost;
        } else {
            fwd = d.forwardedNoHost;
        }
        sink.accept("Forwarded", prior == null ? fwd : prior + ", " + fwd);
    }

    private static final int F_FORWARD = 0, F_SKIP = 1, F_HOST = 2, F_XFF = 3, F_FORWARDED = 4;

    /**
     * What becomes of request field {@code h}: hop-by-hop, Host, Content-Length and the
     * X-Forwarded-Proto/-Host this proxy replaces are skipped; X-Forwarded-For and Forwarded are
     * appended to. By the name's length first, so most names are compared with one candidate.
     */
    private static int requestField(Http1Request r, int h) {
        return switch (r.headerNameLength(h)) {
            case 2 -> r.headerNameIs(h, "te") ? F_SKIP : F_FORWARD;
            case 4 -> r.headerNameIs(h, "host") ? F_HOST : F_FORWARD;
            case 7 -> r.headerNameIs(h, "trailer") || r.headerNameIs(h, "upgrade") ? F_SKIP : F_FORWARD;
            case 9 -> r.headerNameIs(h, "forwarded") ? F_FORWARDED : F_FORWARD;
            case 10 -> r.headerNameIs(h, "connection") || r.headerNameIs(h, "keep-alive") ? F_SKIP : F_FORWARD;
            case 14 -> r.headerNameIs(h, "content-length") ? F_SKIP : F_FORWARD;
            case 15 -> r.headerNameIs(h, "x-forwarded-for") ? F_XFF : F_FORWARD;
            case 16 -> r.headerNameIs(h, "proxy-connection") || r.headerNameIs(h, "x-forwarded-host") ? F_SKIP : F_FORWARD;
            case 17 -> r.headerNameIs(h, "transfer-encoding") || r.headerNameIs(h, "x-forwarded-proto") ? F_SKIP : F_FORWARD;
            case 18 -> r.headerNameIs(h, "proxy-authenticate") ? F_SKIP : F_FORWARD;
            case 19 -> r.headerNameIs(h, "proxy-authorization") ? F_SKIP : F_FORWARD;
            default -> F_FORWARD;
        };
    }

    /** True if response header {@code name} is not copied: hop-by-hop, or one this server writes itself. Without lower-casing. */
    private static boolean ownOrHopResponseHeader(String name) {
        return switch (name.length()) {
            case 2 -> name.equalsIgnoreCase("te");
            case 4 -> name.equalsIgnoreCase("date");
            case 6 -> name.equalsIgnoreCase("server");
            case 7 -> name.equalsIgnoreCase("trailer") || name.equalsIgnoreCase("upgrade");
            case 10 -> name.equalsIgnoreCase("connection") || name.equalsIgnoreCase("keep-alive");
            case 14 -> name.equalsIgnoreCase("content-length");
            case 16 -> name.equalsIgnoreCase("proxy-connection");
            case 17 -> name.equalsIgnoreCase("transfer-encoding");
            case 18 -> name.equalsIgnoreCase("proxy-authenticate");
            case 19 -> name.equalsIgnoreCase("proxy-authorization");
            default -> false;
        };
    }

    /** Picks a live upstream not tried yet ({@code tried} null: none); a down one only when all the untried ones are down. */
    private int pick(boolean[] tried) {
        long now = System.nanoTime();
        int n = upstreams.length;
        int start = Math.floorMod(next.getAndIncrement(), n);
        int best = -1;
        int fallback = -1;
        for (int k = 0; k < n; k++) {
            int i = (start + k) % n;
            if (tried != null && tried[i]) continue;
            Upstream u = upstreams[i];
            if (u.downUntil.get() - now > 0) {
                if (fallback < 0) fallback = i;
                continue;
            }
            if (balance == Balance.ROUND_ROBIN) return i;
            if (best < 0 || u.active.get() < upstreams[best].active.get()) best = i;
        }
        return best >= 0 ? best : fallback;
    }

    /** One proxied request: its attempts, its response. */
    private final class Exchange implements ResponseHandler, java.util.function.BiConsumer<HttpResponse, Throwable> {
        final Request req;
        final Response res;
        final EventLoop loop; // the downstream connection's loop: the response is written there
        final boolean headRequest; // a HEAD request (read here: onHead may run on the upstream's loop)
        Target target;        // the upstream URIs of the request's target, once made
        Downstream down;      // the client connection's, once looked up
        Upstream up;
        Upstream chosen;      // the first attempt's upstream (set once)
        boolean[] tried;      // the upstreams tried, made at the first retry (most requests have none)
        int upIndex;
        String lastFailure;
        // the response
        HttpResponse head;
        ResponseStream stream;
        Response.ChunkedWriter writer; // streaming mode
        byte[] body;                   // buffered mode: a known length up to bufferLimit
        int filled;
        volatile long pending; // streamed bytes posted to the loop, not yet written (PENDING updates it)
        volatile boolean paused;
        Timer resumeCheck;
        volatile CompletableFuture<HttpResponse> call;
        boolean watched;

        Exchange(Request req, Response res, Target target) {
            this.req = req;
            this.res = res;
            this.loop = req.loop();
            this.target = target;
            this.headRequest = "HEAD".equals(req.method());
        }

        void attempt() {
            if (req.connection().isClosed()) return; // a retry after the client left: nobody to answer
            int i = pick(tried);
            if (i < 0) {
                fail(502, "no upstream could be reached" + (lastFailure != null ? " (last: " + lastFailure + ")" : ""));
                return;
            }
            upIndex = i;
            up = upstreams[i];
            up.active.incrementAndGet();
            HttpRequest out;
            try {
                out = upstreamRequest(i);
            } catch (RuntimeException e) {
                up.active.decrementAndGet();
                fail(400, "cannot forward this request: " + e.getMessage());
                return;
            }
            CompletableFuture<HttpResponse> c = client().sendAsync(out, this);
            call = c;
            if (tried == null) { // the first attempt (usually the only one): accept() ends it, no lambda
                chosen = up;
                c.whenComplete(this);
            } else { // a retry: the first call's end may still be on its way from another loop
                Upstream u = up;
                c.whenComplete((r, x) -> u.active.decrementAndGet());
            }
            watchClient();
        }

        /** The first attempt's call (to {@link #chosen}) ended: the upstream is no longer busy with it. Any thread. */
        @Override
        public void accept(HttpResponse r, Throwable e) {
            chosen.active.decrementAndGet();
        }

        HttpRequest upstreamRequest(int i) {
            Target t = target;
            if (t == null) target = t = newTarget(req);
            HttpRequest.Builder b = HttpRequest.newBuilder(req.method(), t.uris[i]);
            forwardHeaders(req, down(), b::header);
            byte[] bytes = req.body();
            if (bytes != null && bytes.length > 0) b.body(bytes);
            else if (req.hasHeader("Content-Length") || req.hasHeader("Transfer-Encoding")) b.body(new byte[0]);
            return b.build();
        }

        // ------------------------------------------------------------ ResponseHandler (the upstream connection's loop)

        @Override
        public void onHead(HttpResponse h, ResponseStream s) {
            head = h;
            stream = s;
            up.downUntil.set(System.nanoTime() - 1); // it answered: alive
            String len = h.header("Transfer-Encoding") != null ? null : h.header("Content-Length"); // TE wins (RFC 9112 6.3)
            long n = -1;
            if (len != null) {
                try {
                    n = Long.parseLong(len.trim());
                } catch (NumberFormatException ignored) {
                    // the client already checked framing; treat as unknown
                }
            }
            if (headRequest && n >= 0 && res instanceof io.jhv.http.internal.http1.Http1Response h1) {
                long announced = n;
                onLoop(() -> { // the upstream's length, no body
                    unwatch();
                    if (req.connection().isClosed()) return;
                    copyHead(h);
                    h1.headOnly(announced);
                });
                return;
            }
            if (n >= 0 && n <= bufferLimit) {
                body = new byte[(int) n];
                return; // answered whole at onComplete
            }
            onLoop(() -> {
                if (req.connection().isClosed()) {
                    s.cancel();
                    return;
                }
                copyHead(h);
                writer = res.stream();
            });
        }

        @Override
        public void onBody(Buffer chunk) {
            int n = chunk.readableBytes();
            if (body != null) {
                int take = Math.min(n, body.length - filled);
                chunk.readBytes(body, filled, take);
                filled += take;
                chunk.skip(chunk.readableBytes());
                return;
            }
            byte[] copy = chunk.readBytes();
            PENDING.getAndAdd(this, (long) copy.length);
            onLoop(() -> {
                PENDING.getAndAdd(this, (long) -copy.length);
                if (req.connection().isClosed()) {
                    stream.cancel(); // the client went away: so does the upstream request
                    return;
                }
                writer.write(copy);
            });
            if (!paused && (pending + held() > PENDING_HIGH || !req.connection().isWritable())) {
                paused = true;
                stream.pause();
                loop.execute(this::watchWritable);
            }
        }

        /** The whole body is in: status, headers and body go to the client in one piece. Downstream loop. */
        private void answerBuffered(byte[] b, int got) {
            unwatch();
            if (req.connection().isClosed()) return;
            copyHead(head);
            res.bytes(b, 0, got);
        }

        /** On the downstream loop while paused: resume the upstream once the client has read enough. */
        private void watchWritable() {
            if (req.connection().isClosed()) {
                stream.cancel();
                return;
            }
            if (pending + held() < PENDING_LOW && req.connection().isWritable()) {
                paused = false;
                stream.resume();
                return;
            }
            resumeCheck = loop.setTimeout(5, this::watchWritable);
        }

        @Override
        public void onComplete(HttpResponse r) {
            if (body != null) {
                if (loop.inLoop()) {
                    answerBuffered(body, filled);
                } else {
                    byte[] b = body;
                    int got = filled;
                    loop.execute(() -> answerBuffered(b, got));
                }
            } else {
                onLoop(() -> {
                    unwatch();
                    if (writer != null) writer.close();
                });
            }
        }

        @Override
        public void onError(Throwable error) {
            Throwable e = error instanceof CompletionException && error.getCause() != null ? error.getCause() : error;
            if (e instanceof CancellationException) {
                if (head != null && body == null) onLoop(() -> req.connection().abort()); // a stream we gave up on
                return;
            }
            if (head != null && body != null) { // buffered: nothing went to the client yet
                fail(502, "upstream " + up.base + " failed in the middle of its response: " + e.getMessage());
                return;
            }
            if (head != null) {
                // streaming: the status went out; cutting the client's connection is the only way to tell
                onLoop(() -> {
                    unwatch();
                    if (resumeCheck != null) resumeCheck.cancel();
                    req.connection().abort();
                });
                return;
            }
            boolean connectFailed = e instanceof HttpConnectException
                    || (e instanceof HttpTimeoutException t && (t.phase() == HttpTimeoutException.Phase.CONNECT || t.phase() == HttpTimeoutException.Phase.TLS));
            if (connectFailed) {
                up.downUntil.set(System.nanoTime() + failTimeoutNanos);
                lastFailure = up.base + ": " + e.getMessage();
                // nothing was sent: another upstream may take it, whatever the method
                if (tried == null) tried = new boolean[upstreams.length];
                tried[upIndex] = true;
                loop.execute(this::attempt);
                return;
            }
            if (e instanceof HttpTimeoutException t) {
                fail(504, "upstream " + up.base + " did not answer in time (" + t.phase().name().toLowerCase(Locale.ROOT).replace('_', ' ') + "): " + t.getMessage());
            } else {
                fail(502, "upstream " + up.base + " failed: " + e.getMessage());
            }
        }

        /** The client's connection closing cancels this exchange's upstream call. Downstream loop. */
        private void watchClient() {
            if (watched) return;
            watched = true;
            down().live.add(this);
        }

        /** The client connection's state (one map look-up per exchange). Downstream loop. */
        private Downstream down() {
            Downstream d = down;
            if (d == null) down = d = downstream(req.connection());
            return d;
        }

        /** The exchange is over (answered, failed or cut): it no longer needs to hear the client's close. Downstream loop. */
        private void unwatch() {
            Downstream d = down;
            if (d != null) d.live.remove(this);
        }

        private void clientLeft() {
            CompletableFuture<HttpResponse> c = call;
            if (c != null) c.cancel(true);
            if (resumeCheck != null) resumeCheck.cancel();
        }

        /** Bytes of this response held behind earlier ones on the client's connection (pipelined, answered in parallel). */
        private long held() {
            return res instanceof io.jhv.http.internal.http1.Http1Response h ? h.heldBytes() : 0;
        }

        /** Runs {@code r} on the downstream loop: now when the upstream connection shares it, else posted. */
        private void onLoop(Runnable r) {
            if (loop.inLoop()) r.run();
            else loop.execute(r);
        }

        private void copyHead(HttpResponse h) {
            res.status(h.status());
            Set<String> named = h.header("Connection") == null ? Set.of() : connectionTokens(h.headers("Connection"));
            List<Map.Entry<String, String>> fields = h.headerList();
            for (int i = 0, n = fields.size(); i < n; i++) { // by index: no iterator per response
                Map.Entry<String, String> e = fields.get(i);
                String name = e.getKey();
                if (ownOrHopResponseHeader(name) || (!named.isEmpty() && named.contains(name.toLowerCase(Locale.ROOT)))) continue;
                if (name.equalsIgnoreCase("content-type")) res.contentType(e.getValue()); // the response's own field: one header
                else res.header(name, e.getValue());
            }
        }

        private void fail(int status, String why) {
            onLoop(() -> {
                unwatch();
                if (req.connection().isClosed() || res.committed()) return;
                res.status(status).text((status == 504 ? "Gateway Timeout: " : status == 502 ? "Bad Gateway: " : "") + why + "\n");
            });
        }
    }

    /**
     * A pooled connection the upstream closed while idle is retried once (when safe); a connect
     * failure is not: the next upstream is tried instead.
     */
    private static final RetryPolicy STALE_ONLY = f -> f.attempt() == 1 && f.reusedConnection() && !f.responseStarted()
            && (!f.requestSent() || RetryPolicy.IDEMPOTENT.contains(f.request().method()));

    /** What the proxies keep per client connection (see {@link Downstream}); removed when it closes. */
    private static final Map<io.jhv.core.net.Connection, Downstream> LIVE = new java.util.concurrent.ConcurrentHashMap<>();

    /** {@code c}'s state, made at its first proxied request. Its loop. */
    private static Downstream downstream(io.jhv.core.net.Connection c) {
        Downstream d = LIVE.get(c);
        if (d != null) return d;
        d = new Downstream(c);
        if (c.isClosed()) return d; // its close listener would never run: nothing to keep
        LIVE.put(c, d);
        c.addCloseListener((conn, cause) -> {
            Downstream gone = LIVE.remove(conn);
            if (gone != null) for (Exchange x : gone.live.toArray(new Exchange[0])) x.clientLeft();
        });
        return d;
    }

    /**
     * Per client connection, on its loop only: the proxy exchanges in progress (cancelled when it
     * closes), and the forwarded-header values that do not change from one of its requests to the
     * next (its address, its scheme) or rarely do (its Host), made once instead of per request.
     */
    private static final class Downstream {
        final List<Exchange> live = new ArrayList<>(2);
        final String client;          // X-Forwarded-For's element
        final String proto;           // X-Forwarded-Proto
        final String forwardedNoHost; // Forwarded's element without host=
        String host;                  // the Host of the last request, and its Forwarded element
        String forwardedWithHost;

        Downstream(io.jhv.core.net.Connection c) {
            SocketAddress a = c.remoteAddress();
            client = clientAddress(a);
            proto = c.isSecure() ? "https" : "http";
            forwardedNoHost = "for=" + forwardedNode(a) + ";proto=" + proto;
        }

        void host(String h) {
            host = h;
            forwardedWithHost = forwardedNoHost + ";host=\"" + h.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
        }
    }

    /** How many request targets each proxy keeps the upstream URIs of (a power of two), and the longest target kept. */
    private static final int TARGETS = 256, TARGET_MAX = 256;

    /** A request target and the URI it has at each upstream (immutable: safely shared between loops). */
    private record Target(String target, URI[] uris) {}

    /** Upstream URIs of recent targets, by hash (one slot each: a newer target replaces an older one). Read and written by any loop. */
    private final Target[] targets = new Target[TARGETS];

    /** The cached URIs of {@code req}'s target, or null. No String made when the target is one seen before. */
    private Target cachedTarget(Request req) {
        Target t;
        if (req instanceof Http1Request r) {
            t = targets[r.targetHash() & (TARGETS - 1)];
            return t != null && r.targetIs(t.target) ? t : null;
        }
        String s = req.target();
        t = targets[s.hashCode() & (TARGETS - 1)];
        return t != null && t.target.equals(s) ? t : null;
    }

    /**
     * Makes the upstream URIs of {@code req}'s target (which passed the dot-segment check) and keeps
     * them for the next request with that target. Resolving a path against the parsed base skips
     * parsing the authority; a target starting with "//" would be read as another authority: that
     * one is built whole. Throws IllegalArgumentException for a target that makes no URI.
     */
    private Target newTarget(Request req) {
        String target = req.target();
        URI[] uris = new URI[upstreams.length];
        for (int i = 0; i < uris.length; i++) {
            Upstream u = upstreams[i];
            String rel = u.path.isEmpty() ? target : u.path + target;
            uris[i] = rel.startsWith("//") || !rel.startsWith("/") ? URI.create(u.base + rel) : u.baseUri.resolve(rel);
        }
        Target t = new Target(target, uris);
        if (target.length() <= TARGET_MAX) targets[target.hashCode() & (TARGETS - 1)] = t;
        return t;
    }

    /** Exchange.pending, added to from the upstream's loop and the downstream's. */
    private static final java.lang.invoke.VarHandle PENDING;

    static {
        try {
            PENDING = java.lang.invoke.MethodHandles.lookup().findVarHandle(Exchange.class, "pending", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** Streamed bytes in flight to the client connection above which the upstream is paused, and below which it resumes. */
    static final long PENDING_HIGH = 256 * 1024, PENDING_LOW = 64 * 1024;

    /** True if the path of {@code target} has a {@code .} or {@code ..} segment (also percent-encoded). */
    static boolean hasDotSegment(String target) {
        int end = target.indexOf('?');
        if (end < 0) end = target.length();
        int seg = 0;
        for (int i = 0; i <= end; i++) {
            if (i == end || target.charAt(i) == '/') {
                String p = target.substring(seg, i).replace("%2e", ".").replace("%2E", ".");
                if (p.equals(".") || p.equals("..")) return true;
                seg = i + 1;
            }
        }
        return false;
    }

    private static Set<String> connectionTokens(List<String> values) {
        if (values == null || values.isEmpty()) return Set.of();
        java.util.HashSet<String> s = new java.util.HashSet<>();
        for (String v : values) for (String t : v.split(",")) if (!t.isBlank()) s.add(t.trim().toLowerCase(Locale.ROOT));
        return s;
    }

    private static String clientAddress(SocketAddress a) {
        return a instanceof InetSocketAddress i && i.getAddress() != null ? i.getAddress().getHostAddress() : "unknown";
    }

    private static String forwardedNode(SocketAddress a) {
        if (a instanceof InetSocketAddress i && i.getAddress() instanceof java.net.Inet6Address) {
            return "\"[" + i.getAddress().getHostAddress() + "]\"";
        }
        return clientAddress(a);
    }

    /** One upstream server and what the proxy knows of it. */
    private static final class Upstream {
        final String base; // scheme://host:port
        final URI baseUri;
        final String path; // the URL's path without a trailing slash, or ""
        final AtomicInteger active = new AtomicInteger();
        final AtomicLong downUntil = new AtomicLong(System.nanoTime() - 1);

        Upstream(String url) {
            URI u;
            try {
                u = URI.create(url);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("not an upstream URL: " + url);
            }
            String scheme = u.getScheme() == null ? "" : u.getScheme().toLowerCase(Locale.ROOT);
            if (!scheme.equals("http") && !scheme.equals("https") || u.getHost() == null) {
                throw new IllegalArgumentException("an upstream is http://host[:port][/path] or https://...: " + url);
            }
            if (u.getRawQuery() != null || u.getRawFragment() != null) throw new IllegalArgumentException("an upstream URL has no query or fragment: " + url);
            String host = u.getHost().indexOf(':') >= 0 && !u.getHost().startsWith("[") ? "[" + u.getHost() + "]" : u.getHost();
            this.base = scheme + "://" + host + (u.getPort() > 0 ? ":" + u.getPort() : "");
            this.baseUri = URI.create(base);
            String p = u.getRawPath() == null ? "" : u.getRawPath();
            this.path = p.endsWith("/") ? p.substring(0, p.length() - 1) : p;
        }
    }

    /** Settings of a {@link ReverseProxy}. Not thread-safe; {@link #build()} makes the immutable proxy. */
    public static final class Builder {
        private final List<Upstream> upstreams = new ArrayList<>();
        private Balance balance = Balance.ROUND_ROBIN;
        private Duration failTimeout = Duration.ofSeconds(10);
        private Duration connectTimeout = Duration.ofSeconds(5);
        private Duration responseTimeout = Duration.ofSeconds(60);
        private Duration readTimeout = Duration.ofSeconds(60);
        private int bufferLimit = 64 * 1024;
        private HttpClient client;

        private Builder() {}

        /** Adds an upstream: {@code http://host:port} (the request's path is kept) or with a path put in front of it. */
        public Builder upstream(String url) {
            upstreams.add(new Upstream(Objects.requireNonNull(url, "url")));
            return this;
        }

        /** Round robin (default) or least connections. */
        public Builder balance(Balance b) {
            this.balance = Objects.requireNonNull(b, "balance");
            return this;
        }

        /** How long an upstream whose connect failed or timed out is skipped (default 10 s). */
        public Builder failTimeout(Duration d) {
            this.failTimeout = positive(d, "failTimeout");
            return this;
        }

        /** Connect timeout to an upstream (default 5 s); then the next upstream is tried. */
        public Builder connectTimeout(Duration d) {
            this.connectTimeout = positive(d, "connectTimeout");
            return this;
        }

        /** Time for the upstream's status line and headers once the request is sent (default 60 s): then 504. */
        public Builder responseTimeout(Duration d) {
            this.responseTimeout = positive(d, "responseTimeout");
            return this;
        }

        /** Longest silence of an upstream while its body is read (default 60 s). */
        public Builder readTimeout(Duration d) {
            this.readTimeout = positive(d, "readTimeout");
            return this;
        }

        /** Bodies of known length up to this many bytes are sent whole with their length (default 64 KiB); others stream. */
        public Builder bufferLimit(int bytes) {
            if (bytes < 0) throw new IllegalArgumentException("bufferLimit < 0: " + bytes);
            this.bufferLimit = bytes;
            return this;
        }

        /**
         * The client to reach the upstreams with (shared, e.g. for its TLS trust settings; it must
         * not follow redirects or decompress). Default: one of the proxy's own on the server's loops,
         * with the timeouts above.
         */
        public Builder client(HttpClient c) {
            this.client = Objects.requireNonNull(c, "client");
            return this;
        }

        public ReverseProxy build() {
            return new ReverseProxy(this);
        }

        private static Duration positive(Duration d, String what) {
            Objects.requireNonNull(d, what);
            if (d.isNegative() || d.isZero()) throw new IllegalArgumentException(what + " must be > 0: " + d);
            return d;
        }
    }
}
