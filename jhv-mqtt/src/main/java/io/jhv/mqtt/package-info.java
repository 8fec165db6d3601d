/**
 * The MQTT 3.1.1 and 5 client: {@link io.jhv.mqtt.MqttClient} and what it takes and gives back
 * ({@link io.jhv.mqtt.MqttMessage}, {@link io.jhv.mqtt.MqttProperties}, {@link io.jhv.mqtt.MqttSubscription},
 * {@link io.jhv.mqtt.MqttAck}, {@link io.jhv.mqtt.MqttConnAck}, {@link io.jhv.mqtt.MqttException} with
 * {@link io.jhv.mqtt.ReasonCode}s), the pluggable {@link io.jhv.mqtt.InFlightStore} and
 * {@link io.jhv.mqtt.MqttAuthenticator}, and {@link io.jhv.mqtt.TopicFilter} matching.
 *
 * <p>Every callback and future of a client runs on that client's loop thread.
 */
package io.jhv.mqtt;
