package io.jhv.core.net;

import io.jhv.core.buffer.Buffer;

/**
 * Called on the loop thread with received bytes (or one package, when an {@link Unpacker} is set).
 *
 * <p>The buffer is borrowed for this call only. Without an unpacker, bytes left unread in it are kept
 * and delivered again, in front of the next bytes, in the next call (so a parser can wait for more).
 */
@FunctionalInterface
public interface MessageHandler {
    void onMessage(Connection conn, Buffer buf);
}
