package io.jhv.bench.peer;

import io.jhv.core.tls.SelfSignedCertificate;

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
import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.IdentityCipherSuiteFilter;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import io.netty.util.AsciiString;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.ResourceLeakDetector;

import java.io.File;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.cert.X509Certificate;
import java.security.NoSuchAlgorithmException;
import java.util.Date;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;

/**
 * The Netty HTTPS peer of {@code hv httpd --https-port}: the plaintext server of
 * {@link NettyHttpServer} behind Netty's {@code SslHandler} with the JDK TLS provider
 * ({@link SslProvider#JDK}, the same {@code SSLEngine} jhv uses), on one event loop.
 *
 * <p>TLS 1.3 and 1.2, ALPN {@code http/1.1}; the certificate comes from {@code --cert}/{@code --key}
 * (PEM, PKCS#8 key) or, without them, a generated EC P-256 certificate for localhost (the same kind
 * {@code hv httpd} generates). {@code GET /plaintext} answers {@code Hello, World!} the way
 * {@link NettyHttpServer} does (static body, {@link AsciiString} header values, header validation
 * off, the Date refreshed once a second, one flush per read batch); anything else gets 404. The
 * handler is a copy of that class's private one rather than a change to it, so the two peers can
 * evolve separately.
 *
 * <p>Thread contract: {@link #start} and {@link #close} are thread-safe; the handler runs on the
 * one loop thread.
 *
 * <pre>java -cp benchmarks.jar io.jhv.bench.peer.NettyHttpsServer --transport epoll --port 8443 [--cert cert.pem --key key.pem] [--ciphers jdk|netty]</pre>
 */
public final class NettyHttpsServer implements AutoCloseable {
    static final String USAGE = "NettyHttpsServer [--transport epoll|nio] [--port 8443] [--host 127.0.0.1] [--cert FILE --key FILE] [--ciphers jdk|netty]";

    private static final byte[] BODY_BYTES = "Hello, World!".getBytes(StandardCharsets.US_ASCII);
    private static final ByteBuf BODY = Unpooled.unreleasableBuffer(
            Unpooled.directBuffer(BODY_BYTES.length).writeBytes(BODY_BYTES)).asReadOnly();
    private static final AsciiString TEXT_PLAIN = AsciiString.cached("text/plain");
    private static final AsciiString SERVER_NAME = AsciiString.cached("Netty");
    private static final AsciiString BODY_LENGTH = AsciiString.cached(Integer.toString(BODY_BYTES.length));
    private static final AsciiString ZERO = AsciiString.cached("0");
    private static final HttpHeadersFactory HEADERS = DefaultHttpHeadersFactory.headersFactory().withValidation(false);
    private static final HttpHeadersFactory TRAILERS = DefaultHttpHeadersFactory.trailersFactory().withValidation(false);

    private final EventLoopGroup group;
    private final SslContext ssl;
    private volatile Channel listener;
    private volatile AsciiString date = AsciiString.cached(DateFormatter.format(new Date()));

    private NettyHttpsServer(EventLoopGroup group, SslContext ssl) {
        this.group = group;
        this.ssl = ssl;
    }

    /**
     * A server context on the JDK provider, TLS 1.3 and 1.2, ALPN http/1.1, from PEM files (or
     * generated if null). With {@code jdkCiphers} the cipher suites are the JDK's defaults in the
     * JDK's order, as jhv uses them (TLS 1.3 then picks TLS_AES_256_GCM_SHA384 with curl and wrk);
     * without, Netty's own default list, which puts TLS_AES_128_GCM_SHA256 first.
     */
    public static SslContext sslContext(File certPem, File keyPem, boolean jdkCiphers) throws SSLException {
        SslContextBuilder b;
        if (certPem != null) {
            b = SslContextBuilder.forServer(certPem, keyPem);
        } else {
            SelfSignedCertificate dev = SelfSignedCertificate.generate("localhost");
            b = SslContextBuilder.forServer(dev.privateKey(), dev.chain().toArray(new X509Certificate[0]));
        }
        b.sslProvider(SslProvider.JDK).protocols("TLSv1.3", "TLSv1.2");
        if (jdkCiphers) {
            try {
                b.ciphers(List.of(SSLContext.getDefault().getDefaultSSLParameters().getCipherSuites()),
                        IdentityCipherSuiteFilter.INSTANCE);
            } catch (NoSuchAlgorithmException e) {
                throw new SSLException("no default SSLContext", e);
            }
        }
        return b
                .applicationProtocolConfig(new ApplicationProtocolConfig(ApplicationProtocolConfig.Protocol.ALPN,
                        ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
                        ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT,
                        ApplicationProtocolNames.HTTP_1_1))
                .build();
    }

    /** Binds {@code host:port} (port 0: any free port) and serves HTTPS on one loop of {@code transport}. */
    public static NettyHttpsServer start(String host, int port, NettyTransport transport, SslContext ssl) throws InterruptedException {
        ResourceLeakDetector.setLevel(ResourceLeakDetector.Level.DISABLED); // as NettyHttpServer (TechEmpower)
        NettyHttpsServer server = new NettyHttpsServer(transport.newSingleLoopGroup(), ssl);
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
                        ch.pipeline().addLast(ssl.newHandler(ch.alloc()), new HttpServerCodec(cfg), new PlaintextHandler());
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
                ReferenceCountUtil.release(msg);
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

    public static void main(String[] argv) throws Exception {
        PeerArgs a;
        try {
            a = PeerArgs.parse(argv, Set.of("transport", "port", "host", "cert", "key", "ciphers"));
            if ((a.get("cert", null) == null) != (a.get("key", null) == null)) {
                throw new IllegalArgumentException("--cert and --key go together");
            }
            if (!a.get("ciphers", "jdk").equals("jdk") && !a.get("ciphers", "jdk").equals("netty")) {
                throw new IllegalArgumentException("--ciphers must be jdk or netty, not " + a.get("ciphers", null));
            }
        } catch (IllegalArgumentException e) {
            System.err.println("NettyHttpsServer: " + e.getMessage() + "\nusage: " + USAGE);
            System.exit(2);
            return;
        }
        NettyTransport t = NettyTransport.parse(a.get("transport", "epoll"));
        String host = a.get("host", "127.0.0.1");
        String cert = a.get("cert", null);
        boolean jdkCiphers = a.get("ciphers", "jdk").equals("jdk");
        SslContext ssl = sslContext(cert == null ? null : new File(cert), cert == null ? null : new File(a.get("key", null)), jdkCiphers);
        NettyHttpsServer server = start(host, a.getInt("port", 8443, 0, 65535), t, ssl);
        System.out.println("netty https (" + t.name().toLowerCase() + ", JDK TLS, " + (jdkCiphers ? "JDK" : "Netty") + " cipher order, 1 loop) listening on " + host + ":" + server.port());
        CountDownLatch done = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            server.close();
            done.countDown();
        }, "netty-https-shutdown"));
        done.await();
    }
}
