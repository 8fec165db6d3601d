package io.jhv.http.websocket;

/** The close codes of RFC 6455 section 7.4, and which of them may be sent in a close frame. */
public final class CloseCodes {
    private CloseCodes() {
    }

    public static final int NORMAL = 1000;
    public static final int GOING_AWAY = 1001;
    public static final int PROTOCOL_ERROR = 1002;
    public static final int UNSUPPORTED_DATA = 1003;
    /** Reported, never sent: the close frame had no status code. */
    public static final int NO_STATUS = 1005;
    /** Reported, never sent: the connection ended without a close frame. */
    public static final int ABNORMAL = 1006;
    public static final int INVALID_PAYLOAD = 1007;
    public static final int POLICY_VIOLATION = 1008;
    public static final int MESSAGE_TOO_BIG = 1009;
    public static final int MANDATORY_EXTENSION = 1010;
    public static final int INTERNAL_ERROR = 1011;
    public static final int SERVICE_RESTART = 1012;
    public static final int TRY_AGAIN_LATER = 1013;
    public static final int BAD_GATEWAY = 1014;
    /** Reported, never sent: the TLS handshake failed. */
    public static final int TLS_HANDSHAKE = 1015;

    /**
     * True if {@code code} may appear in a close frame: 1000-1003, 1007-1014 (defined, sendable), and
     * 3000-4999 (registered and private use). 1004, 1005, 1006, 1015, other codes below 3000 and
     * codes from 5000 are not.
     */
    public static boolean isValid(int code) {
        return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
    }
}
