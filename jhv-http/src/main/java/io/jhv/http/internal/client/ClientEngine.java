package io.jhv.http.internal.client;

import io.jhv.core.loop.EventLoop;
import io.jhv.core.loop.EventLoopGroup;
import io.jhv.core.net.Connector;
import io.jhv.core.net.Proxy;
import io.jhv.core.tls.TlsConfig;
import io.jhv.http.client.EventSourceListener;
import io.jhv.http.client.HttpRequest;
import io.jhv.http.client.HttpResponse;
import io.jhv.http.client.PoolStats;
import io.jhv.http.client.ResponseHandler;

import java.time.Duration;
import java.util.Collections;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The machinery behind {@code HttpClient}: the loops, the two connectors (plain and TLS), and a
 * pool per origin. A pool lives on one loop (the caller's, when the first call to that origin
 * comes from one of the client's loops; else the group's next), so its bookkeeping needs no lock;
 * calls from other threads are posted there.
 */
public final class ClientEngine {
    private static final AtomicInteger SEQ = new AtomicInteger();

    final ClientSettings settings;
    private final EventLoopGroup group;
    private final boolean ownGroup;
    private final TlsConfig tls;
    private record ConnectorKey(boolean tls, Proxy proxy) {}
    private final ConcurrentHashMap<ConnectorKey, Connector> connectors = new ConcurrentHashMap<>();
    private final Connector plain;
    private final Connector secure;
    private final ConcurrentHashMap<String, Pool> pools = new ConcurrentHashMap<>();
    private volatile boolean closed;

    public ClientEngine(ClientSettings s) {
        this.settings = s;
        if (s.group != null) {
            group = s.group;
            ownGroup = false;
        } else {
            int n = Math.max(1, Math.min(4, Runtime.getRuntime().availableProcessors()));
            int id = SEQ.incrementAndGet();
            EventLoop[] loops = new EventLoop[n];
            for (int i = 0; i < n; i++) loops[i] = EventLoop.builder().name("jhv-http-client-" + id + "-" + i).daemon(true).build();
            group = EventLoopGroup.of(EventLoopGroup.Balance.ROUND_ROBIN, loops).start();
            ownGroup = true;
        }
        tls = (s.tls != null ? s.tls : TlsConfig.client().build()).withAlpn("http/1.1");
        plain = connector(null, Proxy.NONE);
        secure = connector(tls, Proxy.NONE);
    }

    private Connector connector(TlsConfig tls, Proxy proxy) {
        Connector c = Connector.create()
                .proxy(proxy)
                .connectTimeout(Duration.ofMillis(settings.connectTimeoutMs))
                .handshakeTimeout(Duration.ofMillis(settings.tlsHandshakeTimeoutMs))
                .protocol(() -> new ClientConnection(this));
        if (settings.dns != null && settings.dns != io.jhv.http.client.Dns.SYSTEM) c.resolver(settings.dns::lookup);
        if (tls != null) c.tls(tls);
        return c;
    }

    /** The connector for TLS or not, through a tunnel ({@code CONNECT}, SOCKS5) or not. Any thread. */
    Connector connector(boolean secureConn, Proxy tunnel) {
        if (!tunnel.isProxied()) return secureConn ? secure : plain;
        return connectors.computeIfAbsent(new ConnectorKey(secureConn, tunnel), k -> connector(k.tls ? tls : null, k.proxy));
    }

    boolean isClosed() {
        return closed;
    }

    /** A loop of the client's group (to post a callback-form failure to). Any thread. */
    EventLoop anyLoop() {
        return group.next();
    }

    /** The pool of {@code plan}'s origin, made on first use. Any thread. */
    Pool pool(RequestPlan plan) {
        if (closed) throw new IllegalStateException("the HttpClient is closed");
        Pool p = pools.get(plan.originKey);
        if (p != null) return p;
        EventLoop current = EventLoop.current();
        EventLoop loop = current != null && group.loops().contains(current) ? current : group.next();
        return pools.computeIfAbsent(plan.originKey, k -> new Pool(this, loop, plan));
    }

    public CompletableFuture<HttpResponse> send(HttpRequest request) {
        Call c = new Call(this, request, null);
        c.begin();
        return c;
    }

    /** The callback form: a recycled Call, no future, a reused view. Any thread. */
    public void send(HttpRequest request, io.jhv.http.client.ResponseCallback callback) {
        if (closed) throw new IllegalStateException("the HttpClient is closed");
        Call c = takeFree();
        if (c == null) c = new Call(this);
        c.reuse(request, callback);
        c.begin();
    }

    private static final int MAX_FREE = 1024;
    /**
     * The body buffers the free list keeps: any up to SMALL_SINK (so small bodies allocate nothing,
     * at most MAX_FREE x 16 KB in all); bigger ones up to MAX_KEPT_SINK while their total stays
     * within KEPT_SINKS_BUDGET (LIFO reuse hands them to the hottest Calls); the rest are replaced
     * by a small one, so a burst of big responses does not pin memory for the client's lifetime.
     */
    private static final int SMALL_SINK = 16 << 10, MAX_KEPT_SINK = 256 << 10, KEPT_SINKS_BUDGET = 4 << 20;
    private Call free; // the free callback-form Calls, linked by nextFree (guarded by this)
    private int freeCount;
    private long keptSinkBytes; // the capacity of the free Calls' sinks above SMALL_SINK (guarded by this)

    private synchronized Call takeFree() {
        Call c = free;
        if (c != null) {
            free = c.rc.nextFree;
            c.rc.nextFree = null;
            freeCount--;
            int cap = c.rc.sink.capacity();
            if (cap > SMALL_SINK) keptSinkBytes -= cap;
        }
        return c;
    }

    /** A callback-form Call whose call has ended and that nothing references any more. Any thread. */
    void recycle(Call c) {
        Call.Recycled r = c.rc;
        int cap = r.sink.capacity();
        if (cap > MAX_KEPT_SINK) {
            r.sink = io.jhv.core.buffer.Buffer.allocate(1024);
            cap = 1024;
        }
        synchronized (this) {
            if (freeCount >= MAX_FREE) return;
            if (cap > SMALL_SINK) {
                if (keptSinkBytes + cap > KEPT_SINKS_BUDGET) {
                    r.sink = io.jhv.core.buffer.Buffer.allocate(1024); // rare: a burst of big bodies
                } else {
                    keptSinkBytes += cap;
                }
            }
            r.nextFree = free;
            free = c;
            freeCount++;
        }
    }

    public CompletableFuture<HttpResponse> stream(HttpRequest request, ResponseHandler handler) {
        Call c = new Call(this, request, handler);
        c.begin();
        return c;
    }

    public CompletableFuture<Void> eventSource(HttpRequest request, EventSourceListener listener) {
        HttpRequest r = request.header("Accept") != null ? request
                : request.toBuilder().header("Accept", "text/event-stream").build();
        SseHandler sse = new SseHandler(listener);
        CompletableFuture<HttpResponse> call = stream(r, sse);
        CompletableFuture<Void> result = new CompletableFuture<>() {
            @Override
            public boolean cancel(boolean mayInterrupt) {
                call.cancel(mayInterrupt);
                return super.cancel(mayInterrupt);
            }
        };
        call.whenComplete((res, err) -> {
            Throwable why = sse.failure != null ? sse.failure : err;
            if (why != null) result.completeExceptionally(why);
            else result.complete(null);
        });
        return result;
    }

    public PoolStats stats() {
        PoolStats sum = new PoolStats(0, 0, 0, 0);
        for (Pool p : pools.values()) sum = sum.plus(p.stats());
        return sum;
    }

    public Map<String, PoolStats> statsByOrigin() {
        TreeMap<String, PoolStats> m = new TreeMap<>();
        for (Pool p : pools.values()) m.put(p.key, p.stats());
        return Collections.unmodifiableMap(m);
    }

    public void evictIdle() {
        for (Pool p : pools.values()) {
            try {
                p.loop.execute(p::evictIdle);
            } catch (RuntimeException stopped) {
                // its loop has stopped: nothing open there
            }
        }
    }

    public void close() {
        if (closed) return;
        closed = true;
        EventLoop current = EventLoop.current();
        boolean onOurLoop = current != null && group.loops().contains(current);
        for (Pool p : pools.values()) {
            try {
                if (p.loop.inLoop()) {
                    p.shutdown();
                } else if (onOurLoop) {
                    p.loop.execute(p::shutdown); // waiting for another loop from a loop could deadlock
                } else {
                    p.loop.submit(() -> {
                        p.shutdown();
                        return null;
                    }).get(5, TimeUnit.SECONDS);
                }
            } catch (Exception stoppedOrSlow) {
                // a stopped loop closed its connections already
            }
        }
        if (!ownGroup) return;
        if (onOurLoop) {
            for (EventLoop l : group.loops()) l.stop(); // cannot wait for ourselves: they end after this task
        } else {
            group.shutdownGracefully(Duration.ofSeconds(5));
        }
    }
}
