/**
 * jhv HTTP: common HTTP types ({@code io.jhv.http}), the HTTP/1.1 server ({@code io.jhv.http.server}),
 * WebSocket ({@code io.jhv.http.websocket}) and the client ({@code io.jhv.http.client}).
 * {@code io.jhv.http.internal} and its sub-packages (the HTTP/1.1 engine, the built-in JSON codec,
 * body decoders) are not exported.
 */
module io.jhv.http {
    requires transitive io.jhv.core;
    exports io.jhv.http;
    exports io.jhv.http.server;
    exports io.jhv.http.websocket;
    exports io.jhv.http.client;
}
