package io.jhv.examples;

import io.jhv.http.server.HttpServer;
import io.jhv.http.websocket.Handshake;
import io.jhv.http.websocket.Message;
import io.jhv.http.websocket.WebSocket;
import io.jhv.http.websocket.WebSocketGroup;
import io.jhv.http.websocket.WebSocketHandler;

/**
 * WebSocket echo and a chat room, next to the HTTP routes. {@code java io.jhv.examples.WebSocketChat [port]}:
 * {@code ws://127.0.0.1:8080/echo} and {@code ws://127.0.0.1:8080/chat?name=ann}.
 */
public final class WebSocketChat {
    private WebSocketChat() {}

    public static HttpServer start(int port) {
        WebSocketGroup room = new WebSocketGroup(); // skips a member with 4 MiB queued instead of growing
        return HttpServer.create(port)
                .ws("/echo", (ws, msg) -> ws.send(msg))
                .ws("/chat", new WebSocketHandler() {
                    @Override public void onOpen(WebSocket ws, Handshake hs) {
                        ws.context(hs.queryParam("name") != null ? hs.queryParam("name") : "anon");
                        room.add(ws);
                        room.broadcast(ws.context() + " joined");
                    }
                    @Override public void onMessage(WebSocket ws, Message msg) {
                        room.broadcast(ws.context() + ": " + msg.text());
                    }
                    @Override public void onClose(WebSocket ws, int code, String reason) {
                        room.broadcast(ws.context() + " left");
                    }
                })
                .start();
    }

    public static void main(String[] args) {
        HttpServer server = start(args.length > 0 ? Integer.parseInt(args[0]) : 8080);
        System.out.println("ws://127.0.0.1:" + server.port() + "/chat?name=you");
    }
}
