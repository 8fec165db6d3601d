package io.jhv.core.net;

import io.jhv.core.buffer.Buffer;
import io.jhv.core.internal.DatagramSocket;
import io.jhv.core.internal.Internals;
import io.jhv.core.internal.LoopAccess;
import io.jhv.core.loop.EventLoop;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.ByteBuffer;

/**
 * The receive side of a {@link UdpSocket}: reads up to {@value #MAX_DATAGRAMS_PER_READY} datagrams
 * per readiness into the loop's read buffer (or a 64 KiB one of its own when the loop's has less
 * room) and hands each to the handler. Loop thread; allocates nothing per datagram.
 */
final class DatagramReceiver {
    private static final LoopAccess LOOPS = Internals.loops();
    /** Receive room: larger than any UDP payload (65,507 bytes over IPv4, 65,527 over IPv6). */
    static final int RECEIVE_BUFFER = 65_536;
    private static final int MAX_DATAGRAMS_PER_READY = 64;

    private final UdpSocket socket;
    private final EventLoop loop;
    private final DatagramHandler handler; // null: datagrams are read and discarded
    // the socket's own buffer when the loop's is too small
    private Buffer ownBuffer;
    private ByteBuffer ownNio;

    DatagramReceiver(UdpSocket socket, EventLoop loop, DatagramHandler handler) {
        this.socket = socket;
        this.loop = loop;
        this.handler = handler;
    }

    /** Reads what {@code ch} has (up to the per-readiness limit) until the socket closes. */
    void receive(DatagramSocket ch) {
        for (int i = 0; i < MAX_DATAGRAMS_PER_READY && !socket.isClosed(); i++) {
            Buffer buf;
            ByteBuffer nio;
            Buffer rb = LOOPS.readBuffer(loop);
            rb.clear();
            if (rb.writableBytes() >= RECEIVE_BUFFER) {
                buf = rb;
                nio = LOOPS.readNioBuffer(loop);
            } else {
                if (ownBuffer == null) {
                    ownBuffer = Buffer.allocate(RECEIVE_BUFFER);
                    ownNio = ByteBuffer.wrap(ownBuffer.array());
                }
                buf = ownBuffer;
                buf.clear();
                if (ownNio.array() != buf.array()) ownNio = ByteBuffer.wrap(buf.array()); // the handler grew it
                nio = ownNio;
                nio.limit(buf.capacity()).position(buf.writerIndex());
            }
            int start = nio.position();
            SocketAddress from;
            try {
                from = ch.receive(nio);
            } catch (IOException e) {
                socket.reportError(null, e);
                return;
            }
            if (from == null) return;
            buf.advanceWriter(nio.position() - start);
            DatagramHandler h = handler;
            if (h == null) continue;
            try {
                h.onMessage(socket, (InetSocketAddress) from, buf);
            } catch (Throwable t) {
                LOOPS.reportError(loop, t);
            }
        }
    }
}
