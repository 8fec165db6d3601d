package io.jhv.core.net;

import io.jhv.core.internal.Poller;
import io.jhv.core.loop.EventLoop;
import io.jhv.core.loop.Timer;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;

/**
 * The send side of a {@link UdpSocket}: sends a datagram at once when nothing waits, else queues it,
 * in order, up to a bound (beyond it the datagram is dropped and reported); flushes when the socket
 * becomes writable; on close, lingers until the queue drains or the close timeout passes, then drops
 * and reports what is left. Loop thread, except {@link #bytes()}.
 */
final class DatagramQueue {
    private static final System.Logger LOG = System.getLogger(UdpSocket.class.getName());

    private record Pending(InetSocketAddress target, ByteBuffer data) {}

    private final UdpSocket socket; // kernel sends (with its test seam) and error reports
    private final UdpChannel channel;
    private final ArrayDeque<Pending> queue = new ArrayDeque<>();
    private volatile long bytes;
    /** Set before the socket starts (published by its start on the loop). */
    long maxBytes = UdpSocket.DEFAULT_MAX_QUEUED_BYTES;
    // closing: close() came while datagrams were queued; they go out first
    private boolean lingering;
    private Timer lingerTimer;

    DatagramQueue(UdpSocket socket, UdpChannel channel) {
        this.socket = socket;
        this.channel = channel;
    }

    /** Bytes of datagrams waiting for the socket to become writable. Any thread. */
    long bytes() { return bytes; }

    boolean isEmpty() { return queue.isEmpty(); }

    /** Whether close() is waiting for the queue to drain. */
    boolean lingering() { return lingering; }

    /**
     * Sends {@code data} to {@code target} now if nothing is queued before it, else queues it (a copy
     * unless {@code owned}); a datagram that would exceed {@link #maxBytes} is dropped and reported.
     */
    void send(InetSocketAddress target, ByteBuffer data, boolean owned) {
        if (queue.isEmpty()) {
            int n;
            try {
                n = socket.kernelSend(data, target);
            } catch (IOException e) {
                socket.reportError(target, e);
                return;
            }
            if (n > 0 || !data.hasRemaining()) return; // a datagram goes whole or not at all
        }
        if (bytes + data.remaining() > maxBytes) {
            socket.reportError(target, new IOException("UDP send queue full (" + bytes + " bytes waiting for the socket): datagram dropped"));
            return;
        }
        ByteBuffer rest = data;
        if (!owned) {
            rest = ByteBuffer.allocate(data.remaining());
            rest.put(data).flip();
        }
        queue.add(new Pending(target, rest));
        bytes += rest.remaining();
        channel.setInterest(lingering ? Poller.WRITE : Poller.READ | Poller.WRITE);
    }

    /** Sends queued datagrams until the kernel refuses one; true if the queue is empty. */
    boolean flush() {
        Pending p;
        while ((p = queue.peek()) != null) {
            int size = p.data.remaining();
            try {
                if (socket.kernelSend(p.data, p.target) == 0 && size > 0) return false;
            } catch (IOException e) {
                // Drop this one before telling (user code: its handler may close the socket, which
                // flushes this queue again from inside this loop), then go on with the next.
                queue.poll();
                bytes -= size;
                socket.reportError(p.target, e);
                continue;
            }
            queue.poll();
            bytes -= size;
        }
        return true;
    }

    /**
     * The kernel refused a datagram at close: wait for the socket to become writable, for at most
     * {@code timeoutMs}, then run {@code timedOut}. No OP_READ: a closed socket calls no handler, and
     * an unread datagram would wake the poller again and again.
     */
    void linger(EventLoop loop, long timeoutMs, Runnable timedOut) {
        lingering = true;
        channel.setInterest(Poller.WRITE);
        lingerTimer = loop.setTimeout(timeoutMs, timedOut);
        if (LOG.isLoggable(System.Logger.Level.DEBUG)) {
            LOG.log(System.Logger.Level.DEBUG, socket + " closing: " + queue.size() + " datagrams still to send");
        }
    }

    /**
     * Stops lingering and drops what is still queued: each reported to the socket's error handler,
     * or, without one, one warning with the count.
     */
    void dropAll(long closeTimeoutMs) {
        lingering = false;
        if (lingerTimer != null) lingerTimer.cancel();
        lingerTimer = null;
        if (queue.isEmpty()) return;
        int count = queue.size();
        long n = bytes;
        if (socket.hasErrorHandler()) {
            Pending p;
            while ((p = queue.poll()) != null) {
                socket.reportError(p.target, new IOException("UDP socket closed: datagram not sent within the close timeout of "
                        + closeTimeoutMs + " ms"));
            }
        } else {
            LOG.log(System.Logger.Level.WARNING, socket + " closed with " + count + " datagrams (" + n
                    + " bytes) not sent: the kernel did not take them within the close timeout of " + closeTimeoutMs + " ms");
        }
        queue.clear();
        bytes = 0;
    }
}
