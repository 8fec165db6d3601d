package io.jhv.bench.peer;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketServerProtocolConfig;
import io.netty.handler.codec.http.websocketx.WebSocketServerProtocolHandler;
import io.netty.handler.codec.http.websocketx.extensions.compression.WebSocketServerCompressionHandler;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.ResourceLeakDetector;

import java.net.InetSocketAddress;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * The Netty peer of jhv's WebSocket echo ({@link JhvWsEchoServer}): a WebSocket server at {@code /}
 * on one event loop (NIO or native epoll) that echoes every text message as text and every binary
 * message as binary.
 *
 * <p>Netty's standard pipeline: {@code HttpServerCodec}, {@code HttpObjectAggregator} (for the
 * upgrade request), {@code WebSocketServerCompressionHandler} only with {@code --deflate} (Netty's
 * defaults: level 6, 15 window bits, every message compressed whatever its size),
 * {@code WebSocketServerProtocolHandler} (handshake, close, ping/pong, UTF-8 validation of text;
 * frames up to 16 MiB like jhv's default), then the echo: the received frame object is written
 * back as it is (no copy) and flushed once per read batch in {@code channelReadComplete}, Netty's
 * usual echo shape. Leak detection is off.
 *
 * <p>Thread contract: {@link #start} and {@link #close} are thread-safe; the handlers run on the
 * one loop thread.
 *
 * <pre>java -cp benchmarks.jar io.jhv.bench.peer.NettyWsEchoServer --transport epoll --port 7002 [--deflate]</pre>
 */
public final class NettyWsEchoServer implements AutoCloseable {
    static final String USAGE = "NettyWsEchoServer [--transport epoll|nio] [--port 7002] [--host 127.0.0.1] [--deflate]";

    /** The largest frame accepted, as jhv's default maxFrameSize (16 MiB). */
    static final int MAX_FRAME = 16 << 20;

    private final EventLoopGroup group;
    private volatile Channel listener;

    private NettyWsEchoServer(EventLoopGroup group) {
        this.group = group;
    }

    /**
     * Binds {@code host:port} (port 0: any free port) and echoes WebSocket messages at {@code /} on
     * one loop of {@code transport}, with permessage-deflate accepted only if {@code deflate}.
     */
    public static NettyWsEchoServer start(String host, int port, NettyTransport transport, boolean deflate) throws InterruptedException {
        ResourceLeakDetector.setLevel(ResourceLeakDetector.Level.DISABLED);
        NettyWsEchoServer server = new NettyWsEchoServer(transport.newSingleLoopGroup());
        WebSocketServerProtocolConfig wsConfig = WebSocketServerProtocolConfig.newBuilder()
                .websocketPath("/")
                .allowExtensions(deflate)
                .maxFramePayloadLength(MAX_FRAME)
                .build();
        try {
            server.listener = new ServerBootstrap()
                    .group(server.group)
                    .channel(transport.serverChannel())
                    .option(ChannelOption.SO_BACKLOG, 1024)
                    .option(ChannelOption.SO_REUSEADDR, true)
                    .childOption(ChannelOption.TCP_NODELAY, true)
                    .childHandler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        protected void initChannel(SocketChannel ch) {
                            ChannelPipeline p = ch.pipeline();
                            p.addLast(new HttpServerCodec());
                            p.addLast(new HttpObjectAggregator(65536));
                            if (deflate) p.addLast(new WebSocketServerCompressionHandler());
                            p.addLast(new WebSocketServerProtocolHandler(wsConfig));
                            p.addLast(EchoFrames.INSTANCE);
                        }
                    })
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

    /** Echoes data frames; stateless, so one instance serves every connection. */
    @ChannelHandler.Sharable
    private static final class EchoFrames extends ChannelInboundHandlerAdapter {
        static final EchoFrames INSTANCE = new EchoFrames();

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (msg instanceof TextWebSocketFrame || msg instanceof BinaryWebSocketFrame) {
                ctx.write(msg, ctx.voidPromise()); // the same frame, text stays text; the write releases it
            } else {
                ReferenceCountUtil.release(msg); // continuation frames: the load sends none
            }
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
            a = PeerArgs.parse(argv, Set.of("transport", "port", "host"), Set.of("deflate"));
        } catch (IllegalArgumentException e) {
            System.err.println("NettyWsEchoServer: " + e.getMessage() + "\nusage: " + USAGE);
            System.exit(2);
            return;
        }
        NettyTransport t = NettyTransport.parse(a.get("transport", "epoll"));
        String host = a.get("host", "127.0.0.1");
        boolean deflate = a.flag("deflate");
        NettyWsEchoServer server = start(host, a.getInt("port", 7002, 0, 65535), t, deflate);
        System.out.println("netty ws echo (" + t.name().toLowerCase() + ", 1 loop, deflate " + (deflate ? "on" : "off")
                + ") listening on ws://" + host + ":" + server.port() + "/");
        PeerArgs.serveUntilShutdown(server, "netty-ws-echo");
    }
}
