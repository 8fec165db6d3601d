package io.jhv.core.net;

import io.jhv.core.buffer.Buffer;

import java.util.Objects;
import java.util.function.Supplier;

/**
 * Settings and callbacks shared by {@link TcpServer}, {@link TcpClient} and {@link Connector}: what every connection
 * they make gets. Configure before {@code start()}; the setters are not thread-safe.
 *
 * @param <T> the concrete endpoint, for fluent setters
 */
public abstract sealed class TcpEndpoint<T extends TcpEndpoint<T>> permits TcpServer, TcpClient, Connector {
    /** Default high-water mark of a connection's write queue: 1 MiB. */
    public static final int DEFAULT_HIGH_WATER_MARK = 1 << 20;

    ConnectionHandler onConnection;
    MessageHandler onMessage;
    ConnectionHandler onWriteComplete;
    WritableHandler onWritable;
    CloseHandler onClose;
    ConnectionHandler onPeerShutdown;
    Unpacker unpacker;
    Supplier<? extends ProtocolHandler> protocol;
    int highWaterMark = DEFAULT_HIGH_WATER_MARK;
    int lowWaterMark = DEFAULT_HIGH_WATER_MARK / 2;
    boolean pauseReadingAboveHighWater = true;
    long readTimeoutMs;
    long writeTimeoutMs;
    long keepaliveTimeoutMs;
    long heartbeatMs;
    Supplier<?> heartbeat;
    long closeTimeoutMs = 30_000;
    boolean tcpNoDelay = true;
    int maxInputBuffer = 64 << 20;
    /** Wraps each new connection's byte stream (TLS); null for plain TCP. */
    TransportLayer.Factory layerFactory;

    TcpEndpoint() {}

    @SuppressWarnings("unchecked")
    private T self() {
        return (T) this;
    }

    /** Called when a connection comes up and when it goes down. */
    public T onConnection(ConnectionHandler h) { this.onConnection = h; return self(); }

    /** Called with received bytes, or one package at a time when an {@link #unpacker} is set. */
    public T onMessage(MessageHandler h) { this.onMessage = h; return self(); }

    /** Called when the write queue has been fully flushed to the socket. */
    public T onWriteComplete(ConnectionHandler h) { this.onWriteComplete = h; return self(); }

    /** Called when the write queue crosses the high-water mark and drains below the low-water mark. */
    public T onWritable(WritableHandler h) { this.onWritable = h; return self(); }

    /**
     * Called exactly once per connection with why it closed. For a client every connect attempt is a
     * connection: a failed one (refused, timed out) ends here too, with its cause, though it never
     * came up.
     */
    public T onClose(CloseHandler h) { this.onClose = h; return self(); }

    /**
     * Called when the peer shuts down its output (half-close). The connection stays open for writing
     * until you {@code close()} it. Without this handler a peer's half-close closes the connection
     * once the write queue has drained, with cause {@link CloseCause.Kind#PEER_CLOSED}.
     */
    public T onPeerShutdown(ConnectionHandler h) { this.onPeerShutdown = h; return self(); }

    /** Splits the stream into packages; see {@link Unpackers}. */
    public T unpacker(Unpacker u) { this.unpacker = u; return self(); }

    /**
     * The protocol every new connection speaks: {@code supplier} makes a fresh (stateful)
     * {@link ProtocolHandler} per connection, attached when the connection comes up (after the TLS
     * handshake) and before {@code onConnection}. It then gets all the input; {@link #onMessage}
     * and {@link #unpacker} are not used. A {@link ProtocolSelector} picks the protocol by ALPN or
     * the first bytes. Null (the default):
     * the unpacker and {@code onMessage}. Configure before {@code start()}; the supplier is called
     * on the connection's loop thread.
     */
    public T protocol(Supplier<? extends ProtocolHandler> supplier) { this.protocol = supplier; return self(); }

    /**
     * The write-queue high- and low-water marks in bytes (default 1 MiB and 512 KiB). Above the high
     * mark, {@code onWritable(false)} is called and reading pauses (see {@link #pauseReadingAboveHighWater}).
     */
    public T waterMarks(int high, int low) {
        if (high <= 0 || low < 0 || low > high) throw new IllegalArgumentException("need 0 <= low <= high, high > 0: " + low + ", " + high);
        this.highWaterMark = high;
        this.lowWaterMark = low;
        return self();
    }

    /** Whether reading pauses while the write queue is above the high-water mark (default true). */
    public T pauseReadingAboveHighWater(boolean pause) { this.pauseReadingAboveHighWater = pause; return self(); }

    /** Closes a connection that received nothing for {@code ms} (0: off). */
    public T readTimeout(long ms) { this.readTimeoutMs = nonNegative(ms); return self(); }

    /** Closes a connection whose write queue made no progress for {@code ms} (0: off). */
    public T writeTimeout(long ms) { this.writeTimeoutMs = nonNegative(ms); return self(); }

    /** Closes a connection with no IO at all in either direction for {@code ms} (0: off). */
    public T keepaliveTimeout(long ms) { this.keepaliveTimeoutMs = nonNegative(ms); return self(); }

    /**
     * Sends what {@code supplier} returns (a {@code byte[]}, {@link String}, {@link Buffer} or
     * {@link java.nio.ByteBuffer}) every {@code ms} on each connection, until it closes or its output
     * is shut down ({@link Connection#shutdownOutput()}).
     */
    public T heartbeat(long ms, Supplier<?> supplier) {
        if (ms <= 0) throw new IllegalArgumentException("heartbeat interval must be > 0: " + ms);
        this.heartbeatMs = ms;
        this.heartbeat = Objects.requireNonNull(supplier, "supplier");
        return self();
    }

    /** How long {@code close()} waits for the write queue to flush before aborting (default 30 s). */
    public T closeTimeout(long ms) { this.closeTimeoutMs = nonNegative(ms); return self(); }

    /** TCP_NODELAY (default true). */
    public T tcpNoDelay(boolean on) { this.tcpNoDelay = on; return self(); }

    /**
     * The most bytes kept for a message handler that leaves input unread, or for one unfinished
     * package (default 64 MiB); above it the connection closes with an error.
     */
    public T maxInputBuffer(int bytes) {
        if (bytes <= 0) throw new IllegalArgumentException("maxInputBuffer must be > 0");
        this.maxInputBuffer = bytes;
        return self();
    }

    /** Puts a layer (TLS) between the socket and the message handler of every connection. */
    public T transportLayer(TransportLayer.Factory factory) { this.layerFactory = factory; return self(); }

    /**
     * Speaks TLS on every connection ({@link io.jhv.core.tls.TlsConfig#server()} for a server,
     * {@link io.jhv.core.tls.TlsConfig#client()} for a client); null turns it off. The connection
     * comes up ({@code onConnection}) when the handshake is done.
     */
    public T tls(io.jhv.core.tls.TlsConfig config) {
        this.layerFactory = config == null ? null : config.layerFactory(!(this instanceof TcpServer));
        return self();
    }

    private static long nonNegative(long ms) {
        if (ms < 0) throw new IllegalArgumentException("timeout < 0: " + ms);
        return ms;
    }
}
