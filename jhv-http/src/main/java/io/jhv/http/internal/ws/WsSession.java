package io.jhv.http.internal.ws;

import io.jhv.http.websocket.WebSocket;

/** One WebSocket's protocol state on its connection. (Being written.) */
public abstract class WsSession implements WebSocket {
    public static WsSession of(WebSocket ws) {
        return (WsSession) ws;
    }

    public abstract void whenClosed(Runnable r);

    public abstract void sendShared(byte[] payload, boolean text);
}
