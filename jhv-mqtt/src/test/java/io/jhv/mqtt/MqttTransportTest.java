package io.jhv.mqtt;

import io.jhv.core.loop.EventLoopGroup;
import io.jhv.core.tls.TlsConfig;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.*;

/** TLS (mqtts://), MQTT over WebSocket (ws://) and 1,000 clients on one event-loop group, against mosquitto. */
@Timeout(60)
class MqttTransportTest {
    static Mosquitto broker;

    @BeforeAll
    static void startBroker() throws Exception {
        broker = Mosquitto.create().tls().websockets().secureWebsockets().option("max_keepalive 120").start();
    }

    @AfterAll
    static void stopBroker() throws Exception {
        if (broker != null) broker.close();
    }

    /**
     * Publishes at each QoS and one big message, receives them back. {@code bigSize}: mosquitto 2.0.11's
     * websockets listener needs about 5 s to send 200 kB (paho over WebSocket sees the same), so the
     * WebSocket test uses 20 kB, still many TCP reads.
     */
    static void roundTrip(MqttClient c, MqttVersion v, int bigSize) throws Exception {
        String topic = "transport/" + System.nanoTime();
        c.connect().get(10, TimeUnit.SECONDS);
        BlockingQueue<MqttMessage> got = new LinkedBlockingQueue<>();
        c.subscribe(topic, 2, got::add).get(5, TimeUnit.SECONDS);
        byte[] big = new byte[bigSize];
        for (int i = 0; i < big.length; i++) big[i] = (byte) i;
        for (int qos = 0; qos <= 2; qos++) {
            c.publish(topic, ("q" + qos).getBytes(), qos, false).get(5, TimeUnit.SECONDS);
            assertEquals("q" + qos, got.poll(5, TimeUnit.SECONDS).payloadAsString());
        }
        c.publish(topic, big, 1, false).get(5, TimeUnit.SECONDS);
        assertArrayEquals(big, got.poll(5, TimeUnit.SECONDS).payload(), "a big message, split into many reads");
    }

    @Test
    void tls() throws Exception {
        TlsConfig trust = TlsConfig.client().trust(broker.cert.certificate()).build();
        for (MqttVersion v : MqttVersion.values()) {
            try (MqttClient c = MqttClient.create("mqtts://127.0.0.1:" + broker.tlsPort).version(v).tls(trust)) {
                roundTrip(c, v, 200_000);
            }
        }
    }

    @Test
    void tlsWithAnUntrustedCertificateFails() throws Exception {
        try (MqttClient c = MqttClient.create("mqtts://127.0.0.1:" + broker.tlsPort)) {
            var e = assertThrows(java.util.concurrent.ExecutionException.class, () -> c.connect().get(10, TimeUnit.SECONDS));
            assertInstanceOf(MqttException.class, e.getCause());
            assertTrue(String.valueOf(e.getCause().getCause()).contains("SSL") || e.getCause().getMessage().contains("SSL")
                    || e.getCause().getMessage().contains("certificate"), e.getCause().toString());
        }
    }

    @Test
    void webSocket() throws Exception {
        for (MqttVersion v : MqttVersion.values()) {
            try (MqttClient c = MqttClient.create("ws://127.0.0.1:" + broker.wsPort + "/mqtt").version(v)) {
                roundTrip(c, v, 20_000);
            }
        }
    }

    @Test
    void secureWebSocket() throws Exception {
        TlsConfig trust = TlsConfig.client().trust(broker.cert.certificate()).build();
        try (MqttClient c = MqttClient.create("wss://127.0.0.1:" + broker.wssPort + "/mqtt").tls(trust)) {
            roundTrip(c, MqttVersion.V5, 20_000);
        }
    }

    /** Over TLS and over WebSocket too, a QoS 1 round trip does not wait for a delayed ACK (see MqttClientTest). */
    @Test
    void chainedRoundTripsOverTlsAndWebSocketAreNotHeldByDelayedAcks() throws Exception {
        try (MqttClient c = MqttClient.create("ws://127.0.0.1:" + broker.wsPort + "/mqtt")) {
            MqttClientTest.assertChainedRoundTripsFast(c, "rtt/ws/" + System.nanoTime());
        }
        TlsConfig trust = TlsConfig.client().trust(broker.cert.certificate()).build();
        try (MqttClient c = MqttClient.create("mqtts://127.0.0.1:" + broker.tlsPort).tls(trust)) {
            MqttClientTest.assertChainedRoundTripsFast(c, "rtt/tls/" + System.nanoTime());
        }
    }

    @Test
    void webSocketAndTcpClientsTalkToEachOther() throws Exception {
        String topic = "mixed/" + System.nanoTime();
        try (MqttClient ws = MqttClient.create("ws://127.0.0.1:" + broker.wsPort);
             MqttClient tcp = MqttClient.create(broker.url())) {
            ws.connect().get(10, TimeUnit.SECONDS);
            tcp.connect().get(10, TimeUnit.SECONDS);
            BlockingQueue<MqttMessage> got = new LinkedBlockingQueue<>();
            ws.subscribe(topic, 1, got::add).get(5, TimeUnit.SECONDS);
            tcp.publish(topic, "hi".getBytes(), 1, false).get(5, TimeUnit.SECONDS);
            assertEquals("hi", got.poll(5, TimeUnit.SECONDS).payloadAsString());
        }
    }

    @Test
    void thousandClientsOnOneEventLoopGroup() throws Exception {
        int n = 1000;
        String topic = "many/" + System.nanoTime();
        EventLoopGroup group = EventLoopGroup.create(2).start();
        List<MqttClient> clients = new ArrayList<>(n);
        try {
            List<CompletableFuture<MqttConnAck>> connects = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                MqttClient c = MqttClient.create(broker.url()).group(group).clientId("many-" + i).keepAlive(Duration.ofSeconds(60));
                clients.add(c);
                connects.add(c.connect());
            }
            CompletableFuture.allOf(connects.toArray(new CompletableFuture[0])).get(30, TimeUnit.SECONDS);
            CountDownLatch all = new CountDownLatch(n);
            AtomicInteger wrongThread = new AtomicInteger();
            List<CompletableFuture<MqttAck>> subs = new ArrayList<>(n);
            for (MqttClient c : clients) {
                subs.add(c.subscribe(topic, 1, m -> {
                    if (!c.eventLoop().inLoop()) wrongThread.incrementAndGet();
                    all.countDown();
                }));
            }
            CompletableFuture.allOf(subs.toArray(new CompletableFuture[0])).get(30, TimeUnit.SECONDS);
            clients.get(0).publish(topic, "to all".getBytes(), 1, false).get(5, TimeUnit.SECONDS);
            assertTrue(all.await(30, TimeUnit.SECONDS), "every client got the message: " + all.getCount() + " missing");
            assertEquals(0, wrongThread.get(), "handlers run on the client's loop");
            for (MqttClient c : clients) assertTrue(group.loops().contains(c.eventLoop()));
        } finally {
            List<CompletableFuture<Void>> closing = new ArrayList<>();
            for (MqttClient c : clients) closing.add(c.disconnect());
            CompletableFuture.allOf(closing.toArray(new CompletableFuture[0])).get(30, TimeUnit.SECONDS);
            group.shutdownGracefully(Duration.ofSeconds(5));
        }
    }
}
