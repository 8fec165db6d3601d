package io.jhv.http.client;

/**
 * Receives the outcome of {@link HttpClient#send(HttpRequest, ResponseCallback)}, the
 * allocation-free form of a call: no future, and the response is a borrowed {@link ResponseView}.
 * One callback object can serve any number of calls.
 *
 * <p>Thread contract: both methods run on the connection's loop thread; exactly one of them runs
 * once per call, never inside {@code send} itself ({@code send} on a closed client throws
 * {@link IllegalStateException} instead). Do not block in them. Sending the next request from inside {@code onResponse}
 * is fine (and allocation-free on a pooled connection). An exception thrown here does not affect
 * the client: it goes to the loop's error handler.
 *
 * {@snippet :
 * ResponseCallback cb = new ResponseCallback() {
 *     public void onResponse(ResponseView r) { if (r.status() == 200) count++; }
 *     public void onFailure(HttpRequest request, Throwable error) { error.printStackTrace(); }
 * };
 * client.send(request, cb); // returns at once
 * }
 */
public interface ResponseCallback {
    /** The whole response (body in memory, at most {@link HttpClient.Builder#maxResponseBody}); the view is valid during this call only. */
    void onResponse(ResponseView response);

    /** The call failed (the same exceptions as {@link HttpClient#sendAsync(HttpRequest)}'s future); nothing follows. */
    void onFailure(HttpRequest request, Throwable error);
}
