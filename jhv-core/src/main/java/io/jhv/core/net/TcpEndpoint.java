package io.jhv.core.net;

import io.jhv.core.buffer.Buffer;
import io.jhv.core.internal.Internals;
import io.jhv.core.internal.TransportLayer;

import java.time.Duration;
import java.util.Objects;
import java.util.function.Supplier;

/**
 * Settings and callbacks shared by {@link TcpServer}, {@link TcpClient} and {@link Connector}: what
 * every connection they make gets. Configure before {@code start()} (a connector: before its first
 * {@code connect}), from one thread: the setters are not
 * thread-safe, and after {@code start()} they throw {@link IllegalStateException} (a setting
 * changed under running connections would apply to some and not others). Every timeout is a
 * {@link Duration}; {@link Duration#ZERO} turns it off. Every {@code onX} setter replaces the
 * handler set before (null removes it); handlers run on the connection's loop thread.
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
    ErrorHandler<Connection> onError;
    Unpacker unpacker;
    Supplier<? extends ProtocolHandler> protocol;
    int highWaterMark = DEFAULT_HIGH_WATER_MARK;
    int lowWaterMark = DEFAULT_HIGH_WATER_MARK / 2;
    boolean pauseReadingAboveHighWater = true;
    long readTimeoutMs;
    long writeTimeoutMs;
    long keepAliveTimeoutMs;
    long heartbeatMs;
    Supplier<?> heartbeat;
    long closeTimeoutMs = 30_000;
    boolean tcpNoDelay = true;
    int maxInputBuffer = 64 << 20;
    /** Wraps each new connection's byte stream (TLS); null for plain TCP. */
    TransportLayer.Factory layerFactory;

    /** Set by {@code start()}: the settings are read by running connections from then on. */
    private volatile boolean frozen;

    TcpEndpoint() {}

    @SuppressWarnings("unchecked")
    private T self() {
        return (T) this;
    }

    /** Throws when {@code start()} was called: settings are fixed from then on. */
    final void mutable() {
        if (frozen) throw new IllegalStateException(getClass().getSimpleName() + " settings cannot change after start()");
    }

    /** Called by {@code start()}: the setters refuse from now on. */
    final void freeze() {
        frozen = true;
    }

    /** Whether {@code start()} was called. */
    final boolean frozen() {
        return frozen;
    }

    /** Called when a connection comes up and when it goes down. */
    public T onConnection(ConnectionHandler h) { mutable(); this.onConnection = h; return self(); }

    /** Called with received bytes, or one package at a time when an {@link #unpacker} is set. */
    public T onMessage(MessageHandler h) { mutable(); this.onMessage = h; return self(); }

    /** Called when the write queue has been fully flushed to the socket. */
    public T onWriteComplete(ConnectionHandler h) { mutable(); this.onWriteComplete = h; return self(); }

    /** Called when the write queue crosses the high-water mark and drains below the low-water mark. */
    public T onWritable(WritableHandler h) { mutable(); this.onWritable = h; return self(); }

    /**
     * Called exactly once per connection with why it closed. For a client every connect attempt is a
     * connection: a failed one (refused, timed out) ends here too, with its cause, though it never
     * came up.
     */
    public T onClose(CloseHandler h) { mutable(); this.onClose = h; return self(); }

    /**
     * Called when the peer shuts down its output (half-close). The connection stays open for writing
     * until you {@code close()} it. Without this handler a peer's half-close closes the connection
     * once the write queue has drained, with cause {@link CloseCause.Kind#PEER_CLOSED}.
     */
    public T onPeerShutdown(ConnectionHandler h) { mutable(); this.onPeerShutdown = h; return self(); }

    /**
     * Called when a connection ends because of an error: an IO error or a reset, a TLS failure (a
     * handshake the peer fails, a bad record), a timeout, or an exception thrown by a handler on
     * this connection. It runs on the loop thread just before {@link #onClose} with the same
     * connection, and {@code error} is the cause's {@link CloseCause#error()} (or an exception made
     * from its message when the cause carries none). The same shape as {@code UdpSocket.onError}
     * and {@code HttpServer.onError}. Default: nothing (the cause still reaches {@code onClose}).
     */
    public T onError(ErrorHandler<Connection> h) { mutable(); this.onError = h; return self(); }

    /** Splits the stream into packages; see {@link Unpackers}. */
    public T unpacker(Unpacker u) { mutable(); this.unpacker = u; return self(); }

    /**
     * The protocol every new connection speaks: {@code supplier} makes a fresh (stateful)
     * {@link ProtocolHandler} per connection, attached when the connection comes up (after the TLS
     * handshake) and before {@code onConnection}. It then gets all the input; {@link #onMessage}
     * and {@link #unpacker} are not used. A {@link ProtocolSelector} picks the protocol by ALPN or
     * the first bytes. Null (the default):
     * the unpacker and {@code onMessage}. Configure before {@code start()}; the supplier is called
     * on the connection's loop thread.
     */
    public T protocol(Supplier<? extends ProtocolHandler> supplier) { mutable(); this.protocol = supplier; return self(); }

    /**
     * The write-queue high- and low-water marks in bytes (default 1 MiB and 512 KiB). Above the high
     * mark, {@code onWritable(false)} is called and reading pauses (see {@link #pauseReadingAboveHighWater}).
     */
    public T waterMarks(int high, int low) {
        mutable();
        if (high <= 0 || low < 0 || low > high) throw new IllegalArgumentException("need 0 <= low <= high, high > 0: " + low + ", " + high);
        this.highWaterMark = high;
        this.lowWaterMark = low;
        return self();
    }

    /** Whether reading pauses while the write queue is above the high-water mark (default true). */
    public T pauseReadingAboveHighWater(boolean pause) { mutable(); this.pauseReadingAboveHighWater = pause; return self(); }

    /** Closes a connection that received nothing for {@code timeout} (default and {@link Duration#ZERO}: off). */
    public T readTimeout(Duration timeout) { mutable(); this.readTimeoutMs = millis(timeout); return self(); }

    /**
     * Closes a connection whose write queue made no progress for {@code timeout} while output is
     * pending (a peer that does not read); default and {@link Duration#ZERO}: off.
     */
    public T writeTimeout(Duration timeout) { mutable(); this.writeTimeoutMs = millis(timeout); return self(); }

    /** Closes a connection with no IO at all in either direction for {@code timeout} (default and {@link Duration#ZERO}: off). */
    public T keepAliveTimeout(Duration timeout) { mutable(); this.keepAliveTimeoutMs = millis(timeout); return self(); }

    /**
     * Sends what {@code supplier} returns (a {@code byte[]}, {@link String}, {@link Buffer} or
     * {@link java.nio.ByteBuffer}) every {@code interval} on each connection, until it closes or
     * its output is shut down ({@link Connection#shutdownOutput()}). The supplier is called on the
     * connection's loop thread.
     */
    public T heartbeat(Duration interval, Supplier<?> supplier) {
        mutable();
        long ms = millis(interval);
        if (ms <= 0) throw new IllegalArgumentException("heartbeat interval must be > 0: " + interval);
        this.heartbeatMs = ms;
        this.heartbeat = Objects.requireNonNull(supplier, "supplier");
        return self();
    }

    /**
     * How long {@code close()} waits for the write queue to flush before it aborts the connection
     * (cause {@link CloseCause.Kind#ABORTED}); default 30 s, {@link Duration#ZERO} aborts at once.
     */
    public T closeTimeout(Duration timeout) { mutable(); this.closeTimeoutMs = millis(timeout); return self(); }

    /** TCP_NODELAY (default true). */
    public T tcpNoDelay(boolean on) { mutable(); this.tcpNoDelay = on; return self(); }

    /**
     * The most bytes kept for a message handler that leaves input unread, or for one unfinished
     * package (default 64 MiB); above it the connection closes with an error.
     */
    public T maxInputBuffer(int bytes) {
        mutable();
        if (bytes <= 0) throw new IllegalArgumentException("maxInputBuffer must be > 0");
        this.maxInputBuffer = bytes;
        return self();
    }

    /** Puts a layer between the socket and the protocol of every connection (TLS; tests). Internal. */
    T transportLayer(TransportLayer.Factory factory) { mutable(); this.layerFactory = factory; return self(); }

    /**
     * Speaks TLS on every connection ({@link io.jhv.core.tls.TlsConfig#server()} for a server,
     * {@link io.jhv.core.tls.TlsConfig#client()} for a client); null turns it off. The connection
     * comes up ({@code onConnection}) when the handshake is done.
     */
    public T tls(io.jhv.core.tls.TlsConfig config) {
        mutable();
        this.layerFactory = config == null ? null : Internals.tls().layerFactory(config, !(this instanceof TcpServer));
        return self();
    }

    /** A timeout in milliseconds: a positive duration below 1 ms counts as 1 ms, not as off. */
    static long millis(Duration d) {
        Objects.requireNonNull(d, "timeout");
        if (d.isNegative()) throw new IllegalArgumentException("timeout < 0: " + d);
        if (d.isZero()) return 0;
        try {
            return Math.max(1, d.toMillis());
        } catch (ArithmeticException tooLong) {
            return Long.MAX_VALUE / 4; // "for ever", still safe to add to a nanoTime-based deadline
        }
    }
}
