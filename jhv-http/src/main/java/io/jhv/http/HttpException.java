package io.jhv.http;

/**
 * An error that maps to an HTTP status: thrown by a handler (or the parser), it is answered with
 * that status and its message.
 *
 * {@snippet :
 * throw new HttpException(404, "no user " + id);
 * }
 */
public class HttpException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final int status;

    public HttpException(int status, String message) {
        super(message);
        if (status < 100 || status > 999) throw new IllegalArgumentException("bad status " + status);
        this.status = status;
    }

    public HttpException(int status, String message, Throwable cause) {
        this(status, message);
        initCause(cause);
    }

    /** The HTTP status to answer with. */
    public int status() {
        return status;
    }
}
