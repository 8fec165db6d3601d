package io.jhv.http.internal.client;

import io.jhv.http.client.EventSourceListener;
import io.jhv.http.client.HttpRequest;
import io.jhv.http.client.HttpResponse;
import io.jhv.http.client.PoolStats;
import io.jhv.http.client.ResponseHandler;

import java.util.Map;
import java.util.concurrent.CompletableFuture;

/** The machinery behind {@code HttpClient}: pools per origin on the loops, calls, redirects, retries. */
public final class ClientEngine {
    private final ClientSettings settings;

    public ClientEngine(ClientSettings settings) {
        this.settings = settings;
    }

    public CompletableFuture<HttpResponse> send(HttpRequest request) {
        return CompletableFuture.failedFuture(new UnsupportedOperationException("not implemented yet"));
    }

    public CompletableFuture<HttpResponse> stream(HttpRequest request, ResponseHandler handler) {
        return CompletableFuture.failedFuture(new UnsupportedOperationException("not implemented yet"));
    }

    public CompletableFuture<Void> eventSource(HttpRequest request, EventSourceListener listener) {
        return CompletableFuture.failedFuture(new UnsupportedOperationException("not implemented yet"));
    }

    public PoolStats stats() { return new PoolStats(0, 0, 0, 0); }

    public Map<String, PoolStats> statsByOrigin() { return Map.of(); }

    public void evictIdle() { }

    public void close() { }
}
