package io.jhv.http.client;

import java.io.IOException;
import java.util.Set;

/**
 * Decides whether a failed attempt of a call is tried again, on a fresh connection. Only failures
 * of the exchange itself reach it (a connection closed or reset, a stale pooled connection, a
 * connect failure); a timeout of the whole call, a cancellation or a malformed response never
 * retries, and a request whose body cannot be replayed (an {@code InputStream} or a publisher)
 * is never retried once a byte of it was written, whatever the policy says.
 *
 * <p>Whatever the policy says, a request goes out at most {@link #MAX_ATTEMPTS} times (a
 * redirect's new request counts afresh; {@link HttpClient.Builder#maxRedirects} bounds those),
 * and is not retried once the call's deadline
 * ({@link HttpClient.Builder#callTimeout}, {@link HttpRequest.Builder#timeout}) has passed; then
 * the call fails with the last attempt's error (a suppressed exception says why it stopped).
 * Retries go out at once, on a fresh connection; a policy that wants a pause between attempts
 * cannot have one (it must not block), so a retrying policy against a server that keeps failing
 * costs {@code MAX_ATTEMPTS} quick attempts at most.
 *
 * <p>Called on the connection's loop thread: it must not block.
 *
 * {@snippet :
 * HttpClient client = HttpClient.builder().retryPolicy(RetryPolicy.none()).build();
 * }
 */
@FunctionalInterface
public interface RetryPolicy {

    /**
     * What the policy decides on.
     *
     * @param request         the request of the failed attempt (after redirects, the current hop)
     * @param error           why the attempt failed
     * @param attempt         1 for the first attempt of this hop, 2 for its first retry, ...
     * @param requestSent     whether any byte of the request reached the socket
     * @param responseStarted whether any byte of the response arrived
     * @param reusedConnection whether the attempt ran on a pooled connection used before
     */
    record Failure(HttpRequest request, IOException error, int attempt, boolean requestSent,
                   boolean responseStarted, boolean reusedConnection) {
    }

    /** The most times a call sends one request (one hop), whatever the policy says: the first attempt and 9 retries. */
    int MAX_ATTEMPTS = 10;

    /** True to run the request again on a fresh connection (at most {@link #MAX_ATTEMPTS} attempts in all). */
    boolean shouldRetry(Failure failure);

    /** Methods that RFC 9110 makes idempotent: a repeat has the effect of one request. */
    Set<String> IDEMPOTENT = Set.of("GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE");

    /**
     * The default: one retry, only when it is safe, that is when the method is idempotent
     * ({@link #IDEMPOTENT}) or no byte of the request was written. Never a second retry.
     */
    static RetryPolicy safe() {
        return f -> f.attempt() == 1 && (!f.requestSent() || IDEMPOTENT.contains(f.request().method()));
    }

    /** Never retry. */
    static RetryPolicy none() {
        return f -> false;
    }
}
