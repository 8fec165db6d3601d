package io.jhv.bench.mqtt;

import com.hivemq.client.mqtt.datatypes.MqttQos;
import com.hivemq.client.mqtt.mqtt5.Mqtt5AsyncClient;
import com.hivemq.client.mqtt.mqtt5.message.publish.Mqtt5Publish;
import io.jhv.mqtt.MqttClient;
import org.eclipse.paho.client.mqttv3.IMqttDeliveryToken;
import org.eclipse.paho.client.mqttv3.MqttAsyncClient;
import org.eclipse.paho.client.mqttv3.MqttCallback;

import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Round-trip latency through a broker: one client subscribes to a topic of its own and publishes
 * to it, one message at a time; the next message is published from the callback that receives the
 * previous one, so the time measured is the client's publish path, the broker's hop and the
 * client's delivery path, with no benchmark thread to wake in between. Each sample is the time
 * from the publish call to the delivery callback of the same message ({@link System#nanoTime()}).
 * {@code warmup} messages go first, unrecorded; then {@code n} are recorded, or as many as arrive
 * within {@code budgetSeconds} of the first recorded one (a client whose round trips stall, e.g. on
 * delayed ACKs, records fewer: the RESULT line says how many).
 *
 * <p>The same client publishes and subscribes at QoS {@code qos} (at QoS 1 the broker's PUBACK for
 * the publish and the client's PUBACK for the delivery flow alongside). jhv publishes with
 * {@code publishAndForget} from its loop thread, Paho with {@code MqttAsyncClient.publish} from its
 * callback thread, HiveMQ with {@code Mqtt5AsyncClient.publish} from its callback.
 *
 * <pre>
 * java -cp benchmarks.jar io.jhv.bench.mqtt.MqttLatencyPeer CLIENT(jhv|paho|hivemq) PORT QOS N [SIZE=64] [WARMUP=N/4] [BUDGET_SECONDS=30]
 * </pre>
 * Prints {@code RESULT client=.. qos=.. n=(recorded) p50=.. p90=.. p99=.. p999=.. max=.. mean=..} (microseconds).
 */
public final class MqttLatencyPeer {
    /** How long a whole run may take (a test sets it lower). */
    static volatile long timeoutSeconds = 300;

    /** A client under test: publishes the prepared message; the receive side calls {@link Chain#received}. */
    interface Pinger extends AutoCloseable {
        void publish() throws Exception;
    }

    /** The ping-pong: records a sample per delivery and publishes the next message. */
    static final class Chain {
        final long[] samples;
        final int warmup;
        final long budgetNanos;
        final CompletableFuture<long[]> done = new CompletableFuture<>();
        Pinger pinger;
        int count; // deliveries so far; only the delivering thread touches it after the first publish
        long sentAt, firstRecordedAt;

        Chain(int n, int warmup, long budgetNanos) {
            this.samples = new long[n];
            this.warmup = warmup;
            this.budgetNanos = budgetNanos;
        }

        void start() throws Exception {
            sentAt = System.nanoTime();
            pinger.publish();
        }

        /** Called on the client's delivery thread for every message on the topic. */
        void received() {
            long now = System.nanoTime();
            int i = count++ - warmup;
            if (i >= 0 && i < samples.length) samples[i] = now - sentAt;
            if (i == 0) firstRecordedAt = now;
            if (i + 1 >= samples.length || (i >= 0 && now - firstRecordedAt > budgetNanos)) {
                done.complete(i + 1 >= samples.length ? samples : Arrays.copyOf(samples, i + 1));
                return;
            }
            try {
                sentAt = System.nanoTime();
                pinger.publish();
            } catch (Throwable e) {
                done.completeExceptionally(e);
            }
        }
    }

    public static void main(String[] args) throws Exception {
        String client = args[0];
        int port = Integer.parseInt(args[1]);
        int qos = Integer.parseInt(args[2]);
        int n = Integer.parseInt(args[3]);
        int size = args.length > 4 ? Integer.parseInt(args[4]) : 64;
        int warmup = args.length > 5 ? Integer.parseInt(args[5]) : n / 4;
        int budget = args.length > 6 ? Integer.parseInt(args[6]) : 30;
        long[] s = run(client, port, qos, n, size, warmup, budget);
        Arrays.sort(s);
        double mean = Arrays.stream(s).average().orElse(0);
        System.out.printf("RESULT client=%s qos=%d n=%d size=%d p50=%.1f p90=%.1f p99=%.1f p999=%.1f max=%.1f mean=%.1f%n",
                client, qos, s.length, size, us(pct(s, 50)), us(pct(s, 90)), us(pct(s, 99)), us(pct(s, 99.9)), us(s[s.length - 1]), mean / 1e3);
    }

    static double us(long nanos) { return nanos / 1e3; }

    /** The nearest-rank percentile of sorted samples. */
    static long pct(long[] sorted, double p) {
        int rank = (int) Math.ceil(p / 100 * sorted.length);
        return sorted[Math.max(0, Math.min(sorted.length - 1, rank - 1))];
    }

    /** Runs the warm-up and the recorded messages; returns the samples (n, or fewer if the budget ran out) in nanoseconds, unsorted. */
    public static long[] run(String client, int port, int qos, int n, int size, int warmup, int budgetSeconds) throws Exception {
        Chain chain = new Chain(n, warmup, TimeUnit.SECONDS.toNanos(budgetSeconds));
        String topic = "bench/rtt/" + client + "/" + ProcessHandle.current().pid();
        try (Pinger p = open(client, port, qos, new byte[size], topic, chain)) {
            chain.pinger = p;
            chain.start();
            return chain.done.get(timeoutSeconds, TimeUnit.SECONDS);
        }
    }

    static Pinger open(String client, int port, int qos, byte[] payload, String topic, Chain chain) throws Exception {
        String id = "bench-rtt-" + client + "-" + ProcessHandle.current().pid();
        switch (client) {
            case "jhv" -> {
                MqttClient c = MqttClient.create("mqtt://127.0.0.1:" + port).clientId(id).keepAlive(Duration.ofSeconds(60));
                c.connect().get(10, TimeUnit.SECONDS);
                c.subscribe(topic, qos, m -> chain.received()).get(10, TimeUnit.SECONDS);
                return new Pinger() {
                    @Override public void publish() { c.publishAndForget(topic, payload, qos, false); }
                    @Override public void close() {
                        if (c.failedPublishes() > 0) System.err.println("jhv: " + c.failedPublishes() + " publishes failed");
                        c.close();
                    }
                };
            }
            case "paho" -> {
                MqttAsyncClient c = MqttPublishPeer.paho(port, id, 10, new MqttCallback() {
                    @Override public void connectionLost(Throwable cause) { chain.done.completeExceptionally(cause); }
                    @Override public void messageArrived(String t, org.eclipse.paho.client.mqttv3.MqttMessage message) { chain.received(); }
                    @Override public void deliveryComplete(IMqttDeliveryToken token) { }
                });
                c.subscribe(topic, qos).waitForCompletion(10_000);
                return new Pinger() {
                    @Override public void publish() throws Exception { c.publish(topic, payload, qos, false); }
                    @Override public void close() throws Exception {
                        c.disconnect().waitForCompletion(5_000);
                        c.close();
                    }
                };
            }
            case "hivemq" -> {
                Mqtt5AsyncClient c = MqttPublishPeer.hivemq(port, id);
                MqttQos q = qos == 0 ? MqttQos.AT_MOST_ONCE : MqttQos.AT_LEAST_ONCE;
                c.subscribeWith().topicFilter(topic).qos(q).callback(m -> chain.received()).send().get(10, TimeUnit.SECONDS);
                Mqtt5Publish msg = Mqtt5Publish.builder().topic(topic).qos(q).payload(payload).build();
                return new Pinger() {
                    @Override public void publish() { c.publish(msg); }
                    @Override public void close() throws Exception { c.disconnect().get(5, TimeUnit.SECONDS); }
                };
            }
            default -> throw new IllegalArgumentException("client: jhv, paho or hivemq, not " + client);
        }
    }
}
