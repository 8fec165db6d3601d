package io.jhv.examples;

import io.jhv.core.net.ReconnectPolicy;
import io.jhv.mqtt.MqttClient;
import io.jhv.mqtt.MqttMessage;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;

/**
 * An MQTT device: it announces itself with a retained "online" (and leaves a will saying
 * "offline"), answers every message on {@code devices/ID/ping} with a "pong" on
 * {@code devices/ID/pong} at QoS 1, and reconnects (resubscribing) when the broker goes away.
 * {@code java io.jhv.examples.MqttSensor [mqtt://host:1883] [id]}
 */
public final class MqttSensor {
    private MqttSensor() {}

    public static CompletableFuture<MqttClient> start(String url, String id) {
        String base = "devices/" + id;
        MqttClient client = MqttClient.create(url).clientId(id)
                .will(MqttMessage.of(base + "/status", "offline").qos(1).retain(true))
                .reconnect(ReconnectPolicy.exponential(Duration.ofMillis(200), Duration.ofSeconds(10)));
        return client.connect()
                .thenCompose(ack -> client.publish(MqttMessage.of(base + "/status", "online").qos(1).retain(true)))
                .thenCompose(ack -> client.subscribe(base + "/ping", 1,
                        msg -> client.publish(MqttMessage.of(base + "/pong", "pong " + msg.payloadAsString()).qos(1))))
                .thenApply(ack -> client);
    }

    public static void main(String[] args) {
        start(args.length > 0 ? args[0] : "mqtt://127.0.0.1:1883", args.length > 1 ? args[1] : "sensor-1").join();
    }
}
