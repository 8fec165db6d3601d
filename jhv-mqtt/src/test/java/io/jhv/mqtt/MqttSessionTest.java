package io.jhv.mqtt;

import io.jhv.core.net.ReconnectPolicy;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import static org.junit.jupiter.api.Assertions.*;

/** Sessions that outlive a connection: in-flight QoS 1/2 across a cut connection and across a broker restart, the send queue while offline. */
@Timeout(40)
class MqttSessionTest {

    static void await(BooleanSupplier cond, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!cond.getAsBoolean()) {
            if (System.nanoTime() > deadline) fail("timed out waiting for " + what);
            Thread.sleep(10);
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2})
    void inFlightPublishSurvivesACutConnectionAndIsResentWithDup(int qos) throws Exception {
        String topic = "inflight/" + qos + "/" + System.nanoTime();
        try (Mosquitto broker = Mosquitto.create().option("log_type all").start();
             TcpCutProxy proxy = TcpCutProxy.start(broker.port);
             MqttClient sub = MqttClient.create(broker.url());
             MqttClient pub = MqttClient.create("mqtt://127.0.0.1:" + proxy.port()).clientId("pub-" + qos)
                     .sessionExpiry(Duration.ofMinutes(1)).reconnect(ReconnectPolicy.fixed(Duration.ofMillis(50)))) {
            sub.connect().get(5, TimeUnit.SECONDS);
            BlockingQueue<MqttMessage> got = new LinkedBlockingQueue<>();
            sub.subscribe(topic + "/#", 2, got::add).get(5, TimeUnit.SECONDS);
            pub.connect().get(5, TimeUnit.SECONDS);

            proxy.holdDownstream(true);
            CompletableFuture<MqttAck> f = pub.publish(MqttMessage.of(topic + "/m", "once").qos(qos));
            await(() -> proxy.heldBytes() > 0, "the broker's PUBACK/PUBREC (held back)");
            assertFalse(f.isDone(), "not acknowledged: the ack never arrived");
            assertEquals(1, pub.inFlightMessages());
            proxy.cut();

            MqttAck ack = f.get(10, TimeUnit.SECONDS); // resent with DUP after the reconnect, then acknowledged
            assertFalse(ReasonCode.isError(ack.reasonCode()));
            assertTrue(pub.connAck().sessionPresent(), "the broker kept the session");
            assertEquals(2, pub.connectCount());
            assertEquals(0, pub.inFlightMessages());
            assertTrue(broker.log().contains("d1, q" + qos), "the resend carried DUP: " + broker.log());

            MqttMessage first = got.poll(5, TimeUnit.SECONDS);
            assertNotNull(first);
            assertEquals("once", first.payloadAsString());
            pub.publish(MqttMessage.of(topic + "/marker", "marker").qos(1)).get(5, TimeUnit.SECONDS);
            MqttMessage next = got.poll(5, TimeUnit.SECONDS);
            assertNotNull(next);
            if (qos == 2) assertEquals("marker", next.payloadAsString(), "QoS 2: exactly once");
        }
    }

    @Test
    void subscribeWhoseAckIsLostCompletesAfterTheReconnect() throws Exception {
        try (Mosquitto broker = Mosquitto.create().start();
             TcpCutProxy proxy = TcpCutProxy.start(broker.port);
             MqttClient c = MqttClient.create("mqtt://127.0.0.1:" + proxy.port())
                     .reconnect(ReconnectPolicy.fixed(Duration.ofMillis(50)))) {
            c.connect().get(5, TimeUnit.SECONDS);
            proxy.holdDownstream(true);
            CompletableFuture<MqttAck> f = c.subscribe("lost/ack", 1, m -> { });
            await(() -> proxy.heldBytes() > 0, "the SUBACK (held back)");
            proxy.cut();
            assertEquals(java.util.List.of(1), f.get(10, TimeUnit.SECONDS).reasonCodes(), "no hang: the SUBSCRIBE was sent again");
        }
    }

    @Test
    void queuedAndStoredMessagesSurviveABrokerRestart() throws Exception {
        String topic = "restart/" + System.nanoTime();
        try (Mosquitto broker = Mosquitto.create().persistence().start()) {
            // a subscriber with a persistent session that goes away (mosquitto 2.0 persists only sessions
            // begun with clean start 0, whatever their expiry)
            try (MqttClient sub = MqttClient.create(broker.url()).clientId("rs-sub").cleanStart(false).sessionExpiry(Duration.ofMinutes(5))) {
                sub.connect().get(5, TimeUnit.SECONDS);
                sub.subscribe(topic, 2, m -> { }).get(5, TimeUnit.SECONDS);
            }
            try (TcpCutProxy proxy = TcpCutProxy.start(broker.port);
                 MqttClient pub = MqttClient.create("mqtt://127.0.0.1:" + proxy.port()).clientId("rs-pub").cleanStart(false)
                    .sessionExpiry(Duration.ofMinutes(5)).reconnect(ReconnectPolicy.fixed(Duration.ofMillis(100)))) {
                pub.connect().get(5, TimeUnit.SECONDS);
                pub.publish(MqttMessage.of(topic, "before").qos(1)).get(5, TimeUnit.SECONDS); // stored for rs-sub
                // a QoS 2 publish in flight when the broker goes down: its PUBREC never reaches the client
                proxy.holdDownstream(true);
                CompletableFuture<MqttAck> inflight = pub.publish(MqttMessage.of(topic, "inflight").qos(2));
                await(() -> proxy.heldBytes() > 0, "the broker's PUBREC (held back)");
                broker.stop();
                proxy.cut();
                await(() -> !pub.isConnected(), "the client to notice the broker is gone");
                CompletableFuture<MqttAck> during = pub.publish(MqttMessage.of(topic, "during").qos(2));
                await(() -> pub.queuedMessages() == 1, "the publish queued while offline");
                assertEquals(1, pub.inFlightMessages());
                broker.start();
                inflight.get(10, TimeUnit.SECONDS); // resent (DUP) to the restarted broker, then PUBREL/PUBCOMP
                assertTrue(pub.connAck().sessionPresent(), "the publisher's session came back from the persistence file");
                during.get(10, TimeUnit.SECONDS);
                assertEquals(0, pub.inFlightMessages());
            }
            BlockingQueue<MqttMessage> got = new LinkedBlockingQueue<>();
            try (MqttClient sub = MqttClient.create(broker.url()).clientId("rs-sub").cleanStart(false)
                    .sessionExpiry(Duration.ofMinutes(5)).onMessage(got::add)) {
                MqttConnAck ack = sub.connect().get(5, TimeUnit.SECONDS);
                assertTrue(ack.sessionPresent(), "the subscriber's session survived the restart: " + broker.log());
                java.util.List<String> payloads = new java.util.ArrayList<>();
                MqttMessage m;
                while (!payloads.contains("during") && (m = got.poll(5, TimeUnit.SECONDS)) != null) payloads.add(m.payloadAsString());
                assertEquals("before", payloads.get(0), "in order: " + payloads);
                assertTrue(payloads.contains("inflight"), "the in-flight message arrived: " + payloads);
                assertEquals("during", payloads.get(payloads.size() - 1), "in order: " + payloads);
            }
        }
    }

    @Test
    void sendQueueBoundFailsTheNewestOrDropsTheOldest() throws Exception {
        int deadPort = Mosquitto.freePort();
        try (MqttClient failing = MqttClient.create("mqtt://127.0.0.1:" + deadPort).sendQueue(2, QueueFullPolicy.FAIL)
                .reconnect(ReconnectPolicy.fixed(Duration.ofMillis(100)));
             MqttClient dropping = MqttClient.create("mqtt://127.0.0.1:" + deadPort).sendQueue(2, QueueFullPolicy.DROP_OLDEST)
                .reconnect(ReconnectPolicy.fixed(Duration.ofMillis(100)))) {
            failing.connect();
            dropping.connect();
            CompletableFuture<MqttAck> a1 = failing.publish("q", "1".getBytes(), 1, false);
            CompletableFuture<MqttAck> a2 = failing.publish("q", "2".getBytes(), 0, false);
            CompletableFuture<MqttAck> a3 = failing.publish("q", "3".getBytes(), 1, false);
            var e = assertThrows(java.util.concurrent.ExecutionException.class, () -> a3.get(5, TimeUnit.SECONDS));
            assertTrue(e.getCause().getMessage().contains("send queue full"), e.getCause().getMessage());
            assertFalse(a1.isDone() || a2.isDone());
            assertEquals(2, failing.queuedMessages());

            CompletableFuture<MqttAck> b1 = dropping.publish("q", "1".getBytes(), 1, false);
            dropping.publish("q", "2".getBytes(), 1, false);
            dropping.publish("q", "3".getBytes(), 1, false);
            var d = assertThrows(java.util.concurrent.ExecutionException.class, () -> b1.get(5, TimeUnit.SECONDS));
            assertTrue(d.getCause().getMessage().contains("dropped"), d.getCause().getMessage());
            assertEquals(2, dropping.queuedMessages());
        }
    }

    @Test
    void connectWithoutReconnectFailsWhenNobodyListens() throws Exception {
        try (MqttClient c = MqttClient.create("mqtt://127.0.0.1:" + Mosquitto.freePort())) {
            var e = assertThrows(java.util.concurrent.ExecutionException.class, () -> c.connect().get(5, TimeUnit.SECONDS));
            assertInstanceOf(MqttException.class, e.getCause());
            var p = assertThrows(java.util.concurrent.ExecutionException.class, () -> c.publish("t", new byte[0], 0, false).get(5, TimeUnit.SECONDS));
            assertTrue(p.getCause().getMessage().contains("closed"), p.getCause().getMessage());
        }
    }
}
