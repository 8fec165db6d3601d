package io.jhv.bench.mqtt;

import io.jhv.mqtt.MqttClient;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The MQTT harness's publishers (jhv, Paho, HiveMQ) each deliver what they publish through a real
 * mosquitto to the counting subscriber, at QoS 0 and 1: a publisher that lost or never sent messages
 * would make mqtt-compare.sh's numbers meaningless. And the JMH sink counts exactly the bytes of
 * the PUBLISH packets the benchmark assumes. The latency peer (every client publishing to itself
 * through mosquitto, one message at a time) records one round trip per message.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class MqttPeersTest {
    private static Process mosquitto;
    private static int port;
    private static Path dir;

    @BeforeAll
    static void startBroker() throws Exception {
        String bin = null;
        for (String p : new String[] {"/usr/sbin/mosquitto", "/usr/bin/mosquitto", "/usr/local/sbin/mosquitto"}) {
            if (Files.isExecutable(Path.of(p))) bin = p;
        }
        if (bin == null) throw new IllegalStateException("mosquitto is not installed (apt-get install mosquitto; ./test installs it)");
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        dir = Files.createTempDirectory("jhv-bench-mosquitto");
        Path conf = dir.resolve("mosquitto.conf");
        Files.writeString(conf, "listener " + port + " 127.0.0.1\nallow_anonymous true\nmax_inflight_messages 10\npersistence false\n");
        mosquitto = new ProcessBuilder(bin, "-c", conf.toString()).redirectErrorStream(true)
                .redirectOutput(dir.resolve("mosquitto.log").toFile()).start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (true) {
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress("127.0.0.1", port), 200);
                break;
            } catch (java.io.IOException notYet) {
                if (!mosquitto.isAlive() || System.nanoTime() > deadline) {
                    throw new IllegalStateException("mosquitto did not start: " + Files.readString(dir.resolve("mosquitto.log")));
                }
                Thread.onSpinWait();
            }
        }
        MqttPublishPeer.timeoutSeconds = 5;
        MqttLatencyPeer.timeoutSeconds = 10;
    }

    @AfterAll
    static void stopBroker() throws Exception {
        if (mosquitto != null) {
            mosquitto.destroy();
            mosquitto.waitFor(5, TimeUnit.SECONDS);
        }
    }

    @ParameterizedTest
    @CsvSource({"jhv,0", "jhv,1", "paho,0", "paho,1", "hivemq,0", "hivemq,1"})
    void publisherDeliversEveryMessageToTheSubscriber(String client, int qos) throws Exception {
        // 20 warm-up + 200 measured, window 50, 10 in flight: the subscriber must count all 220 within 5 s
        double secs = MqttPublishPeer.run(client, port, qos, 200, 64, 50, 10, 20);
        assertTrue(secs > 0 && secs < 5, client + " took " + secs + " s");
    }

    @ParameterizedTest
    @CsvSource({"jhv,0", "jhv,1", "paho,0", "paho,1", "hivemq,0", "hivemq,1"})
    void latencyPeerRecordsOneRoundTripPerMessage(String client, int qos) throws Exception {
        // 50 unrecorded + 300 recorded round trips, each published from the previous delivery: a
        // client that lost a message would stall the chain (the run then fails on its timeout)
        long[] samples = MqttLatencyPeer.run(client, port, qos, 300, 64, 50, 60);
        assertEquals(300, samples.length);
        for (long s : samples) {
            assertTrue(s > 0 && s < TimeUnit.SECONDS.toNanos(5), client + ": a round trip of " + s + " ns");
        }
        java.util.Arrays.sort(samples);
        assertTrue(MqttLatencyPeer.pct(samples, 50) <= MqttLatencyPeer.pct(samples, 99), "percentiles are ordered");
    }

    @Test
    void sinkCountsExactlyThePublishPackets() throws Exception {
        try (MqttSink sink = MqttSink.start()) {
            MqttClient c = MqttClient.create("mqtt://127.0.0.1:" + sink.port()).clientId("t").keepAlive(Duration.ZERO);
            try {
                c.connect().get(5, TimeUnit.SECONDS);
                long base = sink.bytes();
                assertTrue(base > 0, "the CONNECT was read");
                byte[] payload = new byte[64];
                for (int i = 0; i < 100; i++) c.publishAndForget(MqttPublishBenchmark_TOPIC, payload, 0, false);
                long want = base + 100L * (2 + 2 + MqttPublishBenchmark_TOPIC.length() + 1 + 64);
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
                while (sink.bytes() < want && System.nanoTime() < deadline) Thread.onSpinWait();
                assertEquals(want, sink.bytes());
                assertEquals(0, c.failedPublishes());
            } finally {
                c.close();
            }
        }
    }

    private static final String MqttPublishBenchmark_TOPIC = "bench/jhv";
}
