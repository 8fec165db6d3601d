package io.jhv.http.client;

/**
 * The server's response broke HTTP/1.1 (a bad status line, a bad header, a bad chunk size,
 * conflicting lengths) or a limit of the client (head size, header count, buffered body size). The
 * connection it came on is closed, never reused. Immutable; any thread.
 */
public class MalformedResponseException extends HttpClientException {
    private static final long serialVersionUID = 1L;

    /** A malformed response, described by {@code message}. */
    public MalformedResponseException(String message) {
        super(message);
    }
}
