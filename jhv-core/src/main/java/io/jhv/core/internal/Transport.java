package io.jhv.core.internal;

import java.io.IOException;
import java.net.ProtocolFamily;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;

/**
 * The socket layer under the event loops: opens the loops' pollers and the sockets they watch. A
 * socket from one transport registers only with a poller of the same transport.
 *
 * <pre>
 *  EventLoop ── Poller (register/modify/cancel/poll/wakeup) ──┐
 *  Connection ── StreamSocket (read/write/transferFrom/...)   ├── Transport: NIO (default), in-memory
 *  TcpServer ── ListenSocket,  UdpSocket ── DatagramSocket ───┘   (tests), FFM epoll (later)
 * </pre>
 *
 * No NIO channel or selector type appears in this interface or the ones it returns, so a native
 * transport (epoll, io_uring through FFM) replaces the JDK selector without touching the
 * connection code. Thread-safe: a transport is shared by every loop of its kind.
 */
public interface Transport {

    /** Opens a poller for one loop run; {@code onError} receives what an {@link IoHandler} throws (null: it propagates). */
    Poller openPoller(Consumer<Throwable> onError) throws IOException;

    StreamSocket openStream() throws IOException;

    ListenSocket openListener() throws IOException;

    DatagramSocket openDatagram(ProtocolFamily family) throws IOException;

    /**
     * The transport for an {@code EventLoop.Builder.poller(kind)}: "default"/"selector", "epoll" and
     * "poll" are the JDK selector ({@link NioTransport}); other kinds are those {@link #register}ed.
     *
     * @throws IllegalArgumentException for an unknown kind, or one not available here
     */
    static Transport forKind(String kind) {
        Transport t = Registry.KINDS.get(kind);
        return t != null ? t : NioTransport.forKind(kind);
    }

    /** Makes {@code transport} available as poller kind {@code kind} (a native or an in-memory transport). Thread-safe. */
    static void register(String kind, Transport transport) {
        Registry.KINDS.put(Objects.requireNonNull(kind, "kind"), Objects.requireNonNull(transport, "transport"));
    }

    /** Removes a kind added with {@link #register}. */
    static void unregister(String kind) {
        Registry.KINDS.remove(kind);
    }

    /** Holder of the registered kinds (interfaces have no private static fields). */
    final class Registry {
        static final Map<String, Transport> KINDS = new ConcurrentHashMap<>();

        private Registry() {}
    }
}
