package io.jhv.http.client;

/**
 * Controls the body of a streamed response ({@link HttpClient#sendAsync(HttpRequest, ResponseHandler)}):
 * back-pressure and cancellation. While paused, the client stops reading the socket, so a
 * fast server is held back by TCP flow control and the client holds at most one read of data.
 *
 * <p>Thread-safe: from another thread the call is posted to the connection's loop.
 */
public interface ResponseStream {
    /** Stops delivering body chunks (and reading the socket) until {@link #resume()}. */
    void pause();

    /** Delivers body chunks again after {@link #pause()}. */
    void resume();

    /**
     * Abandons the response: the connection is closed (never returned to the pool with a body
     * half read) and the handler hears {@code onError} with a {@link java.util.concurrent.CancellationException}.
     */
    void cancel();
}
