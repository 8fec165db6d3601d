package io.jhv.bench.mqtt;

import com.hivemq.client.mqtt.datatypes.MqttQos;
import com.hivemq.client.mqtt.mqtt5.Mqtt5AsyncClient;
import com.hivemq.client.mqtt.mqtt5.message.publish.Mqtt5Publish;
import io.jhv.mqtt.MqttClient;
import org.eclipse.paho.client.mqttv3.IMqttDeliveryToken;
import org.eclipse.paho.client.mqttv3.MqttAsyncClient;
import org.eclipse.paho.client.mqttv3.MqttCallback;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;

import java.time.Duration;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * One publisher client sends {@code n} messages of {@code size} bytes at QoS {@code qos} to a broker
 * on 127.0.0.1:{@code port}; a subscriber (a jhv client, the same for every publisher) counts them,
 * and the time from the first publish to the last delivery is the measurement. A warm-up of
 * {@code n / 5} messages goes first, untimed.
 *
 * <p>Flow control, the same for every client: the publisher stays at most {@code window} messages
 * ahead of the subscriber (end to end), and at QoS 1 each client's own in-flight limit applies
 * (jhv and HiveMQ: the broker's receive maximum, set by mosquitto's max_inflight_messages; Paho:
 * its max inflight, set to {@code inflight}). jhv publishes with {@code publishAndForget}, Paho with
 * {@code MqttAsyncClient.publish}, HiveMQ with {@code Mqtt5AsyncClient.publish} of one prepared message.
 *
 * <pre>
 * java -cp benchmarks.jar io.jhv.bench.mqtt.MqttPublishPeer CLIENT(jhv|paho|hivemq) PORT QOS N [SIZE=64] [WINDOW=1000] [INFLIGHT=100]
 * </pre>
 * Prints {@code RESULT client=.. qos=.. n=.. secs=.. rate=..} (messages per second).
 */
public final class MqttPublishPeer {
    static final String TOPIC = "bench/mqtt";
    /** How long the subscriber may take to get the last message of a phase (a test sets it lower). */
    static volatile long timeoutSeconds = 60;

    interface Publisher extends AutoCloseable {
        void publish() throws Exception;
    }

    public static void main(String[] args) throws Exception {
        String client = args[0];
        int port = Integer.parseInt(args[1]);
        int qos = Integer.parseInt(args[2]);
        long n = Long.parseLong(args[3]);
        int size = args.length > 4 ? Integer.parseInt(args[4]) : 64;
        int window = args.length > 5 ? Integer.parseInt(args[5]) : 1000;
        int inflight = args.length > 6 ? Integer.parseInt(args[6]) : 100;
        double secs = run(client, port, qos, n, size, window, inflight, n / 5);
        System.out.printf("RESULT client=%s qos=%d n=%d size=%d secs=%.3f rate=%.0f%n", client, qos, n, size, secs, n / secs);
    }

    /** Runs warm-up and measurement; returns the measured seconds. */
    public static double run(String client, int port, int qos, long n, int size, int window, int inflight, long warmup) throws Exception {
        byte[] payload = new byte[size];
        AtomicLong received = new AtomicLong();
        MqttClient sub = MqttClient.create("mqtt://127.0.0.1:" + port).clientId("bench-sub-" + ProcessHandle.current().pid())
                .keepAlive(Duration.ofSeconds(60));
        sub.connect().get(10, TimeUnit.SECONDS);
        sub.subscribe(TOPIC, 0, m -> received.incrementAndGet()).get(10, TimeUnit.SECONDS);
        try (Publisher p = open(client, port, qos, payload, inflight)) {
            long sent = 0;
            long[] marks = {warmup, warmup + n};
            long t0 = 0;
            for (int phase = 0; phase < 2; phase++) {
                if (phase == 1) t0 = System.nanoTime();
                long end = marks[phase];
                while (sent < end) {
                    while (sent - received.get() >= window) LockSupport.parkNanos(20_000);
                    p.publish();
                    sent++;
                }
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(timeoutSeconds);
                while (received.get() < end) {
                    if (System.nanoTime() > deadline) throw new IllegalStateException(client + ": the subscriber got " + received.get() + " of " + end + " messages");
                    LockSupport.parkNanos(20_000);
                }
            }
            return (System.nanoTime() - t0) / 1e9;
        } finally {
            sub.close();
        }
    }

    /** A connected Paho MQTT 3.1.1 client (clean session, keepalive 60 s, {@code inflight} in flight). */
    static MqttAsyncClient paho(int port, String id, int inflight, MqttCallback callback) throws Exception {
        MqttAsyncClient c = new MqttAsyncClient("tcp://127.0.0.1:" + port, id, new MemoryPersistence());
        c.setCallback(callback);
        MqttConnectOptions o = new MqttConnectOptions();
        o.setCleanSession(true);
        o.setMaxInflight(inflight);
        o.setKeepAliveInterval(60);
        c.connect(o).waitForCompletion(10_000);
        return c;
    }

    /** A connected HiveMQ MQTT 5 client. */
    static Mqtt5AsyncClient hivemq(int port, String id) throws Exception {
        Mqtt5AsyncClient c = com.hivemq.client.mqtt.MqttClient.builder().useMqttVersion5().identifier(id)
                .serverHost("127.0.0.1").serverPort(port).buildAsync();
        c.connect().get(10, TimeUnit.SECONDS);
        return c;
    }

    static Publisher open(String client, int port, int qos, byte[] payload, int inflight) throws Exception {
        String id = "bench-pub-" + client + "-" + ProcessHandle.current().pid();
        switch (client) {
            case "jhv" -> {
                MqttClient c = MqttClient.create("mqtt://127.0.0.1:" + port).clientId(id).sendQueue(1_000_000, io.jhv.mqtt.QueueFullPolicy.FAIL);
                c.connect().get(10, TimeUnit.SECONDS);
                return new Publisher() {
                    @Override public void publish() { c.publishAndForget(TOPIC, payload, qos, false); }
                    @Override public void close() {
                        if (c.failedPublishes() > 0) System.err.println("jhv: " + c.failedPublishes() + " publishes failed");
                        c.close();
                    }
                };
            }
            case "paho" -> {
                Semaphore slots = new Semaphore(inflight);
                MqttAsyncClient c = paho(port, id, inflight, new MqttCallback() {
                    @Override public void connectionLost(Throwable cause) { System.err.println("paho: connection lost " + cause); }
                    @Override public void messageArrived(String topic, org.eclipse.paho.client.mqttv3.MqttMessage message) { }
                    @Override public void deliveryComplete(IMqttDeliveryToken token) { if (qos > 0) slots.release(); }
                });
                return new Publisher() {
                    @Override public void publish() throws Exception {
                        if (qos > 0) slots.acquire();
                        c.publish(TOPIC, payload, qos, false);
                    }
                    @Override public void close() throws Exception {
                        c.disconnect().waitForCompletion(5_000);
                        c.close();
                    }
                };
            }
            case "hivemq" -> {
                Mqtt5AsyncClient c = hivemq(port, id);
                Mqtt5Publish msg = Mqtt5Publish.builder().topic(TOPIC).qos(qos == 0 ? MqttQos.AT_MOST_ONCE : MqttQos.AT_LEAST_ONCE)
                        .payload(payload).build();
                return new Publisher() {
                    @Override public void publish() { c.publish(msg); }
                    @Override public void close() throws Exception { c.disconnect().get(5, TimeUnit.SECONDS); }
                };
            }
            default -> throw new IllegalArgumentException("client: jhv, paho or hivemq, not " + client);
        }
    }
}
