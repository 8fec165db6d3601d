package io.jhv.core.net;

import io.jhv.core.internal.ConnectionAccess;
import io.jhv.core.internal.Internals;
import io.jhv.core.internal.StreamSocket;
import io.jhv.core.loop.EventLoop;

import java.io.IOException;

/**
 * Installs {@link ConnectionAccess}: the package-private constructor and lifecycle of
 * {@link Connection} for jhv modules with the qualified export of {@code io.jhv.core.internal}
 * (jhv-testing's {@code EmbeddedConnection}). {@link Internals#connections()} loads this class by
 * name; it is not public API.
 */
final class ConnectionBridge implements ConnectionAccess {
    static {
        Internals.install(new ConnectionBridge());
    }

    private ConnectionBridge() {}

    @Override
    public Connection open(EventLoop loop, StreamSocket socket, TcpEndpoint<?> settings, boolean client) throws IOException {
        if (!loop.inLoop()) throw new IllegalStateException("not on the loop thread of " + loop);
        Connection conn = new Connection(loop, socket, settings, client);
        try {
            conn.registerInLoop(false);
        } catch (IOException | RuntimeException e) {
            socket.close();
            throw e;
        }
        conn.establishInLoop();
        return conn;
    }
}
