package io.jhv.mqtt.internal;

import io.jhv.core.buffer.Buffer;
import io.jhv.mqtt.MqttProperties;
import io.jhv.mqtt.MqttProtocolException;
import io.jhv.mqtt.ReasonCode;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static io.jhv.mqtt.internal.Packet.*;

/**
 * The MQTT 3.1.1 and 5 packet codec: {@link #encode} writes one packet, {@link Decoder} reads
 * packets from a byte stream split anywhere.
 *
 * <pre>
 *  +--------+----------------------+------------------------------------------+
 *  | type|fl | remaining length     | variable header (+ v5 properties) payload |
 *  | 1 byte | varint, 1-4 bytes    | remaining length bytes                   |
 *  +--------+----------------------+------------------------------------------+
 * </pre>
 *
 * Strict on input: every length is checked against what is left, strings must be well-formed UTF-8
 * without U+0000, reserved flags must be as the specification says, unknown or repeated properties
 * are refused, and a packet larger than the maximum packet size is refused from its fixed header
 * on, before its body is buffered. Each failure is an {@link MqttProtocolException} with the reason
 * code to send (0x81 malformed, 0x82 protocol error, 0x95 packet too large).
 */
public final class Codec {
    private Codec() {}

    /** The largest remaining length a varint can hold (268,435,455). */
    public static final int MAX_REMAINING = 268_435_455;

    static boolean propsEqual(MqttProperties a, MqttProperties b) {
        boolean ea = a == null || a.isEmpty(), eb = b == null || b.isEmpty();
        if (ea || eb) return ea == eb;
        return a.equals(b);
    }

    // ================================================================ encoding

    /** Encodes {@code p} for protocol level {@code level} (4: 3.1.1, 5: MQTT 5) into {@code out}. */
    public static void encode(Packet p, int level, Buffer out) {
        boolean v5 = level >= 5;
        Buffer b = Buffer.allocate(64);
        int flags = 0;
        switch (p) {
            case Connect c -> {
                writeString(b, level == 3 ? "MQIsdp" : "MQTT");
                b.writeByte(c.protocolLevel());
                int f = 0;
                if (c.username() != null) f |= 0x80;
                if (c.password() != null) f |= 0x40;
                Will w = c.will();
                if (w != null) f |= 0x04 | (w.qos() << 3) | (w.retain() ? 0x20 : 0);
                if (c.cleanStart()) f |= 0x02;
                b.writeByte(f);
                b.writeShort(c.keepAlive());
                if (v5) writeProps(b, c.props());
                writeString(b, c.clientId());
                if (w != null) {
                    if (v5) writeProps(b, w.props());
                    writeString(b, w.topic());
                    writeBinary(b, w.payload());
                }
                if (c.username() != null) writeString(b, c.username());
                if (c.password() != null) writeBinary(b, c.password());
            }
            case ConnAck a -> {
                b.writeByte(a.sessionPresent() ? 1 : 0);
                b.writeByte(a.reasonCode());
                if (v5) writeProps(b, a.props());
            }
            case Publish pub -> {
                flags = (pub.dup() ? 8 : 0) | (pub.qos() << 1) | (pub.retain() ? 1 : 0);
                writeString(b, pub.topic());
                if (pub.qos() > 0) b.writeShort(pub.packetId());
                if (v5) writeProps(b, pub.props());
                b.write(pub.payload());
            }
            case Ack a -> {
                if (a.type() == PUBREL) flags = 2;
                b.writeShort(a.packetId());
                if (v5) {
                    boolean props = a.props() != null && !a.props().isEmpty();
                    if (a.reasonCode() != 0 || props) b.writeByte(a.reasonCode());
                    if (props) writeProps(b, a.props());
                }
            }
            case Subscribe s -> {
                flags = 2;
                b.writeShort(s.packetId());
                if (v5) writeProps(b, s.props());
                for (Subscription sub : s.subscriptions()) {
                    writeString(b, sub.filter());
                    b.writeByte(v5 ? sub.options() : sub.qos());
                }
            }
            case SubAck s -> {
                b.writeShort(s.packetId());
                if (v5) writeProps(b, s.props());
                if (v5 || s.type() == SUBACK) for (int code : s.reasonCodes()) b.writeByte(code);
            }
            case Unsubscribe u -> {
                flags = 2;
                b.writeShort(u.packetId());
                if (v5) writeProps(b, u.props());
                for (String f : u.filters()) writeString(b, f);
            }
            case Ping ping -> { }
            case Disconnect d -> {
                if (v5) {
                    boolean props = d.props() != null && !d.props().isEmpty();
                    if (d.reasonCode() != 0 || props || d.type() == AUTH) b.writeByte(d.reasonCode());
                    if (props || d.type() == AUTH) writeProps(b, d.props());
                }
            }
        }
        int len = b.readableBytes();
        if (len > MAX_REMAINING) throw new IllegalArgumentException("packet too large for MQTT: " + len + " bytes");
        out.ensureWritable(5 + len);
        out.writeByte((p.type() << 4) | flags);
        writeVarint(out, len);
        out.write(b);
    }

    /**
     * A PUBLISH without properties (but for a topic alias when {@code alias > 0}) straight into
     * {@code out}: the hot path, which allocates nothing. {@code topicUtf8} is the topic's UTF-8
     * (empty when the alias stands for it); {@code packetId} is ignored for QoS 0.
     */
    public static void encodePublish(Buffer out, byte[] topicUtf8, byte[] payload, int qos, boolean retain, boolean dup,
                                     int packetId, int alias, boolean v5) {
        if (topicUtf8.length > 65535) throw new IllegalArgumentException("string longer than 65,535 bytes in UTF-8");
        long len = 2L + topicUtf8.length + (qos > 0 ? 2 : 0) + (v5 ? (alias > 0 ? 4 : 1) : 0) + payload.length;
        if (len > MAX_REMAINING) throw new IllegalArgumentException("packet too large for MQTT: " + len + " bytes");
        out.ensureWritable(5 + (int) len);
        out.writeByte((PUBLISH << 4) | (dup ? 8 : 0) | (qos << 1) | (retain ? 1 : 0));
        writeVarint(out, (int) len);
        out.writeShort(topicUtf8.length);
        out.write(topicUtf8);
        if (qos > 0) out.writeShort(packetId);
        if (v5) {
            if (alias > 0) {
                out.writeByte(3);
                out.writeByte(MqttProperties.TOPIC_ALIAS);
                out.writeShort(alias);
            } else {
                out.writeByte(0);
            }
        }
        out.write(payload);
    }

    /** {@link #encode} into a new array. */
    public static byte[] encode(Packet p, int level) {
        Buffer b = Buffer.allocate(64);
        encode(p, level, b);
        return b.readBytes();
    }

    public static void writeVarint(Buffer out, int v) {
        if (v < 0 || v > MAX_REMAINING) throw new IllegalArgumentException("variable byte integer out of range: " + v);
        do {
            int d = v & 0x7f;
            v >>>= 7;
            out.writeByte(v > 0 ? d | 0x80 : d);
        } while (v > 0);
    }

    public static int varintSize(int v) {
        return v < 128 ? 1 : v < 16384 ? 2 : v < 2_097_152 ? 3 : 4;
    }

    static void writeString(Buffer out, String s) {
        byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
        if (bytes.length > 65535) throw new IllegalArgumentException("string longer than 65,535 bytes in UTF-8");
        out.writeShort(bytes.length);
        out.write(bytes);
    }

    static void writeBinary(Buffer out, byte[] bytes) {
        if (bytes.length > 65535) throw new IllegalArgumentException("binary data longer than 65,535 bytes");
        out.writeShort(bytes.length);
        out.write(bytes);
    }

    static void writeProps(Buffer out, MqttProperties props) {
        if (props == null || props.isEmpty()) {
            out.writeByte(0);
            return;
        }
        Buffer b = Buffer.allocate(32);
        for (int id = 1; id < 0x2B; id++) {
            MqttProperties.Type t = MqttProperties.typeOf(id);
            if (t == null || t == MqttProperties.Type.UTF8_PAIR || id == MqttProperties.SUBSCRIPTION_IDENTIFIER) continue;
            Object v = props.get(id);
            if (v == null) continue;
            b.writeByte(id);
            switch (t) {
                case BYTE -> b.writeByte(((Number) v).intValue());
                case TWO_BYTE -> b.writeShort(((Number) v).intValue());
                case FOUR_BYTE -> b.writeInt((int) ((Number) v).longValue());
                case UTF8 -> writeString(b, (String) v);
                case BINARY -> writeBinary(b, (byte[]) v);
                default -> throw new IllegalStateException();
            }
        }
        for (int sid : props.subscriptionIdentifiers()) {
            b.writeByte(MqttProperties.SUBSCRIPTION_IDENTIFIER);
            writeVarint(b, sid);
        }
        for (Map.Entry<String, String> e : props.userProperties()) {
            b.writeByte(MqttProperties.USER_PROPERTY);
            writeString(b, e.getKey());
            writeString(b, e.getValue());
        }
        writeVarint(out, b.readableBytes());
        out.write(b);
    }

    // ================================================================ decoding

    static MqttProtocolException malformed(String why) {
        return new MqttProtocolException(ReasonCode.MALFORMED_PACKET, "malformed packet: " + why);
    }

    static MqttProtocolException protocolError(String why) {
        return new MqttProtocolException(ReasonCode.PROTOCOL_ERROR, "protocol error: " + why);
    }

    /**
     * Reads packets from a stream. {@link #decode} takes what is buffered and returns one packet, or
     * null when the next packet is not complete yet (the buffer is left as it was). One per
     * connection; not thread-safe (the connection's loop uses it).
     */
    public static final class Decoder {
        private int level;
        private long maxPacketSize;

        /** @param level 4 (3.1.1) or 5; {@code maxPacketSize} bounds a whole packet (fixed header included) */
        public Decoder(int level, long maxPacketSize) {
            this.level = level;
            this.maxPacketSize = maxPacketSize;
        }

        public void level(int level) { this.level = level; }
        public int level() { return level; }
        public void maxPacketSize(long max) { this.maxPacketSize = max; }

        /** One packet from the front of {@code in} (consumed), or null if {@code in} does not hold a whole one yet. */
        public Packet decode(Buffer in) {
            int avail = in.readableBytes();
            if (avail < 2) return null;
            int header = in.peekUnsignedByte(0);
            int type = header >>> 4, flags = header & 0x0f;
            int len = 0, mult = 1, i = 1;
            while (true) {
                if (i >= avail) return null;
                int d = in.peekUnsignedByte(i);
                len += (d & 0x7f) * mult;
                i++;
                if ((d & 0x80) == 0) break;
                if (i == 5) throw malformed("remaining length longer than 4 bytes");
                mult <<= 7;
            }
            long total = (long) i + len;
            if (total > maxPacketSize) {
                throw new MqttProtocolException(ReasonCode.PACKET_TOO_LARGE, "packet of " + total
                        + " bytes is larger than the maximum packet size of " + maxPacketSize);
            }
            checkHeader(type, flags);
            if (avail < total) return null;
            int start = in.readerIndex() + i;
            Reader r = new Reader(in.array(), start, start + len);
            Packet p = body(type, flags, r);
            if (r.pos != r.end) throw malformed(Packet.typeName(type) + " has " + (r.end - r.pos) + " bytes left over");
            in.skip((int) total);
            return p;
        }

        private void checkHeader(int type, int flags) {
            switch (type) {
                case 0 -> throw malformed("packet type 0 is reserved");
                case AUTH -> { if (level < 5) throw malformed("AUTH (type 15) does not exist in MQTT 3.1.1"); }
                default -> { }
            }
            if (type == PUBLISH) {
                int qos = (flags >> 1) & 3;
                if (qos == 3) throw malformed("PUBLISH with QoS 3");
                if (qos == 0 && (flags & 8) != 0) throw malformed("PUBLISH with QoS 0 and DUP set");
                return;
            }
            int expected = type == PUBREL || type == SUBSCRIBE || type == UNSUBSCRIBE ? 2 : 0;
            if (flags != expected) throw malformed(Packet.typeName(type) + " with reserved flags " + flags + " (must be " + expected + ")");
        }

        private Packet body(int type, int flags, Reader r) {
            boolean v5 = level >= 5;
            switch (type) {
                case CONNECT: return connect(r);
                case CONNACK: {
                    int f = r.u8();
                    if ((f & 0xfe) != 0) throw malformed("CONNACK flags " + f);
                    int code = r.u8();
                    // A 3.1.1 broker answers a v5 CONNECT with a 3.1.1 CONNACK (return code 1, no properties):
                    // read it as such so that the client can fall back to 3.1.1.
                    if (v5 && r.left() == 0 && code != 0) return new ConnAck((f & 1) != 0, code, new MqttProperties());
                    return new ConnAck((f & 1) != 0, code, v5 ? r.props(CONNACK) : new MqttProperties());
                }
                case PUBLISH: {
                    int qos = (flags >> 1) & 3;
                    String topic = r.string();
                    if (topic.indexOf('+') >= 0 || topic.indexOf('#') >= 0) {
                        throw new MqttProtocolException(ReasonCode.TOPIC_NAME_INVALID, "PUBLISH topic with a wildcard: " + topic);
                    }
                    int id = 0;
                    if (qos > 0) id = r.packetId();
                    MqttProperties props = v5 ? r.props(PUBLISH) : new MqttProperties();
                    byte[] payload = r.rest();
                    return new Publish(topic, payload, qos, (flags & 1) != 0, (flags & 8) != 0, id, props);
                }
                case PUBACK: case PUBREC: case PUBREL: case PUBCOMP: {
                    int id = r.packetId();
                    int code = 0;
                    MqttProperties props = new MqttProperties();
                    if (v5) {
                        if (r.left() > 0) code = r.u8();
                        if (r.left() > 0) props = r.props(type);
                    }
                    return new Ack(type, id, code, props);
                }
                case SUBSCRIBE: {
                    int id = r.packetId();
                    MqttProperties props = v5 ? r.props(SUBSCRIBE) : new MqttProperties();
                    List<Subscription> subs = new ArrayList<>(2);
                    while (r.left() > 0) {
                        String filter = r.string();
                        int o = r.u8();
                        if ((o & 3) == 3) throw malformed("subscription QoS 3");
                        if (v5 ? (o & 0xc0) != 0 || ((o >> 4) & 3) == 3 : (o & 0xfc) != 0) throw malformed("subscription options reserved bits " + o);
                        subs.add(new Subscription(filter, o));
                    }
                    if (subs.isEmpty()) throw protocolError("SUBSCRIBE without a topic filter");
                    return new Subscribe(id, subs, props);
                }
                case SUBACK: case UNSUBACK: {
                    int id = r.packetId();
                    if (!v5 && type == UNSUBACK && r.left() != 0) throw malformed("3.1.1 UNSUBACK with a body after its packet id");
                    MqttProperties props = v5 ? r.props(type) : new MqttProperties();
                    int[] codes = new int[r.left()];
                    for (int k = 0; k < codes.length; k++) {
                        codes[k] = r.u8();
                        if (!v5 && (codes[k] > 2 && codes[k] != 0x80)) throw malformed("SUBACK return code " + codes[k]);
                    }
                    if (codes.length == 0 && (v5 || type == SUBACK)) throw protocolError(Packet.typeName(type) + " without reason codes");
                    return new SubAck(type, id, codes, props);
                }
                case UNSUBSCRIBE: {
                    int id = r.packetId();
                    MqttProperties props = v5 ? r.props(UNSUBSCRIBE) : new MqttProperties();
                    List<String> filters = new ArrayList<>(2);
                    while (r.left() > 0) filters.add(r.string());
                    if (filters.isEmpty()) throw protocolError("UNSUBSCRIBE without a topic filter");
                    return new Unsubscribe(id, filters, props);
                }
                case PINGREQ: case PINGRESP:
                    if (r.left() != 0) throw malformed(Packet.typeName(type) + " with a body");
                    return type == PINGREQ ? Ping.REQ : Ping.RESP;
                case DISCONNECT: case AUTH: {
                    int code = 0;
                    MqttProperties props = new MqttProperties();
                    if (v5) {
                        if (r.left() > 0) code = r.u8();
                        if (r.left() > 0) props = r.props(type);
                    }
                    return new Disconnect(type, code, props);
                }
                default: throw malformed("packet type " + type);
            }
        }

        private Packet connect(Reader r) {
            String name = r.string();
            int lvl = r.u8();
            if (!(name.equals("MQTT") && (lvl == 4 || lvl == 5)) && !(name.equals("MQIsdp") && lvl == 3)) {
                throw new MqttProtocolException(ReasonCode.UNSUPPORTED_PROTOCOL_VERSION, "protocol " + name + " level " + lvl);
            }
            boolean v5 = lvl >= 5;
            int f = r.u8();
            if ((f & 1) != 0) throw malformed("CONNECT reserved flag set");
            boolean will = (f & 0x04) != 0;
            int willQos = (f >> 3) & 3;
            boolean willRetain = (f & 0x20) != 0;
            if (!will && (willQos != 0 || willRetain)) throw malformed("will QoS/retain without a will");
            if (willQos == 3) throw malformed("will QoS 3");
            if (!v5 && (f & 0x40) != 0 && (f & 0x80) == 0) throw malformed("password without user name");
            int keepAlive = r.u16();
            MqttProperties props = v5 ? r.props(CONNECT) : new MqttProperties();
            String clientId = r.string();
            Will w = null;
            if (will) {
                MqttProperties wp = v5 ? r.props(WILL) : new MqttProperties();
                w = new Will(r.string(), r.binary(), willQos, willRetain, wp);
            }
            String user = (f & 0x80) != 0 ? r.string() : null;
            byte[] pass = (f & 0x40) != 0 ? r.binary() : null;
            return new Connect(lvl, clientId, (f & 0x02) != 0, keepAlive, user, pass, w, props);
        }
    }

    /** Context of the will's properties in {@link #ALLOWED} (packet types use 1..15). */
    static final int WILL = 0;
    /** Per property id, a bit per packet type (and {@link #WILL}) where MQTT 5 allows it (section 2.2.2.2). */
    private static final int[] ALLOWED = new int[0x2B];
    static {
        int pubWill = bits(PUBLISH, WILL);
        for (int id : new int[] {0x01, 0x02, 0x03, 0x08, 0x09}) ALLOWED[id] = pubWill;
        ALLOWED[0x0B] = bits(PUBLISH, SUBSCRIBE);
        ALLOWED[0x11] = bits(CONNECT, CONNACK, DISCONNECT);
        ALLOWED[0x12] = bits(CONNACK);
        ALLOWED[0x13] = bits(CONNACK);
        ALLOWED[0x15] = ALLOWED[0x16] = bits(CONNECT, CONNACK, AUTH);
        ALLOWED[0x17] = ALLOWED[0x19] = bits(CONNECT);
        ALLOWED[0x18] = bits(WILL);
        ALLOWED[0x1A] = bits(CONNACK);
        ALLOWED[0x1C] = bits(CONNACK, DISCONNECT);
        ALLOWED[0x1F] = bits(CONNACK, PUBACK, PUBREC, PUBREL, PUBCOMP, SUBACK, UNSUBACK, DISCONNECT, AUTH);
        ALLOWED[0x21] = ALLOWED[0x22] = ALLOWED[0x27] = bits(CONNECT, CONNACK);
        ALLOWED[0x23] = bits(PUBLISH);
        ALLOWED[0x24] = ALLOWED[0x25] = ALLOWED[0x28] = ALLOWED[0x29] = ALLOWED[0x2A] = bits(CONNACK);
        ALLOWED[0x26] = 0xffff;
    }

    private static int bits(int... types) {
        int m = 0;
        for (int t : types) m |= 1 << t;
        return m;
    }

    private static String contextName(int ctx) { return ctx == WILL ? "the will" : Packet.typeName(ctx); }

    private static void checkValue(int id, Object v) {
        switch (id) {
            case 0x01, 0x17, 0x19, 0x24, 0x25, 0x28, 0x29, 0x2A -> {
                if ((Integer) v > 1) throw protocolError(String.format("property 0x%02X must be 0 or 1, not %s", id, v));
            }
            case 0x21, 0x27 -> {
                if (((Number) v).longValue() == 0) throw protocolError(String.format("property 0x%02X must not be 0", id));
            }
            default -> { }
        }
    }

    /** Bounds-checked reads over one packet's body. */
    static final class Reader {
        final byte[] a;
        int pos;
        final int end;

        Reader(byte[] a, int pos, int end) { this.a = a; this.pos = pos; this.end = end; }

        int left() { return end - pos; }

        private void need(int n, String what) {
            if (end - pos < n) throw malformed(what + " runs past the end of the packet");
        }

        int u8() { need(1, "a byte field"); return a[pos++] & 0xff; }

        int u16() { need(2, "a two-byte field"); int v = ((a[pos] & 0xff) << 8) | (a[pos + 1] & 0xff); pos += 2; return v; }

        long u32() {
            need(4, "a four-byte field");
            long v = ((long) (a[pos] & 0xff) << 24) | ((a[pos + 1] & 0xff) << 16) | ((a[pos + 2] & 0xff) << 8) | (a[pos + 3] & 0xff);
            pos += 4;
            return v;
        }

        int packetId() {
            int id = u16();
            if (id == 0) throw malformed("packet identifier 0");
            return id;
        }

        int varint() {
            int v = 0, mult = 1;
            for (int k = 0; k < 4; k++) {
                int d = u8();
                v += (d & 0x7f) * mult;
                if ((d & 0x80) == 0) return v;
                mult <<= 7;
            }
            throw malformed("variable byte integer longer than 4 bytes");
        }

        String string() {
            int n = u16();
            need(n, "a string of " + n + " bytes");
            int s = pos;
            pos += n;
            boolean ascii = true;
            for (int k = s; k < s + n; k++) {
                byte c = a[k];
                if (c == 0) throw malformed("string contains U+0000");
                if (c < 0) ascii = false;
            }
            if (ascii) return new String(a, s, n, StandardCharsets.ISO_8859_1);
            try {
                CharBuffer cb = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                        .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(a, s, n));
                return cb.toString();
            } catch (CharacterCodingException e) {
                throw malformed("string is not well-formed UTF-8");
            }
        }

        byte[] binary() {
            int n = u16();
            need(n, "binary data of " + n + " bytes");
            byte[] b = java.util.Arrays.copyOfRange(a, pos, pos + n);
            pos += n;
            return b;
        }

        byte[] rest() {
            byte[] b = java.util.Arrays.copyOfRange(a, pos, end);
            pos = end;
            return b;
        }

        /** Properties of packet type {@code ctx} (or {@link #WILL}): only those MQTT 5 allows there, with valid values. */
        MqttProperties props(int ctx) {
            int len = varint();
            need(len, "properties of " + len + " bytes");
            int stop = pos + len;
            MqttProperties p = new MqttProperties();
            while (pos < stop) {
                int id = varint();
                MqttProperties.Type t = MqttProperties.typeOf(id);
                if (t == null) throw malformed(String.format("unknown property 0x%02X", id));
                if ((ALLOWED[id] & (1 << ctx)) == 0) throw protocolError(String.format("property 0x%02X is not allowed in %s", id, contextName(ctx)));
                if (t != MqttProperties.Type.UTF8_PAIR && id != MqttProperties.SUBSCRIPTION_IDENTIFIER && p.has(id)) {
                    throw protocolError(String.format("property 0x%02X included twice", id));
                }
                switch (t) {
                    case BYTE -> p.set(id, u8());
                    case TWO_BYTE -> p.set(id, u16());
                    case FOUR_BYTE -> p.set(id, u32());
                    case VARINT -> {
                        int v = varint();
                        if (v == 0) throw protocolError("subscription identifier 0");
                        p.subscriptionIdentifier(v);
                    }
                    case UTF8 -> p.set(id, string());
                    case BINARY -> p.set(id, binary());
                    case UTF8_PAIR -> p.userProperty(string(), string());
                }
                if (pos > stop) throw malformed("a property runs past the property length");
                checkValue(id, p.get(id));
            }
            return p;
        }
    }
}
