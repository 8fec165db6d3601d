package io.jhv.core.net;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.List;

/**
 * Turns a host name into addresses for a {@link Connector} (see {@link Connector#resolver}): plug in
 * a cache, a fixed table for tests, DNS over HTTPS, service discovery. The default,
 * {@link #SYSTEM}, asks the JDK ({@link InetAddress#getAllByName}, which honours
 * {@code /etc/hosts} and the JDK's own cache).
 *
 * <p>Thread contract: {@link #resolve} runs on a virtual thread, never on an event loop, so it may
 * block; it may be called from several threads at once. A lookup still running when its connect
 * attempt is given up (connect timeout, the caller's deadline, cancellation) has its thread
 * interrupted and its answer ignored: a blocking resolver should let an interrupt end it.
 * IP literals ({@code 127.0.0.1}, {@code ::1}) are never passed to it.
 *
 * {@snippet :
 * Connector c = Connector.create()
 *     .resolver(host -> host.equals("db.internal") ? List.of(InetAddress.getByName("10.0.0.7")) : Resolver.SYSTEM.resolve(host));
 * }
 */
@FunctionalInterface
public interface Resolver {
    /** The JDK's resolver: {@link InetAddress#getAllByName(String)}. */
    Resolver SYSTEM = host -> List.of(InetAddress.getAllByName(host));

    /**
     * The addresses of {@code host}, best first: the connector dials them in this order, the next
     * one when a connect is refused or fails, all within its connect timeout. An empty list or
     * null means the name does not resolve: the connect fails with an {@link UnknownHostException}
     * naming the host, as it does when this method throws one. Anything else it throws (an
     * exception or an Error) fails the connect the same way, at once, with it as the cause.
     */
    List<InetAddress> resolve(String host) throws UnknownHostException;
}
