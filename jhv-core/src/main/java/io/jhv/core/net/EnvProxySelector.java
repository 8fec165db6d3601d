package io.jhv.core.net;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/** The curl-like selector behind {@link ProxySelector#fromEnvironment(Map)}. Immutable. */
final class EnvProxySelector implements ProxySelector {
    private final Map<String, String> env;
    private final List<NoProxyRule> noProxy;
    private final boolean noProxyAll;

    private EnvProxySelector(Map<String, String> env, List<NoProxyRule> noProxy, boolean all) {
        this.env = env;
        this.noProxy = noProxy;
        this.noProxyAll = all;
    }

    static EnvProxySelector of(Map<String, String> env) {
        Objects.requireNonNull(env, "env");
        Map<String, String> copy = Map.copyOf(env);
        String np = get(copy, "no_proxy", true);
        List<NoProxyRule> rules = new ArrayList<>();
        boolean all = false;
        if (np != null) {
            for (String raw : np.split("[,\\s]+")) {
                String e = raw.strip();
                if (e.isEmpty()) continue;
                if (e.equals("*")) {
                    all = true;
                    continue;
                }
                rules.add(NoProxyRule.parse(e));
            }
        }
        EnvProxySelector s = new EnvProxySelector(copy, List.copyOf(rules), all);
        // Fail now, naming the variable, rather than on the first request.
        for (String name : copy.keySet()) {
            String lower = name.toLowerCase(Locale.ROOT);
            if (lower.endsWith("_proxy") && !lower.equals("no_proxy") && !name.equals("HTTP_PROXY")) {
                String v = copy.get(name);
                if (v == null || v.isBlank()) continue;
                try {
                    Proxy.parse(v);
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException("environment variable " + name + ": " + e.getMessage(), e);
                }
            }
        }
        return s;
    }

    /** Lower case first, then upper case (unless {@code upperToo} is false). Blank counts as unset. */
    private static String get(Map<String, String> env, String lowerName, boolean upperToo) {
        String v = env.get(lowerName);
        if ((v == null || v.isBlank()) && upperToo) v = env.get(lowerName.toUpperCase(Locale.ROOT));
        return v == null || v.isBlank() ? null : v;
    }

    @Override
    public Proxy select(String scheme, String host, int port) {
        Objects.requireNonNull(host, "host");
        String sch = scheme == null ? "http" : scheme.toLowerCase(Locale.ROOT);
        String url = get(env, sch + "_proxy", !sch.equals("http"));
        if (url == null) url = get(env, "all_proxy", true);
        if (url == null) return Proxy.NONE;
        if (bypass(host, port)) return Proxy.NONE;
        return Proxy.parse(url);
    }

    /** True when {@code no_proxy} says to connect to {@code host:port} directly. */
    boolean bypass(String host, int port) {
        if (noProxyAll) return true;
        if (noProxy.isEmpty()) return false;
        String h = NoProxyRule.normalize(host);
        byte[] addr = NoProxyRule.literal(h);
        for (NoProxyRule r : noProxy) {
            if (r.matches(h, addr, port)) return true;
        }
        return false;
    }

    /** One {@code no_proxy} entry. */
    record NoProxyRule(String name, byte[] network, int prefix, int port) {
        static NoProxyRule parse(String entry) {
            String e = entry.toLowerCase(Locale.ROOT);
            int port = -1;
            // host:port, [v6]:port; a bare IPv6 literal has several colons and no port
            if (e.startsWith("[")) {
                int close = e.indexOf(']');
                if (close > 0) {
                    String rest = e.substring(close + 1);
                    String inner = e.substring(1, close);
                    if (rest.startsWith(":")) port = parsePort(rest.substring(1), entry);
                    else if (rest.startsWith("/")) inner = inner + rest;
                    e = inner;
                }
            } else if (e.indexOf(':') == e.lastIndexOf(':') && e.indexOf(':') >= 0) {
                int colon = e.indexOf(':');
                port = parsePort(e.substring(colon + 1), entry);
                e = e.substring(0, colon);
            }
            int slash = e.indexOf('/');
            if (slash >= 0) {
                byte[] net = literal(e.substring(0, slash));
                if (net != null) {
                    int prefix;
                    try {
                        prefix = Integer.parseInt(e.substring(slash + 1));
                    } catch (NumberFormatException x) {
                        prefix = -1;
                    }
                    if (prefix >= 0 && prefix <= net.length * 8) return new NoProxyRule(null, net, prefix, port);
                }
                throw new IllegalArgumentException("bad no_proxy entry '" + entry + "'");
            }
            String n = normalize(e);
            byte[] a = literal(n);
            if (a != null) return new NoProxyRule(null, a, a.length * 8, port);
            return new NoProxyRule(n, null, 0, port);
        }

        private static int parsePort(String s, String entry) {
            try {
                int p = Integer.parseInt(s);
                if (p > 0 && p <= 65535) return p;
            } catch (NumberFormatException ignored) {
                // below
            }
            throw new IllegalArgumentException("bad port in no_proxy entry '" + entry + "'");
        }

        /** Lower case, no brackets, no leading or trailing dot. */
        static String normalize(String host) {
            String h = host.toLowerCase(Locale.ROOT);
            if (h.startsWith("[") && h.endsWith("]")) h = h.substring(1, h.length() - 1);
            while (h.startsWith(".")) h = h.substring(1);
            while (h.endsWith(".")) h = h.substring(0, h.length() - 1);
            return h;
        }

        /** The address bytes of an IP literal, without a lookup; null for a name. */
        static byte[] literal(String h) {
            if (h.isEmpty()) return null;
            boolean v6 = h.indexOf(':') >= 0;
            if (!v6) {
                String[] parts = h.split("\\.", -1);
                if (parts.length != 4) return null;
                for (String p : parts) {
                    if (p.isEmpty() || p.length() > 3) return null;
                    for (int i = 0; i < p.length(); i++) if (p.charAt(i) < '0' || p.charAt(i) > '9') return null;
                    if (Integer.parseInt(p) > 255) return null;
                }
            } else {
                for (int i = 0; i < h.length(); i++) {
                    char c = h.charAt(i);
                    if (!(c == ':' || c == '.' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return null;
                }
            }
            try {
                return InetAddress.getByName(h).getAddress(); // a literal: no lookup
            } catch (UnknownHostException e) {
                return null;
            }
        }

        boolean matches(String host, byte[] addr, int p) {
            if (port >= 0 && port != p) return false;
            if (name != null) {
                return host.equals(name) || (host.endsWith(name) && host.charAt(host.length() - name.length() - 1) == '.');
            }
            if (addr == null || addr.length != network.length) return false;
            int full = prefix / 8, rest = prefix % 8;
            for (int i = 0; i < full; i++) if (addr[i] != network[i]) return false;
            if (rest == 0) return true;
            int mask = (0xff << (8 - rest)) & 0xff;
            return (addr[full] & mask) == (network[full] & mask);
        }
    }
}
