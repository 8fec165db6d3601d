package io.jhv.bench.client;

import io.jhv.bench.peer.NettyTransport;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOption;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.pool.AbstractChannelPoolHandler;
import io.netty.channel.pool.ChannelHealthChecker;
import io.netty.channel.pool.FixedChannelPool;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.AttributeKey;
import io.netty.util.AsciiString;

import java.net.InetSocketAddress;
import java.net.URI;
import java.util.concurrent.TimeUnit;

/**
 * A Netty 4.2 HTTP/1.1 client written the usual way: one event loop (native epoll when
 * available), a {@link FixedChannelPool} of N keep-alive channels, {@link HttpClientCodec} and
 * {@link HttpObjectAggregator} per channel, a {@link FullHttpRequest} per call, the channel
 * released to the pool when its response is complete.
 */
final class NettyClient implements LoadClient {
    private static final AttributeKey<Callback> CALLBACK = AttributeKey.valueOf("jhv.bench.callback");

    private final MultiThreadIoEventLoopGroup group;
    private final FixedChannelPool pool;
    private final String path;
    private final AsciiString host;
    final boolean epoll;

    NettyClient(String url, int connections) {
        URI u = URI.create(url);
        int port = u.getPort() > 0 ? u.getPort() : 80;
        this.path = u.getRawPath() + (u.getRawQuery() != null ? "?" + u.getRawQuery() : "");
        this.host = AsciiString.of(u.getHost() + ":" + port);
        this.epoll = Epoll.isAvailable();
        this.group = (epoll ? NettyTransport.EPOLL : NettyTransport.NIO).newSingleLoopGroup();
        Bootstrap b = new Bootstrap().group(group)
                .channel(epoll ? EpollSocketChannel.class : NioSocketChannel.class)
                .option(ChannelOption.TCP_NODELAY, true)
                .remoteAddress(new InetSocketAddress(u.getHost(), port));
        this.pool = new FixedChannelPool(b, new AbstractChannelPoolHandler() {
            @Override
            public void channelCreated(Channel ch) {
                ch.pipeline().addLast(new HttpClientCodec(), new HttpObjectAggregator(1 << 20), new ResponseHandler());
            }
        }, ChannelHealthChecker.ACTIVE, FixedChannelPool.AcquireTimeoutAction.FAIL, 10_000, connections, 1024);
    }

    private final class ResponseHandler extends SimpleChannelInboundHandler<FullHttpResponse> {
        @Override
        protected void channelRead0(ChannelHandlerContext ctx, FullHttpResponse res) {
            Channel ch = ctx.channel();
            Callback cb = ch.attr(CALLBACK).getAndSet(null);
            int status = res.status().code(), n = res.content().readableBytes();
            pool.release(ch);
            if (cb != null) cb.done(status, n, null);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            failAndClose(ctx.channel(), cause);
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            failAndClose(ctx.channel(), new java.io.IOException("connection closed"));
        }

        private void failAndClose(Channel ch, Throwable cause) {
            Callback cb = ch.attr(CALLBACK).getAndSet(null);
            if (cb != null) {
                pool.release(ch);
                cb.done(0, 0, cause);
            }
            ch.close();
        }
    }

    @Override
    public void get(Callback cb) {
        pool.acquire().addListener(f -> {
            if (!f.isSuccess()) {
                cb.done(0, 0, f.cause());
                return;
            }
            Channel ch = (Channel) f.getNow();
            ch.attr(CALLBACK).set(cb);
            FullHttpRequest req = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, path, Unpooled.EMPTY_BUFFER);
            req.headers().set(HttpHeaderNames.HOST, host);
            ch.writeAndFlush(req, ch.voidPromise());
        });
    }

    @Override public String name() { return "netty"; }

    @Override
    public void close() {
        pool.close();
        group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
    }
}
