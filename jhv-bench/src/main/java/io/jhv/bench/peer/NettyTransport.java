package io.jhv.bench.peer;

import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;

import java.util.Locale;

/**
 * The two Netty transports the peers can run on: the JDK selector (NIO) and Netty's native epoll.
 *
 * <p>Immutable and thread-safe. Each peer runs exactly one event loop, like {@code hv ... --threads 1}.
 */
public enum NettyTransport {
    NIO,
    EPOLL;

    /** Parses "nio" or "epoll" (any case). */
    public static NettyTransport parse(String s) {
        return switch (s.toLowerCase(Locale.ROOT)) {
            case "nio" -> NIO;
            case "epoll" -> EPOLL;
            default -> throw new IllegalArgumentException("transport must be nio or epoll, not " + s);
        };
    }

    /** A group of one event loop on this transport; fails with the cause when epoll is unavailable. */
    public MultiThreadIoEventLoopGroup newSingleLoopGroup() {
        IoHandlerFactory factory;
        if (this == EPOLL) {
            Epoll.ensureAvailability();
            factory = EpollIoHandler.newFactory();
        } else {
            factory = NioIoHandler.newFactory();
        }
        return new MultiThreadIoEventLoopGroup(1, factory);
    }

    public Class<? extends ServerChannel> serverChannel() {
        return this == EPOLL ? EpollServerSocketChannel.class : NioServerSocketChannel.class;
    }
}
