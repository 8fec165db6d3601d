package io.jhv.http.client;

/**
 * No connection to the origin became free within {@link HttpClient.Builder#acquireTimeout}, or the
 * queue of waiting calls was full ({@link HttpClient.Builder#maxPendingAcquires}). The request was
 * not sent. Immutable; any thread.
 */
public class PoolExhaustedException extends HttpClientException {
    private static final long serialVersionUID = 1L;

    /** Pool exhaustion described by {@code message}. */
    public PoolExhaustedException(String message) {
        super(message);
    }
}
