package io.jhv.http.client;

/**
 * The connection closed (or was reset) before the response was complete. {@link #stale()} says
 * whether it was a reused keep-alive connection that failed before any byte of the response came,
 * the usual sign of a server that closed an idle connection at the moment it was reused; the
 * client retries such a call once on a fresh connection when its {@link RetryPolicy} allows.
 * Immutable; any thread.
 */
public class ConnectionClosedException extends HttpClientException {
    private static final long serialVersionUID = 1L;
    private final boolean stale;

    /** A close described by {@code message}; {@code stale} as in {@link #stale()}. */
    public ConnectionClosedException(String message, boolean stale, Throwable cause) {
        super(message, cause);
        this.stale = stale;
    }

    /** True when a reused pooled connection failed before any response byte arrived. */
    public boolean stale() {
        return stale;
    }
}
