package io.jhv.http.client;

/**
 * Hears a stream of server-sent events ({@link HttpClient#eventSource}).
 *
 * <p>Thread contract: called on the connection's loop thread, one at a time; do not block.
 */
public interface EventSourceListener {
    /** The response head arrived with a 2xx status and {@code text/event-stream}. */
    default void onOpen(HttpResponse head) {
    }

    /** One event. */
    void onEvent(ServerSentEvent event);

    /** The stream ended (the server closed it normally). */
    default void onClosed() {
    }

    /** The stream failed (a non-2xx status, a wrong content type, a broken connection, cancellation). */
    default void onError(Throwable error) {
    }
}
