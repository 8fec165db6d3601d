package io.jhv.core.net;

/**
 * What jhv calls when something fails where the caller cannot be told by an exception: a
 * connection that ends with an error ({@link TcpEndpoint#onError}), a datagram that could not be
 * sent or received ({@link UdpSocket#onError}). One shape everywhere: the thing that failed and
 * why. Runs on the loop thread of {@code source}; what it throws is logged and otherwise ignored.
 *
 * @param <S> what failed: a {@link Connection}, or the peer address of a datagram
 */
@FunctionalInterface
public interface ErrorHandler<S> {
    void onError(S source, Throwable error);
}
