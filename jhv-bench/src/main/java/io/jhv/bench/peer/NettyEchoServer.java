package io.jhv.bench.peer;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.util.ResourceLeakDetector;

import java.net.InetSocketAddress;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * The Netty peer of {@code hv echo}: a TCP echo server on one event loop (NIO or native epoll).
 *
 * <p>Each read is written back as it came (the buffer is handed on, not copied) and flushed once
 * per read batch in {@code channelReadComplete}, Netty's usual echo shape.
 *
 * <p>Thread contract: {@link #start} and {@link #close} are thread-safe; the handler runs on the
 * one loop thread.
 *
 * <pre>java -cp benchmarks.jar io.jhv.bench.peer.NettyEchoServer --transport epoll --port 7001</pre>
 */
public final class NettyEchoServer implements AutoCloseable {
    static final String USAGE = "NettyEchoServer [--transport epoll|nio] [--port 7001] [--host 127.0.0.1]";

    private final EventLoopGroup group;
    private volatile Channel listener;

    private NettyEchoServer(EventLoopGroup group) {
        this.group = group;
    }

    /** Binds {@code host:port} (port 0: any free port) and echoes on one loop of {@code transport}. */
    public static NettyEchoServer start(String host, int port, NettyTransport transport) throws InterruptedException {
        ResourceLeakDetector.setLevel(ResourceLeakDetector.Level.DISABLED);
        NettyEchoServer server = new NettyEchoServer(transport.newSingleLoopGroup());
        try {
            server.listener = new ServerBootstrap()
                    .group(server.group)
                    .channel(transport.serverChannel())
                    .option(ChannelOption.SO_BACKLOG, 1024)
                    .option(ChannelOption.SO_REUSEADDR, true)
                    .childOption(ChannelOption.TCP_NODELAY, true)
                    .childHandler(EchoHandler.INSTANCE)
                    .bind(new InetSocketAddress(host, port)).sync().channel();
            return server;
        } catch (InterruptedException | RuntimeException e) {
            server.group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
            throw e;
        }
    }

    /** The bound port. */
    public int port() {
        return ((InetSocketAddress) listener.localAddress()).getPort();
    }

    @Override
    public void close() {
        Channel l = listener;
        if (l != null) l.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
        group.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
    }

    /** Stateless, so one instance serves every connection. */
    @ChannelHandler.Sharable
    private static final class EchoHandler extends ChannelInboundHandlerAdapter {
        static final EchoHandler INSTANCE = new EchoHandler();

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ctx.write(msg, ctx.voidPromise()); // the write releases the buffer once sent
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            ctx.flush();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }

    public static void main(String[] argv) throws InterruptedException {
        PeerArgs a;
        try {
            a = PeerArgs.parse(argv, Set.of("transport", "port", "host"));
        } catch (IllegalArgumentException e) {
            System.err.println("NettyEchoServer: " + e.getMessage() + "\nusage: " + USAGE);
            System.exit(2);
            return;
        }
        NettyTransport t = NettyTransport.parse(a.get("transport", "epoll"));
        String host = a.get("host", "127.0.0.1");
        NettyEchoServer server = start(host, a.getInt("port", 7001, 0, 65535), t);
        System.out.println("netty echo (" + t.name().toLowerCase() + ", 1 loop) listening on " + host + ":" + server.port());
        PeerArgs.serveUntilShutdown(server, "netty-echo");
    }
}
