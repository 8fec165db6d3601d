package io.jhv.http.websocket;

import io.jhv.core.loop.EventLoop;
import io.jhv.core.loop.EventLoopGroup;
import io.jhv.core.net.Proxy;
import io.jhv.core.net.ReconnectPolicy;
import io.jhv.core.tls.TlsConfig;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;

/**
 * A WebSocket client (RFC 6455) for {@code ws://} and {@code wss://} URLs, with permessage-deflate,
 * subprotocols, extra headers, timeouts, and reconnect with back-off.
 *
 * {@snippet :
 * WebSocketClient client = WebSocketClient.create("wss://example.com/chat")
 *     .header("Authorization", "Bearer " + token)
 *     .reconnect(ReconnectPolicy.exponential(Duration.ofMillis(200), Duration.ofSeconds(10)))
 *     .config(WebSocketConfig.builder().pingInterval(Duration.ofSeconds(15)).build())
 *     .handler((ws, msg) -> System.out.println(msg.text()));
 * client.connect().thenAccept(ws -> ws.send("hello"));
 * }
 *
 * <p>With a reconnect policy, a connection that drops (also one found dead by a missed pong, and
 * one closed by either side, {@code ws.close()} included), a refused connect and a failed
 * handshake are all retried with the policy's back-off until it gives up; only {@link #close()}
 * ends the client, also during a back-off. Without one, the client connects
 * once. By default a client runs on a loop of its own; {@link #group} or {@link #loop} puts many
 * clients on shared loops (10,000 clients need not mean 10,000 threads).
 *
 * <p>Thread contract: configure before {@link #connect()} from one thread (a setter afterwards
 * throws {@link IllegalStateException}); {@code connect}, {@code send}, {@code close} and the getters
 * are thread-safe. Handler callbacks run on the socket's loop.
 */
public final class WebSocketClient implements AutoCloseable {

    private final io.jhv.http.internal.ws.WsClientEngine engine;

    private WebSocketClient(String url) {
        this.engine = new io.jhv.http.internal.ws.WsClientEngine(url);
    }

    /**
     * A client for {@code url} ({@code ws://host[:port]/path?query} or {@code wss://...}).
     *
     * @throws IllegalArgumentException if the URL is not a ws or wss URL with a host
     */
    public static WebSocketClient create(String url) {
        return new WebSocketClient(url);
    }

    /** Connects once to {@code url} with default settings and {@code handler}; the future completes when the socket is open. */
    public static CompletableFuture<WebSocket> connect(String url, WebSocketHandler handler) {
        return create(url).handler(handler).connect();
    }

    /** The handler for every socket this client opens (reconnects included). Required. */
    public WebSocketClient handler(WebSocketHandler handler) { engine.handler(handler); return this; }

    /** Adds a header to the upgrade request (Authorization, Cookie, Origin...). */
    public WebSocketClient header(String name, String value) { engine.header(name, value); return this; }

    /** The subprotocols offered (also settable through {@link #config}). */
    public WebSocketClient subprotocols(String... names) { engine.subprotocols(names); return this; }

    /** Message limits, permessage-deflate, heartbeat, timeouts (default {@link WebSocketConfig#defaults()}). */
    public WebSocketClient config(WebSocketConfig config) { engine.config(config); return this; }

    /** TLS settings for {@code wss://} (default: the JDK's trust store, SNI and host name verification from the URL's host). */
    public WebSocketClient tls(TlsConfig tls) { engine.tls(tls); return this; }

    /**
     * Connects through {@code proxy} (default {@link Proxy#NONE}): a tunnel to the
     * URL's host ({@code CONNECT} or SOCKS5), then TLS with that host for {@code wss://}, then the
     * upgrade; see {@link io.jhv.core.net.Connector#proxy}. Before {@code connect()}, one thread.
     */
    public WebSocketClient proxy(Proxy proxy) { engine.proxy(proxy); return this; }

    /** Bounds resolving the host and the TCP connect (default 10 s). */
    public WebSocketClient connectTimeout(Duration timeout) { engine.connectTimeout(timeout); return this; }

    /** Bounds the TLS handshake plus the HTTP upgrade, from the TCP connect to the {@code 101} (default 10 s). */
    public WebSocketClient handshakeTimeout(Duration timeout) { engine.handshakeTimeout(timeout); return this; }

    /** Reconnects with this policy after a drop or a failed attempt (default: none, connect once). */
    public WebSocketClient reconnect(ReconnectPolicy policy) { engine.reconnect(policy); return this; }

    /** Runs on {@code loop} (not closed with the client). */
    public WebSocketClient loop(EventLoop loop) { engine.loop(loop); return this; }

    /** Runs on one of {@code group}'s loops (not closed with the client). */
    public WebSocketClient group(EventLoopGroup group) { engine.group(group); return this; }

    /**
     * Starts connecting. The future completes with the open socket (on its loop, right after
     * {@code onOpen} returned), or fails with
     * {@link WebSocketHandshakeException}, {@code ConnectException}, {@code ConnectTimeoutException},
     * {@code UnknownHostException}, an {@code SSLException}, or {@link WebSocketException} for a
     * client closed first; with a reconnect policy it fails only once the policy gives up (or the
     * client is closed). Call once.
     *
     * @throws IllegalStateException if called twice or without a handler
     */
    public CompletableFuture<WebSocket> connect() { return engine.connect(); }

    /** The open socket, or null while not connected. */
    public WebSocket webSocket() { return engine.current(); }

    /** True while a socket is open. */
    public boolean isOpen() { return engine.current() != null; }

    /** How many times this client has opened a socket (1 after the first success; reconnects add to it). */
    public int openCount() { return engine.openCount(); }

    /** Sends a text message on the open socket. @throws IllegalStateException when none is open */
    public void send(String text) { engine.requireOpen().send(text); }

    /** Sends a binary message (taken over) on the open socket. @throws IllegalStateException when none is open */
    public void send(byte[] data) { engine.requireOpen().send(data); }

    /**
     * Ends the client: stops reconnecting (also in the middle of a back-off or an attempt), and
     * closes the open socket with 1000. Thread-safe; idempotent.
     */
    @Override
    public void close() { engine.close(); }

    /** A future completed once the client has ended (closed, or given up reconnecting) and its socket is closed. */
    public CompletableFuture<Void> closeFuture() { return engine.closeFuture(); }
}
