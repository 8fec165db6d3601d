package io.jhv.http.websocket;

import java.io.IOException;

/**
 * A WebSocket failed: the peer broke the protocol, a limit was exceeded, or a timeout fired.
 * {@link #closeCode()} is the close code that was (or would have been) sent for it.
 */
public class WebSocketException extends IOException {
    private static final long serialVersionUID = 1L;
    private final int closeCode;

    public WebSocketException(int closeCode, String message) {
        super(message);
        this.closeCode = closeCode;
    }

    public WebSocketException(int closeCode, String message, Throwable cause) {
        super(message, cause);
        this.closeCode = closeCode;
    }

    /** The close code for this failure ({@link CloseCodes}). */
    public int closeCode() {
        return closeCode;
    }
}
