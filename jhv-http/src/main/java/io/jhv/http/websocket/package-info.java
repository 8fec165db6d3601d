/**
 * WebSocket (RFC 6455) with permessage-deflate (RFC 7692): server routes
 * ({@code HttpServer.ws(path, handler)}), a {@link io.jhv.http.websocket.WebSocketClient} with
 * reconnect, and broadcast groups that bound slow receivers.
 *
 * {@snippet :
 * HttpServer.create(8080)
 *     .ws("/echo", (ws, msg) -> ws.send(msg))
 *     .start();
 *
 * WebSocketClient.connect("ws://127.0.0.1:8080/echo", (ws, msg) -> System.out.println(msg.text()))
 *     .thenAccept(ws -> ws.send("hello"));
 * }
 */
package io.jhv.http.websocket;
