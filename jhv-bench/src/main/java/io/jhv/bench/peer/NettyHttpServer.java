package io.jhv.bench.peer;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.DateFormatter;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpHeadersFactory;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeadersFactory;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.AsciiString;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.ResourceLeakDetector;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Date;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * The Netty peer of {@code hv httpd}: a TechEmpower-style plaintext server on one event loop.
 *
 * <p>{@code GET /plaintext} answers {@code Hello, World!} with Content-Type, Server, Date and
 * Content-Length; anything else gets 404. Connections are kept alive and pipelined requests are
 * answered in order: responses are written without a flush, and one flush per read batch happens in
 * {@code channelReadComplete}, so a pipelined batch leaves in one write. Written for the comparison
 * in the shape of the TechEmpower Netty entry (static body, header values as {@link AsciiString},
 * header validation off, the Date value refreshed once a second by a loop timer), which is Netty at
 * its best for this test.
 *
 * <p>Thread contract: {@link #start} and {@link #close} are thread-safe; the handler runs on the
 * one loop thread.
 *
 * <pre>java -cp benchmarks.jar io.jhv.bench.peer.NettyHttpServer --transport epoll --port 8081</pre>
 */
public final class NettyHttpServer implements AutoCloseable {
    static final String USAGE = "NettyHttpServer [--transport epoll|nio] [--port 8081] [--host 127.0.0.1]";

    private static final byte[] BODY_BYTES = "Hello, World!".getBytes(StandardCharsets.US_ASCII);
    /** One read-only direct body shared by every response; duplicates only move indexes. */
    private static final ByteBuf BODY = Unpooled.unreleasableBuffer(
            Unpooled.directBuffer(BODY_BYTES.length).writeBytes(BODY_BYTES)).asReadOnly();
    private static final AsciiString TEXT_PLAIN = AsciiString.cached("text/plain");
    private static final AsciiString SERVER_NAME = AsciiString.cached("Netty");
    private static final AsciiString BODY_LENGTH = AsciiString.cached(Integer.toString(BODY_BYTES.length));
    private static final AsciiString ZERO = AsciiString.cached("0");
    private static final HttpHeadersFactory HEADERS = DefaultHttpHeadersFactory.headersFactory().withValidation(false);
    private static final HttpHeadersFactory TRAILERS = DefaultHttpHeadersFactory.trailersFactory().withValidation(false);

    private final EventLoopGroup group;
    private final io.netty.handler.ssl.SslContext ssl; // null: plain HTTP
    private volatile Channel listener;
    private volatile AsciiString date = AsciiString.cached(DateFormatter.format(new Date()));

    private NettyHttpServer(EventLoopGroup group, io.netty.handler.ssl.SslContext ssl) {
        this.group = group;
        this.ssl = ssl;
    }

    /** Binds {@code host:port} (port 0: any free port) and serves on one loop of {@code transport}. */
    public static NettyHttpServer start(String host, int port, NettyTransport transport) throws InterruptedException {
        return start(host, port, transport, null);
    }

    /** The same, serving HTTPS through {@code ssl} (an SslHandler in front of the codec); null: HTTP. */
    public static NettyHttpServer start(String host, int port, NettyTransport transport, io.netty.handler.ssl.SslContext ssl)
            throws InterruptedException {
        // TechEmpower's Netty entry turns leak detection off: it samples buffers on the hot path.
        ResourceLeakDetector.setLevel(ResourceLeakDetector.Level.DISABLED);
        NettyHttpServer server = new NettyHttpServer(transport.newSingleLoopGroup(), ssl);
        try {
            server.bind(host, port, transport);
            return server;
        } catch (InterruptedException | RuntimeException e) {
            server.group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
            throw e;
        }
    }

    private void bind(String host, int port, NettyTransport transport) throws InterruptedException {
        ServerBootstrap b = new ServerBootstrap()
                .group(group)
                .channel(transport.serverChannel())
                .option(ChannelOption.SO_BACKLOG, 1024)
                .option(ChannelOption.SO_REUSEADDR, true)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        HttpDecoderConfig cfg = new HttpDecoderConfig()
                                .setMaxInitialLineLength(4096)
                                .setMaxHeaderSize(8192)
                                .setMaxChunkSize(8192)
                                .setHeadersFactory(HEADERS)
                                .setTrailersFactory(TRAILERS);
                        if (ssl != null) ch.pipeline().addLast(ssl.newHandler(ch.alloc()));
                        ch.pipeline().addLast(new HttpServerCodec(cfg), new PlaintextHandler());
                    }
                });
        listener = b.bind(new InetSocketAddress(host, port)).sync().channel();
        group.next().scheduleAtFixedRate(this::refreshDate, 1000, 1000, TimeUnit.MILLISECONDS);
    }

    private void refreshDate() {
        date = AsciiString.cached(DateFormatter.format(new Date()));
    }

    /** The bound port. */
    public int port() {
        return ((InetSocketAddress) listener.localAddress()).getPort();
    }

    @Override
    public void close() {
        listener.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
        group.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
    }

    /** Answers each request at once; one flush per read batch. One instance per connection. */
    private final class PlaintextHandler extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (!(msg instanceof HttpRequest req)) {
                ReferenceCountUtil.release(msg); // the (empty) LastHttpContent of a GET
                return;
            }
            try {
                FullHttpResponse res;
                if ("/plaintext".equals(req.uri())) {
                    res = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK, BODY.duplicate(), HEADERS, TRAILERS);
                    res.headers()
                            .set(HttpHeaderNames.CONTENT_TYPE, TEXT_PLAIN)
                            .set(HttpHeaderNames.SERVER, SERVER_NAME)
                            .set(HttpHeaderNames.DATE, date)
                            .set(HttpHeaderNames.CONTENT_LENGTH, BODY_LENGTH);
                } else {
                    res = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.NOT_FOUND, Unpooled.EMPTY_BUFFER, HEADERS, TRAILERS);
                    res.headers()
                            .set(HttpHeaderNames.SERVER, SERVER_NAME)
                            .set(HttpHeaderNames.DATE, date)
                            .set(HttpHeaderNames.CONTENT_LENGTH, ZERO);
                }
                if (HttpUtil.isKeepAlive(req)) {
                    ctx.write(res, ctx.voidPromise());
                } else {
                    ctx.writeAndFlush(res).addListener(ChannelFutureListener.CLOSE);
                }
            } finally {
                ReferenceCountUtil.release(req);
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
            a = PeerArgs.parse(argv, Set.of("transport", "port", "host"));
        } catch (IllegalArgumentException e) {
            System.err.println("NettyHttpServer: " + e.getMessage() + "\nusage: " + USAGE);
            System.exit(2);
            return;
        }
        NettyTransport t = NettyTransport.parse(a.get("transport", "epoll"));
        String host = a.get("host", "127.0.0.1");
        NettyHttpServer server = start(host, a.getInt("port", 8081, 0, 65535), t);
        System.out.println("netty http (" + t.name().toLowerCase() + ", 1 loop) listening on " + host + ":" + server.port());
        PeerArgs.serveUntilShutdown(server, "netty-http");
    }
}
