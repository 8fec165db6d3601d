package io.jhv.http.internal.client;

import io.jhv.core.buffer.Buffer;
import io.jhv.core.loop.EventLoop;
import io.jhv.core.loop.Timer;
import io.jhv.core.net.Connection;
import io.jhv.core.net.ConnectTimeoutException;
import io.jhv.http.client.HttpClientException;
import io.jhv.http.client.HttpConnectException;
import io.jhv.http.client.HttpRequest;
import io.jhv.http.client.HttpResponse;
import io.jhv.http.client.HttpTimeoutException;
import io.jhv.http.client.MalformedResponseException;
import io.jhv.http.client.ResponseCallback;
import io.jhv.http.client.ResponseHandler;
import io.jhv.http.client.ResponseView;
import io.jhv.http.client.ResponseStream;
import io.jhv.http.client.RetryPolicy;
import io.jhv.http.client.TooManyRedirectsException;

import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.RejectedExecutionException;

/**
 * One call: the future the caller holds, and the state that drives it through acquire -> exchange
 * -> (retry | redirect)* -> done. Everything but {@link #begin()}, {@link #cancel(boolean)} and the
 * {@link ResponseStream} methods runs on the loop of the call's current pool ({@link #loop}); a
 * redirect to another origin moves the call to that origin's loop.
 *
 * <p>One object per call: the future, the task posted to the loop, the stream handle of a
 * streamed response and the timer callbacks are all this object, so the hot path allocates no
 * lambda or second future.
 *
 * <p>The callback form ({@link ClientEngine#send(HttpRequest, ResponseCallback)}) uses a Call as a
 * plain state machine, never as a future: {@link #isDone()}, {@link #complete} and
 * {@link #completeExceptionally} are redirected to its own flag and the callback, the response is
 * a reused {@link View} over the parsed head and a reused body buffer, and after the callback the
 * Call goes back to the engine's free list for the next call (so the steady state allocates
 * nothing). Such a call is never pipelined and has no cancel: nothing outside the client holds it.
 */
final class Call extends CompletableFuture<HttpResponse> implements Runnable, ResponseStream, BodyDecoder.Output {
    private static final Object NO_BODY = new Object();
    /** The largest array a JVM allocates, so the largest body held in memory. */
    static final int MAX_ARRAY = Integer.MAX_VALUE - 16;
    /** The first buffer of a buffered body with a known length; it grows as the bytes arrive. */
    private static final int FIRST_BUFFER = 64 << 10;
    /** The longest call deadline, ~73 years: nanoTime plus it cannot overflow past a comparison. */
    private static final long MAX_DELAY_NANOS = Long.MAX_VALUE / 4;

    final ClientEngine engine;
    private final ResponseHandler handler; // null: buffer the body
    /**
     * The callback form's state, null for a future (so a future's Call carries one field for it,
     * not five): this Call is recycled, never a future (see the class comment).
     */
    final Recycled rc;

    /** What a recycled Call needs besides a future's state; made once per Call object, not per call. */
    static final class Recycled {
        ResponseCallback callback; // who hears the outcome of the current call
        boolean done = true;       // the current call has ended (true while free)
        final View view;           // the response, reused
        Buffer sink = Buffer.allocate(1024); // the body, reused
        Call nextFree;             // the engine's free list
        long deadlineAt;           // the call deadline (System.nanoTime based), 0: none
        Deadlines dList;           // the loop's deadline list holding this call, or null
        int dIndex;                // its place in that list's heap

        Recycled(Call c) { view = new View(c); }
    }
    HttpRequest hop;
    RequestPlan plan;
    RequestBody body;
    long bodyLength;
    String cookieHeader;
    private Pool pool;
    volatile EventLoop loop;
    private boolean started;

    int attempt = 1;
    boolean forceFresh;
    private int redirects;
    private HttpResponse previous;
    CompletableFuture<Connection> connecting;
    /** The pool queue this call waits in (see {@link PendingQueue}), or null; its neighbours there. */
    PendingQueue queue;
    Call qPrev, qNext;
    private ClientConnection conn;
    private Timer acquireTimer;
    private Timer deadline;
    private boolean waiting;
    private boolean finished;

    // the response of the current exchange
    private HttpResponse response;
    private HttpRequest redirectTo;
    private BodyDecoder decoder;
    private byte[] acc;
    private int accLen;
    private long expected = -1; // the Content-Length of a buffered body, or -1
    private boolean headDelivered;

    Call(ClientEngine engine, HttpRequest request, ResponseHandler handler) {
        this.engine = engine;
        this.hop = request;
        this.handler = handler;
        this.rc = null;
    }

    /** A Call for the callback form, to be {@link #reuse reused}. */
    Call(ClientEngine engine) {
        this.engine = engine;
        this.handler = null;
        this.rc = new Recycled(this);
    }

    /** Readies a free callback-form Call for {@code request}. The thread that took it from the free list. */
    void reuse(HttpRequest request, ResponseCallback cb) {
        hop = request;
        Recycled r = rc;
        r.callback = cb;
        r.done = false;
        plan = null;
        body = null;
        bodyLength = 0;
        cookieHeader = null;
        pool = null;
        loop = null;
        started = false;
        attempt = 1;
        forceFresh = false;
        redirects = 0;
        previous = null;
        connecting = null;
        conn = null;
        acquireTimer = null;
        deadline = null;
        waiting = false;
        finished = false;
        response = null;
        redirectTo = null;
        decoder = null;
        acc = null;
        accLen = 0;
        expected = -1;
        headDelivered = false;
        r.deadlineAt = 0;
        r.sink.clear(); // (ClientEngine.recycle bounded its size)
    }

    // ---------------------------------------------------------------- the callback form's completion

    @Override
    public boolean isDone() {
        return rc != null ? rc.done : super.isDone();
    }

    @Override
    public boolean completeExceptionally(Throwable e) {
        Recycled r = rc;
        if (r == null) return super.completeExceptionally(e);
        if (r.done) return false;
        r.done = true;
        try {
            r.callback.onFailure(hop, e);
        } catch (RuntimeException | Error thrown) {
            reportCallbackFailure(thrown);
        }
        recycle();
        return true;
    }

    @Override
    public boolean complete(HttpResponse r) {
        if (rc == null) return super.complete(r);
        throw new IllegalStateException("a callback-form call completes through its view");
    }

    @Override
    public boolean cancel(boolean mayInterruptIfRunning) {
        if (rc != null) return false; // nobody outside holds it
        return cancelFuture(mayInterruptIfRunning);
    }

    /** The callback form's response is complete: hand the view over, then free this Call. Loop thread. */
    private void deliverView(HeaderList trailers) {
        Recycled r = rc;
        r.done = true;
        View v = r.view;
        v.trailers = trailers;
        v.body = r.sink;
        v.live = true;
        try {
            r.callback.onResponse(v);
        } catch (RuntimeException | Error thrown) {
            reportCallbackFailure(thrown);
        } finally {
            v.live = false; // a view kept past its callback fails from now on
        }
        v.clear();
        r.sink.clear(); // a body Buffer kept past the callback reads as empty (until the Call is reused)
        recycle();
    }

    private void recycle() {
        rc.callback = null;
        hop = null;
        plan = null;
        body = null;
        pool = null;
        conn = null;
        connecting = null;
        previous = null;
        response = null;
        engine.recycle(this);
    }

    /** An exception from a callback: the client's state is fine; the loop's error handler hears it. */
    private void reportCallbackFailure(Throwable t) {
        EventLoop l = loop;
        Thread th = Thread.currentThread();
        if (l != null && l.inLoop()) {
            try {
                l.post(() -> {
                    if (t instanceof RuntimeException re) throw re;
                    throw (Error) t;
                });
                return;
            } catch (RejectedExecutionException stopped) {
                // fall through
            }
        }
        th.getUncaughtExceptionHandler().uncaughtException(th, t);
    }

    // ---------------------------------------------------------------- start (any thread)

    /** Plans the first hop and starts the call on its pool's loop. Any thread. */
    void begin() {
        try {
            plan = RequestPlan.of(engine, hop);
            pool = engine.pool(plan);
        } catch (RuntimeException e) {
            if (rc != null) failOffCaller(e);
            else completeExceptionally(e);
            return;
        }
        try {
            resolveBody(); // here, on the caller's thread: file sizes and encodings stay off the loop
        } catch (IOException | RuntimeException e) {
            fail(e instanceof IOException io ? io : new HttpClientException(hop + ": cannot encode the request body: " + e, e));
            return;
        }
        EventLoop l = pool.loop;
        loop = l;
        if (l.inLoop()) {
            run();
        } else {
            try {
                l.execute(this);
            } catch (RejectedExecutionException e) {
                IllegalStateException closed = new IllegalStateException("the HttpClient is closed (its loop " + l.name() + " has stopped)", e);
                if (rc != null) abandon(closed);
                completeExceptionally(closed);
            }
        }
    }

    /**
     * The callback form failed before reaching a loop: its callback must not run on the caller's
     * thread inside send(), so the failure goes to a loop of the client; when the client is
     * closed (no loop left to run it), send() throws instead. Rare: the error path allocates.
     */
    private void failOffCaller(RuntimeException e) {
        if (engine.isClosed()) abandon(e instanceof IllegalStateException ise ? ise : new IllegalStateException("the HttpClient is closed", e));
        EventLoop l = engine.anyLoop();
        loop = l;
        try {
            l.execute(() -> completeExceptionally(e));
        } catch (RejectedExecutionException stopped) {
            abandon(new IllegalStateException("the HttpClient is closed (its loop " + l.name() + " has stopped)", stopped));
        }
    }

    /** Ends a callback-form call that never started without its callback, and throws {@code e} out of send(). */
    private void abandon(IllegalStateException e) {
        rc.done = true;
        recycle();
        throw e;
    }

    /** On the pool's loop: starts (or, after a redirect to another loop, continues) the call. */
    @Override
    public void run() {
        if (isDone()) return;
        if (!started) {
            started = true;
            long ms = hop.timeout() != null ? Math.max(1, hop.timeout().toMillis()) : engine.settings.callTimeoutMs;
            if (ms > 0) {
                if (rc != null) {
                    // saturated (as the loop's timers do): a timeout of years must not overflow into the past
                    long ns = ms >= MAX_DELAY_NANOS / 1_000_000L ? MAX_DELAY_NANOS : ms * 1_000_000L;
                    rc.deadlineAt = (System.nanoTime() + ns) | 1; // never 0, which means none
                    pool.deadlines.add(this); // no timer per call (see Deadlines)
                } else {
                    deadline = loop.setTimeout(ms, this::deadlineExpired);
                }
            }
        } else if (rc != null && rc.deadlineAt != 0 && rc.dList == null) {
            pool.deadlines.add(this); // moved to this loop by a redirect
        }
        startHop();
    }

    private void startHop() {
        try {
            // The first hop's body was resolved in begin(); a redirect hop keeps that body (307/308,
            // resolved already) or has none (303...).
            if (redirects > 0 && ClientAccess.requests().body(hop) != body) resolveBody();
        } catch (IOException | RuntimeException e) {
            fail(e instanceof IOException io ? io : new HttpClientException(hop + ": cannot encode the request body: " + e, e));
            return;
        }
        cookieHeader = engine.settings.cookieJar != null ? engine.settings.cookieJar.cookieHeader(hop.uri()) : null;
        pool.acquire(this);
    }

    /**
     * Turns the hop's body into what is sent (JSON encoded, multipart laid out with its files'
     * sizes) and its length. For the first hop it runs in {@link #begin()}, on the caller's thread;
     * a redirect that keeps the body (307/308) keeps it as resolved, so the loop never reads a
     * file's size.
     */
    private void resolveBody() throws IOException {
        RequestBody b = ClientAccess.requests().body(hop);
        if (b instanceof RequestBody.JsonBody j) b = j.encode(engine.settings.json);
        else if (b instanceof RequestBody.MultipartBody m) b = m.resolve();
        long length;
        if (b instanceof RequestBody.FileBody f) {
            try {
                length = Files.size(f.path);
            } catch (IOException e) {
                throw new HttpClientException(hop.method() + " " + hop.uri() + ": cannot read the request body file " + f.path
                        + " (" + e + "); nothing was sent", e);
            }
        } else {
            length = b == null ? 0 : b.length();
        }
        body = b;
        bodyLength = length;
    }

    // ---------------------------------------------------------------- acquire (loop)

    void waitForConnection(long timeoutMs) {
        waiting = true;
        acquireTimer = loop.setTimeout(timeoutMs, this::acquireTimedOut);
    }

    void stopWaiting() {
        waiting = false;
        if (acquireTimer != null) acquireTimer.cancel();
        acquireTimer = null;
    }

    private void acquireTimedOut() {
        acquireTimer = null;
        if (!waiting) return;
        waiting = false;
        pool.removePending(this);
        fail(pool.acquireTimeout(this));
    }

    void acquireFailed(Exception e) {
        fail(e);
    }

    void assigned(ClientConnection c, boolean reused) {
        stopWaiting();
        if (isDone()) {
            c.pool.release(c, true);
            return;
        }
        conn = c;
        response = null;
        redirectTo = null;
        headDelivered = false;
        c.startExchange(this, reused);
    }

    /** Pipelined behind the exchanges on {@code c}: the request goes out now, the response comes in turn. */
    void pipelinedOn(ClientConnection c) {
        conn = c;
        response = null;
        redirectTo = null;
        headDelivered = false;
        c.pipeline(this);
    }

    void connectFailed(Pool p, Throwable err) {
        if (isDone()) return;
        Throwable e = err instanceof CompletionException && err.getCause() != null ? err.getCause() : err;
        if (e instanceof CancellationException) return;
        IOException failure;
        String where = plan.absoluteForm ? "the proxy " + plan.connectHost + ":" + plan.connectPort
                : plan.connectHost + ":" + plan.connectPort + (plan.proxy != null ? " via proxy " + plan.proxy.host() + ":" + plan.proxy.port() : "");
        if (e instanceof ConnectTimeoutException t) {
            failure = new HttpTimeoutException(t.phase() == ConnectTimeoutException.Phase.HANDSHAKE ? HttpTimeoutException.Phase.TLS
                    : HttpTimeoutException.Phase.CONNECT, hop.method() + " " + hop.uri() + ": " + t.getMessage(), t);
        } else {
            failure = new HttpConnectException(hop.method() + " " + hop.uri() + ": cannot connect to " + where + ": " + e.getMessage(), e);
        }
        // A name that does not resolve will not resolve a moment later: not retried.
        if (failure instanceof HttpConnectException && !(e instanceof java.net.UnknownHostException) && mayRetry(failure, false, false, false)) {
            retry();
            return;
        }
        fail(failure);
    }

    // ---------------------------------------------------------------- exchange (loop)

    /** The response head (final, not 1xx). {@code bodyLength}: 0 none, -1 unknown. */
    void head(ClientConnection c, int status, String reason, int minor, HeaderList headers, long bodyLength) throws IOException {
        if (isDone()) {
            c.abortExchange();
            return;
        }
        expected = -1;
        if (engine.settings.cookieJar != null) {
            List<String> setCookie = headers.all("Set-Cookie");
            if (!setCookie.isEmpty()) engine.settings.cookieJar.save(hop.uri(), setCookie);
        }
        if (rc != null) {
            rc.view.head(status, reason, minor, headers);
            rc.sink.clear();
        } else {
            response = ClientAccess.responses().create(hop, status, reason, minor, headers, null, engine.settings.json);
            if (previous != null) ClientAccess.responses().previous(response, previous);
        }
        if (engine.settings.followRedirects && isRedirect(status)) {
            HttpRequest next = redirect(status, headers.get("Location"));
            if (next != null) {
                if (redirects >= engine.settings.maxRedirects) {
                    c.abortExchange();
                    fail(new TooManyRedirectsException(hop.method() + " " + hop.uri() + ": more than " + engine.settings.maxRedirects + " redirects"));
                    return;
                }
                redirectTo = next; // the body is read and dropped, so the connection can be reused
                return;
            }
        }
        if (bodyLength != 0 && engine.settings.decompress) decoder = BodyDecoder.forEncoding(headers.get("Content-Encoding"));
        if (handler != null) {
            headDelivered = true;
            handler.onHead(response, this);
        } else if (bodyLength > engine.settings.maxResponseBody) {
            throw new MalformedResponseException(hop.method() + " " + hop.uri() + ": response body of " + bodyLength
                    + " bytes exceeds maxResponseBody (" + engine.settings.maxResponseBody + ")");
        } else if (bodyLength > 0 && decoder == null && rc == null) {
            // Grown as the bytes arrive: the peer's Content-Length alone allocates no more than this.
            expected = bodyLength;
            acc = new byte[(int) Math.min(bodyLength, FIRST_BUFFER)];
        }
    }

    /**
     * A slice of the body ({@code n} bytes, borrowed). Returns how many were taken: all of them,
     * except when the handler paused while a decoder was expanding them (the rest stays in the
     * connection's input until it resumes).
     */
    int bodyBytes(Buffer slice, int n) throws IOException {
        if (redirectTo != null || isDone()) return n; // dropped
        if (decoder != null) {
            return decoder.feed(slice.array(), slice.readerIndex(), n, this);
        }
        if (handler != null) {
            handler.onBody(slice);
        } else {
            append(slice.array(), slice.readerIndex(), n);
        }
        return n;
    }

    @Override
    public boolean decoded(byte[] b, int off, int len) throws IOException {
        if (handler == null) {
            append(b, off, len);
            return true;
        }
        handler.onBody(Buffer.wrap(b, off, len));
        ClientConnection c = conn;
        return c != null && !c.isPaused() && !isDone(); // stop expanding for a paused (or gone) reader
    }

    private void append(byte[] b, int off, int len) throws IOException {
        Recycled r = rc;
        if ((long) (r != null ? r.sink.readableBytes() : accLen) + len > engine.settings.maxResponseBody) {
            throw new MalformedResponseException(hop.method() + " " + hop.uri() + ": response body exceeds maxResponseBody ("
                    + engine.settings.maxResponseBody + " bytes)");
        }
        if (r != null) {
            r.sink.write(b, off, len);
            return;
        }
        if (acc == null) {
            acc = new byte[Math.max(len, 8192)];
        } else if (accLen + len > acc.length) {
            long grown = Math.max((long) acc.length * 2, (long) accLen + len);
            if (expected >= (long) accLen + len) grown = Math.min(grown, expected); // no more than announced
            acc = java.util.Arrays.copyOf(acc, (int) Math.min(grown, MAX_ARRAY));
        }
        System.arraycopy(b, off, acc, accLen, len);
        accLen += len;
    }

    /** The response is complete; the connection went back to the pool (or was closed). */
    void exchangeDone(HeaderList trailers) {
        conn = null;
        if (isDone()) return;
        if (redirectTo != null) {
            HttpRequest next = redirectTo;
            redirectTo = null;
            previous = response;
            redirects++;
            followTo(next);
            return;
        }
        if (decoder != null) {
            try {
                decoder.finish();
            } catch (MalformedResponseException e) {
                fail(new MalformedResponseException(e.getMessage() + " (" + hop.method() + " " + hop.uri() + ")"));
                return;
            } finally {
                decoder.close();
                decoder = null;
            }
        }
        if (rc != null) {
            finished = true;
            cancelDeadline();
            deliverView(trailers);
            return;
        }
        HttpResponse r = response;
        if (trailers.size() > 0) ClientAccess.responses().trailers(r, trailers);
        if (handler == null && accLen > 0) {
            ClientAccess.responses().body(r, accLen == acc.length ? acc : java.util.Arrays.copyOf(acc, accLen));
        }
        acc = null;
        finished = true;
        cancelDeadline();
        if (handler != null) {
            try {
                handler.onComplete(r);
            } catch (RuntimeException e) {
                completeExceptionally(e);
                return;
            }
        }
        complete(r);
    }

    void exchangeFailed(ClientConnection c, IOException e, boolean requestWritten, boolean responseStarted, boolean reused) {
        conn = null;
        if (decoder != null) {
            decoder.close();
            decoder = null;
        }
        acc = null;
        accLen = 0;
        if (isDone()) return;
        if (!headDelivered && redirectTo == null && !(e instanceof MalformedResponseException) && !(e instanceof HttpTimeoutException)
                && !(e instanceof LocalFailure) && mayRetry(e, requestWritten, responseStarted, reused)) {
            retry();
            return;
        }
        fail(e);
    }

    private boolean mayRetry(IOException e, boolean requestWritten, boolean responseStarted, boolean reused) {
        if (requestWritten && body != null && !body.replayable()) return false;
        boolean yes;
        try {
            yes = engine.settings.retryPolicy.shouldRetry(new RetryPolicy.Failure(hop, e, attempt, requestWritten, responseStarted, reused));
        } catch (RuntimeException policyFailed) {
            e.addSuppressed(policyFailed);
            return false;
        }
        if (!yes) return false;
        // The policy is the caller's code: bound what it can ask for.
        if (attempt >= RetryPolicy.MAX_ATTEMPTS) {
            e.addSuppressed(new HttpClientException("not retried: the request was sent " + attempt + " times, the most "
                    + "any RetryPolicy gets (RetryPolicy.MAX_ATTEMPTS); this is the last attempt's error"));
            return false;
        }
        // A future's deadline is a timer that fails the call (so no retry after it); the callback
        // form's deadline list may fire a little late: check its instant.
        if (rc != null && rc.deadlineAt != 0 && System.nanoTime() - rc.deadlineAt >= 0) {
            e.addSuppressed(new HttpClientException("not retried: the call deadline has passed"));
            return false;
        }
        return true;
    }

    private void retry() {
        attempt++;
        forceFresh = true; // the retry never goes the same way: a new connection
        response = null;
        pool.acquire(this);
    }

    // ---------------------------------------------------------------- redirects

    private static boolean isRedirect(int status) {
        return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
    }

    /** The next hop for a redirect, or null when it is not followed (the redirect is the response). */
    private HttpRequest redirect(int status, String location) {
        if (location == null || location.isEmpty()) return null;
        URI target;
        try {
            URI base = hop.uri();
            target = base.resolve(new URI(location.trim()));
            if (target.getRawFragment() != null) {
                target = new URI(target.getScheme(), target.getRawAuthority() == null ? null : target.getAuthority(),
                        target.getPath(), target.getQuery(), null);
            }
        } catch (URISyntaxException | IllegalArgumentException e) {
            return null; // a Location we cannot follow: hand the redirect to the caller
        }
        String scheme = target.getScheme() == null ? "" : target.getScheme().toLowerCase(java.util.Locale.ROOT);
        if ((!scheme.equals("http") && !scheme.equals("https")) || target.getHost() == null) return null;
        String method = hop.method();
        RequestBody b = body;
        boolean toGet = (status == 303 && !method.equals("HEAD")) || ((status == 301 || status == 302) && method.equals("POST"));
        if (toGet) {
            method = "GET";
            b = null;
        } else if (b != null && !b.replayable()) {
            return null; // 307/308 must resend the body, and this one cannot be
        }
        boolean crossOrigin = !sameOrigin(hop.uri(), target);
        String[] old = ClientAccess.requests().headerArray(hop);
        List<String> hs = new ArrayList<>(old.length);
        for (int i = 0; i < old.length; i += 2) {
            String n = old[i];
            if (toGet && (n.equalsIgnoreCase("Content-Type") || n.equalsIgnoreCase("Content-Encoding")
                    || n.equalsIgnoreCase("Content-Language") || n.equalsIgnoreCase("Content-Location"))) continue;
            if (crossOrigin && (n.equalsIgnoreCase("Authorization") || n.equalsIgnoreCase("Cookie")
                    || n.equalsIgnoreCase("Proxy-Authorization"))) continue;
            hs.add(n);
            hs.add(old[i + 1]);
        }
        return ClientAccess.requests().derive(hop, method, target, b, hs.toArray(new String[0]));
    }

    static boolean sameOrigin(URI a, URI b) {
        return a.getScheme().equalsIgnoreCase(b.getScheme()) && a.getHost().equalsIgnoreCase(b.getHost()) && port(a) == port(b);
    }

    private static int port(URI u) {
        return u.getPort() >= 0 ? u.getPort() : u.getScheme().equalsIgnoreCase("https") ? 443 : 80;
    }

    private void followTo(HttpRequest next) {
        hop = next;
        attempt = 1;
        forceFresh = false;
        try {
            plan = RequestPlan.of(engine, next);
            pool = engine.pool(plan);
        } catch (RuntimeException e) {
            fail(new HttpClientException("cannot follow the redirect to " + next.uri() + ": " + e.getMessage(), e));
            return;
        }
        EventLoop l = pool.loop;
        if (l == loop) {
            startHop();
            return;
        }
        loop = l;
        if (rc != null && rc.dList != null) rc.dList.remove(this); // run() puts it in the new loop's list
        try {
            l.execute(this); // run(): started already, so it goes on with startHop()
        } catch (RejectedExecutionException e) {
            fail(new IllegalStateException("the HttpClient is closed", e));
        }
    }

    // ---------------------------------------------------------------- ending

    private void fail(Throwable e) {
        if (isDone()) return;
        finished = true;
        cancelDeadline();
        if (waiting && pool != null) pool.removePending(this); // a recycled Call must not stay queued
        stopWaiting();
        if (handler != null) {
            try {
                handler.onError(e);
            } catch (RuntimeException ignored) {
                e.addSuppressed(ignored);
            }
        }
        completeExceptionally(e);
    }

    private void cancelDeadline() {
        if (deadline != null) deadline.cancel();
        deadline = null;
        if (rc != null && rc.dList != null) rc.dList.remove(this);
    }

    void deadlineExpired() {
        deadline = null;
        EventLoop l = loop;
        if (!l.inLoop()) {
            try {
                l.execute(this::deadlineExpired);
            } catch (RejectedExecutionException ignored) {
                // client closed
            }
            return;
        }
        if (isDone()) return;
        long ms = hop.timeout() != null ? hop.timeout().toMillis() : engine.settings.callTimeoutMs;
        HttpTimeoutException e = new HttpTimeoutException(HttpTimeoutException.Phase.CALL, hop.method() + " " + hop.uri()
                + ": the call took longer than " + ms + " ms" + (redirects > 0 ? " (" + redirects + " redirects followed)" : ""));
        release();
        fail(e);
    }

    /** Gives up whatever the call holds: its place in the queue, its connect attempt, its exchange. Loop thread. */
    private void release() {
        if (waiting) {
            stopWaiting();
            pool.removePending(this);
        }
        CompletableFuture<Connection> f = connecting;
        connecting = null;
        if (f != null) f.cancel(false); // the Connector closes the attempt
        ClientConnection c = conn;
        conn = null;
        if (c != null && c.call == this) c.abortExchange(); // cut mid-exchange: closed, never pooled
        if (decoder != null) {
            decoder.close();
            decoder = null;
        }
        acc = null;
    }

    private boolean cancelFuture(boolean mayInterruptIfRunning) {
        boolean cancelled = super.cancel(mayInterruptIfRunning);
        if (cancelled) {
            EventLoop l = loop;
            if (l == null) return true;
            if (l.inLoop()) {
                cancelledInLoop();
            } else {
                try {
                    l.execute(this::cancelledInLoop);
                } catch (RejectedExecutionException ignored) {
                    // the client is closed: its connections are gone
                }
            }
        }
        return cancelled;
    }

    private void cancelledInLoop() {
        if (!loop.inLoop()) { // moved by a redirect meanwhile
            loop.execute(this::cancelledInLoop);
            return;
        }
        if (finished) return;
        finished = true;
        cancelDeadline();
        release();
        if (handler != null) {
            try {
                handler.onError(new CancellationException("the call was cancelled"));
            } catch (RuntimeException ignored) {
                // the handler's problem; the call is over
            }
        }
    }

    // ---------------------------------------------------------------- ResponseStream

    @Override
    public void pause() {
        EventLoop l = loop;
        if (l.inLoop()) {
            if (conn != null) conn.pause();
        } else {
            l.execute(this::pause);
        }
    }

    @Override
    public void resume() {
        EventLoop l = loop;
        if (l.inLoop()) {
            if (conn != null) conn.resume();
        } else {
            l.execute(this::resume);
        }
    }

    @Override
    public void cancel() {
        cancel(true);
    }

    @Override
    public String toString() {
        return "Call[" + hop + ", attempt " + attempt + (isDone() ? ", done" : "") + "]";
    }

    /** The callback form's response: the call's current head and body, reused call after call. */
    static final class View implements ResponseView {
        private final Call call;
        private int status, minor;
        private String reason = "";
        private HeaderList headers = HeaderList.EMPTY;
        HeaderList trailers = HeaderList.EMPTY;
        Buffer body;
        boolean live; // during onResponse only

        View(Call call) { this.call = call; }

        private void check() {
            if (!live) throw new IllegalStateException("a ResponseView is valid only during onResponse (keep toResponse(), a copy)");
        }

        void head(int status, String reason, int minor, HeaderList headers) {
            this.status = status;
            this.reason = reason;
            this.minor = minor;
            this.headers = headers;
            this.trailers = HeaderList.EMPTY;
        }

        void clear() {
            headers = HeaderList.EMPTY;
            trailers = HeaderList.EMPTY;
            body = null;
        }

        @Override public HttpRequest request() { check(); return call.hop; }
        @Override public int status() { check(); return status; }
        @Override public String reason() { check(); return reason; }
        @Override public String version() { check(); return minor == 0 ? "HTTP/1.0" : "HTTP/1.1"; }
        @Override public String header(String name) { check(); return headers.get(name); }
        @Override public int headerCount() { check(); return headers.size(); }
        @Override public String headerName(int i) { check(); return headers.name(i); }
        @Override public String headerValue(int i) { check(); return headers.value(i); }
        @Override public Buffer body() { check(); return body; }
        @Override public String trailer(String name) { check(); return trailers.get(name); }

        @Override
        public String bodyString() {
            return toResponse().bodyString(); // the charset rules of HttpResponse
        }

        @Override
        public HttpResponse toResponse() {
            check();
            Buffer b = body;
            byte[] bytes = b == null || !b.isReadable() ? null
                    : java.util.Arrays.copyOfRange(b.array(), b.readerIndex(), b.writerIndex());
            HttpResponse r = ClientAccess.responses().create(call.hop, status, reason, minor, headers, bytes, call.engine.settings.json);
            if (trailers.size() > 0) ClientAccess.responses().trailers(r, trailers);
            return r;
        }

        @Override
        public String toString() {
            if (!live) return "ResponseView (no longer valid: its onResponse has returned)";
            return version() + " " + status + (reason.isEmpty() ? "" : " " + reason) + " (" + call.hop.method() + " " + call.hop.uri() + ")";
        }
    }
}
