package io.jhv.core.net;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Objects;

/**
 * A proxy that a client connection tunnels through: an HTTP proxy ({@code CONNECT host:port}) or a
 * SOCKS5 proxy (RFC 1928), optionally with credentials, or {@link #NONE} (connect directly).
 * {@link Connector#proxy(Proxy)}, {@link TcpClient#proxy(Proxy)} and the clients built on them
 * take one; {@link ProxySelector#fromEnvironment} picks one per target the way curl reads
 * {@code http_proxy}, {@code https_proxy}, {@code all_proxy} and {@code no_proxy}.
 *
 * <p>The tunnel is opened in plaintext right after the TCP connect to the proxy; only then does the
 * connection's TLS (if any) start, end to end with the target: SNI and host name verification are
 * for the target host, not the proxy. The target's name is sent to the proxy unresolved (SOCKS5
 * domain address, {@code CONNECT name:port}) unless {@link #resolveLocally()} says otherwise.
 *
 * <p>Credentials go only to the proxy: as a Basic {@code Proxy-Authorization} header on the
 * {@code CONNECT} request (never on anything sent through the tunnel), or as the RFC 1929
 * username/password sub-negotiation of SOCKS5. {@link #toString()} hides the password.
 *
 * <p>Immutable and thread-safe.
 *
 * {@snippet :
 * Connector connector = Connector.create()
 *     .proxy(Proxy.http("proxy.internal", 3128).withCredentials("alice", "s3cret"))
 *     .tls(TlsConfig.client().build());
 * connector.connect(loop, "example.com", 443); // TLS with example.com, through the proxy
 * }
 */
public final class Proxy {
    /** How a connection reaches its target. */
    public enum Type {
        /** No proxy: connect to the target itself. */
        DIRECT,
        /** An HTTP proxy, tunnelling with {@code CONNECT host:port HTTP/1.1}. */
        HTTP,
        /** A SOCKS5 proxy (RFC 1928), with RFC 1929 username/password authentication when credentials are set. */
        SOCKS5
    }

    /** Curl's default proxy port, when a proxy URL names none. */
    public static final int DEFAULT_PORT = 1080;

    /** No proxy: connect directly. */
    public static final Proxy NONE = new Proxy(Type.DIRECT, null, 0, null, null, false);

    private final Type type;
    private final String host;
    private final int port;
    private final String user;
    private final String password;
    private final boolean resolveLocally;

    private Proxy(Type type, String host, int port, String user, String password, boolean resolveLocally) {
        this.type = type;
        this.host = host;
        this.port = port;
        this.user = user;
        this.password = password;
        this.resolveLocally = resolveLocally;
    }

    /** An HTTP proxy that tunnels with {@code CONNECT}. Any thread. */
    public static Proxy http(String host, int port) {
        return new Proxy(Type.HTTP, checkHost(host), checkPort(port), null, null, false);
    }

    /** A SOCKS5 proxy; the target's name is sent to it unresolved (curl's {@code socks5h://}). Any thread. */
    public static Proxy socks5(String host, int port) {
        return new Proxy(Type.SOCKS5, checkHost(host), checkPort(port), null, null, false);
    }

    /**
     * This proxy with credentials: Basic {@code Proxy-Authorization} on the {@code CONNECT} for an
     * HTTP proxy, RFC 1929 username/password for SOCKS5 (each at most 255 bytes of UTF-8 there).
     * Null {@code user} removes them. Any thread.
     */
    public Proxy withCredentials(String user, String password) {
        if (type == Type.DIRECT) throw new IllegalStateException("Proxy.NONE takes no credentials");
        if (user == null) return new Proxy(type, host, port, null, null, resolveLocally);
        if (type == Type.SOCKS5) {
            if (user.getBytes(StandardCharsets.UTF_8).length > 255) throw new IllegalArgumentException("SOCKS5 user name longer than 255 bytes");
            if (password != null && password.getBytes(StandardCharsets.UTF_8).length > 255) {
                throw new IllegalArgumentException("SOCKS5 password longer than 255 bytes");
            }
        }
        if (type == Type.HTTP && user.indexOf(':') >= 0) throw new IllegalArgumentException("a Basic user name cannot contain ':'");
        return new Proxy(type, host, port, user, password == null ? "" : password, resolveLocally);
    }

    /**
     * A SOCKS5 proxy that is given the target's IP address, resolved here (off the loop, like any
     * name), instead of its name: curl's {@code socks5://} (as opposed to {@code socks5h://}). TLS
     * still uses the name for SNI and verification. Any thread.
     */
    public Proxy withLocalResolution(boolean local) {
        if (type != Type.SOCKS5) throw new IllegalStateException("only a SOCKS5 proxy resolves locally or not");
        return new Proxy(type, host, port, user, password, local);
    }

    /**
     * Parses a proxy URL as curl's {@code -x} and {@code *_proxy} variables take it:
     * {@code [scheme://][user[:password]@]host[:port][/]}, the scheme {@code http} (the default),
     * {@code socks5} (the target resolved locally) or {@code socks5h} (resolved by the proxy); the
     * port defaults to 1080; user and password are percent-decoded; an IPv6 host is in brackets.
     * An empty string is {@link #NONE}. Any thread.
     *
     * @throws IllegalArgumentException for a scheme jhv does not speak (https, socks4...) or a malformed URL
     */
    public static Proxy parse(String url) {
        Objects.requireNonNull(url, "url");
        String s = url.strip();
        if (s.isEmpty()) return NONE;
        String scheme = "http";
        int sep = s.indexOf("://");
        if (sep >= 0) {
            scheme = s.substring(0, sep).toLowerCase(Locale.ROOT);
            s = s.substring(sep + 3);
        }
        int slash = s.indexOf('/');
        if (slash >= 0) s = s.substring(0, slash);
        String user = null, password = null;
        int at = s.lastIndexOf('@');
        if (at >= 0) {
            String cred = s.substring(0, at);
            s = s.substring(at + 1);
            int colon = cred.indexOf(':');
            user = decode(colon >= 0 ? cred.substring(0, colon) : cred, url);
            password = colon >= 0 ? decode(cred.substring(colon + 1), url) : "";
        }
        String host;
        int port = DEFAULT_PORT;
        if (s.startsWith("[")) {
            int close = s.indexOf(']');
            if (close < 0) throw new IllegalArgumentException("bad IPv6 address in proxy URL " + redact(url));
            host = s.substring(1, close);
            String rest = s.substring(close + 1);
            if (!rest.isEmpty()) {
                if (!rest.startsWith(":")) throw new IllegalArgumentException("bad proxy URL " + redact(url));
                port = parsePort(rest.substring(1), url);
            }
        } else {
            int colon = s.lastIndexOf(':');
            if (colon >= 0) {
                host = s.substring(0, colon);
                port = parsePort(s.substring(colon + 1), url);
            } else {
                host = s;
            }
        }
        if (host.isEmpty()) throw new IllegalArgumentException("no host in proxy URL " + redact(url));
        Proxy p = switch (scheme) {
            case "http" -> http(host, port);
            case "socks5" -> socks5(host, port).withLocalResolution(true);
            case "socks5h" -> socks5(host, port);
            default -> throw new IllegalArgumentException("unsupported proxy scheme '" + scheme + "' in " + redact(url)
                    + " (jhv speaks http://, socks5:// and socks5h://)");
        };
        return user != null && !user.isEmpty() ? p.withCredentials(user, password) : p;
    }

    private static String decode(String s, String url) {
        try {
            return URLDecoder.decode(s.replace("+", "%2B"), StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("bad percent-encoding in proxy URL " + redact(url), e);
        }
    }

    private static int parsePort(String s, String url) {
        if (s.isEmpty()) return DEFAULT_PORT;
        try {
            return checkPort(Integer.parseInt(s));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("bad port in proxy URL " + redact(url), e);
        }
    }

    /** The URL with its password replaced, for messages. */
    static String redact(String url) {
        int at = url.lastIndexOf('@');
        if (at < 0) return url;
        int start = url.indexOf("://");
        start = start < 0 ? 0 : start + 3;
        int colon = url.indexOf(':', start);
        return colon >= 0 && colon < at ? url.substring(0, colon + 1) + "***" + url.substring(at) : url;
    }

    private static String checkHost(String host) {
        Objects.requireNonNull(host, "host");
        if (host.isEmpty()) throw new IllegalArgumentException("empty proxy host");
        if (host.startsWith("[") && host.endsWith("]")) return host.substring(1, host.length() - 1);
        return host;
    }

    private static int checkPort(int port) {
        if (port <= 0 || port > 65535) throw new IllegalArgumentException("proxy port out of range: " + port);
        return port;
    }

    /** What kind of proxy this is. */
    public Type type() { return type; }

    /** The proxy's host (name or address literal, IPv6 without brackets); null for {@link #NONE}. */
    public String host() { return host; }

    /** The proxy's port; 0 for {@link #NONE}. */
    public int port() { return port; }

    /** The user name, or null without credentials. */
    public String user() { return user; }

    /** The password, or null without credentials. */
    public String password() { return password; }

    /** True for a SOCKS5 proxy that is sent the target's address resolved here ({@code socks5://}). */
    public boolean resolveLocally() { return resolveLocally; }

    /** True unless this is {@link #NONE}. */
    public boolean isProxied() { return type != Type.DIRECT; }

    @Override
    public boolean equals(Object o) {
        return o instanceof Proxy p && type == p.type && port == p.port && resolveLocally == p.resolveLocally
                && Objects.equals(host, p.host) && Objects.equals(user, p.user) && Objects.equals(password, p.password);
    }

    @Override
    public int hashCode() { return Objects.hash(type, host, port, user, password, resolveLocally); }

    /** As a URL, the password hidden: {@code http://alice:***@proxy:3128}, {@code socks5h://proxy:1080}, {@code DIRECT}. */
    @Override
    public String toString() {
        if (type == Type.DIRECT) return "DIRECT";
        String scheme = type == Type.HTTP ? "http" : resolveLocally ? "socks5" : "socks5h";
        String h = host.indexOf(':') >= 0 ? "[" + host + "]" : host;
        return scheme + "://" + (user != null ? user + ":***@" : "") + h + ":" + port;
    }
}
