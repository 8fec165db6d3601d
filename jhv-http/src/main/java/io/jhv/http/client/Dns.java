package io.jhv.http.client;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.List;

/**
 * Resolves the host names an {@link HttpClient} connects to ({@link HttpClient.Builder#dns}): the
 * origin's, or the proxy's. Plug in a cache, a fixed table (tests, pinning a name to a staging
 * server), DNS over HTTPS or service discovery. The default, {@link #SYSTEM}, is the JDK's resolver.
 * Only the address changes: the request still says {@code Host: name}, and TLS still sends and
 * verifies {@code name}.
 *
 * <p>Thread contract: {@link #lookup} runs on a virtual thread, never on an event loop, so it may
 * block, and it may run on several threads at once. The client's connect timeout and the call's
 * deadline include it: a lookup still running when the call gives up (timeout, {@code cancel})
 * has its thread interrupted and its answer ignored, so a blocking lookup should let an interrupt
 * end it. IP literals are never looked up.
 *
 * {@snippet :
 * HttpClient client = HttpClient.builder()
 *     .dns(host -> host.equals("api.test") ? List.of(InetAddress.getLoopbackAddress()) : Dns.SYSTEM.lookup(host))
 *     .build();
 * }
 */
@FunctionalInterface
public interface Dns {
    /** The JDK's resolver ({@link InetAddress#getAllByName}: {@code /etc/hosts}, DNS, the JDK's cache). */
    Dns SYSTEM = host -> List.of(InetAddress.getAllByName(host));

    /**
     * The addresses of {@code host}, best first: the client dials them in this order, the next
     * one when a connect is refused or fails, all within its connect timeout. Throwing
     * {@link UnknownHostException}, returning an empty list (or null), or throwing anything else
     * (an exception or an Error) fails the call at once with an {@link HttpConnectException} whose cause is an
     * {@link UnknownHostException} naming the host; such a failure is not retried.
     */
    List<InetAddress> lookup(String host) throws UnknownHostException;
}
