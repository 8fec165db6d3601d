package io.jhv.http.internal.client;

import io.jhv.core.net.Proxy;
import io.jhv.http.client.HttpRequest;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.Locale;

/**
 * How one request goes out from one client: its pool (origin and proxy), where to connect, and the
 * request head encoded once (request line and the headers that do not change between sends). An
 * immutable request keeps its plan (keyed by the client), so sending it again encodes nothing.
 *
 * <pre>
 *   GET /path?q HTTP/1.1\r\n          (absolute-form through an HTTP proxy)
 *   Host: example.com:8080\r\n
 *   [the request's headers]
 *   User-Agent / Accept-Encoding / Proxy-Authorization   (unless the request set them)
 *   Content-Length: n                 (bodies of known length; chunked bodies add theirs per send)
 *   -- per send: Cookie, framing of bodies resolved at send time, Expect, the final CRLF
 * </pre>
 */
final class RequestPlan {
    final ClientEngine engine;
    final String originKey;
    final boolean tls;
    final String host;     // the origin's host, without brackets
    final int port;
    final String connectHost;
    final int connectPort;
    final Proxy proxy;        // null: direct
    final boolean absoluteForm; // a plain HTTP proxy carries the request: connect to it, target in absolute form
    final Proxy tunnel;       // the Connector's proxy (CONNECT or SOCKS5), or Proxy.NONE
    final byte[] head;     // without the final CRLF
    final boolean staticFraming; // head already holds the framing headers (Content-Length or none)

    private RequestPlan(ClientEngine engine, String originKey, boolean tls, String host, int port, Proxy proxy,
                        byte[] head, boolean staticFraming) {
        this.engine = engine;
        this.originKey = originKey;
        this.tls = tls;
        this.host = host;
        this.port = port;
        this.proxy = proxy;
        this.absoluteForm = proxy != null && proxy.type() == Proxy.Type.HTTP && !tls;
        this.tunnel = proxy != null && !absoluteForm ? proxy : Proxy.NONE;
        this.connectHost = absoluteForm ? proxy.host() : host;
        this.connectPort = absoluteForm ? proxy.port() : port;
        this.head = head;
        this.staticFraming = staticFraming;
    }

    /** The plan of {@code r} for {@code engine}: cached on the request. Any thread. */
    static RequestPlan of(ClientEngine engine, HttpRequest r) {
        ClientAccess.Requests acc = ClientAccess.requests();
        Object cached = acc.encodedHead(r);
        if (cached instanceof RequestPlan p && p.engine == engine) return p;
        RequestPlan p = build(engine, r, acc);
        acc.encodedHead(r, p);
        return p;
    }

    static boolean needsEmptyBodyLength(String method) {
        return method.equals("POST") || method.equals("PUT") || method.equals("PATCH");
    }

    private static RequestPlan build(ClientEngine engine, HttpRequest r, ClientAccess.Requests acc) {
        ClientSettings s = engine.settings;
        URI u = r.uri();
        boolean tls = u.getScheme().equalsIgnoreCase("https");
        String h = u.getHost();
        String host = h.startsWith("[") && h.endsWith("]") ? h.substring(1, h.length() - 1) : h;
        host = host.toLowerCase(Locale.ROOT);
        int defaultPort = tls ? 443 : 80;
        int port = u.getPort() < 0 ? defaultPort : u.getPort();
        String hostHeader = (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + (port == defaultPort ? "" : ":" + port);
        Proxy proxy = s.proxySelector != null ? s.proxySelector.select(tls ? "https" : "http", host, port) : null;
        if (proxy != null && !proxy.isProxied()) proxy = null;
        String key = (tls ? "https://" : "http://") + hostHeader + (port == defaultPort ? ":" + port : "")
                + (proxy != null ? " via " + proxy.type().name().toLowerCase(Locale.ROOT) + " " + proxy.host() + ":" + proxy.port()
                   + (proxy.user() != null ? " as " + proxy.user() : "") : "");
        boolean absolute = proxy != null && proxy.type() == Proxy.Type.HTTP && !tls;

        String path = u.getRawPath() == null || u.getRawPath().isEmpty() ? "/" : u.getRawPath();
        String target = u.getRawQuery() != null ? path + "?" + u.getRawQuery() : path;
        if (absolute) target = "http://" + hostHeader + target;

        StringBuilder sb = new StringBuilder(128);
        sb.append(r.method()).append(' ').append(target).append(" HTTP/1.1\r\nHost: ").append(hostHeader).append("\r\n");
        String[] hs = acc.headerArray(r);
        boolean ua = false, ae = false, pa = false;
        for (int i = 0; i < hs.length; i += 2) {
            sb.append(hs[i]).append(": ").append(hs[i + 1]).append("\r\n");
            ua |= hs[i].equalsIgnoreCase("User-Agent");
            ae |= hs[i].equalsIgnoreCase("Accept-Encoding");
            pa |= hs[i].equalsIgnoreCase("Proxy-Authorization");
        }
        if (!ua && s.userAgent != null) sb.append("User-Agent: ").append(s.userAgent).append("\r\n");
        if (!ae && s.decompress) sb.append("Accept-Encoding: gzip, deflate\r\n");
        if (!pa && absolute && proxy.user() != null) {
            String token = java.util.Base64.getEncoder().encodeToString(
                    (proxy.user() + ":" + proxy.password()).getBytes(StandardCharsets.UTF_8));
            sb.append("Proxy-Authorization: Basic ").append(token).append("\r\n");
        }
        RequestBody body = acc.body(r);
        boolean staticFraming = false;
        if (body == null) {
            if (needsEmptyBodyLength(r.method())) sb.append("Content-Length: 0\r\n");
            staticFraming = true;
        } else if (body instanceof RequestBody.Bytes b) {
            sb.append("Content-Length: ").append(b.bytes.length).append("\r\n");
            staticFraming = true;
        }
        return new RequestPlan(engine, key, tls, host, port, proxy, sb.toString().getBytes(StandardCharsets.UTF_8), staticFraming);
    }
}
