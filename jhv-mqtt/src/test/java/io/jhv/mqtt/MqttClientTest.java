package io.jhv.mqtt;

import io.jhv.core.net.ReconnectPolicy;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/** The client against a real mosquitto on loopback: QoS both ways, retained, will, credentials, v5 properties and reason codes, aliases, shared subscriptions. */
@Timeout(30)
class MqttClientTest {
    static Mosquitto broker;

    @BeforeAll
    static void startBroker() throws Exception {
        broker = Mosquitto.create().user("alice", "secret").option("max_keepalive 30").start();
    }

    @AfterAll
    static void stopBroker() throws Exception {
        if (broker != null) broker.close();
    }

    static MqttClient client(MqttVersion v) {
        return MqttClient.create(broker.url()).version(v).connectTimeout(Duration.ofSeconds(5));
    }

    static MqttMessage take(BlockingQueue<MqttMessage> q) throws InterruptedException {
        MqttMessage m = q.poll(5, TimeUnit.SECONDS);
        assertNotNull(m, "no message within 5 s");
        return m;
    }

    static String unique(String prefix) { return prefix + "/" + System.nanoTime(); }

    @ParameterizedTest
    @EnumSource(MqttVersion.class)
    void everyQosBothWays(MqttVersion v) throws Exception {
        String base = unique("qos");
        try (MqttClient sub = client(v); MqttClient pub = client(v)) {
            sub.connect().get(5, TimeUnit.SECONDS);
            pub.connect().get(5, TimeUnit.SECONDS);
            for (int subQos = 0; subQos <= 2; subQos++) {
                BlockingQueue<MqttMessage> got = new LinkedBlockingQueue<>();
                String filter = base + "/s" + subQos + "/+";
                MqttAck ack = sub.subscribe(filter, subQos, got::add).get(5, TimeUnit.SECONDS);
                assertEquals(List.of(subQos), ack.reasonCodes(), "granted QoS");
                for (int pubQos = 0; pubQos <= 2; pubQos++) {
                    String topic = base + "/s" + subQos + "/p" + pubQos;
                    MqttAck pa = pub.publish(topic, ("m" + pubQos).getBytes(), pubQos, false).get(5, TimeUnit.SECONDS);
                    assertFalse(ReasonCode.isError(pa.reasonCode()));
                    MqttMessage m = take(got);
                    assertEquals(topic, m.topic());
                    assertEquals("m" + pubQos, m.payloadAsString());
                    assertEquals(Math.min(subQos, pubQos), m.qos(), "delivered at the lower QoS");
                }
            }
            assertEquals(0, pub.inFlightMessages());
        }
    }

    @ParameterizedTest
    @EnumSource(MqttVersion.class)
    void retainedMessageReachesALaterSubscriber(MqttVersion v) throws Exception {
        String topic = unique("retained");
        try (MqttClient pub = client(v)) {
            pub.connect().get(5, TimeUnit.SECONDS);
            pub.publish(MqttMessage.of(topic, "kept").qos(1).retain(true)).get(5, TimeUnit.SECONDS);
        }
        try (MqttClient sub = client(v)) {
            sub.connect().get(5, TimeUnit.SECONDS);
            BlockingQueue<MqttMessage> got = new LinkedBlockingQueue<>();
            sub.subscribe(topic, 1, got::add).get(5, TimeUnit.SECONDS);
            MqttMessage m = take(got);
            assertEquals("kept", m.payloadAsString());
            assertTrue(m.isRetain());
            // clear it: an empty retained message
            sub.publish(MqttMessage.of(topic, new byte[0]).qos(1).retain(true)).get(5, TimeUnit.SECONDS);
        }
    }

    @ParameterizedTest
    @EnumSource(MqttVersion.class)
    void wrongPasswordIsRefusedWithItsReasonCode(MqttVersion v) throws Exception {
        try (MqttClient c = client(v).credentials("alice", "wrong")) {
            CompletionException e = assertThrows(CompletionException.class, () -> c.connect().join());
            MqttException me = assertInstanceOf(MqttException.class, e.getCause());
            assertTrue(me.reasonCode() == ReasonCode.BAD_USER_NAME_OR_PASSWORD || me.reasonCode() == ReasonCode.NOT_AUTHORIZED, me.getMessage());
        }
        try (MqttClient c = client(v).credentials("alice", "secret")) {
            assertEquals(0, c.connect().get(5, TimeUnit.SECONDS).reasonCode());
        }
    }

    @Test
    void emptyClientIdGetsAServerAssignedOne() throws Exception {
        try (MqttClient c = client(MqttVersion.V5)) {
            MqttConnAck ack = c.connect().get(5, TimeUnit.SECONDS);
            String assigned = ack.properties().assignedClientIdentifier();
            assertNotNull(assigned, "mosquitto assigns an id to an empty one");
            assertEquals(assigned, c.clientId());
        }
    }

    @Test
    void v5PropertiesTravelBothWays() throws Exception {
        String topic = unique("props");
        try (MqttClient sub = client(MqttVersion.V5); MqttClient pub = client(MqttVersion.V5)) {
            sub.connect().get(5, TimeUnit.SECONDS);
            pub.connect().get(5, TimeUnit.SECONDS);
            BlockingQueue<MqttMessage> got = new LinkedBlockingQueue<>();
            sub.subscribe(MqttSubscription.of(topic, 1), new MqttProperties().subscriptionIdentifier(42), got::add).get(5, TimeUnit.SECONDS);
            MqttProperties p = new MqttProperties().contentType("application/json").payloadFormatIndicator(1)
                    .messageExpiryInterval(120L).responseTopic("reply/to").correlationData(new byte[] {7, 8, 9})
                    .userProperty("trace", "abc").userProperty("trace", "def");
            pub.publish(MqttMessage.of(topic, "{}").qos(1).properties(p)).get(5, TimeUnit.SECONDS);
            MqttMessage m = take(got);
            MqttProperties r = m.properties();
            assertEquals("application/json", r.contentType());
            assertEquals(1, r.payloadFormatIndicator());
            assertNotNull(r.messageExpiryInterval());
            assertTrue(r.messageExpiryInterval() <= 120);
            assertEquals("reply/to", r.responseTopic());
            assertArrayEquals(new byte[] {7, 8, 9}, r.correlationData());
            assertEquals(List.of(java.util.Map.entry("trace", "abc"), java.util.Map.entry("trace", "def")), r.userProperties());
            assertEquals(List.of(42), r.subscriptionIdentifiers());
        }
    }

    @Test
    void pubackReasonCodeNoMatchingSubscribersIsSurfaced() throws Exception {
        try (MqttClient pub = client(MqttVersion.V5)) {
            pub.connect().get(5, TimeUnit.SECONDS);
            MqttAck a = pub.publish(unique("nobody"), "x".getBytes(), 1, false).get(5, TimeUnit.SECONDS);
            assertEquals(ReasonCode.NO_MATCHING_SUBSCRIBERS, a.reasonCode());
        }
    }

    @Test
    void unsubscribeStopsDelivery() throws Exception {
        String topic = unique("unsub");
        try (MqttClient c = client(MqttVersion.V5)) {
            c.connect().get(5, TimeUnit.SECONDS);
            BlockingQueue<MqttMessage> got = new LinkedBlockingQueue<>();
            BlockingQueue<MqttMessage> other = new LinkedBlockingQueue<>();
            c.subscribe(topic, 1, got::add).get(5, TimeUnit.SECONDS);
            c.subscribe(topic + "/x", 1, other::add).get(5, TimeUnit.SECONDS);
            c.publish(topic, "1".getBytes(), 1, false).get(5, TimeUnit.SECONDS);
            assertEquals("1", take(got).payloadAsString());
            MqttAck u = c.unsubscribe(topic).get(5, TimeUnit.SECONDS);
            assertEquals(List.of(0), u.reasonCodes());
            c.publish(topic, "2".getBytes(), 1, false).get(5, TimeUnit.SECONDS);
            c.publish(topic + "/x", "3".getBytes(), 1, false).get(5, TimeUnit.SECONDS);
            assertEquals("3", take(other).payloadAsString()); // after "2" in the broker's order
            assertNull(got.poll(), "no delivery after unsubscribe");
        }
    }

    @ParameterizedTest
    @EnumSource(MqttVersion.class)
    void willIsPublishedOnAbnormalDisconnect(MqttVersion v) throws Exception {
        String topic = unique("will");
        try (TcpCutProxy proxy = TcpCutProxy.start(broker.port);
             MqttClient watcher = client(v);
             MqttClient dying = MqttClient.create("mqtt://127.0.0.1:" + proxy.port()).version(v)
                     .will(MqttMessage.of(topic, "gone").qos(1))) {
            watcher.connect().get(5, TimeUnit.SECONDS);
            BlockingQueue<MqttMessage> got = new LinkedBlockingQueue<>();
            watcher.subscribe(topic, 1, got::add).get(5, TimeUnit.SECONDS);
            dying.connect().get(5, TimeUnit.SECONDS);
            proxy.cut(); // the broker sees the connection end without DISCONNECT
            assertEquals("gone", take(got).payloadAsString());
        }
    }

    @Test
    void cleanDisconnectDiscardsTheWill() throws Exception {
        String topic = unique("nowill");
        try (MqttClient watcher = client(MqttVersion.V5)) {
            watcher.connect().get(5, TimeUnit.SECONDS);
            BlockingQueue<MqttMessage> got = new LinkedBlockingQueue<>();
            watcher.subscribe(topic + "/#", 1, got::add).get(5, TimeUnit.SECONDS);
            MqttClient c = client(MqttVersion.V5).will(MqttMessage.of(topic + "/w", "gone").qos(1));
            c.connect().get(5, TimeUnit.SECONDS);
            c.close();
            watcher.publish(topic + "/marker", "m".getBytes(), 1, false).get(5, TimeUnit.SECONDS);
            assertEquals(topic + "/marker", take(got).topic(), "the will did not come before the marker");
        }
    }

    @Test
    void sharedSubscriptionSplitsMessages() throws Exception {
        String topic = unique("shared");
        try (MqttClient a = client(MqttVersion.V5); MqttClient b = client(MqttVersion.V5); MqttClient pub = client(MqttVersion.V5)) {
            a.connect().get(5, TimeUnit.SECONDS);
            b.connect().get(5, TimeUnit.SECONDS);
            pub.connect().get(5, TimeUnit.SECONDS);
            List<String> ga = Collections.synchronizedList(new ArrayList<>()), gb = Collections.synchronizedList(new ArrayList<>());
            java.util.concurrent.CountDownLatch all = new java.util.concurrent.CountDownLatch(20);
            a.subscribe("$share/g/" + topic, 1, m -> { ga.add(m.payloadAsString()); all.countDown(); }).get(5, TimeUnit.SECONDS);
            b.subscribe("$share/g/" + topic, 1, m -> { gb.add(m.payloadAsString()); all.countDown(); }).get(5, TimeUnit.SECONDS);
            for (int i = 0; i < 20; i++) pub.publish(topic, ("" + i).getBytes(), 1, false).get(5, TimeUnit.SECONDS);
            assertTrue(all.await(5, TimeUnit.SECONDS));
            assertEquals(20, ga.size() + gb.size(), "each message once: " + ga + " " + gb);
            assertFalse(ga.isEmpty() || gb.isEmpty(), "both members got some: " + ga + " " + gb);
        }
    }

    @Test
    void topicAliasesShortenRepeatedPublishes() throws Exception {
        String topic = unique("alias") + "/" + "x".repeat(200);
        try (TcpCutProxy proxy = TcpCutProxy.start(broker.port);
             MqttClient sub = client(MqttVersion.V5);
             MqttClient pub = MqttClient.create("mqtt://127.0.0.1:" + proxy.port())) {
            sub.connect().get(5, TimeUnit.SECONDS);
            BlockingQueue<MqttMessage> got = new LinkedBlockingQueue<>();
            sub.subscribe(topic, 0, got::add).get(5, TimeUnit.SECONDS);
            MqttConnAck ack = pub.connect().get(5, TimeUnit.SECONDS);
            assertNotNull(ack.properties().topicAliasMaximum(), "mosquitto offers topic aliases");
            long before = proxy.upstreamBytes();
            for (int i = 0; i < 10; i++) pub.publish(topic, ("" + i).getBytes(), 1, false).get(5, TimeUnit.SECONDS);
            for (int i = 0; i < 10; i++) assertEquals(topic, take(got).topic(), "the broker resolved the alias");
            long sent = proxy.upstreamBytes() - before;
            assertTrue(sent < 2 * topic.length() + 10 * 20, "only the first PUBLISH carries the topic: " + sent + " bytes");
        }
    }

    @Test
    void reconnectsAfterTheConnectionIsCutAndResubscribes() throws Exception {
        String topic = unique("resub");
        List<MqttException> lost = Collections.synchronizedList(new ArrayList<>());
        try (TcpCutProxy proxy = TcpCutProxy.start(broker.port);
             MqttClient pub = client(MqttVersion.V5);
             MqttClient c = MqttClient.create("mqtt://127.0.0.1:" + proxy.port())
                     .reconnect(ReconnectPolicy.fixed(Duration.ofMillis(50))).onConnectionLost(lost::add)) {
            pub.connect().get(5, TimeUnit.SECONDS);
            c.connect().get(5, TimeUnit.SECONDS);
            BlockingQueue<MqttMessage> got = new LinkedBlockingQueue<>();
            c.subscribe(topic, 1, got::add).get(5, TimeUnit.SECONDS);
            proxy.cut();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (c.connectCount() < 2 && System.nanoTime() < deadline) Thread.sleep(10);
            assertEquals(2, c.connectCount());
            assertFalse(c.connAck().sessionPresent(), "clean session: the broker lost the subscription");
            assertEquals(1, lost.size());
            // the resubscribe is in flight right after CONNACK; publish until it lands
            MqttMessage m = null;
            for (int i = 0; i < 50 && m == null; i++) {
                pub.publish(topic, "after".getBytes(), 1, false).get(5, TimeUnit.SECONDS);
                m = got.poll(100, TimeUnit.MILLISECONDS);
            }
            assertNotNull(m, "resubscribed after the reconnect");
        }
    }

    @Test
    void serverKeepAliveOverridesTheClients() throws Exception {
        try (MqttClient c = client(MqttVersion.V5).keepAlive(Duration.ofSeconds(120))) {
            MqttConnAck ack = c.connect().get(5, TimeUnit.SECONDS);
            assertEquals(30, ack.properties().serverKeepAlive(), "mosquitto's max_keepalive");
        }
    }

    @Test
    void willDelayAndWillPropertiesV5() throws Exception {
        String topic = unique("willdelay");
        try (TcpCutProxy proxy = TcpCutProxy.start(broker.port);
             MqttClient watcher = client(MqttVersion.V5);
             MqttClient dying = MqttClient.create("mqtt://127.0.0.1:" + proxy.port()).sessionExpiry(Duration.ofSeconds(10))
                     .will(MqttMessage.of(topic, "late").qos(1).properties(new MqttProperties().willDelayInterval(1L)
                             .contentType("text/plain").userProperty("why", "cut")))) {
            watcher.connect().get(5, TimeUnit.SECONDS);
            BlockingQueue<MqttMessage> got = new LinkedBlockingQueue<>();
            watcher.subscribe(topic, 1, got::add).get(5, TimeUnit.SECONDS);
            dying.connect().get(5, TimeUnit.SECONDS);
            long t0 = System.nanoTime();
            proxy.cut();
            MqttMessage m = take(got);
            long ms = (System.nanoTime() - t0) / 1_000_000;
            assertTrue(ms >= 900, "the will waited for its delay: " + ms + " ms");
            assertEquals("late", m.payloadAsString());
            assertEquals("text/plain", m.properties().contentType());
            assertEquals("cut", m.properties().userProperty("why"));
        }
    }

    @Test
    void subscriptionOptionsNoLocalRetainAsPublishedRetainHandling() throws Exception {
        String topic = unique("options");
        try (MqttClient c = client(MqttVersion.V5); MqttClient other = client(MqttVersion.V5)) {
            c.connect().get(5, TimeUnit.SECONDS);
            other.connect().get(5, TimeUnit.SECONDS);
            other.publish(MqttMessage.of(topic + "/r", "retained").qos(1).retain(true)).get(5, TimeUnit.SECONDS);
            BlockingQueue<MqttMessage> noLocal = new LinkedBlockingQueue<>(), rap = new LinkedBlockingQueue<>();
            // retain handling 2: no retained message at subscribe
            c.subscribe(MqttSubscription.of(topic + "/r", 1).retainHandling(2).noLocal(true), noLocal::add).get(5, TimeUnit.SECONDS);
            c.publish(topic + "/r", "mine".getBytes(), 1, false).get(5, TimeUnit.SECONDS);   // no local: not back to us
            other.publish(topic + "/r", "theirs".getBytes(), 1, false).get(5, TimeUnit.SECONDS);
            assertEquals("theirs", take(noLocal).payloadAsString(), "neither the retained one nor our own came first");
            // retain as published: the retain flag of a live message is kept
            c.subscribe(MqttSubscription.of(topic + "/rap", 1).retainAsPublished(true), rap::add).get(5, TimeUnit.SECONDS);
            other.publish(MqttMessage.of(topic + "/rap", "flagged").qos(1).retain(true)).get(5, TimeUnit.SECONDS);
            assertTrue(take(rap).isRetain(), "retain as published");
            other.publish(MqttMessage.of(topic + "/r", new byte[0]).qos(1).retain(true)).get(5, TimeUnit.SECONDS);
            other.publish(MqttMessage.of(topic + "/rap", new byte[0]).qos(1).retain(true)).get(5, TimeUnit.SECONDS);
        }
    }

    /**
     * publishAndForget from several threads (the outbox, drained in batches) and from the loop thread
     * (in a handler): every message arrives, in order per publishing thread, at QoS 0 and 1; and a
     * failure that has no future to go to is counted.
     */
    @ParameterizedTest
    @EnumSource(MqttVersion.class)
    void publishAndForgetDeliversInOrderAndCountsFailures(MqttVersion v) throws Exception {
        String base = unique("paf");
        int threads = 3, each = 150; // 901 messages: below mosquitto's default queue of 1,000 per subscriber (it drops beyond)
        try (MqttClient sub = client(v); MqttClient pub = client(v)) {
            sub.connect().get(5, TimeUnit.SECONDS);
            pub.connect().get(5, TimeUnit.SECONDS);
            java.util.Map<String, List<Integer>> got = new java.util.concurrent.ConcurrentHashMap<>();
            java.util.concurrent.CountDownLatch all = new java.util.concurrent.CountDownLatch(threads * each * 2 + 1);
            sub.subscribe(base + "/#", 1, m -> {
                got.computeIfAbsent(m.topic() + " q" + m.qos(), k -> new java.util.ArrayList<>()).add(Integer.parseInt(m.payloadAsString()));
                all.countDown();
            }).get(5, TimeUnit.SECONDS);
            // one from the loop thread: a handler of the publisher's own subscription publishes
            pub.subscribe(base + "/ping", 0, m -> pub.publishAndForget(base + "/pong", "0".getBytes(), 0, false)).get(5, TimeUnit.SECONDS);
            Thread[] ts = new Thread[threads];
            for (int t = 0; t < threads; t++) {
                String topic = base + "/t" + t;
                ts[t] = new Thread(() -> {
                    for (int i = 0; i < each; i++) {
                        pub.publishAndForget(topic, Integer.toString(i).getBytes(), 0, false);
                        pub.publishAndForget(topic, Integer.toString(i).getBytes(), 1, false);
                    }
                });
                ts[t].start();
            }
            pub.publishAndForget(base + "/ping", new byte[0], 0, false);
            for (Thread t : ts) t.join();
            assertTrue(all.await(20, TimeUnit.SECONDS), "missing: " + all.getCount() + ", failed publishes (send queue full): " + pub.failedPublishes());
            List<Integer> inOrder = java.util.stream.IntStream.range(0, each).boxed().toList();
            for (int t = 0; t < threads; t++) {
                assertEquals(inOrder, got.get(base + "/t" + t + " q0"), "QoS 0 of thread " + t);
                assertEquals(inOrder, got.get(base + "/t" + t + " q1"), "QoS 1 of thread " + t);
            }
            assertEquals(List.of(0), got.get(base + "/pong q0"));
            assertEquals(0, pub.failedPublishes());
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (pub.inFlightMessages() > 0 && System.nanoTime() < deadline) Thread.onSpinWait();
            assertEquals(0, pub.inFlightMessages());
            pub.disconnect().get(5, TimeUnit.SECONDS);
            pub.publishAndForget(base + "/late", new byte[1], 0, false);
            deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (pub.failedPublishes() == 0 && System.nanoTime() < deadline) Thread.onSpinWait();
            assertEquals(1, pub.failedPublishes(), "a publish after disconnect fails, counted");
            assertThrows(IllegalArgumentException.class, () -> pub.publishAndForget(base + "/+", new byte[0], 0, false));
            assertThrows(IllegalArgumentException.class, () -> pub.publishAndForget(base, new byte[0], 3, false));
        }
    }

    /**
     * mosquitto keeps Nagle's algorithm on (its default; this broker's configuration does not set
     * set_tcp_nodelay): a client that publishes QoS 1 from the callback of its own previous message
     * used to wait for its own delayed ACK (up to 40 ms) on almost every round trip, because the
     * broker's PUBACK arrived when the client had nothing to send, and the broker's next delivery
     * waited for that ACK. 200 chained round trips took ~6 s; with the ACK sent at once, they take
     * a few ms each at worst. The bound (3 s) is 100 x the expected time, far from a slow machine.
     */
    @ParameterizedTest
    @EnumSource(MqttVersion.class)
    void chainedQos1RoundTripsAreNotHeldByDelayedAcks(MqttVersion v) throws Exception {
        try (MqttClient c = client(v)) {
            assertChainedRoundTripsFast(c, unique("rtt"));
        }
    }

    /** 200 QoS 1 round trips, each published from the delivery of the previous, take under 3 s (c is connected here). */
    static void assertChainedRoundTripsFast(MqttClient c, String topic) throws Exception {
        int n = 200;
        c.connect().get(5, TimeUnit.SECONDS);
        java.util.concurrent.CompletableFuture<Long> done = new java.util.concurrent.CompletableFuture<>();
        int[] count = {0};
        byte[] payload = new byte[64];
        c.subscribe(topic, 1, m -> {
            if (++count[0] == n) done.complete(System.nanoTime());
            else c.publishAndForget(topic, payload, 1, false); // on the loop, from the delivery of the previous one
        }).get(5, TimeUnit.SECONDS);
        long t0 = System.nanoTime();
        c.publishAndForget(topic, payload, 1, false);
        long t1 = done.get(30, TimeUnit.SECONDS);
        long ms = (t1 - t0) / 1_000_000;
        assertTrue(ms < 3_000, n + " QoS 1 round trips took " + ms + " ms: delayed ACKs stall them");
        assertEquals(0, c.failedPublishes());
    }
}
