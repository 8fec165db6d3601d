package io.jhv.http.internal.client;

import io.jhv.http.client.HttpClientException;

/**
 * A call failed on the client's side, not because of the connection: a request body that broke its
 * declared length, a response the client cannot hold. Trying again would fail the same way, so it
 * never reaches the {@link io.jhv.http.client.RetryPolicy}. Callers see an {@link HttpClientException}.
 */
final class LocalFailure extends HttpClientException {
    private static final long serialVersionUID = 1L;

    LocalFailure(String message) {
        super(message);
    }

    LocalFailure(String message, Throwable cause) {
        super(message, cause);
    }
}
