package io.jhv.mqtt;

/**
 * Bytes that break the MQTT protocol: a malformed packet (bad remaining length, a string that is not
 * UTF-8, fields past the end, a reserved flag set), one too large for the maximum packet size, or a
 * packet that is well formed but not allowed where it came. {@link #reasonCode()} is the reason code
 * the client sends in its DISCONNECT (v5): {@link ReasonCode#MALFORMED_PACKET},
 * {@link ReasonCode#PROTOCOL_ERROR}, {@link ReasonCode#PACKET_TOO_LARGE}, ...
 */
public final class MqttProtocolException extends MqttException {
    private static final long serialVersionUID = 1L;

    public MqttProtocolException(int reasonCode, String message) {
        super(reasonCode, message);
    }
}
