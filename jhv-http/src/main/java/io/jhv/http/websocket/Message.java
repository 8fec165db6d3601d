package io.jhv.http.websocket;

import io.jhv.core.buffer.Buffer;

/**
 * A received message, borrowed for the {@link WebSocketHandler#onMessage} call that delivers it:
 * the object and its buffer are reused for the next message, so keep {@link #text()} or
 * {@link #bytes()}, not the message. Text has been checked to be valid UTF-8 already.
 *
 * <p>Thread contract: the loop thread, during the callback only.
 */
public interface Message {

    /** True for a text message (opcode 1), false for binary (opcode 2). */
    boolean isText();

    /** True for a binary message. */
    default boolean isBinary() {
        return !isText();
    }

    /**
     * False only for a fragment that more of the same message follows; without streaming every
     * message is whole, so always true.
     */
    boolean isLast();

    /** The payload's length in bytes (after decompression). */
    int length();

    /** The payload, borrowed: its readable bytes are the message. Reading it consumes them. */
    Buffer buffer();

    /** The payload decoded as UTF-8 (allocates a String). */
    String text();

    /** A copy of the payload. */
    byte[] bytes();
}
