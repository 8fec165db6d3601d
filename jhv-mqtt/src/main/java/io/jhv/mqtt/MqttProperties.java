package io.jhv.mqtt;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;

/**
 * The MQTT 5 properties of a packet (section 2.2.2): the ones a user sets on a publish, a connect or
 * a will, and the ones the broker sent on a CONNACK, a message, an ack or a DISCONNECT. Each known
 * property has a typed getter returning null when absent; user properties and subscription
 * identifiers may repeat. Unknown identifiers never get here: the decoder rejects them as malformed.
 * With MQTT 3.1.1 properties are not sent (a publish's properties are ignored).
 *
 * <p>Not thread-safe: build one on one thread, then hand it over (publish copies nothing, so do not
 * change it while the publish is in flight).
 */
public final class MqttProperties {
    // identifiers (MQTT 5, table 2-4)
    public static final int PAYLOAD_FORMAT_INDICATOR = 0x01;
    public static final int MESSAGE_EXPIRY_INTERVAL = 0x02;
    public static final int CONTENT_TYPE = 0x03;
    public static final int RESPONSE_TOPIC = 0x08;
    public static final int CORRELATION_DATA = 0x09;
    public static final int SUBSCRIPTION_IDENTIFIER = 0x0B;
    public static final int SESSION_EXPIRY_INTERVAL = 0x11;
    public static final int ASSIGNED_CLIENT_IDENTIFIER = 0x12;
    public static final int SERVER_KEEP_ALIVE = 0x13;
    public static final int AUTHENTICATION_METHOD = 0x15;
    public static final int AUTHENTICATION_DATA = 0x16;
    public static final int REQUEST_PROBLEM_INFORMATION = 0x17;
    public static final int WILL_DELAY_INTERVAL = 0x18;
    public static final int REQUEST_RESPONSE_INFORMATION = 0x19;
    public static final int RESPONSE_INFORMATION = 0x1A;
    public static final int SERVER_REFERENCE = 0x1C;
    public static final int REASON_STRING = 0x1F;
    public static final int RECEIVE_MAXIMUM = 0x21;
    public static final int TOPIC_ALIAS_MAXIMUM = 0x22;
    public static final int TOPIC_ALIAS = 0x23;
    public static final int MAXIMUM_QOS = 0x24;
    public static final int RETAIN_AVAILABLE = 0x25;
    public static final int USER_PROPERTY = 0x26;
    public static final int MAXIMUM_PACKET_SIZE = 0x27;
    public static final int WILDCARD_SUBSCRIPTION_AVAILABLE = 0x28;
    public static final int SUBSCRIPTION_IDENTIFIER_AVAILABLE = 0x29;
    public static final int SHARED_SUBSCRIPTION_AVAILABLE = 0x2A;

    /** How a property's value is encoded. */
    public enum Type { BYTE, TWO_BYTE, FOUR_BYTE, VARINT, UTF8, BINARY, UTF8_PAIR }

    private static final Type[] TYPES = new Type[0x2B];
    static {
        for (int id : new int[] {PAYLOAD_FORMAT_INDICATOR, REQUEST_PROBLEM_INFORMATION, REQUEST_RESPONSE_INFORMATION,
                MAXIMUM_QOS, RETAIN_AVAILABLE, WILDCARD_SUBSCRIPTION_AVAILABLE, SUBSCRIPTION_IDENTIFIER_AVAILABLE,
                SHARED_SUBSCRIPTION_AVAILABLE}) TYPES[id] = Type.BYTE;
        for (int id : new int[] {SERVER_KEEP_ALIVE, RECEIVE_MAXIMUM, TOPIC_ALIAS_MAXIMUM, TOPIC_ALIAS}) TYPES[id] = Type.TWO_BYTE;
        for (int id : new int[] {MESSAGE_EXPIRY_INTERVAL, SESSION_EXPIRY_INTERVAL, WILL_DELAY_INTERVAL, MAXIMUM_PACKET_SIZE}) TYPES[id] = Type.FOUR_BYTE;
        TYPES[SUBSCRIPTION_IDENTIFIER] = Type.VARINT;
        for (int id : new int[] {CONTENT_TYPE, RESPONSE_TOPIC, ASSIGNED_CLIENT_IDENTIFIER, AUTHENTICATION_METHOD,
                RESPONSE_INFORMATION, SERVER_REFERENCE, REASON_STRING}) TYPES[id] = Type.UTF8;
        TYPES[CORRELATION_DATA] = Type.BINARY;
        TYPES[AUTHENTICATION_DATA] = Type.BINARY;
        TYPES[USER_PROPERTY] = Type.UTF8_PAIR;
    }

    /** The encoding of property {@code id}, or null if MQTT 5 defines no such property. */
    public static Type typeOf(int id) { return id >= 0 && id < TYPES.length ? TYPES[id] : null; }

    private final Object[] values = new Object[0x2B]; // Integer/Long/String/byte[] by id (single-valued)
    private List<Map.Entry<String, String>> user;     // in order, may repeat
    private List<Integer> subscriptionIds;           // may repeat (PUBLISH from the broker)

    /** An empty set. */
    public MqttProperties() {}

    public static MqttProperties create() { return new MqttProperties(); }

    /** True if no property is set. */
    public boolean isEmpty() {
        if (user != null && !user.isEmpty() || subscriptionIds != null && !subscriptionIds.isEmpty()) return false;
        for (Object v : values) if (v != null) return false;
        return true;
    }

    // ---------------------------------------------------------------- generic access

    /** The value of single-valued property {@code id}: Integer (byte, two- and four-byte ints as unsigned values: Long for four-byte), String or byte[]; null when absent. */
    public Object get(int id) { return values[id]; }

    /** Sets single-valued property {@code id} (null removes it). For the codec and tests; typed setters are nicer. */
    public MqttProperties set(int id, Object value) {
        Type t = typeOf(id);
        if (t == null || t == Type.UTF8_PAIR || id == SUBSCRIPTION_IDENTIFIER) throw new IllegalArgumentException("not a single-valued property: 0x" + Integer.toHexString(id));
        values[id] = value;
        return this;
    }

    /** True if {@code id} is set. */
    public boolean has(int id) {
        if (id == USER_PROPERTY) return user != null && !user.isEmpty();
        if (id == SUBSCRIPTION_IDENTIFIER) return subscriptionIds != null && !subscriptionIds.isEmpty();
        return values[id] != null;
    }

    // ---------------------------------------------------------------- typed access

    public Integer payloadFormatIndicator() { return (Integer) values[PAYLOAD_FORMAT_INDICATOR]; }
    /** 1: the payload is UTF-8 text; 0: bytes. */
    public MqttProperties payloadFormatIndicator(Integer v) { values[PAYLOAD_FORMAT_INDICATOR] = v; return this; }
    public Long messageExpiryInterval() { return (Long) values[MESSAGE_EXPIRY_INTERVAL]; }
    /** Seconds after which the broker drops the message if not delivered. */
    public MqttProperties messageExpiryInterval(Long seconds) { values[MESSAGE_EXPIRY_INTERVAL] = seconds; return this; }
    public String contentType() { return (String) values[CONTENT_TYPE]; }
    public MqttProperties contentType(String v) { values[CONTENT_TYPE] = v; return this; }
    public String responseTopic() { return (String) values[RESPONSE_TOPIC]; }
    public MqttProperties responseTopic(String v) { values[RESPONSE_TOPIC] = v; return this; }
    public byte[] correlationData() { return (byte[]) values[CORRELATION_DATA]; }
    public MqttProperties correlationData(byte[] v) { values[CORRELATION_DATA] = v; return this; }
    public Long sessionExpiryInterval() { return (Long) values[SESSION_EXPIRY_INTERVAL]; }
    public MqttProperties sessionExpiryInterval(Long seconds) { values[SESSION_EXPIRY_INTERVAL] = seconds; return this; }
    public String assignedClientIdentifier() { return (String) values[ASSIGNED_CLIENT_IDENTIFIER]; }
    public MqttProperties assignedClientIdentifier(String v) { values[ASSIGNED_CLIENT_IDENTIFIER] = v; return this; }
    public Integer serverKeepAlive() { return (Integer) values[SERVER_KEEP_ALIVE]; }
    public MqttProperties serverKeepAlive(Integer seconds) { values[SERVER_KEEP_ALIVE] = seconds; return this; }
    public String authenticationMethod() { return (String) values[AUTHENTICATION_METHOD]; }
    public MqttProperties authenticationMethod(String v) { values[AUTHENTICATION_METHOD] = v; return this; }
    public byte[] authenticationData() { return (byte[]) values[AUTHENTICATION_DATA]; }
    public MqttProperties authenticationData(byte[] v) { values[AUTHENTICATION_DATA] = v; return this; }
    public Long willDelayInterval() { return (Long) values[WILL_DELAY_INTERVAL]; }
    public MqttProperties willDelayInterval(Long seconds) { values[WILL_DELAY_INTERVAL] = seconds; return this; }
    public String responseInformation() { return (String) values[RESPONSE_INFORMATION]; }
    public String serverReference() { return (String) values[SERVER_REFERENCE]; }
    public String reasonString() { return (String) values[REASON_STRING]; }
    public MqttProperties reasonString(String v) { values[REASON_STRING] = v; return this; }
    public Integer receiveMaximum() { return (Integer) values[RECEIVE_MAXIMUM]; }
    public MqttProperties receiveMaximum(Integer v) { values[RECEIVE_MAXIMUM] = v; return this; }
    public Integer topicAliasMaximum() { return (Integer) values[TOPIC_ALIAS_MAXIMUM]; }
    public MqttProperties topicAliasMaximum(Integer v) { values[TOPIC_ALIAS_MAXIMUM] = v; return this; }
    public Integer topicAlias() { return (Integer) values[TOPIC_ALIAS]; }
    public MqttProperties topicAlias(Integer v) { values[TOPIC_ALIAS] = v; return this; }
    public Integer maximumQos() { return (Integer) values[MAXIMUM_QOS]; }
    public MqttProperties maximumQos(Integer v) { values[MAXIMUM_QOS] = v; return this; }
    public Integer retainAvailable() { return (Integer) values[RETAIN_AVAILABLE]; }
    public MqttProperties retainAvailable(Integer v) { values[RETAIN_AVAILABLE] = v; return this; }
    public Long maximumPacketSize() { return (Long) values[MAXIMUM_PACKET_SIZE]; }
    public MqttProperties maximumPacketSize(Long v) { values[MAXIMUM_PACKET_SIZE] = v; return this; }
    public Integer wildcardSubscriptionAvailable() { return (Integer) values[WILDCARD_SUBSCRIPTION_AVAILABLE]; }
    public Integer subscriptionIdentifierAvailable() { return (Integer) values[SUBSCRIPTION_IDENTIFIER_AVAILABLE]; }
    public Integer sharedSubscriptionAvailable() { return (Integer) values[SHARED_SUBSCRIPTION_AVAILABLE]; }

    /** User properties in order (name, value), possibly repeated names. Never null. */
    public List<Map.Entry<String, String>> userProperties() {
        return user == null ? List.of() : Collections.unmodifiableList(user);
    }

    /** The first value of user property {@code name}, or null. */
    public String userProperty(String name) {
        if (user != null) for (Map.Entry<String, String> e : user) if (e.getKey().equals(name)) return e.getValue();
        return null;
    }

    /** Adds a user property (names may repeat). */
    public MqttProperties userProperty(String name, String value) {
        if (user == null) user = new ArrayList<>(2);
        user.add(Map.entry(name, value));
        return this;
    }

    /** Subscription identifiers (of the subscriptions a received message matched; on SUBSCRIBE, at most one). Never null. */
    public List<Integer> subscriptionIdentifiers() {
        return subscriptionIds == null ? List.of() : Collections.unmodifiableList(subscriptionIds);
    }

    /** Adds a subscription identifier (1 to 268,435,455). */
    public MqttProperties subscriptionIdentifier(int id) {
        if (id < 1 || id > 268_435_455) throw new IllegalArgumentException("subscription identifier out of range: " + id);
        if (subscriptionIds == null) subscriptionIds = new ArrayList<>(1);
        subscriptionIds.add(id);
        return this;
    }

    /** A copy (values are shared; they are immutable, except byte arrays, which nobody changes). */
    public MqttProperties copy() {
        MqttProperties p = new MqttProperties();
        System.arraycopy(values, 0, p.values, 0, values.length);
        if (user != null) p.user = new ArrayList<>(user);
        if (subscriptionIds != null) p.subscriptionIds = new ArrayList<>(subscriptionIds);
        return p;
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("{");
        for (int i = 0; i < values.length; i++) {
            Object v = values[i];
            if (v == null) continue;
            if (sb.length() > 1) sb.append(", ");
            sb.append(String.format("0x%02X=", i)).append(v instanceof byte[] b ? Arrays.toString(b) : v);
        }
        if (user != null) for (Map.Entry<String, String> e : user) sb.append(sb.length() > 1 ? ", " : "").append(e.getKey()).append(':').append(e.getValue());
        if (subscriptionIds != null) sb.append(sb.length() > 1 ? ", " : "").append("subIds=").append(subscriptionIds);
        return sb.append('}').toString();
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof MqttProperties p)) return false;
        for (int i = 0; i < values.length; i++) {
            Object a = values[i], b = p.values[i];
            if (a instanceof byte[] x && b instanceof byte[] y) { if (!Arrays.equals(x, y)) return false; }
            else if (a == null ? b != null : !a.equals(b)) return false;
        }
        return userProperties().equals(p.userProperties()) && subscriptionIdentifiers().equals(p.subscriptionIdentifiers());
    }

    @Override
    public int hashCode() { return userProperties().hashCode() * 31 + subscriptionIdentifiers().hashCode(); }
}
