package io.jhv.http.client;

/**
 * The client could not open a connection to the origin (or its proxy): unknown host, refused,
 * unreachable, TLS handshake failure (the cause says which). A connect timeout is an
 * {@link HttpTimeoutException} instead. Immutable; any thread.
 */
public class HttpConnectException extends HttpClientException {
    private static final long serialVersionUID = 1L;

    /** A connect failure described by {@code message}, caused by {@code cause}. */
    public HttpConnectException(String message, Throwable cause) {
        super(message, cause);
    }
}
