package io.jhv.http.internal.ws;

import io.jhv.http.server.Handler;
import io.jhv.http.server.Request;
import io.jhv.http.server.Response;
import io.jhv.http.websocket.WebSocketConfig;
import io.jhv.http.websocket.WebSocketHandler;

/** The server's WebSocket route: checks the opening handshake and upgrades. (Being written.) */
public final class WsUpgrade implements Handler {
    final WebSocketConfig config;
    final WebSocketHandler handler;

    public WsUpgrade(WebSocketConfig config, WebSocketHandler handler) {
        this.config = config;
        this.handler = handler;
    }

    @Override
    public void handle(Request req, Response res) {
        throw new UnsupportedOperationException("being written");
    }
}
