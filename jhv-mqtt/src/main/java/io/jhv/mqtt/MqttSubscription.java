package io.jhv.mqtt;

import java.util.Objects;

/**
 * A topic filter with its subscription options: maximum QoS and (MQTT 5) no local, retain as
 * published, retain handling (0: send retained messages at subscribe, 1: only if the subscription
 * is new, 2: never). Immutable.
 *
 * {@snippet :
 * client.subscribe(MqttSubscription.of("chat/#", 1).noLocal(true).retainHandling(2), msg -> show(msg));
 * }
 */
public record MqttSubscription(String filter, int qos, boolean noLocal, boolean retainAsPublished, int retainHandling) {
    public MqttSubscription {
        Objects.requireNonNull(filter, "filter");
        TopicFilter.validateFilter(filter);
        if (qos < 0 || qos > 2) throw new IllegalArgumentException("QoS must be 0, 1 or 2: " + qos);
        if (retainHandling < 0 || retainHandling > 2) throw new IllegalArgumentException("retain handling must be 0, 1 or 2: " + retainHandling);
    }

    public static MqttSubscription of(String filter, int qos) { return new MqttSubscription(filter, qos, false, false, 0); }

    public MqttSubscription noLocal(boolean on) { return new MqttSubscription(filter, qos, on, retainAsPublished, retainHandling); }
    public MqttSubscription retainAsPublished(boolean on) { return new MqttSubscription(filter, qos, noLocal, on, retainHandling); }
    public MqttSubscription retainHandling(int h) { return new MqttSubscription(filter, qos, noLocal, retainAsPublished, h); }

    /** The options byte of SUBSCRIBE. */
    int options() { return qos | (noLocal ? 4 : 0) | (retainAsPublished ? 8 : 0) | (retainHandling << 4); }
}
