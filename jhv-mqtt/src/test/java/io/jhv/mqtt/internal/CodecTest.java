package io.jhv.mqtt.internal;

import io.jhv.core.buffer.Buffer;
import io.jhv.mqtt.MqttProperties;
import io.jhv.mqtt.MqttProtocolException;
import io.jhv.mqtt.ReasonCode;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static io.jhv.mqtt.internal.Packet.*;
import static org.junit.jupiter.api.Assertions.*;

/** Every packet type, 3.1.1 and 5, encoded then decoded whole, one byte at a time and at random splits; malformed input refused with the right reason code. */
class CodecTest {

    static MqttProperties fullProps() {
        return new MqttProperties().payloadFormatIndicator(1).messageExpiryInterval(3600L).contentType("text/plain")
                .responseTopic("reply/here").correlationData(new byte[] {1, 2, 3}).topicAlias(7)
                .userProperty("a", "1").userProperty("a", "2").userProperty("ü", "ß");
    }

    static List<Packet> packets(int level) {
        boolean v5 = level == 5;
        MqttProperties p = v5 ? fullProps() : null;
        MqttProperties connProps = v5 ? new MqttProperties().sessionExpiryInterval(60L).receiveMaximum(10)
                .maximumPacketSize(1_000_000L).topicAliasMaximum(5).authenticationMethod("SCRAM").authenticationData(new byte[] {9}) : null;
        List<Packet> l = new ArrayList<>();
        l.add(new Connect(level, "client-1", true, 30, null, null, null, connProps));
        l.add(new Connect(level, "", false, 0, "user", "pw".getBytes(), new Will("will/t", "bye".getBytes(), 1, true,
                v5 ? new MqttProperties().willDelayInterval(5L).contentType("x") : null), connProps));
        l.add(new ConnAck(true, 0, v5 ? new MqttProperties().assignedClientIdentifier("auto-1").serverKeepAlive(20).reasonString("ok")
                .receiveMaximum(20).maximumQos(1).retainAvailable(1).topicAliasMaximum(10) : null));
        l.add(new ConnAck(false, v5 ? 0x87 : 5, null));
        l.add(new Publish("a/b", "hello".getBytes(), 0, false, false, 0, p));
        l.add(new Publish("a/ü", new byte[0], 1, true, true, 65535, p));
        l.add(new Publish("x", new byte[300], 2, false, false, 1, null));
        if (v5) l.add(new Publish("", "aliased".getBytes(), 1, false, false, 3, new MqttProperties().topicAlias(2).subscriptionIdentifier(5).subscriptionIdentifier(268_435_455)));
        for (int t : new int[] {PUBACK, PUBREC, PUBREL, PUBCOMP}) {
            l.add(new Ack(t, 42, 0, null));
            if (v5) {
                l.add(new Ack(t, 43, 0x10, null));
                l.add(new Ack(t, 44, 0x80, new MqttProperties().reasonString("no").userProperty("k", "v")));
            }
        }
        MqttProperties subProps = v5 ? new MqttProperties().subscriptionIdentifier(77).userProperty("s", "1") : null;
        l.add(new Subscribe(7, List.of(new Subscription("a/+", 1), new Subscription("b/#", v5 ? 2 | 4 | 8 | 0x20 : 2),
                new Subscription("$share/g/c", 0)), subProps));
        l.add(new SubAck(SUBACK, 7, new int[] {1, 2, 0x80}, v5 ? new MqttProperties().reasonString("partly") : null));
        l.add(new Unsubscribe(8, List.of("a/+", "b/#"), subProps == null ? null : new MqttProperties().userProperty("u", "2")));
        l.add(new SubAck(UNSUBACK, 8, v5 ? new int[] {0, 0x11} : new int[0], null));
        l.add(Ping.REQ);
        l.add(Ping.RESP);
        l.add(new Disconnect(DISCONNECT, 0, null));
        if (v5) {
            l.add(new Disconnect(DISCONNECT, 0x8E, new MqttProperties().reasonString("taken over").sessionExpiryInterval(0L)));
            l.add(new Disconnect(AUTH, 0x18, new MqttProperties().authenticationMethod("SCRAM").authenticationData(new byte[] {1})));
        }
        return l;
    }


    private static void roundTrip(int level, int mode) {
        Random rnd = new Random(level * 31L + mode);
        for (Packet p : packets(level)) {
            int decodeLevel = level;
            byte[] wire = Codec.encode(p, level);
            Codec.Decoder d = new Codec.Decoder(decodeLevel, Codec.MAX_REMAINING + 5L);
            Buffer in = Buffer.allocate(16);
            Packet got = null;
            int i = 0;
            while (i < wire.length) {
                int n = switch (mode) {
                    case 0 -> wire.length;
                    case 1 -> 1;
                    default -> 1 + rnd.nextInt(wire.length - i);
                };
                n = Math.min(n, wire.length - i);
                in.write(wire, i, n);
                i += n;
                Packet q = d.decode(in);
                if (q != null) {
                    assertNull(got, "one packet only");
                    assertEquals(wire.length, i, "decoded only when whole: " + p);
                    got = q;
                }
            }
            assertNotNull(got, "decoded " + p);
            assertEquals(p, got, "level " + level + " mode " + mode);
            assertEquals(0, in.readableBytes());
            assertArrayEquals(wire, Codec.encode(got, level), "re-encodes the same bytes");
        }
    }

    @Test void everyPacketRoundTripsWhole() { roundTrip(4, 0); roundTrip(5, 0); }
    @Test void everyPacketRoundTripsOneByteAtATime() { roundTrip(4, 1); roundTrip(5, 1); }
    @Test void everyPacketRoundTripsAtRandomSplits() { for (int k = 0; k < 20; k++) { roundTrip(4, 2 + k); roundTrip(5, 2 + k); } }

    @Test
    void severalPacketsInOneBufferDecodeInOrder() {
        Buffer in = Buffer.allocate(64);
        for (Packet p : packets(5)) Codec.encode(p, 5, in);
        Codec.Decoder d = new Codec.Decoder(5, 1 << 20);
        List<Packet> got = new ArrayList<>();
        Packet q;
        while ((q = d.decode(in)) != null) got.add(q);
        assertEquals(packets(5), got);
    }

    @Test
    void remainingLengthBoundaries() {
        int[] values = {0, 127, 128, 16_383, 16_384, 2_097_151, 2_097_152, Codec.MAX_REMAINING};
        for (int v : values) {
            Buffer b = Buffer.allocate(8);
            Codec.writeVarint(b, v);
            assertEquals(Codec.varintSize(v), b.readableBytes());
            Codec.Reader r = new Codec.Reader(b.array(), b.readerIndex(), b.writerIndex());
            assertEquals(v, r.varint());
        }
        assertThrows(IllegalArgumentException.class, () -> Codec.writeVarint(Buffer.allocate(8), Codec.MAX_REMAINING + 1));
    }

    private static MqttProtocolException reject(int level, long max, int... bytes) {
        Buffer in = Buffer.allocate(16);
        for (int b : bytes) in.writeByte(b);
        return assertThrows(MqttProtocolException.class, () -> new Codec.Decoder(level, max).decode(in));
    }

    private static void rejects(int reason, int level, int... bytes) {
        MqttProtocolException e = reject(level, 1 << 20, bytes);
        assertEquals(reason, e.reasonCode(), e.getMessage());
    }

    @Test
    void malformedPacketsAreRefusedWithTheirReason() {
        int M = ReasonCode.MALFORMED_PACKET, P = ReasonCode.PROTOCOL_ERROR;
        rejects(M, 5, 0x30, 0xff, 0xff, 0xff, 0xff, 0x01);          // remaining length of 5 bytes
        rejects(M, 5, 0x00, 0x00);                                  // type 0
        rejects(M, 4, 0xf0, 0x00);                                  // AUTH in 3.1.1
        rejects(M, 5, 0x36, 0x00);                                  // PUBLISH QoS 3
        rejects(M, 5, 0x38, 0x00);                                  // PUBLISH QoS 0 with DUP
        rejects(M, 5, 0x60, 0x02, 0x00, 0x01);                      // PUBREL without flags 0010
        rejects(M, 5, 0xc1, 0x00);                                  // PINGREQ with flags
        rejects(M, 5, 0xd0, 0x01, 0x00);                            // PINGRESP with a body
        rejects(M, 5, 0x40, 0x02, 0x00, 0x00);                      // PUBACK packet id 0
        rejects(M, 4, 0x40, 0x03, 0x00, 0x01, 0x00);                // 3.1.1 PUBACK too long
        rejects(M, 5, 0x30, 0x03, 0x00, 0x05, 0x61);                // topic length past the end
        rejects(M, 5, 0x30, 0x04, 0x00, 0x02, 0xc3, 0x28);          // bad UTF-8
        rejects(M, 5, 0x30, 0x04, 0x00, 0x02, 0x61, 0x00);          // U+0000 in a topic
        rejects(ReasonCode.TOPIC_NAME_INVALID, 5, 0x30, 0x05, 0x00, 0x03, 'a', '/', '#');
        rejects(M, 5, 0x20, 0x03, 0x02, 0x00, 0x00);                // CONNACK reserved flag
        rejects(M, 5, 0x20, 0x05, 0x00, 0x00, 0x02, 0x7f, 0x00);    // unknown property 0x7f
        rejects(P, 5, 0x20, 0x0d, 0x00, 0x00, 0x0a, 0x11, 0, 0, 0, 1, 0x11, 0, 0, 0, 2); // property twice
        rejects(M, 5, 0x20, 0x05, 0x00, 0x00, 0x05, 0x11, 0x00);    // property length past the end
        rejects(P, 5, 0x20, 0x06, 0x00, 0x00, 0x03, 0x23, 0x00, 0x01); // a topic alias in CONNACK
        rejects(P, 5, 0x20, 0x05, 0x00, 0x00, 0x02, 0x24, 0x02);    // maximum QoS 2 (must be 0 or 1)
        rejects(P, 5, 0x20, 0x06, 0x00, 0x00, 0x03, 0x21, 0x00, 0x00); // receive maximum 0
        rejects(P, 5, 0x40, 0x09, 0x00, 0x01, 0x00, 0x05, 0x02, 0, 0, 0, 1); // a message expiry in PUBACK
        rejects(P, 5, 0x90, 0x03, 0x00, 0x01, 0x00);                // SUBACK without codes
        rejects(M, 4, 0x90, 0x03, 0x00, 0x01, 0x05);                // 3.1.1 SUBACK return code 5
        rejects(M, 4, 0xb0, 0x03, 0x00, 0x01, 0x00);                // 3.1.1 UNSUBACK with codes (found by CodecFuzzTest)
        rejects(M, 5, 0x82, 0x06, 0x00, 0x01, 0x00, 0x00, 0x01, 'a'); // SUBSCRIBE filter runs past the end
        rejects(M, 5, 0x82, 0x08, 0x00, 0x01, 0x00, 0x00, 0x01, 'a', 0xc0, 0x00); // reserved option bits (and leftover)
        rejects(M, 5, 0x10, 0x02, 0x00, 0x04);                      // CONNECT cut short
    }

    @Test
    void oversizedPacketIsRefusedFromItsHeaderAlone() {
        // 2 + 1000 bytes announced, only the header buffered: refused before the body arrives
        MqttProtocolException e = reject(5, 100, 0x30, 0xe8, 0x07);
        assertEquals(ReasonCode.PACKET_TOO_LARGE, e.reasonCode());
        assertTrue(e.getMessage().contains("maximum packet size"), e.getMessage());
    }

    @Test
    void incompletePacketLeavesTheBufferAlone() {
        byte[] wire = Codec.encode(new Publish("t", "x".getBytes(StandardCharsets.UTF_8), 1, false, false, 9, null), 5);
        Buffer in = Buffer.allocate(16);
        in.write(wire, 0, wire.length - 1);
        Codec.Decoder d = new Codec.Decoder(5, 1 << 20);
        assertNull(d.decode(in));
        assertEquals(wire.length - 1, in.readableBytes());
    }
}
