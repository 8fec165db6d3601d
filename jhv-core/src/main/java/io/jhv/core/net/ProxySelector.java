package io.jhv.core.net;

import java.util.Map;
import java.util.Objects;

/**
 * Picks the {@link Proxy} for a request's target: {@code (scheme, host, port) -> proxy}
 * ({@link Proxy#NONE} to connect directly). Implementations are thread-safe.
 *
 * <p>{@link #fromEnvironment(Map)} reads the environment the way curl does:
 * <ul>
 * <li>{@code <scheme>_proxy} for the target's scheme ({@code http_proxy}, {@code https_proxy},
 *     {@code ws_proxy}...), lower case first, then upper case, except {@code HTTP_PROXY}, which
 *     curl ignores (a CGI program's environment carries the request's {@code Proxy} header there:
 *     "httpoxy"); then {@code all_proxy} / {@code ALL_PROXY};</li>
 * <li>the value is a proxy URL ({@link Proxy#parse}): {@code http://}, {@code socks5://},
 *     {@code socks5h://}, or no scheme (HTTP), with optional percent-encoded {@code user:pass@};</li>
 * <li>{@code no_proxy} / {@code NO_PROXY}: a list separated by commas (or spaces) of host names,
 *     each matching itself and its subdomains ({@code example.com} and {@code .example.com} both match
 *     {@code example.com} and {@code www.example.com}, not {@code badexample.com}); IP literals
 *     (IPv6 with or without brackets) and CIDR ranges ({@code 10.0.0.0/8}) matching the address;
 *     an entry with {@code :port} matching that port only; {@code *} alone matching everything.
 *     Case does not matter.</li>
 * </ul>
 *
 * {@snippet :
 * ProxySelector proxies = ProxySelector.fromEnvironment(System.getenv());
 * Proxy p = proxies.select("https", "example.com", 443);
 * }
 */
@FunctionalInterface
public interface ProxySelector {
    /** The proxy for {@code scheme://host:port} (scheme in lower case, such as "http", "https", "ws"). Any thread. */
    Proxy select(String scheme, String host, int port);

    /** Always {@code proxy}. */
    static ProxySelector of(Proxy proxy) {
        Objects.requireNonNull(proxy, "proxy");
        return (scheme, host, port) -> proxy;
    }

    /**
     * A selector reading proxy settings from {@code env} (a snapshot is taken now), as curl does: see
     * the class comment. Any thread.
     *
     * @throws IllegalArgumentException when a variable that is set holds a proxy URL jhv cannot use
     *         (an unsupported scheme, a bad port), naming the variable
     */
    static ProxySelector fromEnvironment(Map<String, String> env) {
        return EnvProxySelector.of(env);
    }

    /** {@link #fromEnvironment(Map)} on this process's environment. Any thread. */
    static ProxySelector fromEnvironment() {
        return fromEnvironment(System.getenv());
    }
}
