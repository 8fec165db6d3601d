package io.jhv.mqtt;

/**
 * What {@link MqttClient#publish} does when its send queue (messages published while disconnected,
 * or while the broker's receive maximum holds them back) is full.
 */
public enum QueueFullPolicy {
    /** The new publish fails at once: its future completes with an {@link MqttException} ("send queue full"). */
    FAIL,
    /** The oldest queued message is dropped (its future fails with "dropped: send queue full") and the new one is queued. */
    DROP_OLDEST
}
