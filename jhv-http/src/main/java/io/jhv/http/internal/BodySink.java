package io.jhv.http.internal;

/**
 * Receives a request body as it arrives (multipart parsing to disk, say), instead of the body being
 * collected in memory. Called on the loop thread. Throw {@link io.jhv.http.HttpException} (400, 413)
 * on bad input: the request is answered with that status and the connection closed.
 */
public interface BodySink {
    void onData(byte[] b, int off, int len);

    /** The body is complete. */
    void onEnd();
}
