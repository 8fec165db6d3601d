package io.jhv.http.websocket;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.Set;

/**
 * A set of sockets to broadcast to (a chat room), which keeps a slow receiver from growing memory
 * without bound: a socket whose queue holds more than {@link #maxQueuedBytes} when a broadcast
 * reaches it is skipped ({@link SlowPolicy#SKIP}: it misses that message) or closed with 1008
 * ({@link SlowPolicy#CLOSE}). A socket leaves the group by itself when it closes.
 *
 * {@snippet :
 * WebSocketGroup room = new WebSocketGroup(1 << 20, WebSocketGroup.SlowPolicy.SKIP);
 * server.ws("/chat", new WebSocketHandler() {
 *     public void onOpen(WebSocket ws, Handshake hs) { room.add(ws); }
 *     public void onMessage(WebSocket ws, Message msg) { room.broadcast(msg.text()); }
 * });
 * }
 *
 * <p>Thread contract: thread-safe.
 */
public final class WebSocketGroup {

    /** What a broadcast does with a socket that has too much queued already. */
    public enum SlowPolicy {
        /** Leave this message out for it. */
        SKIP,
        /** Close it with 1008 (policy violation) and remove it. */
        CLOSE
    }

    private final Set<WebSocket> sockets = ConcurrentHashMap.newKeySet();
    private final long maxQueuedBytes;
    private final SlowPolicy policy;

    /**
     * @param maxQueuedBytes a socket with more than this queued is slow
     * @param policy         what a broadcast does with a slow socket
     */
    public WebSocketGroup(long maxQueuedBytes, SlowPolicy policy) {
        if (maxQueuedBytes < 0) throw new IllegalArgumentException("maxQueuedBytes < 0: " + maxQueuedBytes);
        this.maxQueuedBytes = maxQueuedBytes;
        this.policy = Objects.requireNonNull(policy, "policy");
    }

    /** A group with a 4 MiB bound that skips slow sockets. */
    public WebSocketGroup() {
        this(4 << 20, SlowPolicy.SKIP);
    }

    /** Adds a socket; it is removed when it closes. Returns false if it was there already or is closed. */
    public boolean add(WebSocket ws) {
        if (!ws.isOpen() || !sockets.add(ws)) return false;
        io.jhv.http.internal.ws.WsSession.of(ws).whenClosed(() -> sockets.remove(ws));
        return true;
    }

    public boolean remove(WebSocket ws) {
        return sockets.remove(ws);
    }

    public int size() {
        return sockets.size();
    }

    /** A snapshot of the members. */
    public List<WebSocket> sockets() {
        return new ArrayList<>(sockets);
    }

    /**
     * Sends {@code text} to every member but the slow ones; returns to how many it was handed (a
     * socket found slow on its loop afterwards still misses it).
     */
    public int broadcast(String text) {
        return broadcast(text, null);
    }

    /** {@link #broadcast(String)} leaving out {@code except} (the sender, say). */
    public int broadcast(String text, WebSocket except) {
        byte[] utf8 = text.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        return broadcast(utf8, true, except);
    }

    /** Sends a binary message (not changed by this call) to every member but the slow ones. */
    public int broadcast(byte[] data) {
        return broadcast(data, false, null);
    }

    private int broadcast(byte[] payload, boolean text, WebSocket except) {
        int sent = 0;
        for (WebSocket ws : sockets) {
            if (ws == except || !ws.isOpen()) continue;
            // The queue is looked at on the socket's loop, where it is exact; a slow socket closed
            // for it leaves the group by its close hook.
            if (io.jhv.http.internal.ws.WsSession.of(ws).sendShared(payload, text, maxQueuedBytes, policy == SlowPolicy.CLOSE)) sent++;
        }
        return sent;
    }

    /** The bound a socket's queue may reach before a broadcast treats it as slow. */
    public long maxQueuedBytes() {
        return maxQueuedBytes;
    }

    public SlowPolicy policy() {
        return policy;
    }
}
