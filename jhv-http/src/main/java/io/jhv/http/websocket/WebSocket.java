package io.jhv.http.websocket;

import io.jhv.core.buffer.Buffer;
import io.jhv.core.loop.EventLoop;
import io.jhv.core.net.Connection;

import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;

/**
 * One WebSocket (RFC 6455), server or client side.
 *
 * <p>Sending: {@code send} queues a whole message, in call order per thread, and never drops it
 * while the socket is open (with permessage-deflate agreed, messages from the size threshold up are compressed). Nothing is
 * refused for size on the sending side: watch {@link #isWritable()} / {@link #onWritable} or
 * {@link #queuedBytes()} to keep a slow receiver from growing memory (a {@link WebSocketGroup}
 * does it for broadcasts). Once a close has started (this side's {@link #close}, or the peer's),
 * sends are dropped without an exception, as in a browser or OkHttp, so a loop that sends one
 * message to many sockets goes on when one of them is closing; {@link #isOpen()} tells, and
 * {@code sendAsync}'s future fails with {@link IllegalStateException}. After this side's
 * {@code close()} no more messages are delivered to {@code onMessage}.
 *
 * <p>Thread contract: {@code send*}, {@code ping}, {@code close}, {@code abort}, the reading controls
 * and the getters may be called from any thread (from another thread the frame is built on the
 * socket's loop); {@link #onWritable} on the loop thread. All {@link WebSocketHandler} callbacks of
 * one socket run on its loop.
 */
public interface WebSocket {

    /** Sends a text message. Thread-safe. */
    void send(String text);

    /** Sends a binary message (the array is taken over: don't change it afterwards). Thread-safe. */
    void send(byte[] data);

    /** Sends the remaining bytes of {@code data} as a binary message (taken over). Thread-safe. */
    void send(ByteBuffer data);

    /**
     * Sends the readable bytes of {@code data} as one message, text (they must be UTF-8) or binary,
     * and consumes them. On the loop thread they are copied into the frame at once, so a borrowed
     * buffer may be passed; from another thread they are copied first. Thread-safe.
     */
    void send(Buffer data, boolean text);

    /**
     * Sends {@code message} as it is: text stays text. The echo of the examples. The message is left
     * unchanged, so one received message may be sent to several sockets ({@code for (WebSocket s :
     * peers) s.send(msg)}) and read after it was sent. Thread-safe; a received message is valid only
     * during the {@code onMessage} call that delivered it, so from another thread it must be sent
     * during that call (an {@link IllegalStateException} after it).
     */
    void send(Message message);

    /**
     * Sends a text message and returns a future completed (on the loop) when its frame reached the
     * socket, or failed when the socket closed first. Thread-safe.
     */
    CompletableFuture<Void> sendAsync(String text);

    /** {@link #sendAsync(String)} for a binary message (taken over). Thread-safe. */
    CompletableFuture<Void> sendAsync(byte[] data);

    /**
     * Sends one fragment of a message that is streamed out in pieces: {@code text} is the type of the
     * whole message (looked at on its first fragment), {@code last} ends it. A whole message sent
     * meanwhile, by any thread, never lands between the fragments (RFC 6455 5.4): it waits, held in
     * memory, until the last fragment is out (a {@link WebSocketGroup} broadcast skips the socket
     * instead); control frames (ping, pong, close) may interleave. The array's content at the call
     * is what is sent (it may be refilled for the next fragment). Thread-safe, but one message's
     * fragments must come from one thread at a time.
     */
    void sendFragment(byte[] data, boolean text, boolean last);

    /** Sends a ping (payload up to 125 bytes). Thread-safe. */
    void ping(byte[] payload);

    /** Sends a pong nobody asked for (a unidirectional heartbeat, up to 125 bytes). Thread-safe. */
    void pong(byte[] payload);

    /** {@link #close(int, String)} with 1000 and no reason. Thread-safe; idempotent. */
    void close();

    /**
     * Starts the close handshake: sends a close frame after what was queued before, waits for the
     * peer's close frame up to the close timeout, then closes the connection (the server first, as
     * RFC 6455 asks). {@code onClose} reports the peer's code.
     *
     * @throws IllegalArgumentException if {@code code} may not be sent ({@link CloseCodes#isValid}) or
     *         the reason is longer than 123 bytes in UTF-8
     */
    void close(int code, String reason);

    /** Drops the connection at once, without a close handshake; {@code onClose} reports 1006. Thread-safe. */
    void abort();

    /** True while messages can be sent: open, and no close started. */
    boolean isOpen();

    /** The subprotocol agreed on, or null. */
    String subprotocol();

    /** True if permessage-deflate was agreed on. */
    boolean isCompressed();

    /** The handshake's details (the upgrade request on the server). */
    Handshake handshake();

    /** Bytes queued for the socket and not yet written. */
    long queuedBytes();

    /** False while the queue is above the connection's high-water mark. */
    boolean isWritable();

    /**
     * Called on the loop when {@link #isWritable()} turns true again after being false (the queue fell
     * below the low-water mark), replacing an earlier one; null removes it. Loop thread only.
     */
    void onWritable(Consumer<WebSocket> handler);

    /** Stops reading frames (TCP flow control then slows the peer). Thread-safe. */
    void pauseReading();

    /** Resumes reading after {@link #pauseReading()}. Thread-safe. */
    void resumeReading();

    /** The loop all of this socket's callbacks run on. */
    EventLoop loop();

    /** The underlying connection, for its addresses, TLS details and statistics: do not write to it. */
    Connection connection();

    default SocketAddress remoteAddress() {
        return connection().remoteAddress();
    }

    /** The object attached with {@link #context(Object)}, or null. */
    <C> C context();

    /** Attaches an application object to this socket (a user, a room). */
    void context(Object ctx);
}
