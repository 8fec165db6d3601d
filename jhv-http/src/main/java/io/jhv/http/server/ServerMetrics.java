package io.jhv.http.server;

import io.jhv.core.loop.EventLoop;
import io.jhv.core.net.Connection;

/**
 * Hears what an {@link HttpServer} does, for metrics: a binding to Micrometer, OpenTelemetry or
 * anything else is a class implementing the callbacks it cares about. {@link HttpMetrics} is the
 * built-in one (Prometheus text format).
 *
 * {@snippet :
 * // Micrometer, in a few lines (the core stays free of dependencies)
 * final class MicrometerMetrics implements ServerMetrics {
 *     private final MeterRegistry registry;
 *     MicrometerMetrics(MeterRegistry registry) { this.registry = registry; }
 *     public void requestCompleted(String method, int status, long nanos) {
 *         Timer.builder("http.server.requests").tag("status", Integer.toString(status))
 *             .register(registry).record(nanos, TimeUnit.NANOSECONDS);
 *     }
 * }
 * server.metrics(new MicrometerMetrics(registry));
 * }
 *
 * <p>Thread contract: callbacks run on the server's loop threads (several at once: implementations
 * must be thread-safe), except {@link #bind}, which runs once on the thread configuring the server.
 * They must be quick and must not block: they run on the path of every request. An exception
 * thrown from {@code requestCompleted} is logged and changes nothing else.
 */
public interface ServerMetrics {

    /** The server this listener was given to ({@link HttpServer#metrics}); before it starts. */
    default void bind(HttpServer server) {
    }

    /** A connection starts speaking HTTP (for HTTPS: once its TLS handshake is done). */
    default void connectionOpened(Connection conn) {
    }

    /**
     * A connection closed (also one upgraded to WebSocket). {@code bytesRead}/{@code bytesWritten}
     * are what crossed the wire on it (TLS records included).
     */
    default void connectionClosed(Connection conn, long bytesRead, long bytesWritten) {
    }

    /**
     * A response was completed: the last of its bytes were handed to the connection (a streamed or
     * deferred one when it ended). {@code nanos} runs from the request's head being parsed.
     * {@code status} 101 is a protocol switch (WebSocket).
     */
    default void requestCompleted(String method, int status, long nanos) {
    }

    /**
     * How late a periodic timer on {@code loop} ran (sampled every {@link HttpMetrics#LAG_SAMPLE_MS}
     * ms while the server runs): a loop busy with a long task, or overloaded, shows here first.
     */
    default void loopLag(EventLoop loop, long lagNanos) {
    }
}
