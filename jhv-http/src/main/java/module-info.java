/**
 * jhv HTTP: common HTTP types ({@code io.jhv.http}), the HTTP/1.1 server ({@code io.jhv.http.server}),
 * WebSocket ({@code io.jhv.http.websocket}) and, to come, the client ({@code io.jhv.http.client}).
 * {@code io.jhv.http.internal} and its sub-packages (the HTTP/1.1 engine, the built-in JSON codec,
 * body decoders) are not exported.
 */
module io.jhv.http {
    requires transitive io.jhv.core;
    exports io.jhv.http;
    exports io.jhv.http.server;
    exports io.jhv.http.websocket;
    // io.jhv.http.client holds only a package-info for now: a module cannot export an empty
    // package, so its export comes with its first types.
}
