/**
 * jhv MQTT: an MQTT 3.1.1 and 5 client ({@code io.jhv.mqtt}) over TCP, TLS and WebSocket, built on
 * jhv-core's {@code Connector} and jhv-http's {@code WebSocketClient}. {@code io.jhv.mqtt.internal}
 * (the packet codec and the session engine) is not exported.
 */
module io.jhv.mqtt {
    requires transitive io.jhv.core;
    requires io.jhv.http;
    exports io.jhv.mqtt;
}
