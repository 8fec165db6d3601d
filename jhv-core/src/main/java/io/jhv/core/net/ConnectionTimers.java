package io.jhv.core.net;

import io.jhv.core.loop.EventLoop;
import io.jhv.core.loop.Timer;

/**
 * One connection's timers: the read, write and keep-alive timeouts, the heartbeat, and the
 * deadline of a close that waits for its writes to flush. One per connection, made with it; loop
 * thread only.
 *
 * <p>Timers are not reset on every read or write (that would be a heap operation per event): the
 * connection only stamps {@code lastRead}, {@code lastWrite} and {@code lastWriteProgress} (its own
 * fields, on the fast path), and when a timer fires it compares the last activity with the
 * timeout and re-arms for what is left.
 */
final class ConnectionTimers {
    private final Connection c;
    private final TcpEndpoint<?> ep;
    private final EventLoop loop;
    private Timer readTimer, writeTimer, keepaliveTimer, heartbeatTimer, closeTimer;

    ConnectionTimers(Connection c, TcpEndpoint<?> ep, EventLoop loop) {
        this.c = c;
        this.ep = ep;
        this.loop = loop;
    }

    /** The connection is up: starts the timeouts and the heartbeat the endpoint asks for. */
    void arm() {
        if (ep.readTimeoutMs > 0) readTimer = loop.setTimeout(ep.readTimeoutMs, this::checkRead);
        if (ep.writeTimeoutMs > 0) writeTimer = loop.setTimeout(ep.writeTimeoutMs, this::checkWrite);
        if (ep.keepAliveTimeoutMs > 0) keepaliveTimer = loop.setTimeout(ep.keepAliveTimeoutMs, this::checkKeepalive);
        if (ep.heartbeatMs > 0) heartbeatTimer = loop.setInterval(ep.heartbeatMs, this::sendHeartbeat);
    }

    /** The output is being shut down: a heartbeat would only fail every interval. */
    void stopHeartbeat() {
        cancel(heartbeatTimer);
        heartbeatTimer = null;
    }

    /**
     * A close waits for writes to flush: what is left when the close timeout passes is dropped.
     * Started once; a close that waited for the connection to come up keeps its deadline.
     */
    void startCloseDeadline() {
        if (closeTimer == null) closeTimer = loop.setTimeout(Math.max(1, ep.closeTimeoutMs), this::closeTimedOut);
    }

    /** The connection closed: no timer may keep it alive or fire on it. */
    void cancelAll() {
        cancel(readTimer); cancel(writeTimer); cancel(keepaliveTimer); cancel(heartbeatTimer); cancel(closeTimer);
    }

    private void checkRead() {
        if (c.isClosed()) return;
        long left = ep.readTimeoutMs - (System.nanoTime() - c.lastRead) / 1_000_000;
        if (left <= 0) c.closeInLoop(CloseCause.timeout("read"), true);
        else readTimer = loop.setTimeout(left, this::checkRead);
    }

    private void checkWrite() {
        if (c.isClosed()) return;
        long left = c.queue.isEmpty() ? ep.writeTimeoutMs : ep.writeTimeoutMs - (System.nanoTime() - c.lastWriteProgress) / 1_000_000;
        if (left <= 0) c.closeInLoop(CloseCause.timeout("write"), true);
        else writeTimer = loop.setTimeout(left, this::checkWrite);
    }

    private void checkKeepalive() {
        if (c.isClosed()) return;
        long last = Math.max(c.lastRead, c.lastWrite);
        long left = ep.keepAliveTimeoutMs - (System.nanoTime() - last) / 1_000_000;
        if (left <= 0) c.closeInLoop(CloseCause.timeout("keepalive"), true);
        else keepaliveTimer = loop.setTimeout(left, this::checkKeepalive);
    }

    private void sendHeartbeat() {
        if (!c.isConnected() || c.outputShutOrPending()) return;
        Object msg = ep.heartbeat.get();
        if (msg != null) c.writeObject(msg);
    }

    /** The close timeout fired before the queue drained: what is left is dropped. */
    private void closeTimedOut() {
        c.closeInLoop(CloseCause.aborted("close timeout (" + ep.closeTimeoutMs + " ms): " + c.pendingBytesText() + " dropped"), true);
    }

    private static void cancel(Timer t) {
        if (t != null) t.cancel();
    }
}
