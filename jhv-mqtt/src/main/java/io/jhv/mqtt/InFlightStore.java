package io.jhv.mqtt;

import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Where a client keeps the QoS 1 and 2 messages it has sent and the broker has not fully
 * acknowledged, so that they survive a reconnect (they are resent with DUP, or their PUBREL is) and,
 * with a persistent implementation, a restart of the process. The default is in memory
 * ({@link #inMemory()}); implement this interface to put them on disk or in a database.
 *
 * <p>Thread contract: the client calls these methods on its loop thread only; a slow store slows
 * the loop, so write behind if storage is slow.
 */
public interface InFlightStore {

    /** A message waiting for its PUBACK/PUBREC ({@code released} false), or for its PUBCOMP after PUBREC (true). */
    record Entry(int packetId, MqttMessage message, boolean released) {}

    /** A publish was sent (or, with {@code released}, its PUBREC came and PUBREL was sent). Replaces an entry with the same id. */
    void put(Entry entry);

    /** The exchange for {@code packetId} is complete. */
    void remove(int packetId);

    /** All entries, in the order they were first put (resent in this order). */
    Collection<Entry> entries();

    /**
     * A QoS 2 message from the broker was delivered and its PUBREC sent: until {@link #releasedQos2}
     * a resend of {@code packetId} is a duplicate, also after a restart of the process. The default
     * keeps nothing (the client remembers it in memory for its own lifetime anyway).
     */
    default void receivedQos2(int packetId) { }

    /** The broker released {@code packetId} (PUBREL came, PUBCOMP went out), or its session is gone. */
    default void releasedQos2(int packetId) { }

    /** The ids of {@link #receivedQos2} not yet released (read once, at connect). */
    default Collection<Integer> receivedQos2() { return java.util.List.of(); }

    /** A new in-memory store (a client makes one for itself by default). */
    static InFlightStore inMemory() {
        return new InFlightStore() {
            private final Map<Integer, Entry> map = new LinkedHashMap<>();
            private final java.util.Set<Integer> qos2 = new java.util.LinkedHashSet<>();
            @Override public void put(Entry e) { map.put(e.packetId(), e); }
            @Override public void remove(int packetId) { map.remove(packetId); }
            @Override public Collection<Entry> entries() { return new ArrayList<>(map.values()); }
            @Override public void receivedQos2(int packetId) { qos2.add(packetId); }
            @Override public void releasedQos2(int packetId) { qos2.remove(packetId); }
            @Override public Collection<Integer> receivedQos2() { return new ArrayList<>(qos2); }
        };
    }
}
