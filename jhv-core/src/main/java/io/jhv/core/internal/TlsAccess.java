package io.jhv.core.internal;

import io.jhv.core.tls.TlsConfig;

/**
 * The bridge to {@link TlsConfig}'s layer factory, which {@code TcpEndpoint.tls(config)} installs
 * and applications do not call ({@link Internals#tls()}). Thread-safe.
 */
@FunctionalInterface
public interface TlsAccess {
    /**
     * One TLS layer per connection made with {@code config}.
     *
     * @throws IllegalArgumentException if a server config is put on a client or the other way round
     */
    TransportLayer.Factory layerFactory(TlsConfig config, boolean forClient);
}
