package io.jhv.http.internal.ws;

import io.jhv.core.loop.EventLoop;
import io.jhv.core.loop.EventLoopGroup;
import io.jhv.core.net.ReconnectPolicy;
import io.jhv.core.tls.TlsConfig;
import io.jhv.http.websocket.WebSocket;
import io.jhv.http.websocket.WebSocketConfig;
import io.jhv.http.websocket.WebSocketHandler;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;

/** The machinery behind WebSocketClient. (Being written.) */
public final class WsClientEngine {
    public WsClientEngine(String url) { }
    public void handler(WebSocketHandler h) { }
    public void header(String name, String value) { }
    public void subprotocols(String... names) { }
    public void config(WebSocketConfig c) { }
    public void tls(TlsConfig t) { }
    public void connectTimeout(Duration d) { }
    public void handshakeTimeout(Duration d) { }
    public void reconnect(ReconnectPolicy p) { }
    public void loop(EventLoop l) { }
    public void group(EventLoopGroup g) { }
    public CompletableFuture<WebSocket> connect() { throw new UnsupportedOperationException("being written"); }
    public WebSocket current() { return null; }
    public int openCount() { return 0; }
    public WebSocket requireOpen() { throw new IllegalStateException("not open"); }
    public void close() { }
    public CompletableFuture<Void> closeFuture() { return new CompletableFuture<>(); }
}
