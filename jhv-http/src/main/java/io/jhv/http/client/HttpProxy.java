package io.jhv.http.client;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Objects;

/**
 * An HTTP proxy: the client sends {@code http://} requests to it in absolute form
 * ({@code GET http://host/path HTTP/1.1}) with {@code Proxy-Authorization} when credentials are
 * given, and tunnels {@code https://} requests through it with {@code CONNECT}. The same as
 * {@code io.jhv.core.net.Proxy.http(host, port).withCredentials(user, password)}, which
 * {@link HttpClient.Builder#proxy(io.jhv.core.net.Proxy)} takes along with SOCKS5 proxies.
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
    private final String user, password;

    private HttpProxy(String host, int port, String user, String password) {
        this.host = Objects.requireNonNull(host, "host");
        if (port <= 0 || port > 65535) throw new IllegalArgumentException("proxy port out of range: " + port);
        this.port = port;
        this.user = user;
        this.password = password;
        this.authorization = user == null ? null
                : "Basic " + Base64.getEncoder().encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
    }

    /** The HTTP proxy at {@code host:port}. */
    public static HttpProxy http(String host, int port) {
        return new HttpProxy(host, port, null, null);
    }

    /** This proxy with Basic credentials, sent as {@code Proxy-Authorization} to the proxy only. */
    public HttpProxy withCredentials(String user, String password) {
        Objects.requireNonNull(user, "user");
        Objects.requireNonNull(password, "password");
        return new HttpProxy(host, port, user, password);
    }

    /** The proxy's host. */
    public String host() { return host; }

    /** The proxy's port. */
    public int port() { return port; }

    /** This proxy as the core {@link io.jhv.core.net.Proxy} of type HTTP. */
    public io.jhv.core.net.Proxy toProxy() {
        io.jhv.core.net.Proxy p = io.jhv.core.net.Proxy.http(host, port);
        return user != null ? p.withCredentials(user, password) : p;
    }

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
