package io.jhv.http.server;

import io.jhv.http.Headers;
import io.jhv.http.HttpException;
import io.jhv.http.JsonCodec;
import io.jhv.http.internal.ServerConfig;
import io.jhv.http.internal.http1.Http1Protocol;
import io.jhv.http.internal.http1.HttpConnection;
import io.jhv.http.internal.json.Json;

import io.jhv.core.loop.EventLoopGroup;
import io.jhv.core.net.Connection;
import io.jhv.core.net.ProtocolSelector;
import io.jhv.core.net.TcpServer;
import io.jhv.core.tls.TlsConfig;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;

/**
 * An HTTP/1.1 server on jhv event loops: routes, middleware, keep-alive, pipelining, chunked
 * bodies, static files, and handlers on the loop, on virtual threads or answering later.
 *
 * <p>Configure before {@link #start()} (not thread-safe); after it, {@link #port()} and
 * {@link #close(Duration)} are thread-safe.
 *
 * {@snippet :
 * HttpServer server = HttpServer.create(8080)
 *     .get("/hello", (req, res) -> res.text("hi"))
 *     .get("/users/:id", (req, res) -> res.json(Map.of("id", req.pathParam("id"))))
 *     .start();
 * }
 */
public final class HttpServer implements AutoCloseable {
    private final TcpServer tcp;
    private TcpServer httpsTcp;
    private final ServerConfig cfg = new ServerConfig();
    private volatile boolean started;
    private int threads = Runtime.getRuntime().availableProcessors();
    private String poller = "default";
    private EventLoopGroup group;
    private boolean ownGroup;

    private HttpServer(TcpServer tcp) {
        this.tcp = tcp;
        cfg.jsonCodec = Json.detect();
        tcp.writeTimeout(DEFAULT_WRITE_TIMEOUT);
        wire(tcp);
    }

    private void wire(TcpServer t) {
        t.protocol(protocols);
    }

    /**
     * Which protocol a new connection speaks: HTTP/1.1 by ALPN, and otherwise (plain TCP, no ALPN).
     * Without first-bytes rules the selector shares one stateless handler: no allocation per
     * connection beyond the HTTP/1.1 handler. h2 joins here (ALPN "h2", the preface) later.
     */
    private final ProtocolSelector protocols = ProtocolSelector.builder()
            .alpn("http/1.1", () -> new Http1Protocol(cfg))
            .otherwise(() -> new Http1Protocol(cfg))
            .build();

    /** HTTPS needs ALPN to say http/1.1 unless the configuration chose its own list. */
    private static TlsConfig forHttp(TlsConfig tls) {
        if (tls.isClient()) throw new IllegalArgumentException("HTTPS needs a server TlsConfig (TlsConfig.server())");
        return tls.alpn().isEmpty() ? tls.withAlpn("http/1.1") : tls;
    }

    /** A server on all interfaces; port 0 picks a free port. */
    public static HttpServer create(int port) {
        return new HttpServer(TcpServer.create(port));
    }

    public static HttpServer create(String host, int port) {
        return new HttpServer(TcpServer.create(host, port));
    }

    // ---------------------------------------------------------------- routes

    public HttpServer get(String path, Handler h) { return route("GET", path, h); }
    public HttpServer post(String path, Handler h) { return route("POST", path, h); }
    public HttpServer put(String path, Handler h) { return route("PUT", path, h); }
    public HttpServer delete(String path, Handler h) { return route("DELETE", path, h); }
    public HttpServer patch(String path, Handler h) { return route("PATCH", path, h); }
    public HttpServer head(String path, Handler h) { return route("HEAD", path, h); }
    public HttpServer options(String path, Handler h) { return route("OPTIONS", path, h); }

    /** A route for every method. */
    public HttpServer any(String path, Handler h) { return route(null, path, h); }

    /** A route for {@code method} (null: any). Paths take {@code :name} or {@code {name}} parameters and a trailing {@code *}. */
    public HttpServer route(String method, String path, Handler h) {
        checkNotStarted();
        cfg.router.add(method, path, Objects.requireNonNull(h, "handler"));
        return this;
    }

    /**
     * A WebSocket endpoint at {@code path} (path parameters as for other routes) with the default
     * {@link io.jhv.http.websocket.WebSocketConfig}. The upgrade request passes through middleware
     * first (authenticate there: an answer instead of {@code chain.next()} refuses the upgrade); a bad
     * handshake is answered 400 (426 with {@code Sec-WebSocket-Version: 13} for another version, 403
     * for an origin the config refuses), a plain GET 426.
     */
    public HttpServer ws(String path, io.jhv.http.websocket.WebSocketHandler handler) {
        return ws(path, io.jhv.http.websocket.WebSocketConfig.defaults(), handler);
    }

    /** {@link #ws(String, io.jhv.http.websocket.WebSocketHandler)} with {@code config}. */
    public HttpServer ws(String path, io.jhv.http.websocket.WebSocketConfig config, io.jhv.http.websocket.WebSocketHandler handler) {
        return get(path, new io.jhv.http.internal.ws.WsUpgrade(path, Objects.requireNonNull(config, "config"), Objects.requireNonNull(handler, "handler"), cfg));
    }

    /** Serves files under {@code directory} at {@code prefix} (GET and HEAD). */
    public HttpServer staticFiles(String prefix, Path directory) {
        return staticFiles(prefix, StaticFiles.create(directory));
    }

    /** Serves files with configured {@link StaticFiles} at {@code prefix}. */
    public HttpServer staticFiles(String prefix, StaticFiles files) {
        String p = prefix.endsWith("/") ? prefix.substring(0, prefix.length() - 1) : prefix;
        get(p + "/*", files);
        return this;
    }

    // ---------------------------------------------------------------- middleware and errors

    /** Middleware for every request, run in the order added. */
    public HttpServer use(Middleware m) { return use("", m); }

    /** Middleware for requests whose path is {@code prefix} or below it. */
    public HttpServer use(String prefix, Middleware m) {
        checkNotStarted();
        cfg.middlewarePrefixes.add(prefix == null || prefix.equals("/") ? "" : prefix);
        cfg.middleware.add(Objects.requireNonNull(m, "middleware"));
        return this;
    }

    private io.jhv.core.net.ErrorHandler<Connection> onError;

    /**
     * Called on the loop thread when a connection ends with an error (an IO error or reset, a
     * failed TLS handshake, a timeout), before it is gone: the same shape as
     * {@code TcpServer.onError} and {@code UdpSocket.onError}. Exceptions from handlers go to
     * {@link #errorHandler}, which turns them into responses. Configure before {@link #start()}.
     */
    public HttpServer onError(io.jhv.core.net.ErrorHandler<Connection> h) {
        checkNotStarted();
        onError = h;
        tcp.onError(h);
        if (httpsTcp != null) httpsTcp.onError(h);
        return this;
    }

    /** Turns handler exceptions into responses (default: HttpException's status, else 500). */
    public HttpServer errorHandler(ErrorHandler h) { checkNotStarted(); cfg.errorHandler = h; return this; }

    public HttpServer jsonCodec(JsonCodec codec) { checkNotStarted(); cfg.jsonCodec = Objects.requireNonNull(codec); return this; }

    // ---------------------------------------------------------------- settings

    /** Event loops for connections (default: processors). */
    public HttpServer threads(int n) {
        checkNotStarted();
        if (n < 1) throw new IllegalArgumentException("threads < 1: " + n);
        threads = n;
        return this;
    }

    /** Runs on an existing group (not stopped by {@link #close()}). */
    public HttpServer group(EventLoopGroup g) { checkNotStarted(); this.group = Objects.requireNonNull(g); return this; }

    /** The poller of the server's loops: "default", "epoll" or "poll". */
    public HttpServer poller(String kind) { checkNotStarted(); this.poller = Objects.requireNonNull(kind); return this; }

    /**
     * SO_REUSEPORT on every listener (HTTP and HTTPS): several processes (or servers) can listen on
     * the same port, and the kernel spreads new connections over them. Before {@link #start()}.
     */
    public HttpServer reusePort(boolean on) {
        checkNotStarted();
        tcp.reusePort(on);
        if (httpsTcp != null) httpsTcp.reusePort(on);
        reusePort = on;
        return this;
    }

    private boolean reusePort;

    /**
     * Behind a load balancer that sends the PROXY protocol (HAProxy {@code send-proxy}/{@code
     * send-proxy-v2}, nginx {@code proxy_protocol on}, cloud balancers): every listener reads the
     * header from {@code config}'s trusted sources, so {@code req.remoteAddress()} and the access
     * log show the client. See {@link io.jhv.core.net.ProxyProtocol}. Before {@link #start()}.
     */
    public HttpServer proxyProtocol(io.jhv.core.net.ProxyProtocol config) {
        checkNotStarted();
        tcp.proxyProtocol(config);
        if (httpsTcp != null) httpsTcp.proxyProtocol(config);
        proxyProtocol = config;
        return this;
    }

    private io.jhv.core.net.ProxyProtocol proxyProtocol;

    /** The most open connections per listener; more are closed at once. */
    public HttpServer maxConnections(int n) {
        checkNotStarted();
        tcp.maxConnections(n);
        if (httpsTcp != null) httpsTcp.maxConnections(n);
        maxConnections = n;
        return this;
    }

    private int maxConnections;

    /**
     * Reports connections, requests (status, latency), bytes and loop lag to {@code metrics}
     * ({@link HttpMetrics} for Prometheus, or a binding of your own). Default: none, and nothing is
     * timed. Before {@link #start()}.
     */
    public HttpServer metrics(ServerMetrics metrics) {
        checkNotStarted();
        metrics.bind(this);
        cfg.metrics = metrics;
        return this;
    }

    /** Connections closed at once because {@link #maxConnections} was reached, on every listener. Thread-safe. */
    public long refusedConnections() {
        return tcp.rejectedCount() + (httpsTcp != null ? httpsTcp.rejectedCount() : 0);
    }

    private final List<io.jhv.core.loop.Timer> lagTimers = new ArrayList<>();

    /** One periodic timer per loop that reports how late it ran. */
    private void startLagSampling() {
        ServerMetrics m = cfg.metrics;
        if (m == null) return;
        if (m instanceof HttpMetrics hm) hm.loops(group.loops());
        for (io.jhv.core.loop.EventLoop l : group.loops()) {
            long[] due = {System.nanoTime() + HttpMetrics.LAG_SAMPLE_MS * 1_000_000};
            lagTimers.add(l.setInterval(HttpMetrics.LAG_SAMPLE_MS, () -> {
                long now = System.nanoTime();
                m.loopLag(l, Math.max(0, now - due[0]));
                due[0] = now + HttpMetrics.LAG_SAMPLE_MS * 1_000_000;
            }));
        }
    }

    /** The default {@link #writeTimeout}. */
    static final Duration DEFAULT_WRITE_TIMEOUT = Duration.ofSeconds(60);
    private Duration writeTimeout = DEFAULT_WRITE_TIMEOUT;

    /**
     * How long a connection may have output waiting without a byte of it reaching the client
     * (default 60 s; {@link Duration#ZERO}: for ever); then it is closed and what it held is freed.
     * A client that reads slowly is not cut off: the clock restarts whenever bytes go out. This
     * bounds what a client that requests a large response and never reads it can hold.
     */
    public HttpServer writeTimeout(Duration d) {
        checkNotStarted();
        tcp.writeTimeout(d); // checks d
        writeTimeout = d;
        if (httpsTcp != null) httpsTcp.writeTimeout(d);
        return this;
    }

    /** Serves HTTPS instead of HTTP on this server's port (ALPN http/1.1 unless the config sets a list). */
    public HttpServer tls(TlsConfig tls) {
        checkNotStarted();
        tcp.tls(forHttp(tls));
        return this;
    }

    /** Serves HTTPS on {@code port} beside HTTP on the main port, with the same routes. */
    public HttpServer https(int port, TlsConfig tls) {
        return https(null, port, tls);
    }

    /** Serves HTTPS on {@code host:port} beside HTTP, with the same routes. */
    public HttpServer https(String host, int port, TlsConfig tls) {
        checkNotStarted();
        if (httpsTcp != null) throw new IllegalStateException("HTTPS listener already configured");
        httpsTcp = host == null ? TcpServer.create(port) : TcpServer.create(host, port);
        httpsTcp.tls(forHttp(tls));
        if (maxConnections > 0) httpsTcp.maxConnections(maxConnections);
        if (reusePort) httpsTcp.reusePort(true);
        if (proxyProtocol != null) httpsTcp.proxyProtocol(proxyProtocol);
        httpsTcp.writeTimeout(writeTimeout);
        if (onError != null) httpsTcp.onError(onError);
        wire(httpsTcp);
        return this;
    }

    /** The longest request line (default 8 KiB); longer gets 414. */
    public HttpServer maxRequestLine(int bytes) { checkNotStarted(); cfg.maxRequestLine = positive(bytes); return this; }

    /** The largest request head (default 64 KiB); larger gets 431. */
    public HttpServer maxHeaderSize(int bytes) { checkNotStarted(); cfg.maxHeaderSize = positive(bytes); return this; }

    /** The most header fields (default 100); more gets 431. */
    public HttpServer maxHeaderCount(int n) { checkNotStarted(); cfg.maxHeaderCount = positive(n); return this; }

    /** The largest request body (default 64 MiB); larger gets 413. */
    public HttpServer maxBodySize(long bytes) {
        checkNotStarted();
        if (bytes <= 0 || bytes > Integer.MAX_VALUE - 16) throw new IllegalArgumentException("maxBodySize out of range: " + bytes);
        cfg.maxBodySize = bytes;
        return this;
    }

    /** How long an idle keep-alive connection stays open (default 60 s; {@link Duration#ZERO}: for ever). */
    public HttpServer keepAliveTimeout(Duration d) { checkNotStarted(); cfg.keepAliveTimeoutMs = millis(d, "keep-alive timeout"); return this; }

    /** How long a client may take to send a request head (default 10 s; {@link Duration#ZERO}: for ever); then 408 and close. */
    public HttpServer headerTimeout(Duration d) { checkNotStarted(); cfg.headerTimeoutMs = millis(d, "header timeout"); return this; }

    private static long millis(Duration d, String what) {
        if (d.isNegative()) throw new IllegalArgumentException("negative " + what + ": " + d);
        return d.isZero() ? 0 : Math.max(1, d.toMillis());
    }

    /** Requests served on one connection before it is closed (0: no limit). */
    public HttpServer maxRequestsPerConnection(int n) { checkNotStarted(); cfg.maxRequestsPerConnection = Math.max(0, n); return this; }

    /**
     * Pipelined requests one connection may have in progress (default 64): parsed, being handled or
     * answered but not yet sent. Above it the connection stops reading until responses go out.
     */
    public HttpServer maxPipelined(int n) { checkNotStarted(); cfg.maxPipelined = positive(n); return this; }

    /**
     * Whether the handlers of pipelined GET and HEAD requests on one connection may run at the same
     * time (default false). By default a connection runs one handler at a time, in request order:
     * RFC 9112 section 9.3.2 allows parallel processing only for safe methods, and a POST must
     * never start before the request ahead of it finished. With this on, consecutive GET/HEAD
     * requests may overlap (up to {@link #maxPipelined}); any other request still waits until
     * every response ahead of it is complete. Responses go out in request order either way.
     */
    public HttpServer pipelinedSafeParallel(boolean parallel) { checkNotStarted(); cfg.pipelinedSafeParallel = parallel; return this; }

    /**
     * The heap that all connections of this server may hold together for input that waits
     * (unfinished request heads, pipelined requests behind a busy one, bodies being collected);
     * default half the maximum heap. When it is spent, a connection that holds only an
     * unfinished request is answered 503 and closed, and one with requests in progress stops
     * reading until they are answered: thousands of slow or hostile clients cannot exhaust the
     * heap and take the server down. Requests that arrive whole are served as usual.
     */
    public HttpServer maxInputMemory(long bytes) {
        checkNotStarted();
        if (bytes <= 0) throw new IllegalArgumentException("maxInputMemory must be > 0: " + bytes);
        cfg.maxInputMemory = bytes;
        return this;
    }

    /** Bytes of waiting input all connections hold now (see {@link #maxInputMemory}). Thread-safe. */
    public long inputMemoryInUse() { return cfg.inputInUse(); }

    /** Multipart parts above this size go to a temporary file (default 64 KiB). */
    public HttpServer multipartThreshold(int bytes) { checkNotStarted(); cfg.multipartMemoryThreshold = positive(bytes); return this; }

    /** Where uploaded file parts are stored while a request is handled. */
    public HttpServer tempDir(Path dir) { checkNotStarted(); cfg.tempDir = dir; return this; }

    /** The Server header (default "jhv"; null: none). */
    public HttpServer serverName(String name) {
        checkNotStarted();
        if (name != null) Headers.checkValue(name, "server name");
        cfg.serverName(name);
        return this;
    }

    private static int positive(int n) {
        if (n <= 0) throw new IllegalArgumentException("must be > 0: " + n);
        return n;
    }

    private void checkNotStarted() {
        if (started) throw new IllegalStateException("HttpServer settings and routes cannot change after start()");
    }

    // ---------------------------------------------------------------- lifecycle

    /** Binds and starts serving; returns when listening. */
    public HttpServer start() {
        synchronized (this) {
            checkNotStarted();
            started = true;
        }
        if (group == null) {
            group = EventLoopGroup.create(threads, EventLoopGroup.Balance.ROUND_ROBIN, poller);
            ownGroup = true;
        }
        group.start();
        tcp.group(group);
        try {
            tcp.start();
            if (httpsTcp != null) httpsTcp.group(group).start();
        } catch (RuntimeException e) {
            tcp.close(Duration.ZERO);
            if (ownGroup) group.shutdownGracefully(Duration.ofSeconds(5));
            throw e;
        }
        startLagSampling();
        return this;
    }

    /** The port the server listens on. */
    public int port() { return tcp.port(); }

    /** The HTTPS port, when {@link #https} was configured. */
    public int httpsPort() {
        if (httpsTcp == null) throw new IllegalStateException("no HTTPS listener configured");
        return httpsTcp.port();
    }

    /**
     * The open connections of every listener (HTTP and HTTPS), a snapshot. Thread-safe; a
     * connection's own methods keep their thread contracts.
     */
    public List<Connection> connections() {
        List<Connection> all = new ArrayList<>(tcp.connections());
        if (httpsTcp != null) all.addAll(httpsTcp.connections());
        return all;
    }

    /** The loops the server runs on (null before {@link #start()}). Thread-safe. */
    public EventLoopGroup group() { return group; }

    /**
     * Completes when every listener has closed and its connections are gone; exceptionally when a
     * loop ended abnormally and took the server down. Thread-safe.
     */
    public CompletableFuture<Void> closeFuture() {
        if (httpsTcp == null) return tcp.closeFuture();
        CompletableFuture<Void> both = CompletableFuture.allOf(tcp.closeFuture(), httpsTcp.closeFuture());
        // A failure of either listener is reported at once, not when the other one closes too.
        tcp.closeFuture().exceptionally(t -> { both.completeExceptionally(t); return null; });
        httpsTcp.closeFuture().exceptionally(t -> { both.completeExceptionally(t); return null; });
        return both;
    }

    private volatile boolean ready = true;

    /**
     * False once a {@link #shutdownGracefully shutdown} has begun (or after {@link #close}): what a
     * load balancer's health check should see before the server stops taking requests. Thread-safe.
     */
    public boolean isReady() {
        return ready && !cfg.draining;
    }

    /**
     * A readiness endpoint for a load balancer's health check: {@code 200 ready} while
     * {@link #isReady()}, {@code 503 draining} (with {@code Connection: close}) once a shutdown has
     * begun. Route it yourself: {@code server.get("/readyz", server.readinessHandler())}.
     */
    public Handler readinessHandler() {
        return (req, res) -> {
            if (isReady()) {
                res.text("ready");
            } else {
                res.status(503).header("Connection", "close").text("draining");
            }
        };
    }

    /**
     * A shutdown a load balancer sees coming: {@link #isReady()} turns false at once (the
     * {@link #readinessHandler()} answers 503) while every request, new connections included, is
     * still served normally for {@code readinessDelay} (make it longer than the balancer's
     * health-check interval times its fall count); then {@link #close(Duration) close(deadline)}:
     * no new connections, in-flight requests finish. Blocks until closed. Thread-safe; called on a
     * loop thread it returns at once and runs on a virtual thread.
     */
    public void shutdownGracefully(Duration readinessDelay, Duration deadline) {
        Objects.requireNonNull(readinessDelay, "readinessDelay");
        Objects.requireNonNull(deadline, "deadline");
        ready = false;
        EventLoopGroup g = group;
        if (g != null) {
            for (io.jhv.core.loop.EventLoop l : g.loops()) {
                if (l.inLoop()) {
                    Thread.ofVirtual().name("jhv-http-shutdown").start(() -> shutdownGracefully(readinessDelay, deadline));
                    return;
                }
            }
        }
        if (!readinessDelay.isNegative() && !readinessDelay.isZero()) {
            try {
                Thread.sleep(readinessDelay); // the balancer's health checks notice meanwhile
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt(); // close now
            }
        }
        close(deadline);
    }

    /** {@link #close(Duration)} with 5 s. */
    @Override
    public void close() { close(Duration.ofSeconds(5)); }

    /**
     * Graceful shutdown: stops accepting, lets in-flight requests finish (their responses carry
     * {@code Connection: close}) up to {@code deadline}, closes idle keep-alive connections at once,
     * then closes what is left. Thread-safe.
     */
    public void close(Duration deadline) {
        EventLoopGroup g = group;
        if (g != null) {
            for (io.jhv.core.loop.EventLoop l : g.loops()) {
                if (l.inLoop()) { // waiting here would block the connections we wait for
                    Thread.ofVirtual().name("jhv-http-close").start(() -> close(deadline));
                    return;
                }
            }
        }
        ready = false;
        cfg.draining = true;
        for (io.jhv.core.loop.Timer t : lagTimers) t.cancel();
        tcp.stopAccepting();
        if (httpsTcp != null) httpsTcp.stopAccepting();
        for (HttpConnection hc : cfg.connections) {
            try {
                hc.connection().loop().runInLoop(hc::drain);
            } catch (java.util.concurrent.RejectedExecutionException deadLoop) {
                cfg.removed(hc); // its loop has ended and closed its connections: nothing to drain
            }
        }
        for (io.jhv.http.websocket.WebSocket ws : cfg.webSockets) ws.close(io.jhv.http.websocket.CloseCodes.GOING_AWAY, "server shutting down");
        long end = System.nanoTime() + deadline.toNanos();
        try {
            cfg.awaitNoConnections(end);
            cfg.awaitNoWebSockets(end);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        Duration left = Duration.ofMillis(Math.max(0, (end - System.nanoTime()) / 1_000_000));
        tcp.close(left);
        if (httpsTcp != null) httpsTcp.close(Duration.ZERO);
        if (ownGroup && group != null) group.shutdownGracefully(Duration.ofSeconds(5));
    }
}
