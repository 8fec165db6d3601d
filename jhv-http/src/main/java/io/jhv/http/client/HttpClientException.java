package io.jhv.http.client;

import java.io.IOException;

/**
 * A call of the {@link HttpClient} failed: the base of the client's own failures (timeouts, connect
 * failures, a connection closed under a call, a malformed response, pool exhaustion, redirect
 * loops). Its message names the request ({@code GET http://host/path}) and what went wrong.
 *
 * <p>Immutable; any thread.
 */
public class HttpClientException extends IOException {
    private static final long serialVersionUID = 1L;

    /** A failure described by {@code message}. */
    public HttpClientException(String message) {
        super(message);
    }

    /** A failure described by {@code message}, caused by {@code cause}. */
    public HttpClientException(String message, Throwable cause) {
        super(message, cause);
    }
}
