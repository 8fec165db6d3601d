package io.jhv.mqtt;

/**
 * Receives the messages of a subscription. Called on the client's loop thread, one message at a
 * time, in the order they arrived; do not block (hand slow work to another thread and, with
 * manual acknowledgement, {@link MqttMessage#ack()} when it is done). An exception thrown here is
 * logged (System.Logger, WARNING); the message counts as handled (with automatic acknowledgement it
 * is acknowledged) and the client goes on.
 */
@FunctionalInterface
public interface MqttMessageHandler {
    void onMessage(MqttMessage message);
}
