package io.jhv.core.net;

import io.jhv.core.internal.DatagramSocket;
import io.jhv.core.internal.Internals;
import io.jhv.core.internal.IoHandler;
import io.jhv.core.internal.Poller;
import io.jhv.core.internal.Transport;
import io.jhv.core.loop.EventLoop;

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
 * The channel of a {@link UdpSocket} on its loop: options set before it opens are applied before
 * binding, later ones at once; registration with the loop's poller and the interest set; multicast
 * membership; closing. Options, opening and closing are thread-safe and share one lock, so an
 * option never lands on a closed channel or between the options applied at start; registration,
 * interest and {@link #closeInLoop} are for the loop thread.
 */
final class UdpChannel {
    private final Map<SocketOption<?>, Object> options = new LinkedHashMap<>();
    private volatile DatagramSocket ch;
    // loop thread, once registered
    private EventLoop loop;
    private Poller poller;
    private int interest;
    private Runnable stopHook;

    /** The open channel, or null before it opens and after it closes. */
    DatagramSocket get() { return ch; }

    /**
     * Sets an option now, or remembers it for {@link #open} if the channel is not open yet. Refuses it
     * once {@code owner} is closed, checked under the lock {@link #close()} takes: an option racing
     * with the close either reaches the socket before it closes or is refused, never silently kept.
     */
    <T> void option(SocketOption<T> name, T value, UdpSocket owner) {
        synchronized (options) {
            if (owner.isClosed()) throw new IllegalStateException("UDP socket is closed");
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

    /**
     * Registers the open channel with {@code loop}'s poller for reading, ready events to {@code io},
     * and {@code onStop} as the loop's stop hook; returns when that is done. Any thread but the loop's.
     */
    void register(EventLoop loop, IoHandler io, Runnable onStop) throws IOException {
        DatagramSocket c = ch;
        OnLoop.run(loop, () -> {
            this.loop = loop;
            interest = Poller.READ;
            (poller = Internals.loops().poller(loop)).register(c, interest, io);
            stopHook = loop.onStop(onStop);
            return null;
        }, "register the UDP socket");
    }

    /** Whether the channel is open and registered with its loop. Loop thread. */
    boolean isLive() {
        DatagramSocket c = ch;
        return c != null && poller != null && c.isOpen();
    }

    /** Sets the readiness the poller reports ({@link Poller#READ}, {@link Poller#WRITE}). Loop thread. */
    void setInterest(int ops) {
        DatagramSocket c = ch;
        if (ops != interest && poller != null && c != null) {
            interest = ops;
            poller.modify(c, ops);
        }
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

    /** Unregisters and closes the channel, and removes the loop's stop hook. Loop thread. */
    void closeInLoop() {
        DatagramSocket c = ch;
        if (c == null) return;
        if (poller != null) poller.cancel(c);
        close();
        if (stopHook != null) loop.removeOnStop(stopHook);
        stopHook = null;
    }

    /** Closes the channel (memberships are dropped with it); later {@link #get()} returns null. Any thread. */
    void close() {
        synchronized (options) {
            DatagramSocket c = ch;
            ch = null;
            if (c != null) c.close(); // never throws: the descriptor is released either way
        }
    }
}
