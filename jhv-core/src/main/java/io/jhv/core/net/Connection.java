package io.jhv.core.net;

import io.jhv.core.buffer.Buffer;
import io.jhv.core.internal.BufferAccess;
import io.jhv.core.internal.Internals;
import io.jhv.core.internal.IoHandler;
import io.jhv.core.internal.LoopAccess;
import io.jhv.core.internal.Poller;
import io.jhv.core.internal.StreamSocket;
import io.jhv.core.tls.TlsInfo;
import io.jhv.core.loop.EventLoop;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.util.Objects;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One TCP connection, confined to one {@link EventLoop}.
 *
 * <p>Thread contract: {@code write}, {@code close}, {@code abort}, {@code shutdownOutput},
 * {@code pauseReading} and {@code resumeReading} are thread-safe (from another thread they are queued
 * on the loop, in call order). Everything else is meant for the loop thread; callbacks always run
 * there. Once the loop has stopped (its stop hooks closed the connection), {@code write} and
 * {@code sendFile} throw {@link IllegalStateException}; {@code close}, {@code abort},
 * {@code shutdownOutput} and the reading controls do nothing.
 *
 * <p>Data path:
 * <pre>
 *  socket --read--> loop read buffer --[layer: TLS]--> protocol handler (one at a time)
 *                                                     default: [unpacker] --> onMessage(conn, borrowed Buffer)
 *  write(..) --[layer: TLS]--> socket now, or the write queue (in order) --gathering write--> socket
 * </pre>
 * A write never drops, reorders or overwrites an earlier one. Above the high-water mark the
 * connection reports {@code onWritable(false)} and by default stops reading until the queue drains
 * below the low-water mark.
 *
 * <p>Writes and close, with or without a transport layer: {@code close()} flushes everything
 * written before it, and no {@code onMessage} follows it. A write after {@code close()},
 * {@code abort()} or {@code shutdownOutput()} throws {@link IllegalStateException} when the caller
 * can know, that is when the close was requested before {@code write} looked (always so on the
 * loop thread). A write from another thread that passed that check but reaches the loop after a
 * {@code close()} from elsewhere lost the race: it is dropped (logged at DEBUG), and it never aborts
 * the connection nor touches what was queued before the close.
 */
public final class Connection {
    // The facade and the state machine (state, close, half-close, reading control, lifecycle) live
    // here; each stage has its own package-private class, made once with the connection:
    //   Inbound          the protocol-handler stage (delivery, handover, bytes kept between reads)
    //   Outbound         socket writes, the write queue's flushing, water marks, write completion
    //   LayerLink        the transport layer (TLS) wiring; only when the endpoint has a layer
    //   ConnectionTimers read/write/keep-alive timeouts, heartbeat, close deadline
    // Fields the read and write fast paths touch (state, the shut-down flags, the socket, the
    // activity stamps) stay here, so a stage reaches them through one final field.
    private static final System.Logger LOG = System.getLogger(Connection.class.getName());
    private static final LoopAccess LOOPS = Internals.loops();
    static final BufferAccess BUFFERS = Internals.buffers();
    private static final AtomicLong IDS = new AtomicLong();

    private enum State { CONNECTING, CONNECTED, CLOSING, CLOSED }

    private final long id;
    private final EventLoop loop;
    final StreamSocket ch;
    private final TcpEndpoint<?> ep;
    private final boolean client;
    private Poller poller; // the loop's, once registered
    private final IoHandler io = new Io();
    private volatile State state = State.CONNECTING;
    private int interest;

    final Inbound in; // the protocol-handler stage: who gets the input, and what is kept of it
    private CloseHandler extraCloseHandler;
    private Object context;
    final LayerLink link; // the transport layer (TLS) wiring; null for plain TCP

    // write side
    final WriteQueue queue = new WriteQueue(); // socket bytes in write order, and their listeners
    final Outbound out; // the output stage: socket, queue, water marks, write completion
    // volatile: write() checks them on the caller's thread to fail fast after shutdownOutput()
    private volatile boolean shutdownOutputPending;
    volatile boolean outputShut;

    // read side
    private boolean userPaused;
    private boolean backpressurePaused;
    private boolean pauseAboveHighWater; // per connection; starts as the endpoint's setting
    private boolean inputShut;

    // timeouts: the activity stamps stay here (the fast path writes them), the timers live apart
    long lastRead;
    long lastWrite;
    long lastWriteProgress;
    private final ConnectionTimers timers;
    private Runnable stopHook;
    private boolean registered; // with the poller (and counted in the loop's load)
    boolean tcpUp;              // the TCP connection is established: the socket may be written
    private volatile long connectedNanos; // System.nanoTime() when the TCP connection came up; 0 before
    private long bytesRead;     // loop thread writes; other threads read a recent value (metrics)
    private volatile SocketAddress via; // the balancer's address, when a PROXY protocol header named the client
    private boolean reportedUp; // onConnection was told the connection is up
    // close() came while connecting or during the TLS handshake with writes waiting: they go out
    // once the connection is up, then it closes with this cause. Volatile: write() checks it.
    private volatile CloseCause closeWhenUp;
    private volatile SocketAddress remote; // kept after close, for messages and logs
    private volatile CloseCause closeCause;
    Connector.Attempt attempt; // a client connection's connect attempt (set before it registers)

    Connection(EventLoop loop, StreamSocket ch, TcpEndpoint<?> ep, boolean client) {
        this(loop, ch, ep, client, null, null, 0);
    }

    /**
     * A client connection to a proxy: {@code tunnel} runs first, on the raw socket bytes, then the
     * layer starts for {@code peerHost:peerPort} (the target). A null tunnel: a direct connection.
     */
    Connection(EventLoop loop, StreamSocket ch, TcpEndpoint<?> ep, boolean client, ProxyTunnel tunnel, String peerHost, int peerPort) {
        this.id = IDS.incrementAndGet();
        this.loop = loop;
        this.ch = ch;
        this.ep = ep;
        this.client = client;
        this.in = new Inbound(this, ep, loop);
        this.out = new Outbound(this, ep, loop);
        this.pauseAboveHighWater = ep.pauseReadingAboveHighWater;
        this.timers = new ConnectionTimers(this, ep, loop);
        this.link = tunnel != null ? new LayerLink(this, ep, tunnel, peerHost, peerPort)
                : ep.layerFactory != null ? new LayerLink(this, ep) : null;
    }

    // ---------------------------------------------------------------- identity and state

    /** A process-wide unique id. Thread-safe. */
    public long id() { return id; }

    /** The loop this connection belongs to; all its callbacks run there. Thread-safe. */
    public EventLoop loop() { return loop; }

    /** True between the connection coming up and going down. Thread-safe (a snapshot off the loop). */
    public boolean isConnected() { return state == State.CONNECTED; }

    /** True once the connection has closed (after {@code onClose}). Thread-safe. */
    public boolean isClosed() { return state == State.CLOSED; }

    /** Why the connection closed; null while open. Why it closed, or null while open. Thread-safe. */
    public CloseCause closeCause() { return closeCause; }

    /** Thread-safe. */
    public boolean isClient() { return client; }

    /**
     * The peer's address; null before a client connection is connected. Still known after close.
     * On a listener with the {@link ProxyProtocol PROXY protocol}, the client's address from the
     * balancer's header (then {@link #viaAddress()} is the balancer's). Thread-safe.
     */
    public SocketAddress remoteAddress() {
        SocketAddress r = remote;
        if (r != null) return r;
        r = ch.remoteAddress();
        if (r != null) remote = r;
        return r;
    }

    /**
     * The address this connection really came from when a {@link ProxyProtocol PROXY protocol}
     * header named another client (the load balancer's); null otherwise. Thread-safe once the
     * connection is up.
     */
    public SocketAddress viaAddress() {
        return via;
    }

    /** A PROXY protocol header named the client: it becomes the remote address. Loop thread, before the connection is up. */
    void proxied(SocketAddress client) {
        via = remoteAddress();
        remote = client;
    }

    /** Thread-safe. */
    public SocketAddress localAddress() {
        return ch.localAddress();
    }

    /** The attachment you set with {@link #context(Object)}. Loop thread (or any thread, with the caller's own ordering). */
    @SuppressWarnings("unchecked")
    public <C> C context() { return (C) context; }

    /** Attaches per-connection state (loop-thread confined like the connection). */
    public void context(Object ctx) { this.context = ctx; }

    /**
     * Replaces this connection's message handler (proxying), used while the default protocol
     * handler (unpacker + onMessage) has the input; see {@link #handover} for a stateful one.
     * Loop thread only.
     */
    public void onMessage(MessageHandler handler) { assertInLoop("onMessage"); in.messageHandler = Objects.requireNonNull(handler); }

    /** Replaces this connection's write-complete handler (streaming a file, say). Loop thread only. */
    public void onWriteComplete(ConnectionHandler handler) { assertInLoop("onWriteComplete"); out.writeCompleteHandler = handler; }

    /** Replaces this connection's writable handler (back-pressure in proxies). Loop thread only. */
    public void onWritable(WritableHandler handler) { assertInLoop("onWritable"); out.writableHandler = handler; }

    /**
     * Overrides, for this connection, whether reading pauses while its write queue is above the
     * high-water mark (the endpoint's {@code pauseReadingAboveHighWater}). {@link Upstream} turns it
     * off: a pipe pauses the other side instead, so each direction is flow-controlled on its own (a
     * client that does not read its download must not stop its upload). Loop thread only.
     */
    public void pauseReadingAboveHighWater(boolean pause) {
        assertInLoop("pauseReadingAboveHighWater");
        pauseAboveHighWater = pause;
        if (!pause && backpressurePaused) {
            backpressurePaused = false;
            updateReadInterest();
            in.resumeDelivery();
        }
    }

    /**
     * Adds a close listener for this connection only, called after the endpoint's {@code onClose}
     * (in the order added). Unlike the {@code onX} setters, which replace, this adds: several
     * parties (a pipe, a pool) may each watch one connection. Loop thread only.
     */
    public void addCloseListener(CloseHandler handler) {
        Objects.requireNonNull(handler, "handler");
        assertInLoop("addCloseListener");
        CloseHandler prev = extraCloseHandler;
        extraCloseHandler = prev == null ? handler : (c, cause) -> { prev.onClose(c, cause); handler.onClose(c, cause); };
    }

    /** Whether this connection speaks TLS. Thread-safe once the connection is up. */
    public boolean isSecure() { return tls() != null; }

    /**
     * What TLS negotiated on this connection (protocol, cipher suite, ALPN, SNI, peer
     * certificates), or null for plain TCP. Read it on the loop thread; final once the connection
     * is up.
     */
    public TlsInfo tls() { return link != null ? link.tls() : null; }

    /**
     * {@link System#nanoTime()} when the TCP connection came up (a client's connect finished, a
     * server accepted it), before any proxy tunnel or TLS handshake on it; 0 until then. For a
     * protocol that bounds its own handshake from the TCP connect on. Thread-safe.
     */
    public long connectedNanos() { return connectedNanos; }

    /** Bytes waiting in the write queue (thread-safe read). */
    public long queuedBytes() { return queue.queuedBytes(); }

    /**
     * Bytes read from the socket so far (TLS records included: what crossed the wire). Written by
     * the loop thread; another thread reads a recent value (for metrics).
     */
    public long bytesRead() { return bytesRead; }

    /**
     * Bytes the socket has taken so far (TLS records included). Written by the loop thread;
     * another thread reads a recent value (for metrics).
     */
    public long bytesWritten() { return queue.writtenBytes(); }

    /** The largest the write queue has been, in bytes (for tests and metrics). Thread-safe read. */
    public long maxQueuedBytes() { return queue.maxQueuedBytes(); }

    /** True while the write queue is below the high-water mark. Thread-safe (a snapshot off the loop). */
    public boolean isWritable() { return out.isWritable(); }

    @Override
    public String toString() {
        return "[c" + id + " " + remoteAddress() + "]";
    }

    // ---------------------------------------------------------------- lifecycle (loop thread)

    /** Registers the connection with its loop. For a client, {@code connecting} waits for OP_CONNECT. */
    void registerInLoop(boolean connecting) throws IOException {
        if (!connecting) ch.setOption(java.net.StandardSocketOptions.TCP_NODELAY, ep.tcpNoDelay);
        interest = connecting ? Poller.CONNECT : 0;
        (poller = LOOPS.poller(loop)).register(ch, interest, io);
        registered = true;
        stopHook = loop.onStop(() -> closeInLoop(CloseCause.NORMAL, true));
        LOOPS.addLoad(loop, 1);
        remoteAddress(); // cache it while the channel is open
    }

    /** The TCP connection is up: start the layer (if any), timers, reading, and report it. */
    void establishInLoop() {
        tcpUp = true;
        remoteAddress(); // cache it while the channel is open (a client learns it only now)
        long now = System.nanoTime();
        lastRead = lastWrite = lastWriteProgress = now;
        connectedNanos = now;
        try {
            if (client) ch.setOption(java.net.StandardSocketOptions.TCP_NODELAY, ep.tcpNoDelay);
        } catch (IOException e) {
            closeInLoop(CloseCause.error("setsockopt failed", e), true);
            return;
        }
        // Writes (or a pauseReading()) may have come before registration.
        setInterest((readPaused() ? 0 : Poller.READ) | (queue.isEmpty() ? 0 : Poller.WRITE));
        timers.arm();
        boolean ready = link == null || link.start(client); // false: the handshake runs (or it failed)
        if (ready && state == State.CONNECTING) becomeConnected();
    }

    private void becomeConnected() {
        state = State.CONNECTED;
        CloseCause pendingClose = closeWhenUp;
        if (pendingClose != null) {
            // close() came while connecting or during the handshake: the writes made before it go
            // out now (a layer has just handed them over), then the close goes on as usual. The
            // application asked to close, so it is not told that the connection is up.
            closeWhenUp = null;
            closeInLoop(pendingClose, false);
            return;
        }
        if (in.handler() == null && !in.attachFirst()) return; // refused (closed): it never was up
        // The attempt succeeded only now (TLS: after the handshake): its future completes before
        // onConnection; false if it was cancelled meanwhile (then closed here).
        if (attempt != null && !attempt.up(this)) return;
        reportedUp = true;
        if (ep.onConnection != null) callback(() -> ep.onConnection.onConnection(this));
    }

    // ---------------------------------------------------------------- IO readiness

    /** The poller's view of this connection: not public API of {@code Connection}. */
    private final class Io implements IoHandler {
        @Override public void onIoReady(int ops) { Connection.this.onIoReady(ops); }

        @Override public void onIoFailure(Throwable failure) { closeInLoop(CloseCause.error("IO callback failed", failure), true); }
    }

    private void onIoReady(int ops) {
        if ((ops & Poller.CONNECT) != 0) {
            attempt.finishConnect();
            return;
        }
        if ((ops & Poller.READ) != 0) handleRead();
        if ((ops & Poller.WRITE) != 0 && state != State.CLOSED) out.handleWrite();
    }

    /** Completes a non-blocking connect; true if connected. Throws the connect failure. */
    boolean finishConnect() throws IOException {
        return ch.finishConnect();
    }

    StreamSocket channel() { return ch; }

    private void handleRead() {
        if (state == State.CLOSED) return;
        Buffer rb = LOOPS.readBuffer(loop);
        rb.clear();
        int n;
        try {
            n = ch.read(LOOPS.readNioBuffer(loop));
        } catch (IOException e) {
            closeInLoop(CloseCause.classify(e), true);
            return;
        }
        if (n < 0) {
            onEof();
            return;
        }
        if (n == 0) return;
        rb.advanceWriter(n);
        bytesRead += n;
        lastRead = System.nanoTime();
        if (link != null) link.feed(rb);
        else in.deliver(rb);
    }

    private ByteBuffer probeBuf; // probeReadable's, allocated on its first use

    /**
     * Looks at the socket now, without waiting for the poller: one non-blocking read. Bytes that
     * arrived are handled as any read (the protocol handler gets them, through the TLS layer if
     * any); an EOF or a read error is handled as any (the connection closes, or
     * {@code onPeerShutdown} hears it). For a client about to reuse an idle pooled connection: a
     * peer that already closed it (its FIN waiting in the socket while the loop was busy) or sent
     * something unasked is found before a request goes out. Reads into a small buffer of its own,
     * so it is safe from inside another connection's {@code onData}. Does not read while reading
     * is paused. Loop thread only.
     *
     * @return true when, after the probe, the connection is connected and its input not shut down
     * @throws IllegalStateException off the loop thread
     */
    public boolean probeReadable() {
        if (!loop.inLoop()) throw new IllegalStateException("probeReadable() off the loop thread of " + this);
        if (state != State.CONNECTED || inputShut) return false;
        if (readPaused()) return true;
        ByteBuffer b = probeBuf;
        if (b == null) probeBuf = b = ByteBuffer.allocate(256);
        b.clear();
        int n;
        try {
            n = ch.read(b);
        } catch (IOException e) {
            closeInLoop(CloseCause.classify(e), true);
            return false;
        }
        if (n < 0) {
            onEof();
        } else if (n > 0) {
            bytesRead += n;
            lastRead = System.nanoTime();
            Buffer data = Buffer.wrap(java.util.Arrays.copyOf(b.array(), n)); // rare: a peer that talks unasked
            if (link != null) link.feed(data);
            else in.deliver(data);
        }
        return state == State.CONNECTED && !inputShut;
    }

    private boolean quickAckUnsupported; // the platform or transport has no TCP_QUICKACK: stop asking

    /**
     * Acknowledges at once what the peer sent, instead of letting the kernel delay the ACK (Linux
     * {@code TCP_QUICKACK}; a no-op where it does not exist). For a request/response protocol
     * whose peer keeps Nagle's algorithm on (mosquitto does by default): when a read leaves us with
     * nothing to send, our ACK would otherwise wait up to 40 ms for data to ride on, and the peer's
     * next small packet waits for that ACK. One system call; the setting is not sticky (the kernel
     * may go back to delaying), so call it after each read that produced no reply. Loop thread only.
     */
    public void quickAck() {
        if (quickAckUnsupported || state != State.CONNECTED) return;
        try {
            ch.setOption(jdk.net.ExtendedSocketOptions.TCP_QUICKACK, Boolean.TRUE);
        } catch (UnsupportedOperationException | IllegalArgumentException e) {
            quickAckUnsupported = true; // not Linux, or not a TCP socket (the in-memory transport)
        } catch (IOException e) {
            // closing: the read path reports it
        }
    }

    private void onEof() {
        inputShut = true;
        setInterest(interest & ~Poller.READ);
        if (ep.onPeerShutdown != null && state == State.CONNECTED) {
            callback(() -> ep.onPeerShutdown.onConnection(this));
            // Our output was shut down already: both directions are done and nothing more can
            // happen on this connection, so it closes (unless the handler closed it).
            if (outputShut && state != State.CLOSED) closeInLoop(CloseCause.PEER_CLOSED, true);
            return;
        }
        if (queue.isEmpty() || state == State.CONNECTING) {
            // (while connecting, a TLS handshake can never finish now: nothing to wait for)
            closeInLoop(CloseCause.PEER_CLOSED, true);
        } else {
            // Let the queued writes drain, then close: a half-closed peer still reads.
            closeCauseOnFlush = CloseCause.PEER_CLOSED;
            closeInLoop(CloseCause.PEER_CLOSED, false);
        }
    }

    private CloseCause closeCauseOnFlush = CloseCause.NORMAL;

    /**
     * True once close() (or another close) was asked for: no more messages are delivered, even the
     * rest of a read that already arrived; a handler that closed must not be called again.
     */
    boolean closeRequested() {
        State s = state;
        return s == State.CLOSING || s == State.CLOSED || (s == State.CONNECTING && closeWhenUp != null);
    }

    // ---------------------------------------------------------------- protocol handler

    /** The protocol handler that has this connection's input now. Loop thread only. */
    public ProtocolHandler protocol() {
        assert loop.inLoop() : "protocol() off the loop thread of " + this;
        return in.handler();
    }

    /**
     * Hands this connection to {@code next}: the current handler is detached ({@code onDetach}: it
     * cancels its timers and callbacks), {@code next} is attached, and the bytes the old one has
     * not consumed go to {@code next} at once, none lost or repeated. Called from inside the old
     * handler's {@code onData}, the rest of that read (the bytes after what it consumed, such as
     * what a client pipelined behind an upgrade request) reaches {@code next} as soon as that call
     * returns. Loop thread only.
     *
     * @throws IllegalStateException off the loop thread, or when the connection is closing or closed
     */
    public void handover(ProtocolHandler next) {
        handover(next, null);
    }

    /**
     * {@link #handover(ProtocolHandler)} for a handler that copied input out of the borrowed
     * buffers (an HTTP parser keeping pipelined requests): its {@code unconsumed} bytes go to
     * {@code next} first, before what the connection still holds. They are copied (and consumed
     * from {@code unconsumed}) before the old handler's {@code onDetach} runs, so that one may drop
     * its buffer. Loop thread only.
     *
     * @throws IllegalStateException off the loop thread, or when the connection is closing or closed
     */
    public void handover(ProtocolHandler next, Buffer unconsumed) {
        Objects.requireNonNull(next, "next");
        if (!loop.inLoop()) throw new IllegalStateException("handover off the loop thread of " + this);
        if (closeRequested()) {
            throw new IllegalStateException("handover on a " + (state == State.CLOSED ? "closed" : "closing") + " connection " + this
                    + (closeCause != null ? ": " + closeCause : ""));
        }
        in.handover(next, unconsumed);
    }

    // ---------------------------------------------------------------- writing

    /** Sends {@code bytes} (the array is taken over: don't change it afterwards). Thread-safe. */
    public void write(byte[] bytes) {
        write(ByteBuffer.wrap(bytes));
    }

    /** Sends {@code s} as UTF-8. Thread-safe. */
    public void write(String s) {
        write(s.getBytes(StandardCharsets.UTF_8));
    }

    /** {@link #write(byte[])}, and {@code listener} hears when the bytes reached the socket (see {@link #write(ByteBuffer, WriteListener)}). Thread-safe. */
    public void write(byte[] bytes, WriteListener listener) {
        write(ByteBuffer.wrap(bytes), listener);
    }

    /** {@link #write(String)}, and {@code listener} hears when the bytes reached the socket (see {@link #write(ByteBuffer, WriteListener)}). Thread-safe. */
    public void write(String s, WriteListener listener) {
        write(s.getBytes(StandardCharsets.UTF_8), listener);
    }

    /**
     * {@link #write(ByteBuffer)}, and {@code listener} is told, exactly once on the loop thread, when
     * these bytes reached the socket (with TLS: their encrypted records), or that the connection
     * closed before they did (see {@link WriteListener}). Listeners are told in write order. On the
     * loop thread a write the socket takes at once is reported before this method returns (made
     * inside another write's listener, right after that listener returns: a listener that writes
     * the next chunk never nests, however long the stream). When
     * this method throws, the listener is never called. Thread-safe.
     *
     * @throws IllegalStateException as {@link #write(ByteBuffer)}
     */
    public void write(ByteBuffer bytes, WriteListener listener) {
        Objects.requireNonNull(listener, "listener");
        checkOpen();
        if (loop.inLoop()) {
            out.writeInLoop(bytes, true, listener);
        } else {
            try {
                loop.queueInLoop(() -> out.writeInLoop(bytes, true, listener));
            } catch (RejectedExecutionException e) {
                throw loopStopped("write", e);
            }
        }
    }

    /**
     * {@link #write(Buffer)} (its readable bytes are copied when not on the loop thread), and
     * {@code listener} hears when they reached the socket (see {@link #write(ByteBuffer, WriteListener)}).
     * Thread-safe.
     */
    public void write(Buffer buf, WriteListener listener) {
        Objects.requireNonNull(listener, "listener");
        checkOpen();
        if (loop.inLoop()) {
            out.writeInLoop(out.bufferView(buf), false, listener);
        } else {
            write(ByteBuffer.wrap(buf.readBytes()), listener);
        }
    }

    /**
     * Writes {@code bytes} (taken over) and returns a future that completes, on the loop thread, when
     * they reached the socket, or exceptionally when the connection closed first or the write was
     * refused (closed connection, stopped loop). Allocates a future per call: for the hot path use
     * {@link #write(ByteBuffer, WriteListener)}. Thread-safe.
     */
    public java.util.concurrent.CompletableFuture<Void> writeFuture(ByteBuffer bytes) {
        java.util.concurrent.CompletableFuture<Void> f = new java.util.concurrent.CompletableFuture<>();
        try {
            write(bytes, (c, failure) -> {
                if (failure == null) f.complete(null);
                else f.completeExceptionally(failure);
            });
        } catch (RuntimeException e) {
            f.completeExceptionally(e);
        }
        return f;
    }

    /** {@link #writeFuture(ByteBuffer)} for an array (taken over). Thread-safe. */
    public java.util.concurrent.CompletableFuture<Void> writeFuture(byte[] bytes) {
        return writeFuture(ByteBuffer.wrap(bytes));
    }

    /**
     * Sends the remaining bytes of {@code bytes} (taken over: don't change it afterwards). Thread-safe:
     * from another thread the write is queued on the loop, in call order.
     *
     * @throws IllegalStateException if the connection is closed or closing, or its output is shut
     *         down (see the class comment for a write that races with a close on another thread),
     *         or if its loop has stopped
     */
    public void write(ByteBuffer bytes) {
        checkOpen();
        if (loop.inLoop()) {
            out.writeInLoop(bytes, true, null);
        } else {
            try {
                loop.queueInLoop(() -> out.writeInLoop(bytes, true, null));
            } catch (RejectedExecutionException e) {
                throw loopStopped("write", e);
            }
        }
    }

    /**
     * Sends and consumes the readable bytes of {@code buf}. On the loop thread the bytes the socket
     * does not take at once are copied, so a borrowed buffer may be written back as is (echo).
     * Thread-safe.
     */
    public void write(Buffer buf) {
        checkOpen();
        if (loop.inLoop()) {
            out.writeInLoop(out.bufferView(buf), false, null);
        } else {
            write(ByteBuffer.wrap(buf.readBytes()));
        }
    }

    /**
     * Sends {@code count} bytes of {@code file} from {@code position}, in order with the other writes,
     * without copying them through the JVM ({@link FileChannel#transferTo}: sendfile on Linux). The
     * bytes count in {@link #queuedBytes()} until sent, so back-pressure applies. With
     * {@code closeWhenDone} the channel is closed after the last byte (or when the connection
     * closes first, or when this call throws). Thread-safe.
     *
     * @throws IllegalStateException on a closed or closing connection, when its loop has stopped, or
     *         when a transport layer (TLS) is set: encrypted bytes must pass through the JVM, so
     *         write them instead (a plain connection through a proxy tunnel may send files once
     *         it is up)
     */
    public void sendFile(FileChannel file, long position, long count, boolean closeWhenDone) {
        sendFile(file, position, count, closeWhenDone, null);
    }

    /**
     * {@link #sendFile(FileChannel, long, long, boolean)}, and {@code listener} is told when the
     * last byte of the region reached the socket, or that the connection closed first (see
     * {@link WriteListener}; not called when this method throws). Thread-safe.
     */
    public void sendFile(FileChannel file, long position, long count, boolean closeWhenDone, WriteListener listener) {
        WriteQueue.FileRegion fr = new WriteQueue.FileRegion(file, position, count, closeWhenDone);
        try {
            checkOpen();
            if (position < 0 || count < 0) throw new IllegalArgumentException("bad file region " + position + "+" + count);
            if (link != null && !link.allowsSendFile()) {
                throw new IllegalStateException("sendFile is not available with a transport layer (TLS), nor before a proxy tunnel is up, on " + this);
            }
            if (loop.inLoop()) out.sendFileInLoop(fr, listener);
            else loop.queueInLoop(() -> out.sendFileInLoop(fr, listener));
        } catch (RejectedExecutionException e) {
            fr.release();
            throw loopStopped("sendFile", e);
        } catch (RuntimeException e) {
            fr.release(); // closeWhenDone: the channel was handed over, also when it cannot be sent
            throw e;
        }
    }

    /** Sends {@code o}: a byte[], String, Buffer or ByteBuffer. */
    void writeObject(Object o) {
        if (o instanceof byte[] b) write(b);
        else if (o instanceof String s) write(s);
        else if (o instanceof Buffer b) write(b);
        else if (o instanceof ByteBuffer b) write(b);
        else if (o != null) throw new IllegalArgumentException("cannot write a " + o.getClass().getName());
    }

    /** For a thread-safe method called after the connection's loop has stopped (and closed it). */
    private IllegalStateException loopStopped(String what, RejectedExecutionException e) {
        return new IllegalStateException(what + " on " + this + ": its loop " + loop.name() + " has stopped"
                + (closeCause != null ? " (" + closeCause + ")" : ""), e);
    }

    /**
     * Runs a close or reading-control task on the loop. Once the loop has stopped (its stop hooks
     * closed this connection already) there is nothing left to do: no exception.
     */
    private void runInLoopQuietly(Runnable task, String what) {
        try {
            loop.runInLoop(task);
        } catch (RejectedExecutionException e) {
            if (LOG.isLoggable(System.Logger.Level.DEBUG)) LOG.log(System.Logger.Level.DEBUG, this + " " + what + " ignored: loop " + loop.name() + " has stopped");
        }
    }

    private void checkOpen() {
        State s = state;
        if (s == State.CLOSED || s == State.CLOSING || closeWhenUp != null) {
            throw new IllegalStateException("write on a " + (s == State.CLOSED ? "closed" : "closing") + " connection " + this
                    + (closeCause != null ? ": " + closeCause : ""));
        }
        if (outputShut || shutdownOutputPending) throw new IllegalStateException("write after shutdownOutput on " + this);
    }

    /** A write from another thread that lost the race with close() or shutdownOutput(): dropped, its listener told. */
    void dropLateWrite(int bytes, WriteListener listener) {
        if (listener != null) writeDone(listener, notWritten());
        if (LOG.isLoggable(System.Logger.Level.DEBUG)) {
            LOG.log(System.Logger.Level.DEBUG, this + " write of " + bytes + " bytes dropped: "
                    + (state == State.CLOSED ? "closed (" + closeCause + ")" : state == State.CLOSING ? "closing" : "output shut down"));
        }
    }

    /** Calls a write listener (user code: what it throws goes to the loop's error handler). */
    void writeDone(WriteListener l, Throwable failure) {
        try {
            l.onWriteDone(this, failure);
        } catch (Throwable t) {
            LOOPS.reportError(loop, t);
        }
    }

    /** Why a write's bytes never reached the socket. */
    IOException notWritten() {
        CloseCause c = closeCause;
        return new IOException("connection " + this + " closed before the bytes were written"
                + (c != null ? ": " + c : state == State.CLOSED ? "" : outputShut || shutdownOutputPending ? ": output shut down" : ": closing"));
    }

    // ---------------------------------------------------------------- reading control

    /** Stops reading from the socket (bytes stay in the kernel; TCP flow control slows the peer). Thread-safe. */
    public void pauseReading() {
        runInLoopQuietly(() -> { userPaused = true; updateReadInterest(); }, "pauseReading");
    }

    /** Resumes reading after {@link #pauseReading()}. Thread-safe. */
    public void resumeReading() {
        runInLoopQuietly(() -> {
            userPaused = false;
            updateReadInterest();
            in.resumeDelivery();
        }, "resumeReading");
    }

    boolean readPaused() { return userPaused || backpressurePaused; }

    private void updateReadInterest() {
        if (state == State.CLOSED || inputShut) return;
        boolean want = !readPaused() && state != State.CLOSING;
        setInterest(want ? interest | Poller.READ : interest & ~Poller.READ);
    }

    /** The output stage has queued bytes for the socket (true) or none left (false). */
    void wantWrite(boolean on) {
        setInterest(on ? interest | Poller.WRITE : interest & ~Poller.WRITE);
    }

    /** The write queue went above the high-water mark: reading pauses, if this connection says so. */
    void queueAboveHighWater() {
        if (pauseAboveHighWater) {
            backpressurePaused = true;
            updateReadInterest();
        }
    }

    /** The write queue drained below the low-water mark: reading paused for it resumes. */
    void queueBelowLowWater() {
        if (backpressurePaused) {
            backpressurePaused = false;
            updateReadInterest();
            in.resumeDelivery();
        }
    }

    private void setInterest(int ops) {
        interest = ops;
        if (poller != null) poller.modify(ch, ops); // a no-op when unchanged or no longer registered
    }

    // ---------------------------------------------------------------- closing

    /**
     * Closes after flushing what was written before: the write queue (and, during a TLS handshake or
     * a client's connect, the writes waiting for it), then close_notify with TLS, then FIN. Bounded
     * by the close timeout; what is left then is dropped and the cause is
     * {@link CloseCause.Kind#ABORTED}, else {@link CloseCause.Kind#NORMAL}. Once the close has run
     * on the loop (at once when called there), no {@code onMessage} is delivered, not even for the
     * rest of the current read, and {@code write} throws; a write racing in from another thread is
     * dropped (see the class comment). Thread-safe; idempotent; a no-op once the loop has stopped
     * (which closed the connection).
     */
    public void close() {
        runInLoopQuietly(() -> closeInLoop(CloseCause.NORMAL, false), "close");
    }

    /**
     * Closes at once, dropping queued writes; the cause is {@link CloseCause.Kind#ABORTED}.
     * Thread-safe; idempotent.
     */
    public void abort() {
        runInLoopQuietly(() -> closeInLoop(CloseCause.ABORTED, true), "abort");
    }

    /**
     * Half-closes: sends FIN after the queued writes; reading goes on. The heartbeat, if any, stops.
     * Thread-safe.
     */
    public void shutdownOutput() {
        runInLoopQuietly(() -> {
            if (state == State.CLOSED || outputShut) return;
            shutdownOutputPending = true;
            // Nothing can be written any more: a heartbeat would only fail every interval.
            timers.stopHeartbeat();
            if (queue.isEmpty()) doShutdownOutput();
        }, "shutdownOutput");
    }

    private void doShutdownOutput() {
        shutdownOutputPending = false;
        if (link != null) link.closeOutbound();
        try {
            if (queue.isEmpty()) {
                ch.shutdownOutput();
                outputShut = true;
            } else {
                shutdownOutputPending = true; // the layer queued a close message; shut down after it
            }
        } catch (IOException e) {
            closeInLoop(CloseCause.classify(e), true);
        }
        if (outputShut && inputShut) closeInLoop(CloseCause.PEER_CLOSED, true);
    }

    /** Closes with {@code cause}: at once when {@code now} or nothing is queued, else after flushing. Loop thread. */
    void closeInLoop(CloseCause cause, boolean now) {
        State s = state;
        if (s == State.CLOSED) return;
        if (!now && s == State.CONNECTING) {
            if (closeWhenUp != null) return; // already waiting for the connection to come up
            if (registered && hasPendingWrites()) {
                // Still connecting, or in the TLS handshake, with writes made before close(): they
                // are not dropped; becomeConnected() flushes them and closes (within the close timeout).
                closeWhenUp = cause; // (reading goes on: the handshake needs it)
                timers.startCloseDeadline();
                return;
            }
            // nothing written: nothing to wait for
        } else if (!now) {
            if (s == State.CLOSING) return;
            if (link != null && !outputShut) link.closeOutboundQuietly(); // close_notify goes out after the queued data
            if (!queue.isEmpty()) {
                state = State.CLOSING;
                closeCauseOnFlush = cause;
                updateReadInterest();
                // after a close that waited for the connection to come up, its deadline still holds
                timers.startCloseDeadline();
                return;
            }
        }
        doClose(cause);
    }

    /** True while written bytes wait: in the write queue, or in the layer (TLS before its handshake). */
    private boolean hasPendingWrites() {
        return !queue.isEmpty() || (link != null && link.hasPendingWrites());
    }

    String pendingBytesText() {
        return queue.isEmpty() ? "writes waiting for the transport layer" : queue.queuedBytes() + " queued bytes";
    }

    /** The write queue drained: a close waiting for it finishes (true), a half-close waiting for it goes on. */
    boolean queueDrained() {
        if (state == State.CLOSING) {
            doClose(closeCauseOnFlush);
            return true;
        }
        if (shutdownOutputPending) doShutdownOutput();
        return false;
    }

    private void doClose(CloseCause requested) {
        // NORMAL promises that nothing written was lost: a close that drops queued bytes (the loop
        // stopping, a client closed while connecting) says so.
        CloseCause cause = requested.kind() == CloseCause.Kind.NORMAL && hasPendingWrites()
                ? CloseCause.aborted(requested.detail() + ", " + pendingBytesText() + " dropped")
                : requested;
        boolean wasUp = reportedUp;
        state = State.CLOSED;
        closeCause = cause;
        timers.cancelAll();
        if (poller != null) poller.cancel(ch);
        ch.close(); // never throws: the descriptor is released either way
        queue.clear();
        if (queue.hasWaiting()) queue.failAll(this, notWritten()); // before onClose: a listener learns first that its bytes were lost
        in.release();
        if (link != null) link.release(); // the layer's timers must not keep this closed connection alive
        if (stopHook != null) loop.removeOnStop(stopHook);
        if (registered) {
            registered = false;
            LOOPS.addLoad(loop, -1);
        }
        if (LOG.isLoggable(System.Logger.Level.DEBUG)) LOG.log(System.Logger.Level.DEBUG, this + " closed: " + cause);
        // No longer live before the callbacks run: a handler that lists or counts the server's
        // connections (a chat server saying goodbye to the others) must not see this one.
        if (ep instanceof TcpServer server) server.removed(this);
        in.closed(cause); // the protocol releases its state (timers) first
        if (wasUp && ep.onConnection != null) callback(() -> ep.onConnection.onConnection(this));
        if (ep.onError != null && cause.isError()) callback(() -> ep.onError.onError(this, cause.asException()));
        if (ep.onClose != null) callback(() -> ep.onClose.onClose(this, cause));
        if (extraCloseHandler != null) callback(() -> extraCloseHandler.onClose(this, cause));
        if (attempt != null) attempt.closed(this, cause);
    }

    /** Loop-only methods check their caller when assertions are on (tests): a wrong thread is a bug, not a race to hope through. */
    private void assertInLoop(String method) {
        assert loop.inLoop() : method + " called off the loop thread of " + this + " (" + Thread.currentThread().getName() + ")";
    }

    private void callback(Runnable r) {
        try {
            r.run();
        } catch (Throwable t) {
            LOOPS.reportError(loop, t);
        }
    }

    /** True once the output is shut down or about to be (after the queued writes). */
    boolean outputShutOrPending() { return outputShut || shutdownOutputPending; }

    /** The transport layer finished its handshake: the connection is up (unless it is closing already). */
    void layerReady() {
        if (state == State.CONNECTING) becomeConnected();
    }

    /** For endpoints: the local port of this connection. */
    int localPort() {
        SocketAddress a = localAddress();
        return a instanceof InetSocketAddress i ? i.getPort() : -1;
    }
}
