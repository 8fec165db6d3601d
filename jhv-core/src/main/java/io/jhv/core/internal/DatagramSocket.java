package io.jhv.core.internal;

import java.io.IOException;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.net.SocketAddress;
import java.net.SocketOption;
import java.nio.ByteBuffer;

/**
 * A non-blocking datagram (UDP) socket.
 *
 * <p>{@link #receive} and {@link #send} are loop-thread only once registered; options, multicast
 * membership and the address are thread-safe.
 */
public interface DatagramSocket extends Pollable {

    <T> void setOption(SocketOption<T> name, T value) throws IOException;

    void bind(SocketAddress local) throws IOException;

    /** Receives one datagram into {@code dst} from its position; returns the sender, or null if none is waiting. */
    SocketAddress receive(ByteBuffer dst) throws IOException;

    /** Sends {@code src} as one datagram; returns its size, or 0 if the kernel has no room now. */
    int send(ByteBuffer src, SocketAddress target) throws IOException;

    /** Joins a multicast group on an interface (joining twice is one membership). */
    void join(InetAddress group, NetworkInterface nif) throws IOException;

    /** Leaves a group joined with {@link #join}; false if it was not joined. */
    boolean leave(InetAddress group, NetworkInterface nif);

    /** The bound address, or null before bind and once closed. */
    SocketAddress localAddress();
}
