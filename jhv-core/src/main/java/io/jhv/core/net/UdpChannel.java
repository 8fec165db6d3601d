package io.jhv.core.net;

import io.jhv.core.internal.DatagramSocket;
import io.jhv.core.internal.Transport;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.ProtocolFamily;
import java.net.SocketOption;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The channel of a {@link UdpSocket} and its options: options set before it opens are applied
 * before binding, later ones at once; multicast membership; closing. Thread-safe: options and the
 * channel's opening and closing share one lock, so an option never lands on a closed channel or
 * between the options applied at start.
 */
final class UdpChannel {
    private final Map<SocketOption<?>, Object> options = new LinkedHashMap<>();
    private volatile DatagramSocket ch;

    /** The open channel, or null before it opens and after it closes. */
    DatagramSocket get() { return ch; }

    /** Sets an option now, or remembers it for {@link #open} if the channel is not open yet. */
    <T> void option(SocketOption<T> name, T value, Object owner) {
        synchronized (options) {
            DatagramSocket c = ch;
            if (c == null) {
                options.put(name, value);
                return;
            }
            try {
                c.setOption(name, value);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot set " + name + " on " + owner + ": " + e.getMessage(), e);
            }
        }
    }

    /** Opens a channel of {@code family}, applies the options set so far, binds it to {@code addr}; closes it on failure. */
    DatagramSocket open(Transport transport, ProtocolFamily family, InetSocketAddress addr) throws IOException {
        DatagramSocket c = transport.openDatagram(family);
        try {
            synchronized (options) {
                for (Map.Entry<SocketOption<?>, Object> e : options.entrySet()) setOption(c, e.getKey(), e.getValue());
                c.bind(addr);
                ch = c;
            }
        } catch (IOException | RuntimeException e) {
            c.close();
            throw e;
        }
        return c;
    }

    @SuppressWarnings("unchecked")
    private static <T> void setOption(DatagramSocket c, SocketOption<T> name, Object value) throws IOException {
        c.setOption(name, (T) value);
    }

    /** The bound local address, or null when not open. */
    InetSocketAddress localAddress() {
        DatagramSocket c = ch;
        return c == null ? null : (InetSocketAddress) c.localAddress();
    }

    /** Joins {@code group} on {@code nif} ({@code c}: the open channel). */
    static void join(DatagramSocket c, InetAddress group, NetworkInterface nif) {
        try {
            c.join(group, nif);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot join " + group.getHostAddress() + " on " + nif.getName() + ": " + e.getMessage(), e);
        }
    }

    /** Leaves a joined group; false if it was not joined or the channel is not open. */
    boolean leave(InetAddress group, NetworkInterface nif) {
        DatagramSocket c = ch;
        return c != null && c.leave(group, nif);
    }

    /** Closes the channel (memberships are dropped with it); later {@link #get()} returns null. */
    void close() {
        synchronized (options) {
            DatagramSocket c = ch;
            ch = null;
            if (c != null) c.close(); // never throws: the descriptor is released either way
        }
    }
}
