package io.jhv.http.internal.http1;

import io.jhv.http.internal.ServerConfig;

import io.jhv.core.buffer.Buffer;
import io.jhv.core.net.CloseCause;
import io.jhv.core.net.Connection;
import io.jhv.core.net.ProtocolHandler;

/**
 * HTTP/1.1 as the protocol handler of a server connection: makes the connection's
 * {@link HttpConnection} when attached and releases it when handed over (an upgrade) or closed.
 * Loop thread, like every protocol handler.
 */
public final class Http1Protocol implements ProtocolHandler {
    private final ServerConfig cfg;
    private HttpConnection hc;

    public Http1Protocol(ServerConfig cfg) {
        this.cfg = cfg;
    }

    @Override
    public void onAttach(Connection conn) {
        HttpConnection c = new HttpConnection(cfg, conn);
        hc = c;
        io.jhv.http.server.ServerMetrics m = cfg.metrics;
        if (m != null) {
            m.connectionOpened(conn);
            // a close listener, not onClose: it hears an upgraded (WebSocket) connection's close too
            conn.addCloseListener((cn, cause) -> m.connectionClosed(cn, cn.bytesRead(), cn.bytesWritten()));
        }
        cfg.connections.add(c);
        if (cfg.draining) c.drain();
    }

    @Override
    public void onData(Connection conn, Buffer in) {
        hc.onMessage(in);
    }

    @Override
    public void onDetach(Connection conn) {
        hc.detached();
    }

    @Override
    public void onClose(Connection conn, CloseCause cause) {
        hc.onClosed();
    }

    @Override
    public String toString() {
        return "http/1.1";
    }
}
