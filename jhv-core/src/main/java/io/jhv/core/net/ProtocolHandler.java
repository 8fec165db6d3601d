package io.jhv.core.net;

import io.jhv.core.buffer.Buffer;

/**
 * The protocol spoken on a connection: a stateful consumer of its inbound bytes (the idea of
 * Netty's {@code ByteToMessageDecoder} and Helidon's {@code ServerConnection}). A connection has one
 * handler at a time; {@link Connection#handover} replaces it, passing on the bytes it has not
 * consumed. Endpoints make a fresh one per connection ({@link TcpEndpoint#protocol}); without that,
 * a connection runs the {@link Unpacker} + {@code onMessage} handler of its endpoint.
 *
 * <p>Thread contract: every method is called on the connection's loop thread, one at a time, so a
 * handler keeps its state (a partial frame, timers) without locks.
 *
 * <p>Lifecycle:
 * <pre>
 *  onAttach --> onData* --+--> onDetach     (handed over: the next handler gets the unread bytes)
 *                         +--> onClose      (the connection closed while this handler had it)
 * </pre>
 * Exactly one of {@code onDetach} and {@code onClose} ends a handler's life; each is the place to
 * cancel its timers and let go of callbacks it set on the connection, so nothing of an old
 * protocol runs after it.
 *
 * {@snippet :
 * // a line protocol: one line per message, a partial line waits for the next read
 * final class Lines implements ProtocolHandler {
 *     public void onData(Connection conn, Buffer in) {
 *         int eol;
 *         while ((eol = in.indexOf(new byte[] {'\n'}, 0)) >= 0) {
 *             conn.write(in.readString(eol + 1));
 *         }
 *     }
 * }
 * server.protocol(Lines::new);
 * }
 */
public interface ProtocolHandler {

    /**
     * This handler now owns the connection's input: when the connection comes up (after the TLS
     * handshake, so ALPN is known: {@code TlsInfo.of(conn)}), or when an earlier handler handed
     * it over. Bytes the connection holds follow in {@link #onData} right after. A handler may
     * hand over from here already (a selector that decides by ALPN).
     */
    default void onAttach(Connection conn) {
    }

    /**
     * Inbound bytes. {@code in} is borrowed for this call: consume what can be used (advance its
     * reader index); the connection keeps what is left and offers it again, in front of the next
     * bytes, with the next read (and when reading resumes after a pause, since a paused handler
     * may have left whole requests behind). Keeping a copy is up to the handler. Calling
     * {@link Connection#handover} from here gives the rest of {@code in} (after what this handler
     * consumed) to the next handler as soon as this call returns.
     *
     * <p>An exception thrown here closes the connection with {@link CloseCause.Kind#ERROR} (and is
     * reported to the loop's error handler); the loop goes on.
     */
    void onData(Connection conn, Buffer in);

    /**
     * The connection was handed over to another handler: cancel timers, drop callbacks set on the
     * connection. The connection is still open; what this handler did not consume goes on to the
     * next one. No other method is called afterwards.
     */
    default void onDetach(Connection conn) {
    }

    /**
     * The connection closed while this handler had it (called once, before the endpoint's close
     * callbacks). No other method is called afterwards.
     */
    default void onClose(Connection conn, CloseCause cause) {
    }
}
