package io.jhv.mqtt;

import io.jhv.core.loop.EventLoop;
import io.jhv.core.loop.EventLoopGroup;
import io.jhv.core.net.ReconnectPolicy;
import io.jhv.core.tls.TlsConfig;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;

/**
 * An MQTT 3.1.1 and 5 client on a jhv event loop: QoS 0, 1 and 2 both ways, a will, keepalive with
 * a dead-broker timeout, reconnect with automatic resubscribe, an in-flight store so QoS 1 and 2
 * messages survive reconnects, a bounded send queue while offline, MQTT 5 properties, topic
 * aliases, flow control, manual acknowledgement and back-pressure.
 *
 * <p>URLs: {@code mqtt://host[:1883]} (also {@code tcp://}), {@code mqtts://host[:8883]} (also
 * {@code ssl://}), {@code ws://host[:80]/path} and {@code wss://host[:443]/path} (MQTT over
 * WebSocket, subprotocol "mqtt", path "/mqtt" by default).
 *
 * {@snippet :
 * MqttClient client = MqttClient.create("mqtt://127.0.0.1:1883")
 *     .clientId("sensor-7")
 *     .reconnect(ReconnectPolicy.exponential(Duration.ofMillis(200), Duration.ofSeconds(10)));
 * client.connect().join();
 * client.subscribe("sensors/+/temp", 1, msg -> System.out.println(msg.topic() + " " + msg.payloadAsString()));
 * client.publish("sensors/7/temp", "21.5".getBytes(), 1, false).join();
 * client.close();
 * }
 *
 * <p>Thread contract: configure before {@link #connect()} from one thread (a setter afterwards
 * throws {@link IllegalStateException}); {@code connect}, {@code publish}, {@code subscribe},
 * {@code unsubscribe}, {@code pause}, {@code resume}, {@code disconnect}, {@code close} and the
 * getters are thread-safe. Every future completes on the client's loop thread, and every handler
 * and callback runs there: do not block in them (a {@code join()} there deadlocks).
 *
 * <p>By default a client runs on a loop (a thread) of its own; {@link #loop} or {@link #group}
 * put many clients on shared loops.
 */
public final class MqttClient implements AutoCloseable {
    // ---------------------------------------------------------------- settings (read by the session)
    final String url;
    final String scheme;
    final String host;
    final int port;
    final String path;
    MqttVersion version = MqttVersion.V5;
    boolean versionFallback;
    String clientId = "";
    boolean cleanStart = true;
    long sessionExpirySeconds; // v5; 0: ends with the connection
    String username;
    byte[] password;
    MqttMessage will;
    int keepAliveSeconds = 60;
    Duration connectTimeout = Duration.ofSeconds(10);
    TlsConfig tls;
    ReconnectPolicy reconnect;
    boolean resubscribe = true;
    EventLoop loop;
    EventLoopGroup group;
    InFlightStore store;
    int maxQueued = 10_000;
    QueueFullPolicy queueFullPolicy = QueueFullPolicy.FAIL;
    boolean manualAck;
    int receiveMaximum = 65535;
    long maximumPacketSize = 1 << 20;
    int topicAliasMaximum = 16;        // aliases the broker may use towards us (v5)
    boolean outgoingTopicAliases = true;
    MqttProperties connectProperties;
    MqttAuthenticator authenticator;
    MqttMessageHandler defaultHandler;
    Consumer<MqttConnAck> onConnected;
    Consumer<MqttException> onConnectionLost;

    private volatile boolean frozen;
    final ClientSession session;

    private MqttClient(String url) {
        this.url = Objects.requireNonNull(url, "url");
        URI u = URI.create(url);
        String s = u.getScheme() == null ? "" : u.getScheme().toLowerCase(java.util.Locale.ROOT);
        int defaultPort = switch (s) {
            case "mqtt", "tcp" -> 1883;
            case "mqtts", "ssl" -> 8883;
            case "ws" -> 80;
            case "wss" -> 443;
            default -> throw new IllegalArgumentException("not an MQTT URL (mqtt, mqtts, ws, wss): " + url);
        };
        if (u.getHost() == null) throw new IllegalArgumentException("no host in " + url);
        this.scheme = s;
        String h = u.getHost();
        this.host = h.startsWith("[") && h.endsWith("]") ? h.substring(1, h.length() - 1) : h; // an IPv6 literal
        this.port = u.getPort() > 0 ? u.getPort() : defaultPort;
        this.path = u.getRawPath() == null || u.getRawPath().isEmpty() ? "/mqtt" : u.getRawPath();
        this.session = new ClientSession(this);
    }

    /** A client for {@code url} (not connected yet). Any thread. */
    public static MqttClient create(String url) { return new MqttClient(url); }

    private MqttClient set() {
        if (frozen) throw new IllegalStateException("configure the client before connect()");
        return this;
    }

    /** MQTT 5 (default) or 3.1.1. */
    public MqttClient version(MqttVersion v) { set().version = Objects.requireNonNull(v); return this; }

    /**
     * With MQTT 5: when the broker refuses it (a 3.1.1 broker's "unacceptable protocol version", or
     * v5's 0x84), connect again at once with 3.1.1 (default false). {@link #protocolVersion()} then says 3.1.1.
     */
    public MqttClient versionFallback(boolean on) { set().versionFallback = on; return this; }

    /** The client identifier; "" (default) lets the broker assign one (MQTT 5; 3.1.1 needs clean start then). */
    public MqttClient clientId(String id) { set().clientId = Objects.requireNonNull(id); return this; }

    /** Starts a new session on the first connect (default true); false resumes the broker's session. Reconnects never clean. */
    public MqttClient cleanStart(boolean clean) { set().cleanStart = clean; return this; }

    /** MQTT 5: how long the broker keeps the session after a disconnect (default 0). With 3.1.1 any value above 0 means a persistent session (clean session 0). */
    public MqttClient sessionExpiry(Duration d) { set().sessionExpirySeconds = Math.min(d.toSeconds(), 0xFFFFFFFFL); return this; }

    /** User name and password. */
    public MqttClient credentials(String username, String password) {
        set().username = username;
        this.password = password == null ? null : password.getBytes(StandardCharsets.UTF_8);
        return this;
    }

    /** The will: published by the broker when the connection ends without a DISCONNECT (v5: after its will delay, a property of the message). */
    public MqttClient will(MqttMessage will) { set().will = will; return this; }

    /** Keepalive (default 60 s, 0 disables): a PINGREQ when idle, and a broker silent for 1.5 times this is taken as dead. */
    public MqttClient keepAlive(Duration d) {
        long s = d.toSeconds();
        if (s < 0 || s > 65535) throw new IllegalArgumentException("keepalive must be 0 to 65,535 s");
        set().keepAliveSeconds = (int) s;
        return this;
    }

    /** Bounds the TCP connect, the TLS and WebSocket handshakes and the wait for CONNACK, each (default 10 s). */
    public MqttClient connectTimeout(Duration d) { set().connectTimeout = Objects.requireNonNull(d); return this; }

    /** TLS settings for mqtts:// and wss:// (default: the JDK's trust store, host name verified). */
    public MqttClient tls(TlsConfig config) { set().tls = config; return this; }

    /** Reconnects after a failed connect or a lost connection (default: none). */
    public MqttClient reconnect(ReconnectPolicy policy) { set().reconnect = policy; return this; }

    /** After a reconnect where the broker kept no session, subscribe again to every filter (default true). */
    public MqttClient resubscribe(boolean on) { set().resubscribe = on; return this; }

    /** Runs on {@code loop} (shared; {@link #close()} does not stop it). */
    public MqttClient loop(EventLoop loop) { set().loop = loop; return this; }

    /** Runs on the next loop of {@code group}. */
    public MqttClient group(EventLoopGroup group) { set().group = group; return this; }

    /** Where unacknowledged QoS 1/2 messages are kept (default in memory). */
    public MqttClient inFlightStore(InFlightStore store) { set().store = store; return this; }

    /** Bounds the messages queued while disconnected or held back by flow control (default 10,000, policy FAIL). */
    public MqttClient sendQueue(int maxMessages, QueueFullPolicy policy) {
        if (maxMessages < 0) throw new IllegalArgumentException("maxMessages < 0");
        set().maxQueued = maxMessages;
        this.queueFullPolicy = Objects.requireNonNull(policy);
        return this;
    }

    /** Received QoS 1/2 messages are acknowledged only when the application calls {@link MqttMessage#ack()} (default false: after the handler returns). */
    public MqttClient manualAck(boolean on) { set().manualAck = on; return this; }

    /** MQTT 5: how many unacknowledged QoS 1/2 messages the broker may send at once (default 65,535). */
    public MqttClient receiveMaximum(int n) {
        if (n < 1 || n > 65535) throw new IllegalArgumentException("receive maximum 1 to 65,535");
        set().receiveMaximum = n;
        return this;
    }

    /**
     * The largest packet the client accepts (default 1 MiB, at most 268,435,460); a larger one closes
     * the connection with 0x95. MQTT 5 tells the broker, which then does not send larger messages;
     * a 3.1.1 broker cannot be told, so set this above the largest message a 3.1.1 client may receive
     * (a retained message over the limit would be refused again after every reconnect).
     */
    public MqttClient maximumPacketSize(long bytes) {
        if (bytes < 16 || bytes > MAX_PACKET_SIZE) throw new IllegalArgumentException("maximum packet size 16 to " + MAX_PACKET_SIZE);
        set().maximumPacketSize = bytes;
        return this;
    }

    private static final long MAX_PACKET_SIZE = 268_435_460L;

    /** MQTT 5: the number of topic aliases the broker may use towards the client (default 16; 0 disables). */
    public MqttClient topicAliasMaximum(int n) {
        if (n < 0 || n > 65535) throw new IllegalArgumentException("topic alias maximum 0 to 65,535");
        set().topicAliasMaximum = n;
        return this;
    }

    /** MQTT 5: use topic aliases towards the broker when it allows them (default true). */
    public MqttClient outgoingTopicAliases(boolean on) { set().outgoingTopicAliases = on; return this; }

    /** MQTT 5: extra CONNECT properties (user properties, request problem/response information...). */
    public MqttClient connectProperties(MqttProperties props) { set().connectProperties = props; return this; }

    /** MQTT 5 enhanced authentication. */
    public MqttClient authenticator(MqttAuthenticator auth) { set().authenticator = auth; return this; }

    /** Receives messages that match no subscription's handler (e.g. a session's subscriptions from an earlier run). */
    public MqttClient onMessage(MqttMessageHandler handler) { set().defaultHandler = handler; return this; }

    /** Called on the loop after each successful CONNACK (also after reconnects). */
    public MqttClient onConnected(Consumer<MqttConnAck> cb) { set().onConnected = cb; return this; }

    /** Called on the loop when an established connection is lost, with why (the broker's DISCONNECT reason code, a protocol violation, a keepalive timeout, an I/O error). */
    public MqttClient onConnectionLost(Consumer<MqttException> cb) { set().onConnectionLost = cb; return this; }

    // ---------------------------------------------------------------- operations

    /**
     * Connects; the future completes with the first CONNACK that accepts (with a reconnect policy, after
     * retries), or fails with an {@link MqttException} (a refusal's reason code; the connect failure)
     * when the broker refuses or the policy gives up. Once.
     */
    public CompletableFuture<MqttConnAck> connect() {
        synchronized (this) {
            if (frozen) throw new IllegalStateException("connect() was called already");
            frozen = true;
        }
        return session.connect();
    }

    /** Publishes {@code payload} to {@code topic}. See {@link #publish(MqttMessage)}. */
    public CompletableFuture<MqttAck> publish(String topic, byte[] payload, int qos, boolean retain) {
        check(topic, payload, qos);
        CompletableFuture<MqttAck> f = new CompletableFuture<>();
        session.publish(null, topic, payload, qos, retain, f);
        return f;
    }

    /**
     * Publishes {@code payload} (not copied: do not change it afterwards) to {@code topic} without a
     * future: the fast path for a stream of messages, which allocates nothing per QoS 0 message in
     * steady state (the topic's UTF-8 is kept from the last publish to the same topic; publishes from
     * other threads are handed to the loop in batches and written together). Delivery is as with
     * {@link #publish(MqttMessage)}: QoS 1 and 2 messages are kept in the in-flight store until
     * acknowledged, and everything waits in the send queue while disconnected. A failure that a
     * future would have reported (full send queue, closed client, too large for the broker, a
     * refusing reason code) is counted in {@link #failedPublishes()} and logged at DEBUG.
     * Thread-safe.
     *
     * @throws IllegalArgumentException for a topic with a wildcard or an empty one, or a QoS other than 0, 1 or 2
     */
    public void publishAndForget(String topic, byte[] payload, int qos, boolean retain) {
        check(topic, payload, qos);
        session.publish(null, topic, payload, qos, retain, null);
    }

    private static void check(String topic, byte[] payload, int qos) {
        Objects.requireNonNull(topic, "topic");
        Objects.requireNonNull(payload, "payload");
        if (qos < 0 || qos > 2) throw new IllegalArgumentException("QoS must be 0, 1 or 2: " + qos);
        TopicFilter.validateTopic(topic);
        checkLength(topic);
    }

    /** A topic longer than MQTT's 65,535 bytes of UTF-8 is refused here, not on the loop. */
    private static void checkLength(String topic) {
        if (topic.length() > 65535 / 3 && topic.getBytes(StandardCharsets.UTF_8).length > 65535) {
            throw new IllegalArgumentException("topic longer than 65,535 bytes in UTF-8");
        }
    }

    /**
     * Publishes a message. The future completes when QoS 0 is written to the connection, QoS 1 is
     * acknowledged (PUBACK), QoS 2 is complete (PUBCOMP); it fails with an {@link MqttException} for
     * a failure reason code, a message larger than the broker's maximum packet size, a full send
     * queue, or a client closed before it was sent. While disconnected, messages wait in the send
     * queue. Thread-safe.
     */
    public CompletableFuture<MqttAck> publish(MqttMessage message) {
        Objects.requireNonNull(message, "message");
        TopicFilter.validateTopic(message.topic());
        checkLength(message.topic());
        CompletableFuture<MqttAck> f = new CompletableFuture<>();
        session.publish(message.hasProperties() ? message : null, message.topic(), message.payload(), message.qos(), message.isRetain(), f);
        return f;
    }

    /** Subscribes to {@code filter} with maximum QoS {@code qos}; {@code handler} gets its messages. See {@link #subscribe(MqttSubscription, MqttProperties, MqttMessageHandler)}. */
    public CompletableFuture<MqttAck> subscribe(String filter, int qos, MqttMessageHandler handler) {
        return subscribe(MqttSubscription.of(filter, qos), null, handler);
    }

    /** Subscribes with options. */
    public CompletableFuture<MqttAck> subscribe(MqttSubscription subscription, MqttMessageHandler handler) {
        return subscribe(subscription, null, handler);
    }

    /**
     * Subscribes with options and (MQTT 5) SUBSCRIBE properties (a subscription identifier, user
     * properties). The handler gets every received message whose topic the filter matches (more than
     * one handler may match a message). The future completes with the SUBACK (its code is the granted
     * QoS) or fails with its failure reason code; the subscription is kept and, with
     * {@link #resubscribe}, renewed after a reconnect to a broker that lost the session. Called
     * while disconnected, the SUBSCRIBE goes out on the next connect. Thread-safe.
     */
    public CompletableFuture<MqttAck> subscribe(MqttSubscription subscription, MqttProperties properties, MqttMessageHandler handler) {
        Objects.requireNonNull(subscription, "subscription");
        Objects.requireNonNull(handler, "handler");
        return session.subscribe(subscription, properties, handler);
    }

    /** Unsubscribes from the filters (and drops their handlers); the future has one code per filter. Thread-safe. */
    public CompletableFuture<MqttAck> unsubscribe(String... filters) {
        if (filters.length == 0) throw new IllegalArgumentException("no filter");
        return session.unsubscribe(List.of(filters));
    }

    /**
     * MQTT 5 re-authentication (section 4.12.1) on the current connection: sends AUTH (reason 0x19)
     * with the {@link #authenticator(MqttAuthenticator) authenticator}'s method and
     * {@link MqttAuthenticator#initialData() initial data}, answers the broker's challenges with
     * {@link MqttAuthenticator#onChallenge}, and completes with the properties of the broker's final
     * AUTH (reason 0x00). Publishing and receiving go on meanwhile. Fails with an
     * {@link MqttException} without an authenticator, on MQTT 3.1.1, while not connected, while
     * another re-authentication runs, or when the connection is lost first (a broker that refuses
     * re-authentication disconnects: the reason code is the exception's). Thread-safe.
     */
    public CompletableFuture<MqttProperties> reauthenticate() { return session.reauthenticate(); }

    /** Stops delivering messages (and reading from the socket: TCP flow control slows the broker) until {@link #resume()}. Thread-safe. */
    public void pause() { session.pause(true); }

    /** Resumes delivery after {@link #pause()}. Thread-safe. */
    public void resume() { session.pause(false); }

    /**
     * Sends DISCONNECT (reason 0: the broker discards the will), closes the connection and stops
     * reconnecting; queued and in-flight publishes fail (in-flight ones stay in the store). The future
     * completes when the connection has closed. Thread-safe, idempotent.
     */
    public CompletableFuture<Void> disconnect() { return session.disconnect(); }

    /**
     * {@link #disconnect()}, waits up to 5 s for it, and stops the client's own loop (if it has one).
     * Any thread; on the client's own loop thread (in a handler) it does not wait: the DISCONNECT is
     * written at once and the loop stops after the current callback.
     */
    @Override
    public void close() {
        EventLoop l = session.loop();
        if (l != null && l.inLoop()) {
            disconnect();
            session.stopOwnLoopNoWait();
            return;
        }
        try {
            disconnect().get(5, java.util.concurrent.TimeUnit.SECONDS);
        } catch (Exception ignored) {
            // closing anyway
        } finally {
            session.stopOwnLoop();
        }
    }

    /** True while connected (CONNACK accepted). Thread-safe. */
    public boolean isConnected() { return session.isConnected(); }

    /** The last accepted CONNACK, or null. Thread-safe. */
    public MqttConnAck connAck() { return session.connAck(); }

    /** The client identifier in use: the configured one, or the broker-assigned one (v5). Thread-safe. */
    public String clientId() { return session.effectiveClientId(); }

    /** Successful connects so far. Thread-safe. */
    public int connectCount() { return session.connectCount(); }

    /** The loop the client runs on (null before connect). Thread-safe. */
    public EventLoop eventLoop() { return session.loop(); }

    /** Messages waiting in the send queue (and those from other threads not yet taken by the loop). Thread-safe. */
    public int queuedMessages() { return session.queued(); }

    /** Publishes without a future ({@link #publishAndForget}) that failed so far. Thread-safe. */
    public long failedPublishes() { return session.failedPublishes(); }

    /** QoS 1/2 messages sent and not yet completely acknowledged. Thread-safe. */
    public int inFlightMessages() { return session.inFlight(); }

    /** The protocol version in use: the configured one, or 3.1.1 after a {@link #versionFallback fallback}. Thread-safe. */
    public MqttVersion protocolVersion() { return session.level() == 4 ? MqttVersion.V3_1_1 : version; }

    @Override
    public String toString() { return "MqttClient[" + url + ", " + version + ", id=" + clientId() + "]"; }
}
