package io.jhv.http.client;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Objects;

/**
 * A plain HTTP proxy for {@code http://} requests: the client connects to the proxy and sends
 * each request in absolute form ({@code GET http://host/path HTTP/1.1}) with
 * {@code Proxy-Authorization} when credentials are given. Tunnels ({@code CONNECT} for
 * {@code https://}, SOCKS5) come from {@code io.jhv.core.net.Connector}'s proxy support; until it
 * is wired in, an {@code https://} request through an {@code HttpProxy} fails with a clear error.
 *
 * <p>Immutable; any thread.
 *
 * {@snippet :
 * HttpClient client = HttpClient.builder()
 *     .proxy(HttpProxy.http("127.0.0.1", 3128).withCredentials("user", "secret"))
 *     .build();
 * }
 */
public final class HttpProxy {
    private final String host;
    private final int port;
    private final String authorization;

    private HttpProxy(String host, int port, String authorization) {
        this.host = Objects.requireNonNull(host, "host");
        if (port <= 0 || port > 65535) throw new IllegalArgumentException("proxy port out of range: " + port);
        this.port = port;
        this.authorization = authorization;
    }

    /** The HTTP proxy at {@code host:port}. */
    public static HttpProxy http(String host, int port) {
        return new HttpProxy(host, port, null);
    }

    /** This proxy with Basic credentials, sent as {@code Proxy-Authorization} to the proxy only. */
    public HttpProxy withCredentials(String user, String password) {
        Objects.requireNonNull(user, "user");
        Objects.requireNonNull(password, "password");
        String token = Base64.getEncoder().encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
        return new HttpProxy(host, port, "Basic " + token);
    }

    /** The proxy's host. */
    public String host() { return host; }

    /** The proxy's port. */
    public int port() { return port; }

    /** The {@code Proxy-Authorization} value, or null without credentials. */
    public String authorization() { return authorization; }

    @Override
    public boolean equals(Object o) {
        return o instanceof HttpProxy p && p.host.equals(host) && p.port == port && Objects.equals(p.authorization, authorization);
    }

    @Override
    public int hashCode() { return Objects.hash(host, port, authorization); }

    @Override
    public String toString() {
        return "HttpProxy[" + host + ":" + port + (authorization != null ? ", with credentials" : "") + "]";
    }
}
