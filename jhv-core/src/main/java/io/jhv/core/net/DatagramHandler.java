package io.jhv.core.net;

import io.jhv.core.buffer.Buffer;

import java.net.InetSocketAddress;

/**
 * Called on the loop thread with one received datagram.
 *
 * <p>The buffer is borrowed for this call only (it is the loop's read buffer or the socket's own);
 * copy what you keep with {@link Buffer#readBytes()}. Replying through {@code socket.sendTo(sender, buf)}
 * is fine: the bytes are sent or copied before the call returns.
 */
@FunctionalInterface
public interface DatagramHandler {
    void onMessage(UdpSocket socket, InetSocketAddress sender, Buffer datagram);
}
