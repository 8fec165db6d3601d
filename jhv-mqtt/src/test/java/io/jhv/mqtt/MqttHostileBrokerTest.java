package io.jhv.mqtt;

import io.jhv.core.net.ReconnectPolicy;
import io.jhv.mqtt.internal.Packet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static io.jhv.mqtt.internal.Packet.*;
import static org.junit.jupiter.api.Assertions.*;

/**
 * The client against a broker played by the test: malformed and oversized packets, protocol
 * violations, a silent broker, flow control, QoS 2 duplicates, incoming topic aliases, AUTH. Each
 * bad input closes the connection with a reason, the client reconnects and the loop survives.
 */
@Timeout(30)
class MqttHostileBrokerTest {

    static MqttClient client(ScriptedBroker b, BlockingQueue<MqttException> lost) {
        return MqttClient.create(b.url()).reconnect(ReconnectPolicy.fixed(Duration.ofMillis(20)))
                .connectTimeout(Duration.ofSeconds(3)).onConnectionLost(lost::add);
    }

    /** A well-formed session on a second connection proves the client reconnected and its loop lives. */
    static void reconnectsAndWorks(ScriptedBroker b, MqttClient c) throws Exception {
        try (ScriptedBroker.Peer p2 = b.accept()) {
            p2.handshake(null);
            CompletableFuture<MqttAck> f = c.publish("after/reconnect", "ok".getBytes(), 1, false);
            Publish pub = p2.expect(Publish.class);
            assertEquals("after/reconnect", pub.topic());
            p2.send(new Ack(PUBACK, pub.packetId(), 0, null));
            f.get(5, TimeUnit.SECONDS);
            assertTrue(c.eventLoop().isRunning());
        }
    }

    void violationAfterConnect(int[] bytes, int expectedReason) throws Exception {
        BlockingQueue<MqttException> lost = new LinkedBlockingQueue<>();
        try (ScriptedBroker b = new ScriptedBroker(); MqttClient c = client(b, lost)) {
            CompletableFuture<MqttConnAck> connected = c.connect();
            try (ScriptedBroker.Peer p = b.accept()) {
                p.handshake(null);
                connected.get(5, TimeUnit.SECONDS);
                p.writeInts(bytes);
                Disconnect d = p.expect(Disconnect.class);
                assertEquals(expectedReason, d.reasonCode(), "DISCONNECT reason: " + d);
                assertNotNull(d.props().reasonString(), "with a reason string");
                assertTrue(p.awaitClose(5000), "the client closed the connection");
            }
            MqttException e = lost.poll(5, TimeUnit.SECONDS);
            assertNotNull(e);
            assertEquals(expectedReason, e.reasonCode(), e.getMessage());
            reconnectsAndWorks(b, c);
        }
    }

    @Test
    void malformedUtf8TopicClosesWith0x81AndReconnects() throws Exception {
        violationAfterConnect(new int[] {0x30, 0x05, 0x00, 0x02, 0xc3, 0x28, 0x00}, ReasonCode.MALFORMED_PACKET);
    }

    @Test
    void remainingLengthOfFiveBytesClosesWith0x81() throws Exception {
        violationAfterConnect(new int[] {0x30, 0xff, 0xff, 0xff, 0xff, 0x01}, ReasonCode.MALFORMED_PACKET);
    }

    @Test
    void oversizedPacketClosesWith0x95BeforeItsBodyArrives() throws Exception {
        // announces 2 MiB (the client's maximum is 1 MiB) and sends none of it
        violationAfterConnect(new int[] {0x30, 0x80, 0x80, 0x80, 0x01}, ReasonCode.PACKET_TOO_LARGE);
    }

    @Test
    void secondConnAckIsAProtocolError() throws Exception {
        violationAfterConnect(new int[] {0x20, 0x03, 0x00, 0x00, 0x00}, ReasonCode.PROTOCOL_ERROR);
    }

    @Test
    void unknownTopicAliasIsAProtocolError() throws Exception {
        // PUBLISH QoS 0, topic "", properties: topic alias 3 (never set)
        violationAfterConnect(new int[] {0x30, 0x06, 0x00, 0x00, 0x03, 0x23, 0x00, 0x03}, ReasonCode.PROTOCOL_ERROR);
    }

    @Test
    void topicAliasAboveTheMaximumIs0x94() throws Exception {
        // topic alias 17 > the default maximum of 16
        violationAfterConnect(new int[] {0x30, 0x07, 0x00, 0x01, 'a', 0x03, 0x23, 0x00, 0x11}, ReasonCode.TOPIC_ALIAS_INVALID);
    }

    @Test
    void malformedConnAckFailsTheAttemptAndTheNextOneSucceeds() throws Exception {
        BlockingQueue<MqttException> lost = new LinkedBlockingQueue<>();
        try (ScriptedBroker b = new ScriptedBroker(); MqttClient c = client(b, lost)) {
            CompletableFuture<MqttConnAck> connected = c.connect();
            try (ScriptedBroker.Peer p = b.accept()) {
                p.expect(Connect.class);
                p.writeInts(0x20, 0x03, 0x02, 0x00, 0x00); // reserved CONNACK flag
                assertTrue(p.awaitClose(5000));
            }
            assertFalse(connected.isDone());
            try (ScriptedBroker.Peer p = b.accept()) {
                p.handshake(null);
                assertFalse(connected.get(5, TimeUnit.SECONDS).sessionPresent());
                assertTrue(lost.isEmpty(), "a failed attempt is not a lost connection");
            }
        }
    }

    @Test
    void silentBrokerIsFoundDeadByKeepalive() throws Exception {
        BlockingQueue<MqttException> lost = new LinkedBlockingQueue<>();
        try (ScriptedBroker b = new ScriptedBroker(); MqttClient c = MqttClient.create(b.url()).keepAlive(Duration.ofSeconds(1))
                .reconnect(ReconnectPolicy.fixed(Duration.ofMillis(20))).onConnectionLost(lost::add)) {
            c.connect();
            long t0;
            try (ScriptedBroker.Peer p = b.accept()) {
                Connect con = p.handshake(null);
                assertEquals(1, con.keepAlive());
                t0 = System.nanoTime();
                assertEquals(PINGREQ, p.expect(Ping.class).type(), "a PINGREQ while idle");
                // never answered: more PINGREQs, then the DISCONNECT
                Packet next;
                while ((next = p.read(5000)) instanceof Ping ping) assertEquals(PINGREQ, ping.type());
                Disconnect d = assertInstanceOf(Disconnect.class, next);
                assertEquals(ReasonCode.KEEP_ALIVE_TIMEOUT, d.reasonCode());
            }
            long ms = (System.nanoTime() - t0) / 1_000_000;
            assertTrue(ms >= 1000 && ms < 4000, "dead after about 1.5 keepalives: " + ms + " ms");
            assertEquals(ReasonCode.KEEP_ALIVE_TIMEOUT, lost.poll(5, TimeUnit.SECONDS).reasonCode());
            reconnectsAndWorks(b, c);
        }
    }

    @Test
    void brokerDisconnectReasonIsSurfaced() throws Exception {
        BlockingQueue<MqttException> lost = new LinkedBlockingQueue<>();
        try (ScriptedBroker b = new ScriptedBroker(); MqttClient c = client(b, lost)) {
            c.connect();
            try (ScriptedBroker.Peer p = b.accept()) {
                p.handshake(null);
                p.send(new Disconnect(DISCONNECT, ReasonCode.SERVER_SHUTTING_DOWN, new MqttProperties().reasonString("maintenance")));
                MqttException e = lost.poll(5, TimeUnit.SECONDS);
                assertNotNull(e);
                assertEquals(ReasonCode.SERVER_SHUTTING_DOWN, e.reasonCode());
                assertEquals("maintenance", e.reasonString());
            }
            reconnectsAndWorks(b, c);
        }
    }

    @Test
    void receiveMaximumOfTheBrokerLimitsPublishesInFlight() throws Exception {
        try (ScriptedBroker b = new ScriptedBroker(); MqttClient c = client(b, new LinkedBlockingQueue<>())) {
            c.connect();
            try (ScriptedBroker.Peer p = b.accept()) {
                p.handshake(new MqttProperties().receiveMaximum(1));
                CompletableFuture<MqttAck> f1 = c.publish("flow", "1".getBytes(), 1, false);
                CompletableFuture<MqttAck> f2 = c.publish("flow", "2".getBytes(), 2, false);
                Publish p1 = p.expect(Publish.class);
                assertNull(p.read(300), "the second publish waits for the first one's ack");
                assertEquals(1, c.queuedMessages());
                p.send(new Ack(PUBACK, p1.packetId(), 0, null));
                f1.get(5, TimeUnit.SECONDS);
                Publish p2 = p.expect(Publish.class);
                assertEquals("2", new String(p2.payload(), StandardCharsets.UTF_8));
                assertNotEquals(0, p2.packetId());
                p.send(new Ack(PUBREC, p2.packetId(), 0, null));
                assertEquals(p2.packetId(), p.expect(Ack.class).packetId()); // PUBREL
                p.send(new Ack(PUBCOMP, p2.packetId(), 0, null));
                f2.get(5, TimeUnit.SECONDS);
            }
        }
    }

    @Test
    void qos2DuplicateIsDeliveredOnce() throws Exception {
        BlockingQueue<MqttMessage> got = new LinkedBlockingQueue<>();
        try (ScriptedBroker b = new ScriptedBroker(); MqttClient c = MqttClient.create(b.url()).onMessage(got::add)) {
            c.connect();
            try (ScriptedBroker.Peer p = b.accept()) {
                p.handshake(null);
                p.send(new Publish("q2", "a".getBytes(), 2, false, false, 7, null));
                assertEquals(new Ack(PUBREC, 7, 0, null), p.expect(Ack.class));
                p.send(new Publish("q2", "a".getBytes(), 2, false, true, 7, null)); // the PUBREC was "lost": DUP
                assertEquals(new Ack(PUBREC, 7, 0, null), p.expect(Ack.class));
                p.send(new Ack(PUBREL, 7, 0, null));
                assertEquals(new Ack(PUBCOMP, 7, 0, null), p.expect(Ack.class));
                p.send(new Publish("q2", "b".getBytes(), 2, false, false, 7, null)); // the id is free again
                assertEquals(new Ack(PUBREC, 7, 0, null), p.expect(Ack.class));
                assertEquals("a", got.poll(5, TimeUnit.SECONDS).payloadAsString());
                assertEquals("b", got.poll(5, TimeUnit.SECONDS).payloadAsString());
                assertNull(got.poll(200, TimeUnit.MILLISECONDS), "the duplicate was not delivered");
            }
        }
    }

    @Test
    void incomingTopicAliasIsResolved() throws Exception {
        BlockingQueue<MqttMessage> got = new LinkedBlockingQueue<>();
        try (ScriptedBroker b = new ScriptedBroker(); MqttClient c = MqttClient.create(b.url()).onMessage(got::add)) {
            c.connect();
            try (ScriptedBroker.Peer p = b.accept()) {
                Connect con = p.handshake(null);
                assertEquals(16, con.props().topicAliasMaximum());
                p.send(new Publish("long/topic/name", "1".getBytes(), 0, false, false, 0, new MqttProperties().topicAlias(3)));
                p.send(new Publish("", "2".getBytes(), 0, false, false, 0, new MqttProperties().topicAlias(3)));
                assertEquals("long/topic/name", got.poll(5, TimeUnit.SECONDS).topic());
                MqttMessage second = got.poll(5, TimeUnit.SECONDS);
                assertEquals("long/topic/name", second.topic());
                assertEquals("2", second.payloadAsString());
            }
        }
    }

    @Test
    void manualAckHoldsThePubackUntilTheApplicationAcks() throws Exception {
        BlockingQueue<MqttMessage> got = new LinkedBlockingQueue<>();
        try (ScriptedBroker b = new ScriptedBroker(); MqttClient c = MqttClient.create(b.url()).manualAck(true).receiveMaximum(2).onMessage(got::add)) {
            c.connect();
            try (ScriptedBroker.Peer p = b.accept()) {
                Connect con = p.handshake(null);
                assertEquals(2, con.props().receiveMaximum());
                p.send(new Publish("m", "1".getBytes(), 1, false, false, 1, null));
                p.send(new Publish("m", "2".getBytes(), 2, false, false, 2, null));
                MqttMessage m1 = got.poll(5, TimeUnit.SECONDS), m2 = got.poll(5, TimeUnit.SECONDS);
                assertNull(p.read(300), "no PUBACK/PUBREC before ack()");
                m2.ack();
                assertEquals(new Ack(PUBREC, 2, 0, null), p.expect(Ack.class));
                m1.ack();
                m1.ack(); // idempotent
                assertEquals(new Ack(PUBACK, 1, 0, null), p.expect(Ack.class));
                assertNull(p.read(200), "one PUBACK only");
            }
        }
    }

    @Test
    void brokerExceedingTheReceiveMaximumIsDisconnectedWith0x93() throws Exception {
        BlockingQueue<MqttException> lost = new LinkedBlockingQueue<>();
        try (ScriptedBroker b = new ScriptedBroker(); MqttClient c = client(b, lost).manualAck(true).receiveMaximum(1)) {
            c.connect();
            try (ScriptedBroker.Peer p = b.accept()) {
                p.handshake(null);
                p.send(new Publish("m", "1".getBytes(), 1, false, false, 1, null));
                p.send(new Publish("m", "2".getBytes(), 1, false, false, 2, null));
                assertEquals(ReasonCode.RECEIVE_MAXIMUM_EXCEEDED, p.expect(Disconnect.class).reasonCode());
            }
            assertEquals(ReasonCode.RECEIVE_MAXIMUM_EXCEEDED, lost.poll(5, TimeUnit.SECONDS).reasonCode());
            reconnectsAndWorks(b, c);
        }
    }

    @Test
    void pauseStopsDeliveryUntilResume() throws Exception {
        BlockingQueue<MqttMessage> got = new LinkedBlockingQueue<>();
        try (ScriptedBroker b = new ScriptedBroker(); MqttClient c = MqttClient.create(b.url()).onMessage(got::add)) {
            CompletableFuture<MqttConnAck> f = c.connect();
            try (ScriptedBroker.Peer p = b.accept()) {
                p.handshake(null);
                f.get(5, TimeUnit.SECONDS);
                c.pause();
                c.subscribe("x", 0, m -> { }); // a round trip through the loop: the pause has happened
                p.expect(Subscribe.class);
                for (int i = 0; i < 3; i++) p.send(new Publish("p", ("" + i).getBytes(), 0, false, false, 0, null));
                assertNull(got.poll(300, TimeUnit.MILLISECONDS), "nothing delivered while paused");
                c.resume();
                for (int i = 0; i < 3; i++) assertEquals("" + i, got.poll(5, TimeUnit.SECONDS).payloadAsString());
            }
        }
    }

    @Test
    void enhancedAuthenticationAnswersTheChallenge() throws Exception {
        List<String> challenges = new java.util.concurrent.CopyOnWriteArrayList<>();
        MqttAuthenticator auth = new MqttAuthenticator() {
            public String method() { return "TEST-1"; }
            public byte[] initialData() { return "hello".getBytes(); }
            public byte[] onChallenge(MqttProperties ch) {
                challenges.add(new String(ch.authenticationData()));
                return "response".getBytes();
            }
        };
        try (ScriptedBroker b = new ScriptedBroker(); MqttClient c = MqttClient.create(b.url()).authenticator(auth)) {
            CompletableFuture<MqttConnAck> f = c.connect();
            try (ScriptedBroker.Peer p = b.accept()) {
                Connect con = p.expect(Connect.class);
                assertEquals("TEST-1", con.props().authenticationMethod());
                assertArrayEquals("hello".getBytes(), con.props().authenticationData());
                p.send(new Disconnect(AUTH, ReasonCode.CONTINUE_AUTHENTICATION,
                        new MqttProperties().authenticationMethod("TEST-1").authenticationData("challenge".getBytes())));
                Disconnect answer = p.expect(Disconnect.class);
                assertEquals(AUTH, answer.type());
                assertArrayEquals("response".getBytes(), answer.props().authenticationData());
                p.send(new ConnAck(false, 0, new MqttProperties().authenticationMethod("TEST-1")));
                f.get(5, TimeUnit.SECONDS);
                assertEquals(List.of("challenge"), challenges);
            }
        }
    }

    /** An authenticator that records the broker's challenges and answers each with "response-N". */
    static MqttAuthenticator recordingAuth(List<String> challenges) {
        return new MqttAuthenticator() {
            public String method() { return "TEST-1"; }
            public byte[] initialData() { return "hello".getBytes(); }
            public byte[] onChallenge(MqttProperties ch) {
                challenges.add(new String(ch.authenticationData()));
                return ("response-" + challenges.size()).getBytes();
            }
        };
    }

    @Test
    void reauthenticationAnswersTheChallengeAndCompletesOnSuccessWhilePublishingGoesOn() throws Exception {
        List<String> challenges = new java.util.concurrent.CopyOnWriteArrayList<>();
        try (ScriptedBroker b = new ScriptedBroker(); MqttClient c = MqttClient.create(b.url()).authenticator(recordingAuth(challenges))) {
            CompletableFuture<MqttConnAck> f = c.connect();
            try (ScriptedBroker.Peer p = b.accept()) {
                p.handshake(new MqttProperties().authenticationMethod("TEST-1"));
                f.get(5, TimeUnit.SECONDS);
                CompletableFuture<MqttProperties> ra = c.reauthenticate();
                Disconnect start = p.expect(Disconnect.class);
                assertEquals(AUTH, start.type());
                assertEquals(ReasonCode.REAUTHENTICATE, start.reasonCode());
                assertEquals("TEST-1", start.props().authenticationMethod());
                assertArrayEquals("hello".getBytes(), start.props().authenticationData());
                assertThrows(java.util.concurrent.ExecutionException.class, () -> c.reauthenticate().get(5, TimeUnit.SECONDS),
                        "one re-authentication at a time");

                p.send(new Disconnect(AUTH, ReasonCode.CONTINUE_AUTHENTICATION,
                        new MqttProperties().authenticationMethod("TEST-1").authenticationData("challenge".getBytes())));
                Disconnect answer = p.expect(Disconnect.class);
                assertEquals(AUTH, answer.type());
                assertEquals(ReasonCode.CONTINUE_AUTHENTICATION, answer.reasonCode());
                assertArrayEquals("response-1".getBytes(), answer.props().authenticationData());
                assertFalse(ra.isDone(), "not done before the broker's success");

                c.publishAndForget("during", "x".getBytes(), 0, false); // the connection stays in use
                assertEquals("during", p.expect(Publish.class).topic());

                p.send(new Disconnect(AUTH, ReasonCode.SUCCESS, new MqttProperties().authenticationMethod("TEST-1").reasonString("welcome back")));
                assertEquals("welcome back", ra.get(5, TimeUnit.SECONDS).reasonString());
                assertEquals(List.of("challenge"), challenges);

                // a second one after the first finished is fine; the broker refuses it by disconnecting
                CompletableFuture<MqttProperties> again = c.reauthenticate();
                assertEquals(ReasonCode.REAUTHENTICATE, p.expect(Disconnect.class).reasonCode());
                p.send(new Disconnect(DISCONNECT, ReasonCode.NOT_AUTHORIZED, new MqttProperties()));
                java.util.concurrent.ExecutionException ee = assertThrows(java.util.concurrent.ExecutionException.class, () -> again.get(5, TimeUnit.SECONDS));
                MqttException me = assertInstanceOf(MqttException.class, ee.getCause());
                assertEquals(ReasonCode.NOT_AUTHORIZED, me.reasonCode(), me.getMessage());
            }
        }
    }

    @Test
    void reauthenticationIsRefusedWhereItCannotWork() throws Exception {
        // no authenticator; MQTT 3.1.1; not connected yet: each fails at once with a reason, nothing is sent
        try (ScriptedBroker b = new ScriptedBroker();
             MqttClient noAuth = MqttClient.create(b.url());
             MqttClient v311 = MqttClient.create(b.url()).version(MqttVersion.V3_1_1).authenticator(recordingAuth(new java.util.ArrayList<>()))) {
            CompletableFuture<MqttConnAck> f = noAuth.connect();
            try (ScriptedBroker.Peer p = b.accept()) {
                p.handshake(null);
                f.get(5, TimeUnit.SECONDS);
                assertTrue(failure(noAuth.reauthenticate()).contains("authenticator"));
                CompletableFuture<MqttConnAck> f2 = v311.connect();
                try (ScriptedBroker.Peer p2 = b.accept()) {
                    p2.handshake(null);
                    f2.get(5, TimeUnit.SECONDS);
                    assertTrue(failure(v311.reauthenticate()).contains("MQTT 5"));
                    assertNull(p.read(200), "nothing sent");
                    assertNull(p2.read(200), "nothing sent");
                }
            }
        }
        try (MqttClient c = MqttClient.create("mqtt://127.0.0.1:1").authenticator(recordingAuth(new java.util.ArrayList<>()))) {
            assertTrue(failure(c.reauthenticate()).contains("connect() first"));
        }
    }

    /** The message of the future's failure (it must fail within 5 s). */
    static String failure(CompletableFuture<?> f) {
        java.util.concurrent.ExecutionException e = assertThrows(java.util.concurrent.ExecutionException.class, () -> f.get(5, TimeUnit.SECONDS));
        return String.valueOf(e.getCause().getMessage());
    }

    @Test
    void busyPublisherStillPingsAQuietBroker() throws Exception {
        BlockingQueue<MqttException> lost = new LinkedBlockingQueue<>();
        try (ScriptedBroker b = new ScriptedBroker(); MqttClient c = MqttClient.create(b.url()).keepAlive(Duration.ofSeconds(1)).onConnectionLost(lost::add)) {
            c.connect();
            try (ScriptedBroker.Peer p = b.accept()) {
                p.handshake(null);
                int pings = 0, publishes = 0;
                long end = System.currentTimeMillis() + 2500; // 2.5 keepalives: dead at 1.5 without pings
                while (System.currentTimeMillis() < end) {
                    c.publish("busy", new byte[] {1}, 0, false);
                    Packet q;
                    while ((q = p.read(50)) != null) {
                        if (q instanceof Ping) {
                            pings++;
                            p.send(Ping.RESP);
                        } else if (q instanceof Publish) {
                            publishes++;
                        } else {
                            fail("unexpected " + q);
                        }
                    }
                }
                assertTrue(pings >= 2, "PINGREQs while publishing: " + pings);
                assertTrue(publishes > 10);
                assertTrue(c.isConnected());
                assertNull(lost.poll(), "never declared dead");
            }
        }
    }

    @Test
    void publishLargerThanTheBrokersMaximumFailsAndTheConnectionStays() throws Exception {
        try (ScriptedBroker b = new ScriptedBroker(); MqttClient c = MqttClient.create(b.url())) {
            c.connect();
            try (ScriptedBroker.Peer p = b.accept()) {
                p.handshake(new MqttProperties().maximumPacketSize(100L));
                var e = assertThrows(java.util.concurrent.ExecutionException.class, () -> c.publish("big", new byte[200], 1, false).get(5, TimeUnit.SECONDS));
                assertEquals(ReasonCode.PACKET_TOO_LARGE, ((MqttException) e.getCause()).reasonCode());
                CompletableFuture<MqttAck> small = c.publish("small", new byte[10], 1, false);
                Publish pub = p.expect(Publish.class);
                assertEquals("small", pub.topic());
                p.send(new Ack(PUBACK, pub.packetId(), 0, null));
                small.get(5, TimeUnit.SECONDS);
                assertTrue(c.isConnected());
            }
        }
    }

    @Test
    void aPersistentStoreResendsAnEarlierRunsMessages() throws Exception {
        // a store that outlives the client, as a file or a database would
        java.util.Map<Integer, InFlightStore.Entry> disk = new java.util.concurrent.ConcurrentHashMap<>();
        InFlightStore store = new InFlightStore() {
            public void put(Entry e) { disk.put(e.packetId(), e); }
            public void remove(int id) { disk.remove(id); }
            public java.util.Collection<Entry> entries() { return new java.util.TreeMap<>(disk).values(); }
        };
        try (ScriptedBroker b = new ScriptedBroker()) {
            try (MqttClient first = MqttClient.create(b.url()).clientId("persist").inFlightStore(store)) {
                first.connect();
                try (ScriptedBroker.Peer p = b.accept()) {
                    p.handshake(null);
                    first.publish("q1", "one".getBytes(), 1, false);
                    first.publish("q2", "two".getBytes(), 2, false);
                    p.expect(Publish.class);
                    Publish two = p.expect(Publish.class);
                    p.send(new Ack(PUBREC, two.packetId(), 0, null));
                    p.expect(Ack.class); // PUBREL, then the "process" stops
                }
            }
            assertEquals(2, disk.size());
            try (MqttClient second = MqttClient.create(b.url()).clientId("persist").cleanStart(false).inFlightStore(store)) {
                second.connect();
                try (ScriptedBroker.Peer p = b.accept()) {
                    Connect con = p.expect(Connect.class);
                    assertFalse(con.cleanStart());
                    p.send(new ConnAck(true, 0, null));
                    Publish again = p.expect(Publish.class);
                    assertTrue(again.dup(), "resent with DUP");
                    assertEquals("q1", again.topic());
                    Ack rel = p.expect(Ack.class);
                    assertEquals(PUBREL, rel.type(), "the QoS 2 exchange goes on from PUBREL");
                    p.send(new Ack(PUBACK, again.packetId(), 0, null));
                    p.send(new Ack(PUBCOMP, rel.packetId(), 0, null));
                    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
                    while (!disk.isEmpty() && System.nanoTime() < deadline) Thread.sleep(10);
                    assertTrue(disk.isEmpty(), "both exchanges completed: " + disk);
                    // new ids do not collide with the restored ones
                    CompletableFuture<MqttAck> f = second.publish("q3", "three".getBytes(), 1, false);
                    Publish three = p.expect(Publish.class);
                    p.send(new Ack(PUBACK, three.packetId(), 0, null));
                    f.get(5, TimeUnit.SECONDS);
                }
            }
        }
    }

    @Test
    void fallsBackTo311WhenTheBrokerRefusesVersion5() throws Exception {
        try (ScriptedBroker b = new ScriptedBroker(); MqttClient c = MqttClient.create(b.url()).versionFallback(true)) {
            CompletableFuture<MqttConnAck> f = c.connect();
            try (ScriptedBroker.Peer p = b.accept()) {
                assertEquals(5, p.expect(Connect.class).protocolLevel());
                p.writeInts(0x20, 0x02, 0x00, 0x01); // a 3.1.1 broker: "unacceptable protocol version"
                assertTrue(p.awaitClose(5000));
            }
            try (ScriptedBroker.Peer p = b.accept()) {
                assertEquals(4, p.expect(Connect.class).protocolLevel());
                p.writeInts(0x20, 0x02, 0x00, 0x00);
                assertEquals(0, f.get(5, TimeUnit.SECONDS).reasonCode());
                assertEquals(MqttVersion.V3_1_1, c.protocolVersion());
            }
        }
    }

    @Test
    void withoutFallbackARefusedVersionFailsTheConnect() throws Exception {
        try (ScriptedBroker b = new ScriptedBroker(); MqttClient c = MqttClient.create(b.url()).reconnect(ReconnectPolicy.fixed(Duration.ofMillis(10)))) {
            CompletableFuture<MqttConnAck> f = c.connect();
            try (ScriptedBroker.Peer p = b.accept()) {
                p.expect(Connect.class);
                p.send(new ConnAck(false, ReasonCode.UNSUPPORTED_PROTOCOL_VERSION, null));
                var e = assertThrows(java.util.concurrent.ExecutionException.class, () -> f.get(5, TimeUnit.SECONDS));
                assertEquals(ReasonCode.UNSUPPORTED_PROTOCOL_VERSION, ((MqttException) e.getCause()).reasonCode());
            }
        }
    }

    @Test
    void manualAcksGoOutInTheOrderTheMessagesCame() throws Exception {
        BlockingQueue<MqttMessage> got = new LinkedBlockingQueue<>();
        try (ScriptedBroker b = new ScriptedBroker(); MqttClient c = MqttClient.create(b.url()).manualAck(true).onMessage(got::add)) {
            c.connect();
            try (ScriptedBroker.Peer p = b.accept()) {
                p.handshake(null);
                for (int id = 1; id <= 3; id++) p.send(new Publish("o", ("" + id).getBytes(), 1, false, false, id, null));
                MqttMessage m1 = got.poll(5, TimeUnit.SECONDS), m2 = got.poll(5, TimeUnit.SECONDS), m3 = got.poll(5, TimeUnit.SECONDS);
                m3.ack();
                m2.ack();
                assertNull(p.read(300), "PUBACK 2 and 3 wait for PUBACK 1");
                m1.ack();
                for (int id = 1; id <= 3; id++) assertEquals(new Ack(PUBACK, id, 0, null), p.expect(Ack.class));
            }
        }
    }

    @Test
    void packetIdsOfRestoredInFlightMessagesAreNotReissued() throws Exception {
        InFlightStore store = InFlightStore.inMemory();
        store.put(new InFlightStore.Entry(1, MqttMessage.of("old", "x").qos(1), false));
        store.put(new InFlightStore.Entry(2, MqttMessage.of("old2", "y").qos(2), true));
        try (ScriptedBroker b = new ScriptedBroker(); MqttClient c = MqttClient.create(b.url()).inFlightStore(store)) {
            c.connect();
            try (ScriptedBroker.Peer p = b.accept()) {
                p.handshake(null);
                Publish resent = p.expect(Publish.class);
                assertEquals(1, resent.packetId());
                assertTrue(resent.dup());
                assertEquals(new Ack(PUBREL, 2, 0, null), p.expect(Ack.class));
                // neither is acknowledged: new publishes must use other ids
                java.util.Set<Integer> ids = new java.util.HashSet<>();
                for (int i = 0; i < 5; i++) {
                    c.publish("new", new byte[] {(byte) i}, 1, false);
                    ids.add(p.expect(Publish.class).packetId());
                }
                assertEquals(5, ids.size());
                assertFalse(ids.contains(1) || ids.contains(2), "ids in flight are not reused: " + ids);
                assertEquals(7, c.inFlightMessages());
            }
        }
    }

    @Test
    void futuresCompleteOnTheClientsLoop() throws Exception {
        java.util.List<String> where = new java.util.concurrent.CopyOnWriteArrayList<>();
        try (ScriptedBroker b = new ScriptedBroker(); MqttClient c = MqttClient.create(b.url())) {
            // each callback is attached before the test lets the broker answer
            CompletableFuture<Void> connected = c.connect().thenRun(() -> where.add("connect " + c.eventLoop().inLoop()));
            try (ScriptedBroker.Peer p = b.accept()) {
                p.handshake(null);
                connected.get(5, TimeUnit.SECONDS);
                CompletableFuture<Void> sub = c.subscribe("t", 1, m -> { }).thenRun(() -> where.add("subscribe " + c.eventLoop().inLoop()));
                p.send(new SubAck(SUBACK, p.expect(Subscribe.class).packetId(), new int[] {1}, null));
                sub.get(5, TimeUnit.SECONDS);
                CompletableFuture<Void> pub = c.publish("t", "x".getBytes(), 1, false).thenRun(() -> where.add("publish " + c.eventLoop().inLoop()));
                p.send(new Ack(PUBACK, p.expect(Publish.class).packetId(), 0, null));
                pub.get(5, TimeUnit.SECONDS);
                CompletableFuture<Void> unsub = c.unsubscribe("t").thenRun(() -> where.add("unsubscribe " + c.eventLoop().inLoop()));
                p.send(new SubAck(UNSUBACK, p.expect(Unsubscribe.class).packetId(), new int[] {0}, null));
                unsub.get(5, TimeUnit.SECONDS);
            }
        }
        assertEquals(List.of("connect true", "subscribe true", "publish true", "unsubscribe true"), where);
    }

    @Test
    void operationsAfterCloseFailTheirFutures() throws Exception {
        try (ScriptedBroker b = new ScriptedBroker()) {
            MqttClient c = MqttClient.create(b.url());
            CompletableFuture<MqttConnAck> f = c.connect();
            try (ScriptedBroker.Peer p = b.accept()) {
                p.handshake(null);
                f.get(5, TimeUnit.SECONDS);
                c.close();
                assertEquals(DISCONNECT, p.expect(Disconnect.class).type());
            }
            assertTrue(c.eventLoop().isTerminated(), "its own loop stopped");
            for (CompletableFuture<MqttAck> op : List.of(c.publish("t", new byte[0], 1, false), c.subscribe("t", 1, m -> { }), c.unsubscribe("t"))) {
                var e = assertThrows(java.util.concurrent.ExecutionException.class, () -> op.get(5, TimeUnit.SECONDS));
                assertTrue(e.getCause().getMessage().contains("closed"), e.getCause().getMessage());
            }
            c.pause();
            c.close(); // idempotent
        }
    }

    @Test
    void aThrowingHandlerDoesNotStopTheClient() throws Exception {
        BlockingQueue<String> got = new LinkedBlockingQueue<>();
        try (ScriptedBroker b = new ScriptedBroker(); MqttClient c = MqttClient.create(b.url())) {
            CompletableFuture<MqttConnAck> f = c.connect();
            try (ScriptedBroker.Peer p = b.accept()) {
                p.handshake(null);
                f.get(5, TimeUnit.SECONDS);
                c.subscribe("h", 1, m -> {
                    got.add(m.payloadAsString());
                    if (m.payloadAsString().equals("boom")) throw new IllegalStateException("handler bug");
                });
                p.send(new SubAck(SUBACK, p.expect(Subscribe.class).packetId(), new int[] {1}, null));
                p.send(new Publish("h", "boom".getBytes(), 1, false, false, 1, null));
                p.send(new Publish("h", "fine".getBytes(), 1, false, false, 2, null));
                assertEquals(new Ack(PUBACK, 1, 0, null), p.expect(Ack.class));
                assertEquals(new Ack(PUBACK, 2, 0, null), p.expect(Ack.class));
                assertEquals(List.of("boom", "fine"), List.of(got.poll(5, TimeUnit.SECONDS), got.poll(5, TimeUnit.SECONDS)));
                assertTrue(c.isConnected());
            }
        }
    }

    @Test
    void qos2ReceiveStateSurvivesARestartThroughTheStore() throws Exception {
        InFlightStore store = InFlightStore.inMemory(); // shared by two client instances, as a file would be
        BlockingQueue<MqttMessage> got = new LinkedBlockingQueue<>();
        try (ScriptedBroker b = new ScriptedBroker()) {
            try (MqttClient first = MqttClient.create(b.url()).clientId("q2").inFlightStore(store).onMessage(got::add)) {
                first.connect();
                try (ScriptedBroker.Peer p = b.accept()) {
                    p.handshake(null);
                    p.send(new Publish("q2", "once".getBytes(), 2, false, false, 9, null));
                    assertEquals(new Ack(PUBREC, 9, 0, null), p.expect(Ack.class));
                } // gone before PUBREL
            }
            assertEquals("once", got.poll(5, TimeUnit.SECONDS).payloadAsString());
            assertEquals(List.of(9), List.copyOf(store.receivedQos2()));
            try (MqttClient second = MqttClient.create(b.url()).clientId("q2").cleanStart(false).inFlightStore(store).onMessage(got::add)) {
                second.connect();
                try (ScriptedBroker.Peer p = b.accept()) {
                    p.expect(Connect.class);
                    p.send(new ConnAck(true, 0, null));
                    p.send(new Publish("q2", "once".getBytes(), 2, false, true, 9, null)); // the broker resends
                    assertEquals(new Ack(PUBREC, 9, 0, null), p.expect(Ack.class));
                    p.send(new Ack(PUBREL, 9, 0, null));
                    assertEquals(new Ack(PUBCOMP, 9, 0, null), p.expect(Ack.class));
                    assertNull(got.poll(200, TimeUnit.MILLISECONDS), "not delivered twice");
                    assertTrue(store.receivedQos2().isEmpty());
                }
            }
        }
    }

    @Test
    void messageExpiryCountsWhileQueued() throws Exception {
        try (ScriptedBroker b = new ScriptedBroker(); MqttClient c = MqttClient.create(b.url())) {
            CompletableFuture<MqttConnAck> connected = c.connect(); // the kernel accepts; nobody answers yet
            long t0 = System.nanoTime();
            CompletableFuture<MqttAck> shortLived = c.publish(MqttMessage.of("e", "1").qos(1).properties(new MqttProperties().messageExpiryInterval(1L)));
            CompletableFuture<MqttAck> longLived = c.publish(MqttMessage.of("e", "2").qos(1).properties(new MqttProperties().messageExpiryInterval(60L)));
            while (System.nanoTime() - t0 < 2_100_000_000L) Thread.sleep(50); // the subject of the test: time in the queue
            try (ScriptedBroker.Peer p = b.accept()) {
                p.handshake(null);
                connected.get(5, TimeUnit.SECONDS);
                Publish pub = p.expect(Publish.class);
                assertEquals("2", new String(pub.payload()), "the expired one was not sent");
                long left = pub.props().messageExpiryInterval();
                assertTrue(left <= 58 && left >= 50, "the interval counts the time queued: " + left);
                p.send(new Ack(PUBACK, pub.packetId(), 0, null));
                longLived.get(5, TimeUnit.SECONDS);
                var e = assertThrows(java.util.concurrent.ExecutionException.class, () -> shortLived.get(5, TimeUnit.SECONDS));
                assertTrue(e.getCause().getMessage().contains("expired"), e.getCause().getMessage());
            }
        }
    }

    @Test
    void closeFromAHandlerDoesNotBlockTheLoop() throws Exception {
        try (ScriptedBroker b = new ScriptedBroker()) {
            java.util.concurrent.atomic.AtomicReference<MqttClient> ref = new java.util.concurrent.atomic.AtomicReference<>();
            java.util.concurrent.CountDownLatch closed = new java.util.concurrent.CountDownLatch(1);
            MqttClient c = MqttClient.create(b.url()).onMessage(m -> {
                long t0 = System.nanoTime();
                ref.get().close();
                if (System.nanoTime() - t0 < 1_000_000_000L) closed.countDown();
            });
            ref.set(c);
            c.connect();
            try (ScriptedBroker.Peer p = b.accept()) {
                p.handshake(null);
                p.send(new Publish("bye", new byte[0], 0, false, false, 0, null));
                assertTrue(closed.await(5, TimeUnit.SECONDS), "close() returned at once on the loop");
                assertEquals(DISCONNECT, p.expect(Disconnect.class).type());
            }
            assertTrue(c.eventLoop().awaitTermination(Duration.ofSeconds(5)), "its own loop stopped");
        }
    }

    @Test
    void aBrokerThatStopsReadingFillsTheBoundedSendQueueNotMemory() throws Exception {
        try (ScriptedBroker b = new ScriptedBroker(); MqttClient c = MqttClient.create(b.url()).sendQueue(20, QueueFullPolicy.FAIL)) {
            CompletableFuture<MqttConnAck> f = c.connect();
            try (ScriptedBroker.Peer p = b.accept()) {
                p.handshake(null);
                f.get(5, TimeUnit.SECONDS);
                p.socket.setReceiveBufferSize(64 * 1024);
                // the broker reads nothing now: kernel buffers fill, then the connection's queue (1 MiB),
                // then the send queue (20 messages), then publishes fail
                byte[] payload = new byte[64 * 1024];
                int sent = 0;
                Throwable full = null;
                for (int i = 0; i < 4000 && full == null; i++) {
                    CompletableFuture<MqttAck> pub = c.publish("flood", payload, 0, false);
                    try {
                        pub.get(100, TimeUnit.MILLISECONDS); // written, or (timeout) queued
                        sent++;
                    } catch (java.util.concurrent.ExecutionException e) {
                        full = e.getCause();
                    } catch (java.util.concurrent.TimeoutException queued) {
                        // waits in the send queue: fine, go on
                    }
                }
                assertNotNull(full, "the send queue filled up after " + sent + " messages");
                assertTrue(full.getMessage().contains("send queue full"), full.getMessage());
                assertEquals(20, c.queuedMessages());
                assertTrue(sent < 400, "bounded: " + sent + " x 64 KiB went to the connection, not 4000");
                // the broker reads again: everything queued goes out
                Thread drainer = new Thread(() -> {
                    try {
                        byte[] buf = new byte[1 << 16];
                        java.io.InputStream in = p.socket.getInputStream();
                        while (in.read(buf) > 0) { }
                    } catch (java.io.IOException ignored) {
                        // closed
                    }
                });
                drainer.setDaemon(true);
                drainer.start();
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                while (c.queuedMessages() > 0 && System.nanoTime() < deadline) Thread.sleep(10);
                assertEquals(0, c.queuedMessages(), "the queue drained once the broker read again");
                c.publish("flood", new byte[1], 0, false).get(5, TimeUnit.SECONDS);
            }
        }
    }

    @Test
    void urlsAreParsed() {
        for (String ok : new String[] {"mqtt://h", "tcp://h:1", "mqtts://h", "ssl://h:8883", "ws://h/mqtt", "wss://h:443/x", "mqtt://[::1]:1883"}) {
            assertNotNull(MqttClient.create(ok), ok);
        }
        assertThrows(IllegalArgumentException.class, () -> MqttClient.create("http://x"));
        assertThrows(IllegalArgumentException.class, () -> MqttClient.create("mqtt:///nohost"));
    }
}
