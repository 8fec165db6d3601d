package io.jhv.core.internal;

import io.jhv.core.buffer.Buffer;
import io.jhv.core.net.CloseCause;
import io.jhv.core.net.Connection;

import java.nio.ByteBuffer;

/**
 * A layer between a connection's socket and its message handler, such as TLS. It turns bytes read
 * from the socket into application bytes, and application writes into bytes for the socket.
 *
 * <p>Internal: TLS ({@code io.jhv.core.tls}) is the one layer; users turn it on with
 * {@code TcpEndpoint.tls(TlsConfig)}. All methods run on the connection's loop thread. The public connection API (ordered writes,
 * back-pressure, timeouts, {@code close()} flushing, half-close) is the same with or without a layer.
 */
public interface TransportLayer {

    /** Makes one layer per connection. */
    @FunctionalInterface
    interface Factory {
        TransportLayer create(Connection conn, boolean clientMode);

        /**
         * A client's layer for a connection whose peer is not the host it means to reach (a tunnel
         * through a proxy): {@code peerHost:peerPort} is the target, for SNI and host name
         * verification, instead of the socket's remote address. By default the same as
         * {@link #create(Connection, boolean)}.
         */
        default TransportLayer create(Connection conn, boolean clientMode, String peerHost, int peerPort) {
            return create(conn, clientMode);
        }
    }

    /** What a layer calls back into; implemented by the connection. */
    interface Sink {
        /** Hands application bytes up to the unpacker and message handler. */
        void deliver(Buffer plain);

        /** Sends bytes on the socket, in order after everything sent before. {@code owned}: the layer gives up the buffer. */
        void writeRaw(ByteBuffer bytes, boolean owned);

        /** The layer is ready (handshake done): the connection is reported up. */
        void ready();

        /** The layer failed: the connection closes with this cause. */
        void fail(String detail, Throwable error);

        /** The layer gives up with {@code cause} (a TLS handshake timeout): the connection closes at once. */
        void fail(CloseCause cause);
    }

    /**
     * Starts the layer when the TCP connection is up. Returns true if the connection is ready now;
     * false if the layer will call {@link Sink#ready()} later (after a handshake).
     */
    boolean start(Sink sink);

    /** Bytes read from the socket. Consume what can be used; unread bytes are kept and given again with the next read. */
    void onRead(Buffer in);

    /** Application bytes to send. {@code owned}: the caller gives up the buffer; else copy what is kept beyond this call. */
    void write(ByteBuffer plain, boolean owned);

    /** The application closed its side (after its queued writes): send a close message (close_notify). */
    void closeOutbound();

    /** True when application writes can be sent now (after the handshake). Writes before that are kept in order by the layer. */
    default boolean isReady() {
        return true;
    }

    /**
     * True while the layer holds application writes it has not yet handed to the connection (TLS:
     * plaintext written before the handshake finished). A close that drops them is not NORMAL.
     */
    default boolean hasPendingWrites() {
        return false;
    }

    /**
     * The connection has closed: cancel timers and let go of what the layer holds (pending writes,
     * engine state), so that nothing (a timer on the loop) keeps the closed connection reachable.
     * Called once, on the loop thread, before the close callbacks; afterwards the layer is only
     * asked for information (such as {@code TlsInfo}).
     */
    default void release() {
    }
}
