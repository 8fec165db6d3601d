package io.jhv.core.internal;

import io.jhv.core.loop.EventLoop;
import io.jhv.core.net.Connection;
import io.jhv.core.net.TcpEndpoint;

import java.io.IOException;

/**
 * What jhv modules with the qualified export need of {@link Connection} beyond its public API: a
 * connection over a {@link StreamSocket} that no {@code TcpServer} accepted and no {@code TcpClient}
 * connected (an in-memory pipe in jhv-testing's {@code EmbeddedConnection}, a socket a native
 * transport accepted). Installed by a package-private class of {@code io.jhv.core.net}; see
 * {@link Internals#connections()}.
 */
public interface ConnectionAccess {

    /**
     * Makes a connection over {@code socket} (already connected) with the settings and callbacks of
     * {@code settings} (an endpoint that is configured but need not be started), registers it with
     * {@code loop}'s poller and brings it up, as an accepted ({@code client} false) or a connected
     * one. Loop thread of {@code loop} only. On failure the socket is closed.
     */
    Connection open(EventLoop loop, StreamSocket socket, TcpEndpoint<?> settings, boolean client) throws IOException;
}
