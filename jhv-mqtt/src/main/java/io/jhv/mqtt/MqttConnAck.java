package io.jhv.mqtt;

/**
 * The broker's answer to CONNECT: whether it kept a session, the reason code (0 = success; 3.1.1
 * return codes are mapped to MQTT 5 codes), and (v5) its properties: assigned client identifier,
 * server keepalive, receive maximum, maximum packet size, topic alias maximum, reason string...
 */
public record MqttConnAck(boolean sessionPresent, int reasonCode, MqttProperties properties) {
}
