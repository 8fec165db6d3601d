package io.jhv.http.client;

import io.jhv.core.buffer.Buffer;

/**
 * Receives a response as it arrives, for bodies too big to hold
 * ({@link HttpClient#sendAsync(HttpRequest, ResponseHandler)}): the head, then the body in chunks,
 * then the end. Redirects are followed before the handler hears anything: it sees only the final
 * response. Content decoding (gzip, deflate) happens before {@link #onBody}.
 *
 * <p>Thread contract: every method runs on the connection's loop thread, one at a time, in this
 * order: {@code onHead}, {@code onBody}*, then exactly one of {@code onComplete} and
 * {@code onError} (a failure before the head gives {@code onError} alone). Do not block in them;
 * use {@link ResponseStream#pause()} to slow the server down instead.
 *
 * {@snippet :
 * client.sendAsync(HttpRequest.get(url).build(), new ResponseHandler() {
 *     long bytes;
 *     public void onHead(HttpResponse head, ResponseStream stream) { }
 *     public void onBody(Buffer chunk) { bytes += chunk.readableBytes(); }
 *     public void onComplete(HttpResponse response) { System.out.println(bytes + " bytes"); }
 *     public void onError(Throwable error) { error.printStackTrace(); }
 * });
 * }
 */
public interface ResponseHandler {

    /**
     * The status line and headers ({@code head.body()} is empty). Keep {@code stream} to pause,
     * resume or cancel the body.
     */
    void onHead(HttpResponse head, ResponseStream stream);

    /**
     * A piece of the body. {@code chunk} is borrowed for this call only: read it or copy it out.
     */
    void onBody(Buffer chunk);

    /** The body ended; {@code response.trailers()} holds the trailers of a chunked body. */
    void onComplete(HttpResponse response);

    /** The call failed (or was cancelled); nothing follows. */
    void onError(Throwable error);
}
