package io.jhv.mqtt;

import java.util.List;

/**
 * The broker's answer to a publish (the reason code of its PUBACK or PUBREC/PUBCOMP; SUCCESS for
 * QoS 0 once written), a subscribe (one code per filter: the granted QoS or a failure) or an
 * unsubscribe, with the (v5) properties of that packet. {@code reasonCodes} has one element for a
 * publish. Failures (0x80 and up) complete the future exceptionally with an {@link MqttException}
 * instead, except for subscribes to several filters at once, where each filter has its own code.
 */
public record MqttAck(List<Integer> reasonCodes, MqttProperties properties) {
    /** The first (for a publish, the only) reason code. */
    public int reasonCode() { return reasonCodes.isEmpty() ? ReasonCode.SUCCESS : reasonCodes.get(0); }

    /** The broker's reason string (v5), or null. */
    public String reasonString() { return properties.reasonString(); }
}
