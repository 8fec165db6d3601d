package io.jhv.mqtt;

import io.jhv.core.buffer.Buffer;
import io.jhv.core.loop.EventLoop;
import io.jhv.core.loop.Timer;
import io.jhv.core.net.CloseCause;
import io.jhv.core.net.Connector;
import io.jhv.core.tls.TlsConfig;
import io.jhv.mqtt.internal.Codec;
import io.jhv.mqtt.internal.Packet;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;

import static io.jhv.mqtt.internal.Packet.*;

/**
 * The session engine of an {@link MqttClient} (not public API): the connection's state machine,
 * packet ids, the in-flight exchanges both ways, subscriptions, the send queue, keepalive and
 * reconnect. Every field is confined to the client's loop thread; the public methods post there.
 *
 * <pre>
 *  connect() -> attempt: Connector / WebSocketClient -> link up -> CONNECT --CONNACK--> connected
 *                 ^                                                                      |
 *                 +---- ReconnectPolicy delay <---- link closed (cause) <----------------+
 * </pre>
 */
final class ClientSession {
    private static final System.Logger LOG = System.getLogger(MqttClient.class.getName());
    private static final AtomicInteger SEQ = new AtomicInteger();

    private final MqttClient cfg;
    private volatile EventLoop loop;
    private boolean ownLoop;
    private Connector connector;
    private InFlightStore store;

    // connection state
    private Link link;                     // the current transport, null between connections
    private volatile boolean connected;    // CONNACK accepted on link
    private volatile MqttConnAck connAck;
    private volatile String assignedId;
    private volatile int level;
    private Codec.Decoder decoder;
    private boolean userClosed;
    private int retries;
    private Timer retryTimer, connAckTimer, keepAliveTimer;
    private final AtomicInteger connects = new AtomicInteger();
    private int epoch;                     // bumps on every link, so late acks of an old one are ignored
    private MqttException lostReason;      // why the current link is closing (a DISCONNECT, a violation)
    private final CompletableFuture<MqttConnAck> firstConnect = new CompletableFuture<>();
    private final CompletableFuture<Void> closed = new CompletableFuture<>();
    private boolean paused;

    // broker limits (CONNACK)
    private int serverReceiveMax = 65535;
    private long serverMaxPacket = Codec.MAX_REMAINING + 5L;
    private int serverTopicAliasMax;
    private int keepAliveMs;
    private long lastSent, lastReceived, lastPing;

    // outgoing
    private final BitSet usedIds = new BitSet(65536);
    private int nextId = 1;
    private final Map<Integer, CompletableFuture<MqttAck>> pubFutures = new HashMap<>();
    private final Map<Integer, InFlightStore.Entry> outgoing = new HashMap<>(); // the store's entries, for lookups
    private int outInFlight;
    private final SendRing queue = new SendRing();      // waits for the connection, flow control or writability
    private volatile int queuedCount, inFlightCount;
    private static final int OUT_INITIAL = 4096, OUT_KEEP = 256 * 1024, BATCH_BYTES = 64 * 1024;
    private static final byte[] EMPTY = new byte[0];
    private Buffer out = Buffer.allocate(OUT_INITIAL); // encoded packets for the next write, reused
    private boolean batching;                            // PUBLISHes collect in out until the batch ends
    private int writes;                                  // flushes so far (did a read make us send anything?)
    private CompletableFuture<MqttProperties> reauth;    // a re-authentication in progress (v5), loop only
    private String lastTopic;                            // the last published topic and its UTF-8
    private byte[] lastTopicUtf8;
    private final java.util.concurrent.atomic.AtomicLong failedPublishes = new java.util.concurrent.atomic.AtomicLong();
    // other threads' publishes, drained by one task (guarded by outboxLock; the loop swaps in the spare)
    private final Object outboxLock = new Object();
    private SendRing outbox = new SendRing(), spareOutbox = new SendRing();
    private boolean outboxPosted;
    private volatile int outboxCount;
    private final Runnable drainOutboxTask = this::drainOutbox;
    private final Map<String, Integer> aliasOut = new HashMap<>();
    private int nextAlias = 1;

    // incoming
    private final byte[] qos2In = new byte[65536]; // 0 none, 1 received (PUBREC not sent), 2 PUBREC sent
    private int inUnacked;
    // With manual acknowledgement, acks go out in the order the messages came, per QoS (MQTT 4.6):
    // an ack() for a later message waits for the earlier ones. Entries: {packet id, acked 0/1}.
    private final ArrayDeque<int[]> ackOrder1 = new ArrayDeque<>(), ackOrder2 = new ArrayDeque<>();
    private String[] aliasIn;

    // subscriptions
    private final LinkedHashMap<String, Sub> subs = new LinkedHashMap<>();
    private final LinkedHashMap<Integer, SubOp> subOps = new LinkedHashMap<>();

    /**
     * Publishes waiting in order, kept in parallel arrays that grow and are reused (no object per
     * message): the message (null when given as its parts), topic, payload, QoS and retain, future
     * (null when the caller wants none) and when it was queued.
     */
    static final class SendRing {
        private MqttMessage[] msgs = new MqttMessage[16];
        private String[] topics = new String[16];
        private byte[][] payloads = new byte[16][];
        private byte[] flags = new byte[16];
        @SuppressWarnings("unchecked")
        private CompletableFuture<MqttAck>[] futures = new CompletableFuture[16];
        private long[] nanos = new long[16];
        private int head, size;

        int size() { return size; }
        boolean isEmpty() { return size == 0; }

        void add(MqttMessage m, String topic, byte[] payload, int qos, boolean retain, CompletableFuture<MqttAck> f, long queuedNanos) {
            if (size == msgs.length) grow();
            int i = (head + size) & (msgs.length - 1);
            msgs[i] = m;
            topics[i] = topic;
            payloads[i] = payload;
            flags[i] = (byte) (qos | (retain ? 4 : 0));
            futures[i] = f;
            nanos[i] = queuedNanos;
            size++;
        }

        private int at(int k) { return (head + k) & (msgs.length - 1); }
        MqttMessage message(int k) { return msgs[at(k)]; }
        String topic(int k) { return topics[at(k)]; }
        byte[] payload(int k) { return payloads[at(k)]; }
        int qos(int k) { return flags[at(k)] & 3; }
        boolean retain(int k) { return (flags[at(k)] & 4) != 0; }
        CompletableFuture<MqttAck> future(int k) { return futures[at(k)]; }
        long nanos(int k) { return nanos[at(k)]; }

        void removeFirst() {
            msgs[head] = null;
            topics[head] = null;
            payloads[head] = null;
            futures[head] = null;
            head = (head + 1) & (msgs.length - 1);
            size--;
        }

        void clear() {
            while (size > 0) removeFirst();
            head = 0;
        }

        @SuppressWarnings("unchecked")
        private void grow() {
            int n = msgs.length * 2;
            MqttMessage[] m = new MqttMessage[n];
            String[] t = new String[n];
            byte[][] p = new byte[n][];
            byte[] fl = new byte[n];
            CompletableFuture<MqttAck>[] fu = new CompletableFuture[n];
            long[] na = new long[n];
            for (int k = 0; k < size; k++) {
                int i = at(k);
                m[k] = msgs[i];
                t[k] = topics[i];
                p[k] = payloads[i];
                fl[k] = flags[i];
                fu[k] = futures[i];
                na[k] = nanos[i];
            }
            msgs = m;
            topics = t;
            payloads = p;
            flags = fl;
            futures = fu;
            nanos = na;
            head = 0;
        }
    }

    private static final class Sub {
        final MqttSubscription sub;
        final MqttProperties props;
        final MqttMessageHandler handler;
        Sub(MqttSubscription sub, MqttProperties props, MqttMessageHandler handler) { this.sub = sub; this.props = props; this.handler = handler; }
    }

    /** A SUBSCRIBE or UNSUBSCRIBE waiting for its ack (resent after a reconnect). */
    private record SubOp(Packet packet, CompletableFuture<MqttAck> future, List<String> filters, boolean unsubscribe) {}

    ClientSession(MqttClient cfg) { this.cfg = cfg; }

    // ================================================================ public entry points (any thread)

    CompletableFuture<MqttConnAck> connect() {
        EventLoop l = cfg.loop;
        if (l == null && cfg.group != null) l = cfg.group.next();
        if (l == null) {
            l = EventLoop.builder().name("mqtt-client-" + SEQ.incrementAndGet()).build().start();
            ownLoop = true;
        }
        store = cfg.store != null ? cfg.store : InFlightStore.inMemory();
        level = cfg.version.level();
        aliasIn = new String[cfg.topicAliasMaximum + 1];
        if (!cfg.scheme.startsWith("ws")) {
            Connector c = Connector.create().connectTimeout(cfg.connectTimeout).handshakeTimeout(cfg.connectTimeout)
                    .onMessage((conn, buf) -> {
                        Link k = conn.context();
                        if (k != null) onBytes(k, buf);
                    })
                    .onClose((conn, cause) -> {
                        Link k = conn.context();
                        if (k != null) onLinkClosed(k, cause.toString(), cause.error());
                    })
                    .onWritable((conn, writable) -> {
                        Link k = conn.context();
                        if (k != null && writable) writable(k);
                    });
            if (cfg.scheme.equals("mqtts") || cfg.scheme.equals("ssl")) c.tls(cfg.tls != null ? cfg.tls : TlsConfig.client().build());
            connector = c;
        }
        // Restore what a persistent store kept: those ids are in use, and the messages go out again.
        for (InFlightStore.Entry e : store.entries()) {
            usedIds.set(e.packetId());
            outgoing.put(e.packetId(), e);
            outInFlight++;
        }
        inFlightCount = outInFlight;
        for (int id : store.receivedQos2()) if (id > 0 && id < 65536) qos2In[id] = 2;
        loop = l;
        l.runInLoop(this::attempt);
        return firstConnect;
    }

    /** Runs {@code task} on the loop, or fails {@code f} when there is none (before connect(), after close()). */
    private <T> CompletableFuture<T> onLoop(CompletableFuture<T> f, Runnable task) {
        EventLoop l = loop;
        if (l == null) {
            f.completeExceptionally(new IllegalStateException("connect() first"));
            return f;
        }
        try {
            l.runInLoop(task);
        } catch (java.util.concurrent.RejectedExecutionException dead) {
            f.completeExceptionally(new MqttException(-1, "client closed (its loop has stopped)"));
        }
        return f;
    }

    CompletableFuture<MqttAck> subscribe(MqttSubscription s, MqttProperties props, MqttMessageHandler h) {
        CompletableFuture<MqttAck> f = new CompletableFuture<>();
        return onLoop(f, () -> {
            if (userClosed) {
                f.completeExceptionally(new MqttException(-1, "client closed"));
                return;
            }
            Sub sub = new Sub(s, props, h);
            subs.put(s.filter(), sub);
            int id = allocId();
            SubOp op = new SubOp(new Subscribe(id, List.of(new Subscription(s.filter(), s.options())), props), f, List.of(s.filter()), false);
            subOps.put(id, op);
            if (connected) send(op.packet());
        });
    }

    CompletableFuture<MqttAck> unsubscribe(List<String> filters) {
        CompletableFuture<MqttAck> f = new CompletableFuture<>();
        return onLoop(f, () -> {
            for (String flt : filters) subs.remove(flt);
            if (userClosed) {
                f.completeExceptionally(new MqttException(-1, "client closed"));
                return;
            }
            int id = allocId();
            SubOp op = new SubOp(new Unsubscribe(id, filters, null), f, filters, true);
            subOps.put(id, op);
            if (connected) send(op.packet());
        });
    }

    /** MQTT 5 re-authentication (section 4.12.1): AUTH with reason 0x19; completes on the broker's AUTH success. */
    CompletableFuture<MqttProperties> reauthenticate() {
        CompletableFuture<MqttProperties> f = new CompletableFuture<>();
        return onLoop(f, () -> {
            MqttAuthenticator a = cfg.authenticator;
            String why = userClosed ? "client closed"
                    : level != 5 ? "re-authentication needs MQTT 5 (this client speaks " + cfg.version + ")"
                    : a == null ? "re-authentication needs an authenticator (MqttClient.authenticator)"
                    : !connected ? "not connected"
                    : reauth != null ? "a re-authentication is already in progress" : null;
            if (why != null) {
                f.completeExceptionally(new MqttException(-1, why));
                return;
            }
            reauth = f;
            MqttProperties p = new MqttProperties().authenticationMethod(a.method());
            byte[] data = a.initialData();
            if (data != null) p.authenticationData(data);
            send(new Disconnect(AUTH, ReasonCode.REAUTHENTICATE, p));
        });
    }

    void pause(boolean on) {
        EventLoop l = loop;
        if (l == null || l.isTerminated()) return;
        l.runInLoop(() -> {
            if (paused == on) return;
            paused = on;
            Link k = link;
            if (k == null) return;
            if (on) k.pauseReading();
            else {
                k.resumeReading();
                k.redeliver();
            }
        });
    }

    CompletableFuture<Void> disconnect() {
        EventLoop l = loop;
        if (l == null) {
            closed.complete(null);
            return closed;
        }
        try {
            l.runInLoop(this::disconnectInLoop);
        } catch (java.util.concurrent.RejectedExecutionException dead) {
            closed.complete(null);
        }
        return closed;
    }

    void stopOwnLoopNoWait() {
        EventLoop l = loop;
        if (ownLoop && l != null) l.stop();
    }

    void stopOwnLoop() {
        EventLoop l = loop;
        if (ownLoop && l != null) {
            l.stop();
            try {
                l.awaitTermination(java.time.Duration.ofSeconds(5));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    boolean isConnected() { return connected; }
    int level() { return level; }
    MqttConnAck connAck() { return connAck; }
    String effectiveClientId() { String a = assignedId; return a != null ? a : cfg.clientId; }
    int connectCount() { return connects.get(); }
    EventLoop loop() { return loop; }
    int queued() { return queuedCount + outboxCount; }
    long failedPublishes() { return failedPublishes.get(); }
    int inFlight() { return inFlightCount; }

    // ================================================================ connecting (loop thread)

    private void attempt() {
        retryTimer = null;
        if (userClosed) return;
        Link k = cfg.scheme.startsWith("ws") ? new Link.Ws(this) : new Link.Tcp(this);
        link = k;
        k.open();
    }

    /** The transport is up: say CONNECT and wait for CONNACK. */
    void linkUp(Link k) {
        if (k != link) return;
        epoch++;
        decoder = new Codec.Decoder(level, cfg.maximumPacketSize);
        out.clear();
        lostReason = null;
        boolean v5 = level == 5;
        MqttProperties p = cfg.connectProperties != null ? cfg.connectProperties.copy() : new MqttProperties();
        if (v5) {
            if (cfg.sessionExpirySeconds > 0) p.sessionExpiryInterval(cfg.sessionExpirySeconds);
            if (cfg.receiveMaximum != 65535) p.receiveMaximum(cfg.receiveMaximum);
            p.maximumPacketSize(cfg.maximumPacketSize);
            if (cfg.topicAliasMaximum > 0) p.topicAliasMaximum(cfg.topicAliasMaximum);
            if (cfg.authenticator != null) {
                p.authenticationMethod(cfg.authenticator.method());
                byte[] d = cfg.authenticator.initialData();
                if (d != null) p.authenticationData(d);
            }
        }
        Will w = null;
        if (cfg.will != null) {
            MqttMessage m = cfg.will;
            w = new Will(m.topic(), m.payload(), m.qos(), m.isRetain(), m.hasProperties() ? m.properties() : null);
        }
        // Clean start only on the first connect: a reconnect resumes the session we just made.
        boolean clean = cfg.cleanStart && connects.get() == 0;
        if (!v5 && cfg.sessionExpirySeconds == 0 && !cfg.cleanStart) clean = false;
        else if (!v5 && cfg.sessionExpirySeconds == 0) clean = true;
        String id = assignedId != null ? assignedId : cfg.clientId;
        send(new Connect(level, id, clean, cfg.keepAliveSeconds, cfg.username, cfg.password, w, v5 ? p : null));
        connAckTimer = loop.setTimeout(cfg.connectTimeout.toMillis(), () -> {
            connAckTimer = null;
            violation(k, new MqttException(-1, "no CONNACK within " + cfg.connectTimeout.toMillis() + " ms"), -1);
        });
    }

    void attemptFailed(Link k, String why, Throwable error) {
        if (k != link) return;
        link = null;
        LOG.log(System.Logger.Level.DEBUG, "MQTT connect to " + cfg.url + " failed: " + why);
        MqttException e = new MqttException(-1, "connect to " + cfg.url + " failed: " + why, null, error);
        scheduleReconnect(e);
    }

    private void scheduleReconnect(MqttException why) {
        if (userClosed) {
            finishClose();
            return;
        }
        if (retries < 0) { // the version fallback: reconnect now
            retries = 0;
            retryTimer = loop.setTimeout(0, this::attempt);
            return;
        }
        var policy = cfg.reconnect;
        int retry = retries + 1;
        if (policy == null || !policy.allows(retry)) {
            if (!firstConnect.isDone()) firstConnect.completeExceptionally(why);
            giveUp(why);
            return;
        }
        retries = retry;
        retryTimer = loop.setTimeout(policy.delayMs(retry), this::attempt);
    }

    /** No more connections: fail what waits for one. */
    private void giveUp(MqttException why) {
        userClosed = true;
        failQueued(why);
        failPending(why);
        finishClose();
    }

    private void onConnAck(Link k, ConnAck a) {
        if (connAckTimer != null) connAckTimer.cancel();
        connAckTimer = null;
        int code = a.reasonCode();
        if (level < 5) code = switch (code) {
            case 0 -> 0;
            case 1 -> ReasonCode.UNSUPPORTED_PROTOCOL_VERSION;
            case 2 -> ReasonCode.CLIENT_IDENTIFIER_NOT_VALID;
            case 3 -> ReasonCode.SERVER_UNAVAILABLE;
            case 4 -> ReasonCode.BAD_USER_NAME_OR_PASSWORD;
            case 5 -> ReasonCode.NOT_AUTHORIZED;
            default -> ReasonCode.UNSPECIFIED_ERROR;
        };
        MqttProperties p = a.props();
        MqttConnAck ack = new MqttConnAck(a.sessionPresent(), code, p);
        if (level == 5 && cfg.versionFallback && (a.reasonCode() == ReasonCode.UNSUPPORTED_PROTOCOL_VERSION || a.reasonCode() == 1)) {
            // a 3.1.1 broker (its return code 1) or a v5 one refusing v5: try again at once with 3.1.1
            LOG.log(System.Logger.Level.DEBUG, "MQTT " + cfg.url + ": the broker refused MQTT 5, falling back to 3.1.1");
            level = 4;
            retries = -1; // the retry after this close comes without delay and is not counted
            k.close();
            return;
        }
        if (code != 0) {
            // A refusal is an answer, not a network failure: retrying with the same settings would be refused again.
            MqttException e = new MqttException(code, "broker refused the connection", p.reasonString(), null);
            if (!firstConnect.isDone()) firstConnect.completeExceptionally(e);
            userClosed = true;
            failQueued(e);
            failPending(e);
            k.close();
            return;
        }
        connected = true;
        connAck = ack;
        retries = 0;
        connects.incrementAndGet();
        if (p.assignedClientIdentifier() != null) assignedId = p.assignedClientIdentifier();
        serverReceiveMax = p.receiveMaximum() != null ? p.receiveMaximum() : 65535;
        serverMaxPacket = p.maximumPacketSize() != null ? p.maximumPacketSize() : Codec.MAX_REMAINING + 5L;
        serverTopicAliasMax = cfg.outgoingTopicAliases && p.topicAliasMaximum() != null ? p.topicAliasMaximum() : 0;
        aliasOut.clear();
        nextAlias = 1;
        java.util.Arrays.fill(aliasIn, null);
        int ka = p.serverKeepAlive() != null ? p.serverKeepAlive() : cfg.keepAliveSeconds;
        startKeepAlive(ka);
        // The receive quota starts afresh with each connection (the broker resends what was not acknowledged).
        inUnacked = 0;
        ackOrder1.clear();
        ackOrder2.clear();
        if (!a.sessionPresent()) {
            // the broker has no state for us: nothing of an earlier QoS 2 receive is pending
            for (int i = 1; i < qos2In.length; i++) {
                if (qos2In[i] == 2) store.releasedQos2(i);
                qos2In[i] = 0;
            }
        } else {
            // QoS 2 messages delivered but not acknowledged (manual ack) on the old connection: the broker
            // resends them and the application gets them again (their old ack() is void); those whose
            // PUBREC went out stay, so their resends are recognised as duplicates.
            for (int i = 0; i < qos2In.length; i++) if (qos2In[i] == 1) qos2In[i] = 0;
        }
        // 1. what was in flight: PUBLISH again with DUP, or PUBREL
        for (InFlightStore.Entry e : store.entries()) {
            if (e.released()) sendAckPacket(PUBREL, e.packetId(), 0);
            else sendPublish(e.message(), e.packetId(), true, null);
        }
        // 2. subscriptions: all again if the session is gone, and those never acknowledged
        if (!a.sessionPresent() && cfg.resubscribe) {
            for (Sub s : subs.values()) {
                boolean pending = false;
                for (SubOp op : subOps.values()) if (!op.unsubscribe() && op.filters().contains(s.sub.filter())) pending = true;
                if (pending) continue;
                int id = allocId();
                SubOp op = new SubOp(new Subscribe(id, List.of(new Subscription(s.sub.filter(), s.sub.options())), s.props), null, List.of(s.sub.filter()), false);
                subOps.put(id, op);
            }
        }
        for (SubOp op : subOps.values()) send(op.packet());
        // 3. what waited
        drain();
        if (!firstConnect.isDone()) firstConnect.complete(ack);
        if (cfg.onConnected != null) {
            try {
                cfg.onConnected.accept(ack);
            } catch (RuntimeException e) {
                report(e);
            }
        }
    }

    void onLinkClosed(Link k, String why, Throwable error) {
        if (k != link) return;
        link = null;
        boolean wasConnected = connected;
        connected = false;
        cancelTimers();
        MqttException e = lostReason != null ? lostReason : new MqttException(-1, "connection to " + cfg.url + " lost: " + why, null, error);
        lostReason = null;
        CompletableFuture<MqttProperties> ra = reauth;
        reauth = null;
        if (ra != null) ra.completeExceptionally(e); // a broker that refuses re-authentication disconnects (section 4.12.1)
        if (!wasConnected) {
            // closed before CONNACK: a failed attempt
            scheduleReconnect(e);
            return;
        }
        if (cfg.onConnectionLost != null && !userClosed) {
            try {
                cfg.onConnectionLost.accept(e);
            } catch (RuntimeException ex) {
                report(ex);
            }
        }
        if (userClosed) {
            finishClose();
            return;
        }
        if (cfg.reconnect == null) {
            giveUp(e);
            return;
        }
        scheduleReconnect(e);
    }

    private void disconnectInLoop() {
        if (userClosed && link == null) {
            finishClose();
            return;
        }
        userClosed = true;
        if (retryTimer != null) retryTimer.cancel();
        retryTimer = null;
        MqttException e = new MqttException(-1, "client closed");
        if (!firstConnect.isDone()) firstConnect.completeExceptionally(e);
        failQueued(e);
        failPending(e);
        Link k = link;
        if (k == null) {
            finishClose();
            return;
        }
        if (connected) send(new Disconnect(DISCONNECT, 0, null));
        k.close();
    }

    private void finishClose() {
        cancelTimers();
        closed.complete(null);
    }

    private void cancelTimers() {
        if (connAckTimer != null) connAckTimer.cancel();
        if (keepAliveTimer != null) keepAliveTimer.cancel();
        connAckTimer = keepAliveTimer = null;
    }

    private void failQueued(MqttException e) {
        for (int i = 0, n = queue.size(); i < n; i++) failed(queue.future(i), e);
        queue.clear();
        queuedCount = 0;
    }

    /** Futures of in-flight exchanges fail; the store keeps the messages (a persistent store resends them next run). */
    private void failPending(MqttException e) {
        for (CompletableFuture<MqttAck> f : pubFutures.values()) failed(f, e);
        pubFutures.clear();
        for (SubOp op : subOps.values()) if (op.future() != null) op.future().completeExceptionally(e);
        for (Integer id : subOps.keySet()) usedIds.clear(id);
        subOps.clear();
    }

    // ================================================================ keepalive

    private void startKeepAlive(int seconds) {
        keepAliveMs = seconds * 1000;
        lastReceived = lastSent = lastPing = System.nanoTime();
        if (seconds == 0) return;
        long tick = Math.max(50, keepAliveMs / 4);
        keepAliveTimer = loop.setInterval(tick, () -> {
            Link k = link;
            if (k == null || !connected) return;
            long now = System.nanoTime();
            long sinceRecv = (now - lastReceived) / 1_000_000, sinceSent = (now - lastSent) / 1_000_000;
            // While paused the client reads nothing, PINGRESP included: silence is then ours, not the broker's.
            if (!paused && sinceRecv > keepAliveMs * 3L / 2) {
                violation(k, new MqttException(ReasonCode.KEEP_ALIVE_TIMEOUT, "broker silent for " + sinceRecv + " ms"), ReasonCode.KEEP_ALIVE_TIMEOUT);
                return;
            }
            // Ping when we have been quiet (the broker needs a packet within the keepalive) and when the
            // broker has (a PINGRESP proves it alive even while we publish QoS 0 only).
            if ((sinceSent >= keepAliveMs * 3L / 4 || sinceRecv >= keepAliveMs / 2) && (now - lastPing) / 1_000_000 >= keepAliveMs / 2) {
                lastPing = now;
                send(Ping.REQ);
            }
        });
    }

    // ================================================================ sending

    /** Control packets: encoded behind any batched PUBLISHes and written at once, in order. */
    private void send(Packet p) {
        if (link == null) return;
        Codec.encode(p, level, out);
        flush();
    }

    /** An acknowledgement: joins the current batch (written at its end), or goes at once. */
    private void sendAckPacket(int type, int id, int code) {
        if (link == null) return;
        if (level == 5 && code != 0) {
            Codec.encode(new Ack(type, id, code, null), level, out);
        } else { // fixed header, length 2, packet id: nothing to allocate
            out.writeByte((type << 4) | (type == PUBREL ? 2 : 0));
            out.writeByte(2);
            out.writeShort(id);
        }
        if (!batching || out.readableBytes() >= BATCH_BYTES) flush();
    }

    /** Writes what {@link #out} holds (one write for a batch of PUBLISHes) and empties it for reuse. */
    private void flush() {
        if (!out.isReadable()) return;
        Link k = link;
        if (k != null) {
            lastSent = System.nanoTime();
            writes++;
            k.write(out); // consumes; both links copy what they cannot send at once
        }
        out.clear();
        if (out.capacity() > OUT_KEEP) out = Buffer.allocate(OUT_INITIAL); // one large message: do not keep its room
    }

    /**
     * A publish from any thread. On the loop thread it goes at once; from another thread it is put in
     * the outbox (no task, no message object per publish), and one task drains the outbox in a batch.
     * {@code m} is null for a message without properties given as its parts; {@code f} null when the
     * caller wants no future (failures are counted and logged).
     */
    void publish(MqttMessage m, String topic, byte[] payload, int qos, boolean retain, CompletableFuture<MqttAck> f) {
        EventLoop l = loop;
        if (l == null) {
            failed(f, new MqttException(-1, "connect() first"));
            return;
        }
        if (l.inLoop()) {
            publishInLoop(m, topic, payload, qos, retain, f, System.nanoTime());
            return;
        }
        boolean post;
        synchronized (outboxLock) {
            outbox.add(m, topic, payload, qos, retain, f, System.nanoTime());
            outboxCount = outbox.size();
            post = !outboxPosted;
            outboxPosted = true;
        }
        if (!post) return;
        try {
            l.queueInLoop(drainOutboxTask);
        } catch (java.util.concurrent.RejectedExecutionException dead) {
            SendRing r;
            synchronized (outboxLock) {
                r = outbox;
                outbox = new SendRing();
                outboxCount = 0;
                outboxPosted = false;
            }
            MqttException e = new MqttException(-1, "client closed (its loop has stopped)");
            for (int i = 0, n = r.size(); i < n; i++) failed(r.future(i), e);
        }
    }

    /** On the loop: takes what other threads published (swapping the outbox with an empty one) and sends it in one batch. */
    private void drainOutbox() {
        SendRing r;
        synchronized (outboxLock) {
            r = outbox;
            outbox = spareOutbox;
            spareOutbox = r;
            outboxCount = 0;
            outboxPosted = false;
        }
        boolean was = batching;
        batching = true;
        try {
            for (int i = 0, n = r.size(); i < n; i++) {
                try {
                    publishInLoop(r.message(i), r.topic(i), r.payload(i), r.qos(i), r.retain(i), r.future(i), r.nanos(i));
                } catch (RuntimeException e) { // one bad message fails alone: the rest of the batch goes on
                    failed(r.future(i), new MqttException(-1, "publish to " + r.topic(i) + " failed: " + e.getMessage(), null, e));
                }
            }
        } finally {
            r.clear();
            batching = was;
            if (!was) flush();
        }
    }

    private void publishInLoop(MqttMessage m, String topic, byte[] payload, int qos, boolean retain, CompletableFuture<MqttAck> f, long nanos) {
        if (userClosed) {
            failed(f, new MqttException(-1, "client closed"));
            return;
        }
        // Straight out only when nothing waits before it, the broker's receive maximum allows it, and the
        // connection's write queue is below its high-water mark: a broker that reads slowly makes
        // publishes wait in the bounded send queue, not pile up in the connection.
        if (connected && queue.isEmpty() && link.isWritable() && (qos == 0 || outInFlight < serverReceiveMax)) {
            sendNew(m, topic, payload, qos, retain, f);
            return;
        }
        if (queue.size() >= cfg.maxQueued) {
            if (cfg.queueFullPolicy == QueueFullPolicy.FAIL || cfg.maxQueued == 0) {
                failed(f, new MqttException(-1, "send queue full (" + cfg.maxQueued + " messages)"));
                return;
            }
            CompletableFuture<MqttAck> old = queue.future(0);
            queue.removeFirst();
            failed(old, new MqttException(-1, "dropped: send queue full (" + cfg.maxQueued + " messages)"));
        }
        queue.add(m, topic, payload, qos, retain, f, nanos);
        queuedCount = queue.size();
    }

    private void drain() {
        boolean was = batching;
        batching = true;
        try {
            while (connected && !queue.isEmpty() && link.isWritable()) {
                if (queue.qos(0) > 0 && outInFlight >= serverReceiveMax) break;
                MqttMessage m = queue.message(0);
                String topic = queue.topic(0);
                byte[] payload = queue.payload(0);
                int qos = queue.qos(0);
                boolean retain = queue.retain(0);
                CompletableFuture<MqttAck> f = queue.future(0);
                long nanos = queue.nanos(0);
                queue.removeFirst();
                if (m != null) {
                    m = expireWhileQueued(m, f, nanos);
                    if (m == null) continue;
                }
                sendNew(m, topic, payload, qos, retain, f);
            }
            queuedCount = queue.size();
        } finally {
            batching = was;
            if (!was) flush();
        }
    }

    /**
     * A message with a message expiry interval (v5) ages in the send queue as it would at the broker:
     * past its interval it is not sent (its future fails); otherwise it goes out with what is left.
     */
    private MqttMessage expireWhileQueued(MqttMessage m, CompletableFuture<MqttAck> f, long queuedNanos) {
        Long expiry = m.hasProperties() ? m.properties().messageExpiryInterval() : null;
        if (expiry == null || level < 5) return m;
        long waited = (System.nanoTime() - queuedNanos) / 1_000_000_000L;
        if (waited == 0) return m;
        if (waited >= expiry) {
            failed(f, new MqttException(-1, "expired in the send queue after " + waited + " s (message expiry " + expiry + " s)"));
            return null;
        }
        return MqttMessage.of(m.topic(), m.payload()).qos(m.qos()).retain(m.isRetain())
                .properties(m.properties().copy().messageExpiryInterval(expiry - waited));
    }

    /** {@code m} may be null (a message without properties, given as its parts). */
    private void sendNew(MqttMessage m, String topic, byte[] payload, int qos, boolean retain, CompletableFuture<MqttAck> f) {
        if (qos == 0) {
            if (!sendPublish(topic, payload, 0, retain, m != null && m.hasProperties() ? m.properties() : null, 0, false, f)) return;
            if (f != null) f.complete(new MqttAck(List.of(ReasonCode.SUCCESS), new MqttProperties()));
            return;
        }
        if (m == null) m = MqttMessage.of(topic, payload).qos(qos).retain(retain);
        // stored before it is written (write-ahead: a persistent store never misses a sent message)
        int id = allocId();
        putEntry(new InFlightStore.Entry(id, m, false));
        if (f != null) pubFutures.put(id, f);
        outInFlight++;
        inFlightCount = outInFlight;
        if (!sendPublish(m, id, false, f)) { // too large for the broker: f has failed
            outgoing.remove(id);
            store.remove(id);
            pubFutures.remove(id);
            usedIds.clear(id);
            outInFlight--;
            inFlightCount = outInFlight;
        }
    }

    private boolean sendPublish(MqttMessage m, int id, boolean dup, CompletableFuture<MqttAck> f) {
        return sendPublish(m.topic(), m.payload(), m.qos(), m.isRetain(), m.hasProperties() ? m.properties() : null, id, dup, f);
    }

    /**
     * Encodes into {@link #out} (with a topic alias when the broker allows them) and writes unless a
     * batch is being built; false (and the failure counted or {@code f} failed) if the packet is too
     * large for the broker. Without properties nothing is allocated: the topic's UTF-8 is kept from the
     * last publish to the same topic and the packet is encoded in place.
     */
    private boolean sendPublish(String topic, byte[] payload, int qos, boolean retain, MqttProperties p, int id, boolean dup, CompletableFuture<MqttAck> f) {
        boolean v5 = level == 5;
        int alias = 0;
        boolean newAlias = false, sendTopic = true;
        if (v5 && serverTopicAliasMax > 0) {
            Integer a = aliasOut.get(topic);
            if (a != null) {
                alias = a;
                sendTopic = false;
            } else if (nextAlias <= serverTopicAliasMax) {
                alias = nextAlias++;
                aliasOut.put(topic, alias);
                newAlias = true;
            }
        }
        int before = out.writerIndex();
        if (p == null || p.isEmpty() || !v5) {
            byte[] t = EMPTY;
            if (sendTopic) {
                if (!topic.equals(lastTopic)) {
                    lastTopicUtf8 = topic.getBytes(java.nio.charset.StandardCharsets.UTF_8);
                    lastTopic = topic;
                }
                t = lastTopicUtf8;
            }
            Codec.encodePublish(out, t, payload, qos, retain, dup, id, alias, v5);
        } else {
            if (alias > 0) p = p.copy().topicAlias(alias);
            Codec.encode(new Publish(sendTopic ? topic : "", payload, qos, retain, dup, id, p), level, out);
        }
        int size = out.writerIndex() - before;
        if (size > serverMaxPacket) {
            out.writerIndex(before);
            if (newAlias) { // the broker never learns this alias: take it back
                aliasOut.remove(topic);
                nextAlias--;
            }
            failed(f, new MqttException(ReasonCode.PACKET_TOO_LARGE, "PUBLISH of " + size
                    + " bytes exceeds the broker's maximum packet size of " + serverMaxPacket));
            return false;
        }
        if (!batching || out.readableBytes() >= BATCH_BYTES) flush();
        return true;
    }

    /** Fails {@code f}, or (a publish without a future) counts and logs the failure. */
    private void failed(CompletableFuture<MqttAck> f, MqttException e) {
        if (f != null) {
            f.completeExceptionally(e);
            return;
        }
        failedPublishes.incrementAndGet();
        LOG.log(System.Logger.Level.DEBUG, () -> "MQTT " + cfg.url + ": a publish without a future failed: " + e.getMessage());
    }

    private int allocId() {
        for (int i = 0; i < 65535; i++) {
            int id = nextId;
            nextId = nextId == 65535 ? 1 : nextId + 1;
            if (!usedIds.get(id)) {
                usedIds.set(id);
                return id;
            }
        }
        throw new MqttException(-1, "all 65,535 packet identifiers are in use");
    }

    // ================================================================ receiving

    void onBytes(Link k, Buffer in) {
        if (k != link) {
            in.skip(in.readableBytes());
            return;
        }
        // What the packets of one read make us send (acks, publishes the broker's receive maximum
        // let go) collects in one batch and goes out in one write. A read that makes us send nothing
        // while we wait for the broker (a publish's ack, a SUBACK or UNSUBACK) is ACKed at once: mosquitto keeps
        // Nagle's algorithm on by default, so its next small packet would wait for our delayed ACK
        // (up to 40 ms: a QoS 1 round trip took 28 ms at the median before this).
        boolean was = batching;
        batching = true;
        int w = writes;
        try {
            while (!paused && k == link) {
                Packet p = decoder.decode(in);
                if (p == null) return;
                lastReceived = System.nanoTime();
                handle(k, p);
            }
        } catch (MqttProtocolException e) {
            in.skip(in.readableBytes());
            violation(k, e, e.reasonCode());
        } finally {
            batching = was;
            if (!was) {
                flush();
                if (writes == w && k == link && awaitingBroker()) k.quickAck();
            }
        }
    }

    /** Something we sent is unanswered: an in-flight QoS 1/2 publish, a (un)subscribe. */
    private boolean awaitingBroker() {
        return outInFlight > 0 || !subOps.isEmpty();
    }

    /** The broker broke the protocol (or went silent): DISCONNECT with {@code code} (v5), close, and let reconnect take over. */
    private void violation(Link k, MqttException e, int code) {
        if (k != link) return;
        LOG.log(System.Logger.Level.DEBUG, "MQTT " + cfg.url + ": " + e.getMessage());
        lostReason = e;
        if (level == 5 && code >= 0x80 && connected) send(new Disconnect(DISCONNECT, code, new MqttProperties().reasonString(shorten(e.getMessage()))));
        k.close();
    }

    private static String shorten(String s) { return s == null ? "" : s.length() > 200 ? s.substring(0, 200) : s; }

    private void handle(Link k, Packet p) {
        if (!connected && !(p instanceof ConnAck) && !(p instanceof Disconnect d && (d.type() == AUTH || d.type() == DISCONNECT))) {
            throw new MqttProtocolException(ReasonCode.PROTOCOL_ERROR, "protocol error: " + Packet.typeName(p.type()) + " before CONNACK");
        }
        switch (p) {
            case ConnAck a -> {
                if (connected) throw new MqttProtocolException(ReasonCode.PROTOCOL_ERROR, "protocol error: a second CONNACK");
                onConnAck(k, a);
            }
            case Publish pub -> onPublish(pub);
            case Ack a -> onAck(a);
            case SubAck s -> onSubAck(s);
            case Ping ping -> {
                if (ping.type() != PINGRESP) throw new MqttProtocolException(ReasonCode.PROTOCOL_ERROR, "protocol error: PINGREQ from the broker");
            }
            case Disconnect d when d.type() == AUTH -> onAuth(d);
            case Disconnect d -> {
                String rs = d.props().reasonString();
                lostReason = new MqttException(d.reasonCode(), "broker sent DISCONNECT", rs, null);
                k.close();
            }
            case Connect c -> throw new MqttProtocolException(ReasonCode.PROTOCOL_ERROR, "protocol error: CONNECT from the broker");
            case Subscribe s -> throw new MqttProtocolException(ReasonCode.PROTOCOL_ERROR, "protocol error: SUBSCRIBE from the broker");
            case Unsubscribe u -> throw new MqttProtocolException(ReasonCode.PROTOCOL_ERROR, "protocol error: UNSUBSCRIBE from the broker");
        }
    }

    private void onAuth(Disconnect auth) {
        MqttAuthenticator a = cfg.authenticator;
        if (a == null || auth.reasonCode() != ReasonCode.CONTINUE_AUTHENTICATION) {
            if (auth.reasonCode() == ReasonCode.SUCCESS && a != null && connected) { // re-authentication done
                CompletableFuture<MqttProperties> f = reauth;
                reauth = null;
                if (f != null) f.complete(auth.props());
                return;
            }
            throw new MqttProtocolException(ReasonCode.PROTOCOL_ERROR, "protocol error: unexpected AUTH " + ReasonCode.describe(auth.reasonCode()));
        }
        String method = auth.props().authenticationMethod();
        if (method != null && !method.equals(a.method())) {
            throw new MqttProtocolException(ReasonCode.PROTOCOL_ERROR, "protocol error: AUTH for method " + method + ", not " + a.method());
        }
        byte[] data = a.onChallenge(auth.props());
        MqttProperties p = new MqttProperties().authenticationMethod(a.method());
        if (data != null) p.authenticationData(data);
        send(new Disconnect(AUTH, ReasonCode.CONTINUE_AUTHENTICATION, p));
    }

    private void onPublish(Publish pub) {
        String topic = pub.topic();
        MqttProperties props = pub.props();
        Integer alias = props.topicAlias();
        if (alias != null) {
            if (alias == 0 || alias >= aliasIn.length) throw new MqttProtocolException(ReasonCode.TOPIC_ALIAS_INVALID, "topic alias " + alias + " out of range (maximum " + (aliasIn.length - 1) + ")");
            if (topic.isEmpty()) {
                topic = aliasIn[alias];
                if (topic == null) throw new MqttProtocolException(ReasonCode.PROTOCOL_ERROR, "protocol error: unknown topic alias " + alias);
            } else {
                aliasIn[alias] = topic;
            }
        } else if (topic.isEmpty()) {
            throw new MqttProtocolException(ReasonCode.PROTOCOL_ERROR, "protocol error: PUBLISH without a topic");
        }
        int qos = pub.qos(), id = pub.packetId();
        if (qos == 0) {
            deliver(MqttMessage.received(topic, pub.payload(), 0, pub.retain(), pub.dup(), props, null));
            return;
        }
        if (qos == 2 && qos2In[id] != 0) {
            // a re-delivery of one we have: exactly once means not again; PUBREC again once acked
            if (qos2In[id] == 2) sendAckPacket(PUBREC, id, 0);
            return;
        }
        if (++inUnacked > cfg.receiveMaximum && level == 5) {
            throw new MqttProtocolException(ReasonCode.RECEIVE_MAXIMUM_EXCEEDED, "the broker sent more than " + cfg.receiveMaximum + " unacknowledged QoS 1/2 messages");
        }
        if (qos == 2) qos2In[id] = 1;
        int ep = epoch;
        if (cfg.manualAck) (qos == 1 ? ackOrder1 : ackOrder2).addLast(new int[] {id, 0});
        Runnable acker = () -> {
            try {
                loop.runInLoop(() -> ackReceived(ep, qos, id));
            } catch (java.util.concurrent.RejectedExecutionException closed) {
                // the client is gone: the broker redelivers to the next session
            }
        };
        MqttMessage m = MqttMessage.received(topic, pub.payload(), qos, pub.retain(), pub.dup(), props, cfg.manualAck ? acker : null);
        deliver(m);
        if (!cfg.manualAck) ackReceived(ep, qos, id);
    }

    private void ackReceived(int ep, int qos, int id) {
        if (ep != epoch || link == null) return; // that connection is gone: the broker resends
        if (!cfg.manualAck) {
            sendAck(qos, id);
            return;
        }
        ArrayDeque<int[]> order = qos == 1 ? ackOrder1 : ackOrder2;
        for (int[] e : order) {
            if (e[0] == id && e[1] == 0) {
                e[1] = 1;
                break;
            }
        }
        while (!order.isEmpty() && order.peekFirst()[1] == 1) sendAck(qos, order.pollFirst()[0]);
    }

    private void sendAck(int qos, int id) {
        if (qos == 1) {
            if (inUnacked > 0) inUnacked--;
            sendAckPacket(PUBACK, id, 0);
        } else if (qos2In[id] == 1) {
            qos2In[id] = 2;
            store.receivedQos2(id);
            sendAckPacket(PUBREC, id, 0);
        }
    }

    private void deliver(MqttMessage m) {
        boolean any = false;
        for (Sub s : subs.values()) {
            if (!TopicFilter.matches(s.sub.filter(), m.topic())) continue;
            any = true;
            call(s.handler, m);
        }
        if (!any && cfg.defaultHandler != null) call(cfg.defaultHandler, m);
    }

    private void call(MqttMessageHandler h, MqttMessage m) {
        try {
            h.onMessage(m);
        } catch (RuntimeException e) {
            report(e);
        }
    }

    private void report(Throwable t) {
        LOG.log(System.Logger.Level.WARNING, "MQTT client " + cfg.url + ": a callback threw", t);
    }

    private void onAck(Ack a) {
        int id = a.packetId();
        switch (a.type()) {
            case PUBREL -> {
                if (qos2In[id] == 2 || qos2In[id] == 1) {
                    if (qos2In[id] == 2) store.releasedQos2(id);
                    qos2In[id] = 0;
                    if (inUnacked > 0) inUnacked--;
                    sendAckPacket(PUBCOMP, id, 0);
                } else {
                    sendAckPacket(PUBCOMP, id, level == 5 ? ReasonCode.PACKET_IDENTIFIER_NOT_FOUND : 0);
                }
            }
            case PUBACK -> complete(id, a, false);
            case PUBREC -> {
                InFlightStore.Entry e = outgoing.get(id);
                if (e == null) {
                    // nothing of ours: answer so the broker can let go of it (v5: "not found")
                    if (a.reasonCode() < 0x80) sendAckPacket(PUBREL, id, level == 5 ? ReasonCode.PACKET_IDENTIFIER_NOT_FOUND : 0);
                    return;
                }
                if (a.reasonCode() >= 0x80) {
                    complete(id, a, false);
                    return;
                }
                if (!e.released()) putEntry(new InFlightStore.Entry(id, e.message(), true));
                sendAckPacket(PUBREL, id, 0);
            }
            case PUBCOMP -> complete(id, a, true);
            default -> { }
        }
    }

    private void putEntry(InFlightStore.Entry e) {
        outgoing.put(e.packetId(), e);
        store.put(e);
    }

    private void complete(int id, Ack a, boolean comp) {
        InFlightStore.Entry e = outgoing.get(id);
        // a stray ack, or one of the wrong kind (PUBACK for QoS 2, PUBCOMP before PUBREC): nothing to complete
        if (e == null || (comp ? !e.released() : e.released() || (a.type() == PUBACK) != (e.message().qos() == 1))) return;
        CompletableFuture<MqttAck> f = pubFutures.remove(id);
        outgoing.remove(id);
        store.remove(id);
        usedIds.clear(id);
        outInFlight = Math.max(0, outInFlight - 1);
        inFlightCount = outInFlight;
        if (a.reasonCode() >= 0x80) failed(f, new MqttException(a.reasonCode(), Packet.typeName(a.type()) + " refused the publish", a.props().reasonString(), null));
        else if (f != null) f.complete(new MqttAck(List.of(a.reasonCode()), a.props()));
        drain();
    }

    private void onSubAck(SubAck s) {
        SubOp op = subOps.remove(s.packetId());
        if (op == null) throw new MqttProtocolException(ReasonCode.PROTOCOL_ERROR, "protocol error: " + Packet.typeName(s.type()) + " for unknown packet id " + s.packetId());
        usedIds.clear(s.packetId());
        List<Integer> codes = new ArrayList<>(s.reasonCodes().length);
        for (int c : s.reasonCodes()) codes.add(c);
        MqttAck ack = new MqttAck(codes, s.props());
        if (!op.unsubscribe()) {
            boolean failed = codes.size() == 1 && codes.get(0) >= 0x80;
            if (failed) {
                Sub sub = subs.get(op.filters().get(0));
                if (sub != null) subs.remove(op.filters().get(0));
                if (op.future() != null) op.future().completeExceptionally(new MqttException(codes.get(0), "subscribe to " + op.filters().get(0) + " refused", s.props().reasonString(), null));
                else LOG.log(System.Logger.Level.WARNING, "MQTT " + cfg.url + ": resubscribe to " + op.filters().get(0) + " refused: " + ReasonCode.describe(codes.get(0)));
                return;
            }
        }
        if (op.future() != null) op.future().complete(ack);
    }

    // ================================================================ for the links (loop thread)

    boolean isCurrent(Link k) { return link == k; }

    /** {@code k}'s write queue fell below its low-water mark: what waits may go. */
    void writable(Link k) {
        if (k == link) drain();
    }
    boolean closing() { return userClosed; }
    boolean paused() { return paused; }
    MqttClient config() { return cfg; }
    Connector connector() { return connector; }

    /** {@code k} came up after the client was closed or had moved on: it is dropped. */
    void abandoned(Link k) {
        if (link != k) return;
        link = null;
        finishClose();
    }
}
