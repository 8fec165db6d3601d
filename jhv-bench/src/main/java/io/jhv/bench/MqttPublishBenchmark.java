package io.jhv.bench;

import io.jhv.bench.mqtt.MqttSink;
import io.jhv.mqtt.MqttClient;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * One QoS 0 PUBLISH of a 64-byte payload to a fixed topic, from the benchmark thread through an
 * {@link MqttClient} (MQTT 5, its own loop) to an in-process sink ({@link MqttSink}) that answers
 * CONNECT and then drains bytes. With {@code -prof gc}, {@code gc.alloc.rate.norm} is what the
 * client allocates per publish (both threads: the JVM counts every thread's allocation; the sink's
 * read loop allocates nothing). Issue 12's target: 0 B/op for a QoS 0 publish in steady state.
 *
 * <p>{@code qos0NoFuture} is {@link MqttClient#publishAndForget}; {@code qos0Future} is
 * {@link MqttClient#publish(String, byte[], int, boolean)} with its future left alone. The publisher
 * keeps at most {@link #WINDOW} messages between itself and the sink (spinning, which allocates
 * nothing, when it is ahead), so the loop's queues stay bounded and the rate is the delivered one.
 *
 * <pre>
 * java -jar jhv-bench/target/benchmarks.jar MqttPublishBenchmark -prof gc
 * </pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"-Xms512m", "-Xmx512m", "--enable-native-access=ALL-UNNAMED"})
@Threads(1)
public class MqttPublishBenchmark {
    static final String TOPIC = "bench/jhv";
    static final int WINDOW = 20_000;

    private final byte[] payload = new byte[64];
    private MqttSink sink;
    private MqttClient client;
    private long base;
    private long sent;
    private int packetBytes;

    @Setup(Level.Trial)
    public void setup() throws Exception {
        sink = MqttSink.start();
        client = MqttClient.create("mqtt://127.0.0.1:" + sink.port()).clientId("bench").keepAlive(Duration.ZERO);
        client.connect().get(10, TimeUnit.SECONDS);
        base = sink.bytes();
        // fixed header (2) + topic (2 + length) + v5 properties length (1) + payload
        packetBytes = 2 + 2 + TOPIC.getBytes(StandardCharsets.UTF_8).length + 1 + payload.length;
    }

    @TearDown(Level.Trial)
    public void tearDown() throws Exception {
        client.close();
        sink.close();
    }

    private void window() {
        sent++;
        if (sent % 1024 != 0) return;
        long limit = sent - WINDOW;
        while ((sink.bytes() - base) / packetBytes < limit) Thread.onSpinWait();
    }

    @Benchmark
    public void qos0NoFuture() {
        client.publishAndForget(TOPIC, payload, 0, false);
        window();
    }

    @Benchmark
    public Object qos0Future() {
        Object f = client.publish(TOPIC, payload, 0, false);
        window();
        return f;
    }
}
