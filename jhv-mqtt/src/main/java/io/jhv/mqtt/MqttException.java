package io.jhv.mqtt;

/**
 * An MQTT operation failed: the broker answered with a failure reason code (a refused CONNECT, a
 * SUBACK with 0x80+, a PUBACK with 0x80+), the connection was lost or closed, or a queue was full.
 * {@link #reasonCode()} is the MQTT reason code (v5 codes; v3.1.1 CONNACK return codes are mapped to
 * them), or -1 when no packet said why; {@link #reasonString()} is the broker's reason string, if any.
 */
public class MqttException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final int reasonCode;
    private final String reasonString;

    public MqttException(int reasonCode, String message) {
        this(reasonCode, message, null, null);
    }

    public MqttException(int reasonCode, String message, String reasonString, Throwable cause) {
        super(message + (reasonCode >= 0 ? " (" + ReasonCode.describe(reasonCode) + ")" : "")
                + (reasonString != null ? ": " + reasonString : ""), cause);
        this.reasonCode = reasonCode;
        this.reasonString = reasonString;
    }

    /** The MQTT reason code, or -1. */
    public int reasonCode() { return reasonCode; }

    /** The broker's reason string (v5), or null. */
    public String reasonString() { return reasonString; }
}
