package io.jhv.http.client;

import io.jhv.core.loop.EventLoop;
import io.jhv.core.loop.EventLoopGroup;
import io.jhv.core.tls.TlsConfig;
import io.jhv.http.JsonCodec;
import io.jhv.http.internal.client.ClientEngine;
import io.jhv.http.internal.client.ClientSettings;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;

/**
 * An HTTP/1.1 client with a keep-alive connection pool per origin, on event loops.
 *
 * <p>Immutable configuration; thread-safe: share one client for the whole application (each
 * client has its pools). The asynchronous calls return futures that complete <b>on the
 * connection's loop thread</b> (there is no dispatcher pool): do not block in their callbacks. The
 * blocking calls ({@link #send}, {@link #get}, ...) suit plain and virtual threads; on a loop
 * thread they throw {@link IllegalStateException}, since they would stall the loop that serves
 * them. Cancelling a future ({@code cancel(true)}) at any moment cancels the call: the connection
 * goes back to the pool if its exchange was complete, and is closed otherwise.
 * {@link #send(HttpRequest, ResponseCallback)} is the allocation-free form: no future, the
 * response a {@link ResponseView} borrowed for the callback.
 *
 * <p>Failures are {@link HttpClientException}s: {@link HttpTimeoutException} (with its phase),
 * {@link HttpConnectException}, {@link ConnectionClosedException}, {@link MalformedResponseException},
 * {@link PoolExhaustedException}, {@link TooManyRedirectsException}. Any status is a response,
 * not an error.
 *
 * {@snippet :
 * try (HttpClient client = HttpClient.create()) {
 *     HttpResponse res = client.get("http://localhost:8080/hello");
 *     System.out.println(res.status() + " " + res.bodyString());
 *     client.sendAsync(HttpRequest.post("http://localhost:8080/items").json(item).build())
 *         .thenAccept(r -> System.out.println(r.status())); // runs on the connection's loop
 * }
 * }
 */
public final class HttpClient implements AutoCloseable {
    private final ClientEngine engine;

    private HttpClient(ClientSettings s) {
        this.engine = new ClientEngine(s);
    }

    /** A client with default settings and its own small loop group (daemon threads), closed by {@link #close()}. Any thread. */
    public static HttpClient create() {
        return builder().build();
    }

    /** A builder with default settings. Any thread. */
    public static Builder builder() {
        return new Builder();
    }

    // ---------------------------------------------------------------- async

    /**
     * Sends {@code request}; the future completes with the whole response (body in memory, at
     * most {@link Builder#maxResponseBody}) on the connection's loop thread. Thread-safe.
     */
    public CompletableFuture<HttpResponse> sendAsync(HttpRequest request) {
        return engine.send(Objects.requireNonNull(request, "request"));
    }

    /**
     * Sends {@code request} and streams the response to {@code handler} (see
     * {@link ResponseHandler}), with back-pressure and no size limit. The future completes (with
     * the final response, body empty, trailers set) after {@code onComplete}, or exceptionally
     * after {@code onError}; cancelling it cancels the call. Thread-safe.
     */
    public CompletableFuture<HttpResponse> sendAsync(HttpRequest request, ResponseHandler handler) {
        return engine.stream(Objects.requireNonNull(request, "request"), Objects.requireNonNull(handler, "handler"));
    }

    /**
     * Sends {@code request} and hands the whole response (body in memory, at most
     * {@link Builder#maxResponseBody}) to {@code callback} on the connection's loop thread, or the
     * failure to {@link ResponseCallback#onFailure}: the allocation-free form of
     * {@link #sendAsync(HttpRequest)}. There is no future: the response is a {@link ResponseView}
     * borrowed for the callback, and the client reuses its per-call state, so on a pooled
     * keep-alive connection a request without a body (built once and sent again and again)
     * allocates nothing per call. Redirects, retries, timeouts ({@link Builder#callTimeout} or the
     * request's {@code timeout}: the only way to bound such a call, as it cannot be cancelled)
     * and decompression work as for {@code sendAsync}; it is never pipelined. Thread-safe;
     * returns at once. The callback always runs on a loop thread, never inside this method.
     *
     * @throws IllegalStateException if the client is closed (then neither callback method runs;
     *         a call already under way when the client closes hears {@code onFailure} instead)
     */
    public void send(HttpRequest request, ResponseCallback callback) {
        engine.send(Objects.requireNonNull(request, "request"), Objects.requireNonNull(callback, "callback"));
    }

    /** {@code GET url}, asynchronously. Thread-safe. */
    public CompletableFuture<HttpResponse> getAsync(String url) {
        return sendAsync(HttpRequest.get(url).build());
    }

    /**
     * Opens a server-sent events stream ({@code Accept: text/event-stream}) and hands each event to
     * {@code listener} on the loop thread. The future completes when the stream ends; cancelling it
     * closes the stream. No automatic reconnection. Thread-safe.
     */
    public CompletableFuture<Void> eventSource(HttpRequest request, EventSourceListener listener) {
        return engine.eventSource(Objects.requireNonNull(request, "request"), Objects.requireNonNull(listener, "listener"));
    }

    // ---------------------------------------------------------------- blocking

    /**
     * Sends {@code request} and waits for the whole response. For plain and virtual threads;
     * interrupting the caller cancels the call.
     *
     * @throws IllegalStateException on an event loop thread
     * @throws HttpClientException   when the call fails (see the class comment)
     * @throws IOException           when the call fails otherwise
     */
    public HttpResponse send(HttpRequest request) throws IOException {
        if (EventLoop.current() != null) {
            throw new IllegalStateException("HttpClient.send blocks: it cannot run on event loop thread "
                    + Thread.currentThread().getName() + "; use sendAsync there");
        }
        CompletableFuture<HttpResponse> f = sendAsync(request);
        try {
            return f.get();
        } catch (InterruptedException e) {
            f.cancel(true);
            Thread.currentThread().interrupt();
            InterruptedIOException ie = new InterruptedIOException("interrupted while waiting for " + request);
            ie.initCause(e);
            throw ie;
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            if (c instanceof IOException io) {
                io.addSuppressed(new Exception("waited here for " + request));
                throw io;
            }
            if (c instanceof RuntimeException re) throw re;
            if (c instanceof Error err) throw err;
            throw new HttpClientException(request + " failed: " + c, c);
        } catch (CancellationException e) {
            throw new HttpClientException(request + " was cancelled", e);
        }
    }

    /** {@code GET url}, blocking. @see #send */
    public HttpResponse get(String url) throws IOException {
        return send(HttpRequest.get(url).build());
    }

    /** {@code HEAD url}, blocking. @see #send */
    public HttpResponse head(String url) throws IOException {
        return send(HttpRequest.head(url).build());
    }

    /** {@code DELETE url}, blocking. @see #send */
    public HttpResponse delete(String url) throws IOException {
        return send(HttpRequest.delete(url).build());
    }

    /** {@code POST url} with a UTF-8 text body, blocking. @see #send */
    public HttpResponse post(String url, String body) throws IOException {
        return send(HttpRequest.post(url).body(body).build());
    }

    /** {@code POST url} with a byte body, blocking. @see #send */
    public HttpResponse post(String url, byte[] body) throws IOException {
        return send(HttpRequest.post(url).body(body).build());
    }

    /** {@code PUT url} with a UTF-8 text body, blocking. @see #send */
    public HttpResponse put(String url, String body) throws IOException {
        return send(HttpRequest.put(url).body(body).build());
    }

    /** {@code PATCH url} with a UTF-8 text body, blocking. @see #send */
    public HttpResponse patch(String url, String body) throws IOException {
        return send(HttpRequest.patch(url).body(body).build());
    }

    // ---------------------------------------------------------------- pool and lifecycle

    /** The pools summed over all origins (a snapshot, gathered from the loops). Thread-safe. */
    public PoolStats stats() {
        return engine.stats();
    }

    /** The pool of each origin ({@code http://host:port}, {@code https://...}, with {@code " via proxy:port"} when proxied). Thread-safe. */
    public Map<String, PoolStats> statsByOrigin() {
        return engine.statsByOrigin();
    }

    /** Closes idle connections now (connections in use close after their exchange). Thread-safe. */
    public void evictIdle() {
        engine.evictIdle();
    }

    /**
     * Closes the client: calls in flight fail, every connection closes, and the loop group the
     * client created (not one given to {@link Builder#group}) stops. Thread-safe, idempotent.
     */
    @Override
    public void close() {
        engine.close();
    }

    /**
     * Configures an {@link HttpClient}. One thread; {@link #build()} copies the settings, so a
     * builder can make several clients.
     */
    public static final class Builder {
        private final ClientSettings s = new ClientSettings();
        private EventLoopGroup group;

        private Builder() {}

        private static long millis(Duration d, String what) {
            Objects.requireNonNull(d, what);
            if (d.isNegative() || d.isZero()) throw new IllegalArgumentException(what + " must be > 0: " + d);
            return Math.max(1, d.toMillis());
        }

        /** Runs connections on {@code group} (shared; not closed by the client). Default: a group of its own with one loop per core, at most 4. */
        public Builder group(EventLoopGroup g) { this.group = Objects.requireNonNull(g, "group"); return this; }

        /**
         * Resolves host names with {@code dns} (default {@link Dns#SYSTEM}, the JDK's resolver); the
         * lookup runs on a virtual thread within the {@link #connectTimeout connect timeout} and
         * the {@link #callTimeout call deadline}, and {@code cancel} cuts it too.
         */
        public Builder dns(Dns dns) { s.dns = Objects.requireNonNull(dns, "dns (Dns.SYSTEM for the JDK's)"); return this; }

        /** Limit on name resolution plus the TCP connect (default 10 s). */
        public Builder connectTimeout(Duration d) { s.connectTimeoutMs = millis(d, "connectTimeout"); return this; }

        /** Limit on the TLS handshake (default 10 s). */
        public Builder tlsHandshakeTimeout(Duration d) { s.tlsHandshakeTimeoutMs = millis(d, "tlsHandshakeTimeout"); return this; }

        /**
         * Limit from the request's last byte written (reaching the socket) to the response head's
         * last byte (default: none). The time to upload the request body does not count; bound a
         * whole call, upload included, with {@link #callTimeout}.
         */
        public Builder responseHeadTimeout(Duration d) { s.responseHeadTimeoutMs = millis(d, "responseHeadTimeout"); return this; }

        /**
         * Limit on the server's silence once the request's last byte was written, while waiting
         * for and reading the response (default: none). Fails a slow-loris server; time spent
         * uploading or with the body paused does not count.
         */
        public Builder readIdleTimeout(Duration d) { s.readIdleTimeoutMs = millis(d, "readIdleTimeout"); return this; }

        /**
         * Limit on how long sending the request may make no progress (default 30 s, as a server
         * that stops reading mid-upload would otherwise hold the call until {@link #callTimeout});
         * {@link Duration#ZERO} turns it off. The clock runs only while request bytes wait for the
         * socket, and every byte the socket takes restarts it: a slow but steady upload never
         * times out, and neither does a body source (an {@code InputStream}, a publisher) that is
         * slow to produce. When it fires, the call fails with an {@link HttpTimeoutException} of
         * phase {@link HttpTimeoutException.Phase#WRITE} (never retried) and the connection is
         * closed, not pooled. It stops once the response body starts. The timer is checked every
         * quarter of the limit, so it fires between 1 and 1.25 times the limit after the last
         * progress. Progress is the operating system taking bytes into the socket's send buffer,
         * which it reports in bursts (room for a third of a buffer of up to a few MiB at a time):
         * against a slow reader that can take a few hundred ms, so keep the limit above a second.
         * A request's own {@link HttpRequest.Builder#writeTimeout} wins.
         */
        public Builder writeTimeout(Duration d) {
            Objects.requireNonNull(d, "writeTimeout");
            if (d.isNegative()) throw new IllegalArgumentException("writeTimeout must be >= 0: " + d);
            s.writeTimeoutMs = d.isZero() ? 0 : Math.max(1, d.toMillis());
            return this;
        }

        /** Deadline for a whole call, connect, redirects and retries included (default: none); a request's own {@code timeout} wins. */
        public Builder callTimeout(Duration d) { s.callTimeoutMs = millis(d, "callTimeout"); return this; }

        /** At most this many connections per origin (default 64). */
        public Builder maxConnectionsPerHost(int n) {
            if (n < 1) throw new IllegalArgumentException("maxConnectionsPerHost must be >= 1: " + n);
            s.maxConnectionsPerHost = n;
            return this;
        }

        /** At most this many calls waiting for a connection per origin (default 1024); more fail at once with {@link PoolExhaustedException}. */
        public Builder maxPendingAcquires(int n) {
            if (n < 0) throw new IllegalArgumentException("maxPendingAcquires must be >= 0: " + n);
            s.maxPendingAcquires = n;
            return this;
        }

        /** How long a call waits for a connection of a full pool (default 10 s), then {@link PoolExhaustedException}. */
        public Builder acquireTimeout(Duration d) { s.acquireTimeoutMs = millis(d, "acquireTimeout"); return this; }

        /**
         * How long an idle connection stays in the pool (default 30 s, below the 60 s many servers
         * use); a shorter {@code Keep-Alive: timeout=N} from the server wins (less a margin). A
         * {@code Keep-Alive: max=N} retires the connection once the server's quota is used: after
         * it, at most N - 1 more requests go out on that connection ({@code max=0} and
         * {@code max=1}: none), a count that is safe whether the server counts the current request
         * or not.
         */
        public Builder idleTimeout(Duration d) { s.idleTimeoutMs = millis(d, "idleTimeout"); return this; }

        /** Connections older than this are not reused (default: no limit). */
        public Builder maxConnectionLifetime(Duration d) { s.maxConnectionLifetimeMs = millis(d, "maxConnectionLifetime"); return this; }

        /** Whether to follow redirects (default true). */
        public Builder followRedirects(boolean on) { s.followRedirects = on; return this; }

        /** At most this many redirects per call (default 10), then {@link TooManyRedirectsException}. */
        public Builder maxRedirects(int n) {
            if (n < 0) throw new IllegalArgumentException("maxRedirects must be >= 0: " + n);
            s.maxRedirects = n;
            return this;
        }

        /** When to retry a failed attempt (default {@link RetryPolicy#safe()}). */
        public Builder retryPolicy(RetryPolicy p) { s.retryPolicy = Objects.requireNonNull(p, "retryPolicy"); return this; }

        /** TLS settings for {@code https://} (trust, client certificate, protocols); default: the JDK's trust store, host name verification on. */
        public Builder tls(TlsConfig t) {
            Objects.requireNonNull(t, "tls");
            if (!t.isClient()) throw new IllegalArgumentException("a client needs TlsConfig.client()");
            s.tls = t;
            return this;
        }

        /**
         * Sends every request through {@code proxy}: an HTTP proxy gets {@code http://} requests in
         * absolute form (with {@code Proxy-Authorization} from its credentials) and tunnels
         * {@code https://} ones with {@code CONNECT}; a SOCKS5 proxy tunnels both.
         * {@link io.jhv.core.net.Proxy#NONE} connects directly.
         */
        public Builder proxy(io.jhv.core.net.Proxy proxy) {
            Objects.requireNonNull(proxy, "proxy");
            s.proxySelector = proxy.isProxied() ? io.jhv.core.net.ProxySelector.of(proxy) : null;
            return this;
        }

        /** Sends every request through the plain HTTP proxy {@code proxy} (see {@link HttpProxy}). */
        public Builder proxy(HttpProxy proxy) {
            Objects.requireNonNull(proxy, "proxy");
            return proxy(proxy.toProxy());
        }

        /**
         * Chooses the proxy per request ({@link io.jhv.core.net.Proxy#NONE}: direct), for instance
         * {@code ProxySelector.fromEnvironment()} to follow {@code http_proxy}, {@code https_proxy},
         * {@code no_proxy} as curl does. Called once per request plan on any thread: fast, thread-safe.
         */
        public Builder proxySelector(io.jhv.core.net.ProxySelector selector) {
            s.proxySelector = Objects.requireNonNull(selector, "selector");
            return this;
        }

        /** Stores and sends cookies with {@code jar} (default: none). */
        public Builder cookieJar(CookieJar jar) { s.cookieJar = Objects.requireNonNull(jar, "cookieJar"); return this; }

        /** The {@code User-Agent} sent unless a request sets one (default {@code jhv}); null sends none. */
        public Builder userAgent(String ua) {
            if (ua != null) io.jhv.http.Headers.checkValue(ua, "User-Agent");
            s.userAgent = ua;
            return this;
        }

        /** The codec for {@link HttpRequest.Builder#json} and {@link HttpResponse#json} (default {@link JsonCodec#detect()}). */
        public Builder json(JsonCodec codec) { s.json = Objects.requireNonNull(codec, "json"); return this; }

        /** Whether to send {@code Accept-Encoding: gzip, deflate} and decode such bodies (default true). */
        public Builder decompress(boolean on) { s.decompress = on; return this; }

        /**
         * Pipelining depth per connection (default 1: off). With n > 1, a GET or HEAD without a body
         * may go out on a busy connection (when no idle one exists and no new one may be opened)
         * behind up to n - 1 others; answers come back in order. Requests queued behind a response
         * that ends the connection are retried on a fresh one. Other methods never pipeline.
         * Requests pipelined before the first response shows a {@code Keep-Alive: max=N} may
         * exceed it; if the server then closes, they are retried the same way.
         */
        public Builder pipelining(int depth) {
            if (depth < 1) throw new IllegalArgumentException("pipelining depth must be >= 1: " + depth);
            s.pipelining = depth;
            return this;
        }

        /**
         * The largest body held in memory for {@code send}/{@code sendAsync} (default 64 MiB);
         * streamed responses have no limit. A body is held in one array, so a value above
         * {@code Integer.MAX_VALUE - 16} means that (about 2 GiB): a larger body fails the call
         * with an {@link HttpClientException}. The buffer grows as the bytes arrive, whatever the
         * server announces.
         */
        public Builder maxResponseBody(long bytes) {
            if (bytes < 0) throw new IllegalArgumentException("maxResponseBody must be >= 0: " + bytes);
            s.maxResponseBody = Math.min(bytes, Integer.MAX_VALUE - 16);
            return this;
        }

        /** The largest response head, status line and headers (default 64 KiB). */
        public Builder maxResponseHeadSize(int bytes) {
            if (bytes < 256) throw new IllegalArgumentException("maxResponseHeadSize must be >= 256: " + bytes);
            s.maxResponseHeadBytes = bytes;
            return this;
        }

        /** The client. Any thread. */
        public HttpClient build() {
            ClientSettings c = copy(s);
            if (group != null) {
                c.group = group;
            } else {
                c.group = null; // the engine makes one
                c.ownGroup = true;
            }
            if (c.json == null) c.json = JsonCodec.detect();
            return new HttpClient(c);
        }

        private static ClientSettings copy(ClientSettings a) {
            ClientSettings b = new ClientSettings();
            b.connectTimeoutMs = a.connectTimeoutMs;
            b.tlsHandshakeTimeoutMs = a.tlsHandshakeTimeoutMs;
            b.responseHeadTimeoutMs = a.responseHeadTimeoutMs;
            b.readIdleTimeoutMs = a.readIdleTimeoutMs;
            b.callTimeoutMs = a.callTimeoutMs;
            b.writeTimeoutMs = a.writeTimeoutMs;
            b.maxConnectionsPerHost = a.maxConnectionsPerHost;
            b.maxPendingAcquires = a.maxPendingAcquires;
            b.acquireTimeoutMs = a.acquireTimeoutMs;
            b.idleTimeoutMs = a.idleTimeoutMs;
            b.maxConnectionLifetimeMs = a.maxConnectionLifetimeMs;
            b.followRedirects = a.followRedirects;
            b.maxRedirects = a.maxRedirects;
            b.retryPolicy = a.retryPolicy;
            b.tls = a.tls;
            b.proxySelector = a.proxySelector;
            b.dns = a.dns;
            b.cookieJar = a.cookieJar;
            b.userAgent = a.userAgent;
            b.json = a.json;
            b.decompress = a.decompress;
            b.pipelining = a.pipelining;
            b.maxResponseBody = a.maxResponseBody;
            b.maxResponseHeadBytes = a.maxResponseHeadBytes;
            b.maxResponseHeaders = a.maxResponseHeaders;
            b.expectContinueTimeoutMs = a.expectContinueTimeoutMs;
            return b;
        }
    }
}
