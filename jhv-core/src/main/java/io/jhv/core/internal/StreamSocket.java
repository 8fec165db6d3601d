package io.jhv.core.internal;

import java.io.IOException;
import java.net.SocketAddress;
import java.net.SocketOption;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;

/**
 * A non-blocking stream socket (TCP, or an in-memory pipe in tests): what a connection does with
 * its socket. Every call returns at once; what the kernel does not take now is left in the buffer.
 *
 * <p>Loop-thread only (once registered); the address getters are thread-safe.
 */
public interface StreamSocket extends Pollable {

    /** Binds the local end before {@link #connect}. */
    void bind(SocketAddress local) throws IOException;

    /** Starts a connect: true if connected at once, else wait for {@link Poller#CONNECT} and call {@link #finishConnect()}. */
    boolean connect(SocketAddress remote) throws IOException;

    /** Completes a connect started by {@link #connect}; true once connected. Throws the connect failure. */
    boolean finishConnect() throws IOException;

    /** Reads into {@code dst} from its position; returns the bytes read, 0 if none, -1 at end of stream. */
    int read(ByteBuffer dst) throws IOException;

    /** Writes what the socket takes of {@code src} now; returns the bytes written. */
    int write(ByteBuffer src) throws IOException;

    /** Gathering write of {@code srcs[offset .. offset+length)}; returns the bytes written. */
    long write(ByteBuffer[] srcs, int offset, int length) throws IOException;

    /**
     * Sends up to {@code count} bytes of {@code file} from {@code position} (sendfile where the
     * transport can, else through a buffer); returns the bytes sent.
     */
    long transferFrom(FileChannel file, long position, long count) throws IOException;

    /** Half-close: sends FIN after what was written. */
    void shutdownOutput() throws IOException;

    <T> void setOption(SocketOption<T> name, T value) throws IOException;

    /** The local address, or null once closed or unbound. */
    SocketAddress localAddress();

    /** The peer's address, or null before connected and once closed. */
    SocketAddress remoteAddress();
}
