package io.jhv.http.internal.client;

import io.jhv.core.loop.EventLoop;
import io.jhv.core.loop.Timer;
import io.jhv.core.net.Connection;
import io.jhv.http.client.PoolExhaustedException;
import io.jhv.http.client.PoolStats;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * The connections of one origin (scheme, host, port, proxy), all on one loop, and the calls
 * waiting for one. Every method runs on that loop; the counters are volatile so
 * {@link io.jhv.http.client.HttpClient#stats()} can read them from any thread.
 *
 * <pre>
 *   acquire: idle (LIFO, liveness checked) -> new connection (below the limit) -> wait (bounded
 *            queue, acquire timeout) -> PoolExhaustedException
 *   release: reusable -> the first waiter, else idle (eviction timer)  |  not reusable -> closed
 *   closed:  (the loop heard the close) -> forgotten; a waiter gets a new connection
 * </pre>
 * LIFO reuse keeps the hottest connections busy and lets the cold ones reach their idle timeout.
 */
final class Pool {
    final ClientEngine engine;
    final EventLoop loop;
    final String key;
    final RequestPlan origin; // connect host/port and TLS of this origin
    private final ClientSettings s;
    private final ArrayDeque<ClientConnection> idle = new ArrayDeque<>();
    private final PendingQueue pending = new PendingQueue(); // O(1) removal of a call that gives up
    private final List<ClientConnection> busy = new ArrayList<>(); // acquired ones, kept only when pipelining
    /** The connect attempts under way, with the call each was started for (shutdown ends both). */
    private final java.util.HashMap<CompletableFuture<Connection>, Call> connecting = new java.util.HashMap<>();
    private volatile int open, idleCount, acquired, pendingCount;
    private Timer sweep;
    private long sweepAt;
    private boolean closed;
    private final Runnable sweepTask = this::sweep;
    /** The callback form's call deadlines on this pool's loop. */
    final Deadlines deadlines;

    Pool(ClientEngine engine, EventLoop loop, RequestPlan origin) {
        this.engine = engine;
        this.loop = loop;
        this.key = origin.originKey;
        this.origin = origin;
        this.s = engine.settings;
        this.deadlines = new Deadlines(loop);
    }

    PoolStats stats() {
        return new PoolStats(open, idleCount, acquired, pendingCount);
    }

    /** Finds a connection for {@code call}: it hears {@code assigned}, {@code connectFailed} or {@code acquireFailed}. */
    void acquire(Call call) {
        if (closed) {
            call.acquireFailed(new IllegalStateException("the HttpClient is closed"));
            return;
        }
        long now = System.nanoTime();
        if (!call.forceFresh || open >= s.maxConnectionsPerHost) {
            ClientConnection c;
            while ((c = idle.pollFirst()) != null) {
                c.inIdle = false;
                idleCount = idle.size();
                if (c.usable(now) && c.alive()) {
                    markAcquired(c);
                    call.assigned(c, true);
                    return;
                }
                c.conn.close(); // stale or expired: closed() forgets it
            }
        }
        if (open < s.maxConnectionsPerHost) {
            connect(call);
            return;
        }
        if (s.pipelining > 1 && !call.forceFresh && ClientConnection.pipelinable(call)) {
            for (int i = 0, n = busy.size(); i < n; i++) {
                ClientConnection c = busy.get(i);
                if (c.canPipeline(call, s.pipelining)) {
                    call.pipelinedOn(c);
                    return;
                }
            }
        }
        if (pending.size() >= s.maxPendingAcquires) {
            call.acquireFailed(new PoolExhaustedException(call.hop.method() + " " + call.hop.uri() + ": the pool of " + key
                    + " is full (" + s.maxConnectionsPerHost + " connections busy) and " + pending.size() + " calls wait already (maxPendingAcquires)"));
            return;
        }
        pending.addLast(call);
        pendingCount = pending.size();
        call.waitForConnection(s.acquireTimeoutMs);
    }

    /** With pipelining on: waiting GET/HEAD calls at the head of the queue go out behind {@code c}'s exchange. */
    void pipelinePending(ClientConnection c) {
        if (s.pipelining <= 1) return;
        Call next;
        while ((next = pending.peekFirst()) != null) {
            if (next.isDone()) {
                pending.pollFirst();
                continue;
            }
            if (next.forceFresh || !c.canPipeline(next, s.pipelining)) break;
            pending.pollFirst();
            next.stopWaiting();
            next.pipelinedOn(c);
        }
        pendingCount = pending.size();
    }

    /** A waiting call gave up (timeout, cancel). */
    void removePending(Call call) {
        if (pending.remove(call)) pendingCount = pending.size();
    }

    PoolExhaustedException acquireTimeout(Call call) {
        return new PoolExhaustedException(call.hop.method() + " " + call.hop.uri() + ": no connection of " + key + " became free within "
                + s.acquireTimeoutMs + " ms (" + s.maxConnectionsPerHost + " connections busy)");
    }

    private void connect(Call call) {
        open++;
        CompletableFuture<Connection> f;
        try {
            f = engine.connector(origin.tls, origin.tunnel).connect(loop, origin.connectHost, origin.connectPort);
        } catch (RuntimeException e) {
            open--;
            call.connectFailed(null, e);
            return;
        }
        call.connecting = f;
        connecting.put(f, call);
        f.whenComplete((conn, err) -> connected(call, f, conn, err));
    }

    private void connected(Call call, CompletableFuture<Connection> f, Connection conn, Throwable err) {
        connecting.remove(f);
        boolean mine = call.connecting == f;
        if (mine) call.connecting = null;
        if (err != null) {
            open--;
            if (mine) call.connectFailed(this, err);
            servePending();
            return;
        }
        ClientConnection c = (ClientConnection) conn.protocol();
        if (conn.isClosed()) {
            // closed between coming up and this callback (a server that talks first, say): its
            // onClose did not know this pool yet, so count it out here
            open--;
            if (mine) call.connectFailed(this, new java.net.ConnectException("connection to " + key + " closed as soon as it opened: "
                    + conn.closeCause()));
            servePending();
            return;
        }
        c.pool = this;
        if (closed) {
            conn.abort(); // closed() counts it out
            // (shutdown failed the call already when it ran first; this covers a connect that raced it)
            if (mine && !call.isDone()) call.acquireFailed(new IllegalStateException("the HttpClient was closed"));
            return;
        }
        markAcquired(c);
        if (mine && !call.isDone()) {
            call.assigned(c, false);
            pipelinePending(c);
        } else {
            release(c, true);
        }
    }

    /** The exchange on {@code c} is over; {@code reusable} when it may carry another. */
    private void markAcquired(ClientConnection c) {
        c.acquired = true;
        acquired++;
        if (s.pipelining > 1) busy.add(c);
    }

    private void unmarkAcquired(ClientConnection c) {
        if (!c.acquired) return;
        c.acquired = false;
        acquired--;
        if (s.pipelining > 1) busy.remove(c);
    }

    void release(ClientConnection c, boolean reusable) {
        unmarkAcquired(c);
        long now = System.nanoTime();
        if (!reusable || closed || c.conn.isClosed()) {
            c.conn.close();
            return;
        }
        c.markIdle(now);
        if (!c.usable(now)) {
            c.conn.close();
            return;
        }
        Call next;
        while ((next = pending.pollFirst()) != null) {
            pendingCount = pending.size();
            if (next.isDone()) continue;
            markAcquired(c);
            next.assigned(c, true);
            pipelinePending(c);
            return;
        }
        c.inIdle = true;
        idle.addFirst(c);
        idleCount = idle.size();
        armSweep(c.idleDeadlineNanos);
    }

    /** {@code c} closed (the loop heard it): forget it; a waiter may get a new connection. */
    void closed(ClientConnection c) {
        open--;
        if (c.inIdle) {
            c.inIdle = false;
            idle.remove(c);
            idleCount = idle.size();
        }
        unmarkAcquired(c);
        servePending();
    }

    private void servePending() {
        if (closed) return;
        Call next;
        while (open < s.maxConnectionsPerHost && (next = pending.pollFirst()) != null) {
            pendingCount = pending.size();
            if (next.isDone()) continue;
            next.stopWaiting();
            connect(next);
        }
    }

    private void armSweep(long deadline) {
        if (sweep != null && sweepAt - deadline <= 0) return;
        if (sweep != null) sweep.cancel();
        sweepAt = deadline;
        long ms = Math.max(1, (deadline - System.nanoTime()) / 1_000_000L + 1);
        sweep = loop.setTimeout(ms, sweepTask);
    }

    /** Closes idle connections past their deadline, then waits for the next deadline. */
    private void sweep() {
        sweep = null;
        long now = System.nanoTime();
        long next = Long.MAX_VALUE;
        boolean any = false;
        List<ClientConnection> expired = null;
        for (ClientConnection c : idle) {
            if (now - c.idleDeadlineNanos >= 0) {
                if (expired == null) expired = new ArrayList<>();
                expired.add(c);
            } else if (!any || c.idleDeadlineNanos - next < 0) {
                next = c.idleDeadlineNanos;
                any = true;
            }
        }
        if (expired != null) {
            for (ClientConnection c : expired) c.conn.close();
        }
        if (any) armSweep(next);
    }

    /** Closes idle connections now. */
    void evictIdle() {
        for (ClientConnection c : new ArrayList<>(idle)) c.conn.close();
    }

    /** The client closes: fail the waiters, close every connection. */
    void shutdown() {
        closed = true;
        Call next;
        while ((next = pending.pollFirst()) != null) {
            next.stopWaiting();
            next.acquireFailed(new IllegalStateException("the HttpClient was closed"));
        }
        pendingCount = 0;
        // Calls still connecting (a slow lookup, say): cancel the attempt (which interrupts the
        // lookup) and fail the call now, on this loop, rather than when (if ever) the lookup returns.
        if (!connecting.isEmpty()) {
            for (var e : new ArrayList<>(connecting.entrySet())) {
                CompletableFuture<Connection> f = e.getKey();
                Call call = e.getValue();
                if (call.connecting != f) continue; // the call gave this attempt up already
                call.connecting = null;
                f.cancel(false); // connected() hears it and counts it out
                if (!call.isDone()) call.acquireFailed(new IllegalStateException("the HttpClient was closed"));
            }
        }
        if (sweep != null) sweep.cancel();
        for (ClientConnection c : new ArrayList<>(idle)) c.conn.close();
    }
}
