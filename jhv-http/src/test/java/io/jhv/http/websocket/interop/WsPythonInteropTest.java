package io.jhv.http.websocket.interop;

/** jhv's WebSocket server and client against Debian's python3-websockets, run with /usr/bin/python3. */
class WsPythonInteropTest extends InteropBase {
    WsPythonInteropTest() {
        super(Peers.Kind.PYTHON);
    }
}
