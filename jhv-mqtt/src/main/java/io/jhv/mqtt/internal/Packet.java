package io.jhv.mqtt.internal;

import io.jhv.mqtt.MqttProperties;

import java.util.Arrays;
import java.util.List;

/**
 * The MQTT control packets, one record each, for both 3.1.1 and 5 (v5 fields are ignored when
 * encoding 3.1.1 and default when decoding it). {@code props} is never null after decoding
 * (empty for 3.1.1); null when encoding means "no properties".
 */
public sealed interface Packet {
    int CONNECT = 1, CONNACK = 2, PUBLISH = 3, PUBACK = 4, PUBREC = 5, PUBREL = 6, PUBCOMP = 7,
        SUBSCRIBE = 8, SUBACK = 9, UNSUBSCRIBE = 10, UNSUBACK = 11, PINGREQ = 12, PINGRESP = 13,
        DISCONNECT = 14, AUTH = 15;

    /** The packet type (1..15). */
    int type();

    static String typeName(int type) {
        return switch (type) {
            case CONNECT -> "CONNECT"; case CONNACK -> "CONNACK"; case PUBLISH -> "PUBLISH";
            case PUBACK -> "PUBACK"; case PUBREC -> "PUBREC"; case PUBREL -> "PUBREL"; case PUBCOMP -> "PUBCOMP";
            case SUBSCRIBE -> "SUBSCRIBE"; case SUBACK -> "SUBACK"; case UNSUBSCRIBE -> "UNSUBSCRIBE";
            case UNSUBACK -> "UNSUBACK"; case PINGREQ -> "PINGREQ"; case PINGRESP -> "PINGRESP";
            case DISCONNECT -> "DISCONNECT"; case AUTH -> "AUTH"; default -> "type " + type;
        };
    }

    /** The will of a CONNECT. */
    record Will(String topic, byte[] payload, int qos, boolean retain, MqttProperties props) {
        @Override public boolean equals(Object o) {
            return o instanceof Will w && topic.equals(w.topic) && Arrays.equals(payload, w.payload) && qos == w.qos
                    && retain == w.retain && Codec.propsEqual(props, w.props);
        }
        @Override public int hashCode() { return topic.hashCode(); }
    }

    record Connect(int protocolLevel, String clientId, boolean cleanStart, int keepAlive, String username,
                   byte[] password, Will will, MqttProperties props) implements Packet {
        public int type() { return CONNECT; }
        @Override public boolean equals(Object o) {
            return o instanceof Connect c && protocolLevel == c.protocolLevel && clientId.equals(c.clientId)
                    && cleanStart == c.cleanStart && keepAlive == c.keepAlive && java.util.Objects.equals(username, c.username)
                    && Arrays.equals(password, c.password) && java.util.Objects.equals(will, c.will) && Codec.propsEqual(props, c.props);
        }
        @Override public int hashCode() { return clientId.hashCode(); }
    }

    record ConnAck(boolean sessionPresent, int reasonCode, MqttProperties props) implements Packet {
        public int type() { return CONNACK; }
        @Override public boolean equals(Object o) {
            return o instanceof ConnAck c && sessionPresent == c.sessionPresent && reasonCode == c.reasonCode && Codec.propsEqual(props, c.props);
        }
        @Override public int hashCode() { return reasonCode; }
    }

    /** PUBLISH; {@code topic} may be "" in v5 when a topic alias stands for it. */
    record Publish(String topic, byte[] payload, int qos, boolean retain, boolean dup, int packetId,
                   MqttProperties props) implements Packet {
        public int type() { return PUBLISH; }
        public Publish withDup(boolean d) { return new Publish(topic, payload, qos, retain, d, packetId, props); }
        public Publish withPacketId(int id) { return new Publish(topic, payload, qos, retain, dup, id, props); }
        public Publish withTopic(String t, MqttProperties p) { return new Publish(t, payload, qos, retain, dup, packetId, p); }
        @Override public boolean equals(Object o) {
            return o instanceof Publish p && topic.equals(p.topic) && Arrays.equals(payload, p.payload) && qos == p.qos
                    && retain == p.retain && dup == p.dup && packetId == p.packetId && Codec.propsEqual(props, p.props);
        }
        @Override public int hashCode() { return topic.hashCode() * 31 + packetId; }
    }

    /** PUBACK, PUBREC, PUBREL, PUBCOMP. */
    record Ack(int type, int packetId, int reasonCode, MqttProperties props) implements Packet {
        @Override public boolean equals(Object o) {
            return o instanceof Ack a && type == a.type && packetId == a.packetId && reasonCode == a.reasonCode && Codec.propsEqual(props, a.props);
        }
        @Override public int hashCode() { return type * 65536 + packetId; }
    }

    /** One topic filter of a SUBSCRIBE with its options byte (QoS in bits 0-1, v5: no local 2, retain as published 3, retain handling 4-5). */
    record Subscription(String filter, int options) {
        public int qos() { return options & 3; }
    }

    record Subscribe(int packetId, List<Subscription> subscriptions, MqttProperties props) implements Packet {
        public int type() { return SUBSCRIBE; }
        @Override public boolean equals(Object o) {
            return o instanceof Subscribe s && packetId == s.packetId && subscriptions.equals(s.subscriptions) && Codec.propsEqual(props, s.props);
        }
        @Override public int hashCode() { return packetId; }
    }

    /** SUBACK or UNSUBACK (3.1.1 UNSUBACK has no codes: an empty array). */
    record SubAck(int type, int packetId, int[] reasonCodes, MqttProperties props) implements Packet {
        @Override public boolean equals(Object o) {
            return o instanceof SubAck s && type == s.type && packetId == s.packetId && Arrays.equals(reasonCodes, s.reasonCodes) && Codec.propsEqual(props, s.props);
        }
        @Override public int hashCode() { return packetId; }
        @Override public String toString() { return Packet.typeName(type) + "[id=" + packetId + ", codes=" + Arrays.toString(reasonCodes) + ", props=" + props + "]"; }
    }

    record Unsubscribe(int packetId, List<String> filters, MqttProperties props) implements Packet {
        public int type() { return UNSUBSCRIBE; }
        @Override public boolean equals(Object o) {
            return o instanceof Unsubscribe u && packetId == u.packetId && filters.equals(u.filters) && Codec.propsEqual(props, u.props);
        }
        @Override public int hashCode() { return packetId; }
    }

    /** PINGREQ or PINGRESP. */
    record Ping(int type) implements Packet {
        public static final Ping REQ = new Ping(PINGREQ);
        public static final Ping RESP = new Ping(PINGRESP);
    }

    /** DISCONNECT or AUTH. */
    record Disconnect(int type, int reasonCode, MqttProperties props) implements Packet {
        @Override public boolean equals(Object o) {
            return o instanceof Disconnect d && type == d.type && reasonCode == d.reasonCode && Codec.propsEqual(props, d.props);
        }
        @Override public int hashCode() { return reasonCode; }
    }
}
