package io.jhv.core.net;

import io.jhv.core.buffer.Buffer;
import io.jhv.core.internal.DatagramSocket;
import io.jhv.core.internal.Internals;
import io.jhv.core.internal.IoHandler;
import io.jhv.core.internal.LoopAccess;
import io.jhv.core.internal.Poller;
import io.jhv.core.loop.EventLoop;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.ProtocolFamily;
import java.net.SocketOption;
import java.net.StandardProtocolFamily;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Objects;

/**
 * A UDP socket on an {@link EventLoop}, for servers and clients alike: receive datagrams with
 * {@link #onMessage}, send with {@link #sendTo}, broadcast, and join multicast groups.
 *
 * <p>Thread contract: configure before {@link #start()}. After it, {@code sendTo}, {@code option},
 * {@code joinGroup}, {@code leaveGroup} and {@code close} are thread-safe; callbacks run on the loop
 * thread. Sends from another thread are queued on the loop, so each thread's datagrams leave in the
 * order it sent them.
 *
 * <p>Datagrams up to 64 KiB are received whole: the socket reads into the loop's read buffer when it
 * has room for 65,536 bytes (the default), else into a 64 KiB buffer of its own. A datagram the
 * kernel does not take at once (a full send buffer) is queued, in order, and sent when the socket
 * becomes writable; up to {@link #maxQueuedBytes} (default 4 MiB): beyond it a datagram is dropped,
 * as UDP may, and reported to {@link #onError}, so a sender faster than the network cannot exhaust the
 * heap.
 *
 * <p>{@link #close()} sends what was queued before it (also sends from another thread still on their
 * way to the loop), for at most the {@linkplain #closeTimeout close timeout}; what is still unsent then
 * is dropped and reported to {@link #onError} (or logged as one warning with the count).
 *
 * {@snippet :
 * UdpSocket echo = UdpSocket.bind(9000)
 *     .onMessage((sock, sender, buf) -> sock.sendTo(sender, buf))
 *     .start();
 * }
 */
public final class UdpSocket implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(UdpSocket.class.getName());
    private static final LoopAccess LOOPS = Internals.loops();
    /** Default of {@link #closeTimeout}: a UDP send buffer drains in milliseconds unless the host is in trouble. */
    public static final long DEFAULT_CLOSE_TIMEOUT_MS = 5_000;
    /** Default of {@link #maxQueuedBytes}. */
    public static final long DEFAULT_MAX_QUEUED_BYTES = 4 << 20;

    private final String host;
    private final int requestedPort;
    private EventLoop loop;
    private boolean ownLoop;
    private DatagramHandler handler;
    private ErrorHandler<InetSocketAddress> errorHandler;
    private final UdpChannel channel = new UdpChannel();
    private final DatagramQueue sendQueue = new DatagramQueue(this, channel);
    private DatagramReceiver receiver; // made at start, with the handler

    private volatile boolean started, closed;
    private int maxPayload = 65_507;
    private long closeTimeoutMs = DEFAULT_CLOSE_TIMEOUT_MS;
    private final IoHandler io = this::onIoReady;
    private ByteBuffer sendView; // reused view for sendTo(Buffer) on the loop
    /** Test seam: the next this-many kernel sends are treated as refused (a full send buffer). Loop thread. */
    int refuseSends;

    private UdpSocket(String host, int port) {
        if (port < 0 || port > 65535) throw new IllegalArgumentException("port out of range: " + port);
        this.host = host;
        this.requestedPort = port;
    }

    /** A socket that binds to {@code port} on all interfaces when started (0: any free port). Any thread. */
    public static UdpSocket bind(int port) {
        return new UdpSocket(null, port);
    }

    /** A socket that binds to {@code host:port} when started. Any thread. */
    public static UdpSocket bind(String host, int port) {
        return new UdpSocket(Objects.requireNonNull(host, "host"), port);
    }

    /** A socket on an ephemeral port on all interfaces, typically a client. Any thread. */
    public static UdpSocket create() {
        return new UdpSocket(null, 0);
    }

    /** Runs on {@code loop} (a started loop, not stopped by {@link #close()}); by default the socket starts its own. Before {@link #start()}, one thread. */
    public UdpSocket loop(EventLoop loop) {
        checkNotStarted();
        this.loop = Objects.requireNonNull(loop, "loop");
        return this;
    }

    /** Called with each received datagram. Without a handler received datagrams are discarded. Before {@link #start()}, one thread; the handler runs on the loop thread. */
    public UdpSocket onMessage(DatagramHandler handler) {
        checkNotStarted();
        this.handler = handler;
        return this;
    }

    /**
     * Called on the loop thread when a send fails (the datagram is dropped, as UDP may) or a receive
     * fails; the target is null for a receive. Default: log at WARNING.
     */
    public UdpSocket onError(ErrorHandler<InetSocketAddress> handler) {
        checkNotStarted();
        this.errorHandler = handler;
        return this;
    }

    /**
     * How long {@link #close()} keeps sending datagrams the kernel has not taken yet (a full send
     * buffer) before it drops them (default {@value #DEFAULT_CLOSE_TIMEOUT_MS} ms; {@link Duration#ZERO} drops at once
     * what the kernel refuses on a last attempt). Configure before {@link #start()}.
     * One thread.
     */
    public UdpSocket closeTimeout(Duration timeout) {
        checkNotStarted();
        this.closeTimeoutMs = TcpEndpoint.millis(timeout);
        return this;
    }

    /**
     * The most bytes of datagrams waiting for the socket to become writable (default
     * {@value #DEFAULT_MAX_QUEUED_BYTES}); a datagram that would go above it is dropped and reported
     * to {@link #onError}. Configure before {@link #start()}.
     * One thread.
     */
    public UdpSocket maxQueuedBytes(long bytes) {
        checkNotStarted();
        if (bytes < 0) throw new IllegalArgumentException("maxQueuedBytes < 0: " + bytes);
        sendQueue.maxBytes = bytes;
        return this;
    }

    /** Sets SO_BROADCAST, needed to send to a broadcast address. Thread-safe. */
    public UdpSocket broadcast(boolean on) {
        return option(StandardSocketOptions.SO_BROADCAST, on);
    }

    /**
     * Sets a socket option (SO_REUSEADDR, SO_RCVBUF, IP_MULTICAST_IF, IP_MULTICAST_LOOP,
     * IP_MULTICAST_TTL...): before {@link #start()} it is applied before binding, after it at once.
     * Thread-safe.
     *
     * @throws UncheckedIOException if the running socket refuses the option
     */
    public <T> UdpSocket option(SocketOption<T> name, T value) {
        Objects.requireNonNull(name, "name");
        channel.option(name, value, this); // checks `closed` under the channel's lock, as close does
        return this;
    }

    /**
     * Opens the socket, binds it and starts receiving. Returns when it is ready.
     * Any thread, once.
     *
     * @throws UncheckedIOException  if the socket cannot be opened or bound
     * @throws IllegalStateException if already started, or the given loop is not running
     */
    public UdpSocket start() {
        synchronized (this) {
            if (started) throw new IllegalStateException("UDP socket already started");
            started = true;
        }
        if (loop == null) {
            loop = EventLoop.builder().name("jhv-udp-" + (host == null ? "*" : host) + ":" + requestedPort).build().start();
            ownLoop = true;
        } else if (LOOPS.poller(loop) == null || !loop.isRunning()) {
            throw new IllegalStateException("loop " + loop.name() + " is not running");
        }
        InetSocketAddress addr = host == null ? new InetSocketAddress(requestedPort) : new InetSocketAddress(host, requestedPort);
        if (addr.isUnresolved()) {
            stopOwnLoop();
            throw new UncheckedIOException(new IOException("cannot resolve " + host));
        }
        ProtocolFamily family = addr.getAddress() instanceof Inet6Address ? StandardProtocolFamily.INET6 : StandardProtocolFamily.INET;
        if (family == StandardProtocolFamily.INET6) maxPayload = 65_527;
        receiver = new DatagramReceiver(this, loop, handler);
        try {
            channel.open(LOOPS.transport(loop), family, addr);
            channel.register(loop, io, this::stopInLoop);
        } catch (IOException | RuntimeException e) {
            channel.close();
            stopOwnLoop();
            if (e instanceof IOException io) {
                throw new UncheckedIOException("cannot open a UDP socket on " + (host == null ? "*" : host) + ":" + requestedPort + ": " + io.getMessage(), io);
            }
            throw (RuntimeException) e;
        }
        return this;
    }

    private void stopOwnLoop() {
        if (ownLoop) loop.close();
    }

    // ---------------------------------------------------------------- state

    /** The local port (after {@link #start()}). Thread-safe. */
    public int port() {
        InetSocketAddress a = localAddress();
        if (a == null) throw new IllegalStateException("UDP socket not started or closed");
        return a.getPort();
    }

    /** The bound local address, or null before start and after close. Thread-safe. */
    public InetSocketAddress localAddress() {
        return channel.localAddress();
    }

    /** Thread-safe. */
    public EventLoop loop() { return loop; }

    /** Bytes of datagrams waiting for the socket to become writable (thread-safe read). */
    public long queuedBytes() { return sendQueue.bytes(); }

    /** Thread-safe. */
    public boolean isClosed() { return closed; }

    @Override
    public String toString() {
        return "UdpSocket[" + localAddress() + "]";
    }

    // ---------------------------------------------------------------- multicast

    /**
     * Joins multicast group {@code group} on interface {@code nif}; datagrams sent to the group and
     * this socket's port are then received. Bind to the wildcard address (not 127.0.0.1) to receive
     * them. Thread-safe.
     *
     * @throws UncheckedIOException if the join fails
     */
    public UdpSocket joinGroup(InetAddress group, NetworkInterface nif) {
        Objects.requireNonNull(group, "group");
        Objects.requireNonNull(nif, "nif");
        if (!group.isMulticastAddress()) throw new IllegalArgumentException(group + " is not a multicast address");
        UdpChannel.join(running(), group, nif);
        return this;
    }

    /** Leaves a group joined with {@link #joinGroup}; false if it was not joined. Thread-safe. */
    public boolean leaveGroup(InetAddress group, NetworkInterface nif) {
        return channel.leave(group, nif);
    }

    private DatagramSocket running() {
        DatagramSocket c = channel.get();
        if (c == null || closed) throw new IllegalStateException(closed ? "UDP socket is closed" : "UDP socket not started");
        return c;
    }

    // ---------------------------------------------------------------- sending

    /** Sends {@code bytes} as one datagram to {@code target} (the array is taken over). Thread-safe. */
    public void sendTo(InetSocketAddress target, byte[] bytes) {
        sendTo(target, ByteBuffer.wrap(bytes));
    }

    /** Sends {@code s} as UTF-8 in one datagram. Thread-safe. */
    public void sendTo(InetSocketAddress target, String s) {
        sendTo(target, s.getBytes(StandardCharsets.UTF_8));
    }

    /** Sends the remaining bytes of {@code bytes} as one datagram (taken over: don't change it afterwards). Thread-safe. */
    public void sendTo(InetSocketAddress target, ByteBuffer bytes) {
        checkSend(target, bytes.remaining());
        if (loop.inLoop()) {
            sendInLoop(target, bytes, true);
        } else {
            loop.queueInLoop(() -> sendInLoop(target, bytes, true));
        }
    }

    /**
     * Sends and consumes the readable bytes of {@code buf} as one datagram. On the loop thread a
     * borrowed buffer may be sent back as is (echo): what cannot go out at once is copied. Thread-safe.
     */
    public void sendTo(InetSocketAddress target, Buffer buf) {
        int n = buf.readableBytes();
        checkSend(target, n);
        if (loop.inLoop()) {
            ByteBuffer view = sendView;
            if (view == null || view.array() != buf.array()) sendView = view = ByteBuffer.wrap(buf.array());
            view.limit(buf.readerIndex() + n).position(buf.readerIndex());
            buf.skip(n);
            sendInLoop(target, view, false);
        } else {
            ByteBuffer copy = ByteBuffer.wrap(buf.readBytes());
            loop.queueInLoop(() -> sendInLoop(target, copy, true));
        }
    }

    private void checkSend(InetSocketAddress target, int size) {
        Objects.requireNonNull(target, "target");
        if (target.isUnresolved()) throw new IllegalArgumentException("unresolved address " + target);
        if (size > maxPayload) {
            throw new IllegalArgumentException("datagram of " + size + " bytes exceeds the UDP maximum " + maxPayload);
        }
        if (closed) throw new IllegalStateException("send on a closed UDP socket " + this);
        if (channel.get() == null) throw new IllegalStateException("UDP socket not started");
    }

    private void sendInLoop(InetSocketAddress target, ByteBuffer data, boolean owned) {
        // Not `closed`: a send queued from another thread before close() still goes out (close runs
        // after it on the loop). Only once the channel is gone is a send dropped: one that raced
        // with a close from another thread.
        if (!channel.isLive()) {
            reportError(target, new IOException("UDP socket closed: datagram not sent"));
            return;
        }
        sendQueue.send(target, data, owned);
    }

    /** One datagram to the kernel: 0 if it refused it (a full send buffer). Loop thread. */
    int kernelSend(ByteBuffer data, InetSocketAddress target) throws IOException {
        if (refuseSends > 0) {
            refuseSends--;
            return 0;
        }
        return channel.get().send(data, target);
    }

    boolean hasErrorHandler() { return errorHandler != null; }

    /** To the error handler (its failure to the loop's), or logged. Loop thread. */
    void reportError(InetSocketAddress target, IOException e) {
        if (errorHandler != null) {
            try {
                errorHandler.onError(target, e);
            } catch (Throwable t) {
                LOOPS.reportError(loop, t);
            }
            return;
        }
        LOG.log(System.Logger.Level.WARNING, this + (target == null ? " receive failed: " : " send to " + target + " failed: ") + e);
    }

    // ---------------------------------------------------------------- readiness

    private void onIoReady(int ops) {
        DatagramSocket c = channel.get();
        if ((ops & Poller.READ) != 0 && c != null) receiver.receive(c);
        if ((ops & Poller.WRITE) != 0 && channel.get() != null && sendQueue.flush()) {
            if (sendQueue.lingering()) {
                finishClose();
            } else {
                channel.setInterest(Poller.READ);
            }
        }
    }

    // ---------------------------------------------------------------- closing

    /**
     * Closes the socket: no more datagrams are received or accepted by {@code sendTo}; those sent
     * before (from any thread) still go out, in order, for at most the {@linkplain #closeTimeout close
     * timeout}, and what the kernel has not taken by then is dropped and reported to {@link #onError}
     * (without a handler: one warning with the count). Then the channel is closed and a loop the socket
     * started itself is stopped. Thread-safe; idempotent. From another thread, with the socket's own
     * loop, it returns when that is done; on a shared loop or on the loop thread it returns at once.
     */
    @Override
    public void close() {
        synchronized (this) {
            if (closed) return;
            closed = true;
            if (!started) return;
        }
        EventLoop l = loop;
        // Queued behind the sends this thread made before: they reach the loop first.
        l.runInLoop(this::closeInLoop);
        if (ownLoop && !l.inLoop()) {
            try {
                l.awaitTermination(Duration.ofMillis(closeTimeoutMs + 5_000));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private void closeInLoop() {
        closed = true;
        if (channel.get() == null || sendQueue.lingering()) return;
        if (sendQueue.isEmpty() || sendQueue.flush() || closeTimeoutMs == 0) {
            finishClose();
            return;
        }
        sendQueue.linger(loop, closeTimeoutMs, this::finishClose); // the kernel refused a datagram
    }

    /** The loop stops (the socket's own after close, or a shared one at any time): close now. */
    private void stopInLoop() {
        closed = true;
        finishClose();
    }

    /** Drops (and reports) what is still queued, closes the channel, stops the socket's own loop. */
    private void finishClose() {
        if (channel.get() == null) return;
        sendQueue.dropAll(closeTimeoutMs);
        channel.closeInLoop();
        if (ownLoop) loop.stop(); // runs the tasks already posted, then ends its thread
    }

    private void checkNotStarted() {
        if (started) throw new IllegalStateException("configure the UDP socket before start()");
    }
}
