package io.jhv.http.websocket;

/**
 * The client's opening handshake failed: the server answered something other than a valid
 * {@code 101 Switching Protocols} (see {@link #status()}), agreed on an extension or subprotocol
 * that was not offered, sent a wrong {@code Sec-WebSocket-Accept}, or did not answer in time.
 */
public final class WebSocketHandshakeException extends WebSocketException {
    private static final long serialVersionUID = 1L;
    private final int status;

    public WebSocketHandshakeException(int status, String message) {
        super(CloseCodes.PROTOCOL_ERROR, message);
        this.status = status;
    }

    /** The HTTP status the server answered with, or 0 when there was no (complete) answer. */
    public int status() {
        return status;
    }
}
