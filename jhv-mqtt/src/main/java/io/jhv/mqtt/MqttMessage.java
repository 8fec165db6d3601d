package io.jhv.mqtt;

import java.nio.charset.StandardCharsets;
import java.util.Objects;

/**
 * An application message: topic, payload, QoS, retain flag and (MQTT 5) properties. Build one to
 * {@link MqttClient#publish(MqttMessage) publish}; the client hands received ones to the
 * {@link MqttMessageHandler} of the matching subscription.
 *
 * {@snippet :
 * client.publish(MqttMessage.of("sensors/1", "21.5").qos(1).retain(true)
 *     .properties(new MqttProperties().contentType("text/plain").messageExpiryInterval(60L)));
 * }
 *
 * <p>Thread contract: a message being built belongs to one thread; hand it to {@code publish} and
 * do not change it afterwards. A received message is read-only; {@link #ack()} is thread-safe.
 */
public final class MqttMessage {
    private final String topic;
    private final byte[] payload;
    private int qos;
    private boolean retain;
    private boolean dup;
    private MqttProperties properties;
    private volatile Runnable acker; // received with manual acknowledgement: sends the PUBACK/PUBREC

    private MqttMessage(String topic, byte[] payload) {
        this.topic = Objects.requireNonNull(topic, "topic");
        this.payload = Objects.requireNonNull(payload, "payload");
    }

    /** A QoS 0 message, not retained. Any thread. */
    public static MqttMessage of(String topic, byte[] payload) { return new MqttMessage(topic, payload); }

    /** A QoS 0 message with a UTF-8 text payload. Any thread. */
    public static MqttMessage of(String topic, String payload) { return new MqttMessage(topic, payload.getBytes(StandardCharsets.UTF_8)); }

    /** Sets the QoS (0, 1 or 2). */
    public MqttMessage qos(int qos) {
        if (qos < 0 || qos > 2) throw new IllegalArgumentException("QoS must be 0, 1 or 2: " + qos);
        this.qos = qos;
        return this;
    }

    /** Asks the broker to keep this message for future subscribers. */
    public MqttMessage retain(boolean retain) { this.retain = retain; return this; }

    /** MQTT 5 properties (ignored with 3.1.1). */
    public MqttMessage properties(MqttProperties properties) { this.properties = properties; return this; }

    public String topic() { return topic; }
    /** The payload (not a copy: do not change it). */
    public byte[] payload() { return payload; }
    /** The payload decoded as UTF-8. */
    public String payloadAsString() { return new String(payload, StandardCharsets.UTF_8); }
    public int qos() { return qos; }
    public boolean isRetain() { return retain; }
    /** True on a received message the broker marked as a possible re-delivery. */
    public boolean isDup() { return dup; }
    /** The properties; an empty set when none were given or received. Never null. */
    public MqttProperties properties() {
        if (properties == null) properties = new MqttProperties();
        return properties;
    }

    boolean hasProperties() { return properties != null && !properties.isEmpty(); }

    static MqttMessage received(String topic, byte[] payload, int qos, boolean retain, boolean dup, MqttProperties props, Runnable acker) {
        MqttMessage m = new MqttMessage(topic, payload);
        m.qos = qos;
        m.retain = retain;
        m.dup = dup;
        m.properties = props;
        m.acker = acker;
        return m;
    }

    /**
     * With {@link MqttClient#manualAck(boolean) manual acknowledgement}: tells the broker this QoS 1
     * or 2 message was handled (sends its PUBACK, or its PUBREC). Until then the broker counts it
     * against the client's receive maximum and resends it after a reconnect. Idempotent; a no-op
     * for QoS 0 and with automatic acknowledgement. Thread-safe.
     */
    public void ack() {
        Runnable a;
        synchronized (this) {
            a = acker;
            acker = null;
        }
        if (a != null) a.run();
    }

    @Override
    public String toString() {
        return "MqttMessage[" + topic + ", " + payload.length + " bytes, qos=" + qos + (retain ? ", retain" : "") + (dup ? ", dup" : "")
                + (hasProperties() ? ", " + properties : "") + "]";
    }
}
