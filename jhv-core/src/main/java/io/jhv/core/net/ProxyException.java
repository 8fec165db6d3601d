package io.jhv.core.net;

import java.net.ConnectException;

/**
 * A connect attempt through a {@link Proxy} failed at the proxy: it refused the tunnel (an HTTP
 * status other than 2xx, such as 407 Proxy Authentication Required or 403/502; a SOCKS5 reply
 * other than "succeeded", such as 5 "connection refused"), rejected our credentials or offered
 * none of our authentication methods, closed the connection during the handshake, or answered
 * with something that is not its protocol. The message says which, with the proxy's status line
 * or reply; {@link #replyCode()} gives the code. Timeouts are {@link ConnectTimeoutException}
 * with phase {@link ConnectTimeoutException.Phase#PROXY}. Immutable.
 */
public final class ProxyException extends ConnectException {
    private static final long serialVersionUID = 1L;

    /** What went wrong at the proxy. */
    public enum Reason {
        /** The proxy answered the tunnel request with a failure: {@link #replyCode()} has its status or SOCKS5 reply. */
        REFUSED,
        /** The proxy asks for credentials (HTTP 407 or no acceptable SOCKS5 method) or rejected the ones sent. */
        AUTHENTICATION,
        /** The proxy closed the connection before the tunnel was up. */
        CLOSED,
        /** The proxy's answer does not follow its protocol (not HTTP, not SOCKS5, too long). */
        PROTOCOL
    }

    private final transient Proxy proxy;
    private final Reason reason;
    private final int replyCode;

    /** {@code replyCode}: the HTTP status or SOCKS5 reply code, -1 when there is none. */
    public ProxyException(Proxy proxy, Reason reason, int replyCode, String message) {
        super(message);
        this.proxy = proxy;
        this.reason = reason;
        this.replyCode = replyCode;
    }

    /** The proxy that failed (password hidden in its {@code toString}). */
    public Proxy proxy() { return proxy; }

    /** Why. */
    public Reason reason() { return reason; }

    /** The proxy's HTTP status (407, 403, 502...) or SOCKS5 reply code (1-8); -1 when it sent none. */
    public int replyCode() { return replyCode; }
}
