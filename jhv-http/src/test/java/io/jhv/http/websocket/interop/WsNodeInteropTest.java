package io.jhv.http.websocket.interop;

/** jhv's WebSocket server and client against Node's {@code ws} package (installed by {@code ./test} into target/npm). */
class WsNodeInteropTest extends InteropBase {
    WsNodeInteropTest() {
        super(Peers.Kind.NODE);
    }
}
