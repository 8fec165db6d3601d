package io.jhv.core.internal;

import java.io.IOException;
import java.net.SocketAddress;
import java.net.SocketOption;

/**
 * A non-blocking listening socket: bind, then accept when {@link Poller#ACCEPT} is ready.
 *
 * <p>Loop-thread only once registered; {@link #localAddress()} is thread-safe.
 */
public interface ListenSocket extends Pollable {

    <T> void setOption(SocketOption<T> name, T value) throws IOException;

    void bind(SocketAddress local, int backlog) throws IOException;

    /** A pending connection, non-blocking and not registered, or null if none is pending. */
    StreamSocket accept() throws IOException;

    /** The bound address, or null once closed. */
    SocketAddress localAddress();
}
