package io.jhv.http.internal;

import io.jhv.http.internal.http1.HttpConnection;
import io.jhv.http.internal.http1.Router;
import io.jhv.http.server.ErrorHandler;
import io.jhv.http.server.Middleware;

import io.jhv.http.JsonCodec;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * What an HTTP server's connections share: routes, middleware, limits. Filled by
 * {@link io.jhv.http.server.HttpServer} before it starts; read-only afterwards except the draining flag.
 */
public final class ServerConfig {
    public final Router router = new Router();
    /** Middleware with the path prefix it applies to ("" for all). */
    public final List<String> middlewarePrefixes = new ArrayList<>();
    public final List<Middleware> middleware = new ArrayList<>();
    public ErrorHandler errorHandler;
    public JsonCodec jsonCodec;

    public int maxRequestLine = 8 * 1024;
    public int maxHeaderSize = 64 * 1024;
    public int maxHeaderCount = 100;
    public long maxBodySize = 64L << 20;
    public long keepAliveTimeoutMs = 60_000;
    public long headerTimeoutMs = 10_000;
    public int maxRequestsPerConnection = 0;
    public int maxPipelined = 64;
    /** Pipelined GET/HEAD handlers of one connection may overlap (else one handler at a time). */
    public boolean pipelinedSafeParallel;
    public int multipartMemoryThreshold = 64 * 1024;
    public int maxParts = 1000;
    public Path tempDir = Path.of(System.getProperty("java.io.tmpdir"));
    private byte[] serverHeaderLine = "Server: jhv\r\n".getBytes(StandardCharsets.ISO_8859_1);

    /**
     * The heap that all connections' waiting input (unfinished heads, parked pipelined requests,
     * bodies being collected) may hold together; half the maximum heap by default.
     */
    public long maxInputMemory = Runtime.getRuntime().maxMemory() / 2;
    private final java.util.concurrent.atomic.AtomicLong inputInUse = new java.util.concurrent.atomic.AtomicLong();

    /** Takes {@code bytes} from the input budget; false, taking nothing, if that would overspend it. */
    public boolean reserveInput(long bytes) {
        if (inputInUse.addAndGet(bytes) <= maxInputMemory) return true;
        inputInUse.addAndGet(-bytes);
        return false;
    }

    /** Charges {@code bytes} (already held: bytes read are never dropped) whatever the budget. */
    public void chargeInput(long bytes) { inputInUse.addAndGet(bytes); }

    public void releaseInput(long bytes) { if (bytes != 0) inputInUse.addAndGet(-bytes); }

    public boolean inputOverBudget() { return inputInUse.get() > maxInputMemory; }

    public long inputInUse() { return inputInUse.get(); }

    /** Connections currently open (for graceful shutdown). */
    public final Set<HttpConnection> connections = ConcurrentHashMap.newKeySet();
    public volatile boolean draining;
    /** The server's metrics listener, or null (the default: nothing is counted or timed). */
    public io.jhv.http.server.ServerMetrics metrics;

    /** Waits until no connection is open or {@code deadlineNanos} (System.nanoTime) passes. */
    public void awaitNoConnections(long deadlineNanos) throws InterruptedException {
        synchronized (connections) {
            long left;
            while (!connections.isEmpty() && (left = deadlineNanos - System.nanoTime()) > 0) {
                connections.wait(Math.max(1, left / 1_000_000));
            }
        }
    }

    /** WebSockets open on this server (a graceful close sends each 1001 and waits for it). */
    public final Set<io.jhv.http.websocket.WebSocket> webSockets = ConcurrentHashMap.newKeySet();

    /** A WebSocket closed. */
    public void webSocketClosed(io.jhv.http.websocket.WebSocket ws) {
        synchronized (webSockets) {
            webSockets.remove(ws);
            webSockets.notifyAll();
        }
    }

    /** Waits until no WebSocket is open or {@code deadlineNanos} (System.nanoTime) passes. */
    public void awaitNoWebSockets(long deadlineNanos) throws InterruptedException {
        synchronized (webSockets) {
            long left;
            while (!webSockets.isEmpty() && (left = deadlineNanos - System.nanoTime()) > 0) {
                webSockets.wait(Math.max(1, left / 1_000_000));
            }
        }
    }

    /** A connection closed. */
    public void removed(HttpConnection c) {
        synchronized (connections) {
            connections.remove(c);
            connections.notifyAll();
        }
    }

    public void serverName(String name) {
        serverHeaderLine = name == null ? new byte[0] : ("Server: " + name + "\r\n").getBytes(StandardCharsets.ISO_8859_1);
    }

    public byte[] serverHeaderLine() { return serverHeaderLine; }

    public JsonCodec jsonCodec() { return jsonCodec; }
}
