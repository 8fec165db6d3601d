package io.jhv.http.client;

/**
 * A call ran out of time; {@link #phase()} says which limit fired. Immutable; any thread.
 */
public class HttpTimeoutException extends HttpClientException {
    private static final long serialVersionUID = 1L;

    /** Which of the client's time limits fired. */
    public enum Phase {
        /** Name resolution and the TCP connect ({@link HttpClient.Builder#connectTimeout}). */
        CONNECT,
        /** The TLS handshake ({@link HttpClient.Builder#tlsHandshakeTimeout}). */
        TLS,
        /** Waiting for the status line and headers from the start of the exchange ({@link HttpClient.Builder#responseHeadTimeout}). */
        RESPONSE_HEAD,
        /**
         * Sending the request (head or body) made no progress for too long: the server stopped
         * reading ({@link HttpClient.Builder#writeTimeout}).
         */
        WRITE,
        /** No byte of the response for too long while reading it ({@link HttpClient.Builder#readIdleTimeout}). */
        READ_IDLE,
        /** The whole-call deadline, redirects and retries included ({@link HttpClient.Builder#callTimeout}, {@link HttpRequest.Builder#timeout}). */
        CALL
    }

    private final Phase phase;

    /** A timeout in {@code phase}, described by {@code message}. */
    public HttpTimeoutException(Phase phase, String message) {
        super(message);
        this.phase = java.util.Objects.requireNonNull(phase, "phase");
    }

    /** A timeout in {@code phase}, described by {@code message}, caused by {@code cause}. */
    public HttpTimeoutException(Phase phase, String message, Throwable cause) {
        super(message, cause);
        this.phase = java.util.Objects.requireNonNull(phase, "phase");
    }

    /** The limit that fired. */
    public Phase phase() {
        return phase;
    }
}
