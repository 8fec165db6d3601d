package io.jhv.http.internal.http1;

import io.jhv.http.server.Handler;


import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Maps method and path to a handler. Exact paths are found by hashing the raw path bytes (no string
 * is made for them); patterns with parameters ({@code /users/:id}, {@code /users/{id}}) and a
 * trailing wildcard ({@code /files/*}) are tried next, in the order they were added. Exact matches
 * win over patterns. HEAD falls back to GET.
 *
 * <p>Built before the server starts, then read-only (safe to share between loops).
 */
public final class Router {
    /** Path parameters a route may have (the request keeps their offsets in a fixed array). */
    static final int MAX_PARAMS = 16;

    /** A registered route. */
    public static final class Route {
        final String method; // null: any method
        final String pattern;
        final Handler handler;
        final String[] segments;   // literal segments, or null for a parameter
        final String[] paramNames; // parameter names, in order; "*" for the wildcard rest
        final boolean wildcard;

        Route(String method, String pattern, Handler handler) {
            this.method = method;
            this.pattern = pattern;
            this.handler = handler;
            List<String> segs = new ArrayList<>();
            List<String> names = new ArrayList<>();
            boolean wild = false;
            String[] parts = pattern.substring(1).split("/", -1);
            for (int i = 0; i < parts.length; i++) {
                String p = parts[i];
                if (p.equals("*") && i == parts.length - 1) {
                    wild = true;
                    names.add("*");
                } else if (p.startsWith(":") && p.length() > 1) {
                    segs.add(null);
                    names.add(p.substring(1));
                } else if (p.startsWith("{") && p.endsWith("}") && p.length() > 2) {
                    segs.add(null);
                    names.add(p.substring(1, p.length() - 1));
                } else if (p.contains("*")) {
                    throw new IllegalArgumentException("'*' is only allowed as the last segment: " + pattern);
                } else {
                    segs.add(p);
                }
            }
            if (names.size() > MAX_PARAMS) throw new IllegalArgumentException("more than " + MAX_PARAMS + " parameters in " + pattern);
            this.segments = segs.toArray(new String[0]);
            this.paramNames = names.toArray(new String[0]);
            this.wildcard = wild;
        }

        boolean isPattern() { return wildcard || paramNames.length > 0; }

        public Handler handler() { return handler; }

        public String pattern() { return pattern; }
    }

    /** Routes of one exact path, by method. */
    private static final class Exact {
        final byte[] path;
        final int hash;
        final Route[] byMethod = new Route[Http1Request.METHODS.length];
        Route any;

        Exact(byte[] path, int hash) {
            this.path = path;
            this.hash = hash;
        }
    }

    private Exact[] table = new Exact[64];
    private int exactCount;
    private final List<Route> patterns = new ArrayList<>();
    private final List<Exact> exacts = new ArrayList<>();

    /** Adds a route; {@code method} null for any method. */
    public void add(String method, String pattern, Handler handler) {
        if (pattern == null || !pattern.startsWith("/")) throw new IllegalArgumentException("route path must start with '/': " + pattern);
        if (method != null) {
            method = method.toUpperCase(java.util.Locale.ROOT);
            if (Arrays.asList(Http1Request.METHODS).indexOf(method) < 0) throw new IllegalArgumentException("unsupported method " + method);
        }
        Route r = new Route(method, pattern, handler);
        if (r.isPattern()) {
            patterns.add(r);
            return;
        }
        byte[] p = pattern.getBytes(StandardCharsets.UTF_8);
        int h = hash(p, 0, p.length);
        Exact e = lookup(p, 0, p.length, h);
        if (e == null) {
            if ((exactCount + 1) * 2 > table.length) rehash();
            e = new Exact(p, h);
            insert(e);
            exacts.add(e);
            exactCount++;
        }
        if (method == null) e.any = r;
        else e.byMethod[methodIndex(method)] = r;
    }

    private static int methodIndex(String m) {
        return Arrays.asList(Http1Request.METHODS).indexOf(m);
    }

    private static int hash(byte[] a, int s, int e) {
        int h = 0;
        for (int i = s; i < e; i++) h = 31 * h + a[i];
        return h ^ (h >>> 16);
    }

    private void insert(Exact e) {
        int mask = table.length - 1;
        int i = e.hash & mask;
        while (table[i] != null) i = (i + 1) & mask;
        table[i] = e;
    }

    private void rehash() {
        Exact[] old = table;
        table = new Exact[old.length * 2];
        for (Exact e : old) if (e != null) insert(e);
    }

    private Exact lookup(byte[] a, int s, int e, int h) {
        int mask = table.length - 1;
        int n = e - s;
        for (int i = h & mask; ; i = (i + 1) & mask) {
            Exact x = table[i];
            if (x == null) return null;
            if (x.hash == h && x.path.length == n && Arrays.equals(x.path, 0, n, a, s, e)) return x;
        }
    }

    private static final byte[] SLASH = {'/'};

    /**
     * Finds the route for the request, records its path parameters in the request, and returns it;
     * null if none matches the path and method.
     */
    public Route match(Http1Request req) {
        int m = req.methodId();
        if (!req.pathHasEscapes()) {
            int s = req.rawPathStart();
            byte[] a = s < 0 ? SLASH : req.rawData();
            int st = s < 0 ? 0 : s, en = s < 0 ? 1 : req.rawPathEnd();
            Exact e = lookup(a, st, en, hash(a, st, en));
            if (e != null) {
                Route r = pick(e, m);
                if (r != null) return r;
            }
        } else {
            byte[] p = req.path().getBytes(StandardCharsets.UTF_8);
            Exact e = lookup(p, 0, p.length, hash(p, 0, p.length));
            if (e != null) {
                Route r = pick(e, m);
                if (r != null) return r;
            }
        }
        if (patterns.isEmpty()) return null;
        // A path without escapes and all ASCII is matched on its bytes: the offsets are the same as
        // in the decoded String, which is then made only if a handler asks for it
        int ps = req.rawPathStart(), pe = req.rawPathEnd();
        byte[] a = req.rawData();
        String path = ps >= 0 && !req.pathHasEscapes() && ascii(a, ps, pe) ? null : req.path();
        Route fallback = null;
        for (Route r : patterns) {
            if (!methodMatches(r, m)) {
                if (m == Http1Request.M_HEAD && "GET".equals(r.method) && fallback == null
                        && (path != null ? matches(r, path, null) : matches(r, a, ps, pe, null))) fallback = r;
                continue;
            }
            if (path != null ? matches(r, path, req) : matches(r, a, ps, pe, req)) return r;
        }
        if (fallback != null) {
            if (path != null) matches(fallback, path, req);
            else matches(fallback, a, ps, pe, req);
            return fallback;
        }
        return null;
    }

    private static boolean ascii(byte[] a, int s, int e) {
        for (int i = s; i < e; i++) if (a[i] < 0) return false;
        return true;
    }

    /**
     * {@link #matches(Route, String, Http1Request)} on the raw path {@code a[s, e)}, which has no
     * escapes and only ASCII bytes: byte offsets are the decoded String's offsets.
     */
    private static boolean matches(Route r, byte[] a, int s, int e, Http1Request req) {
        int pos = 1; // after the leading '/'
        int n = e - s;
        int param = 0;
        String[] segs = r.segments;
        for (int i = 0; i < segs.length; i++) {
            if (pos > n) return false;
            int end = pos;
            while (end < n && a[s + end] != '/') end++;
            String lit = segs[i];
            if (lit != null) {
                int len = lit.length();
                if (end - pos != len) return false;
                for (int k = 0; k < len; k++) if (a[s + pos + k] != lit.charAt(k)) return false;
            } else {
                if (end == pos) return false; // an empty segment is no parameter
                if (req != null) {
                    req.paramOffsets[2 * param] = pos;
                    req.paramOffsets[2 * param + 1] = end;
                }
                param++;
            }
            pos = end + 1;
        }
        return matchedRest(r, pos, n, param, req);
    }

    private static Route pick(Exact e, int m) {
        Route r = m >= 0 ? e.byMethod[m] : null;
        if (r == null && m == Http1Request.M_HEAD) r = e.byMethod[Http1Request.M_GET];
        return r != null ? r : e.any;
    }

    private static boolean methodMatches(Route r, int m) {
        return r.method == null || (m >= 0 && r.method.equals(Http1Request.METHODS[m]));
    }

    /** Matches {@code path} against a pattern; records parameters into {@code req} if not null. */
    private static boolean matches(Route r, String path, Http1Request req) {
        int pos = 1; // after the leading '/'
        int n = path.length();
        int param = 0;
        String[] segs = r.segments;
        for (int i = 0; i < segs.length; i++) {
            if (pos > n) return false;
            int end = path.indexOf('/', pos);
            if (end < 0) end = n;
            String lit = segs[i];
            if (lit != null) {
                if (end - pos != lit.length() || !path.regionMatches(pos, lit, 0, lit.length())) return false;
            } else {
                if (end == pos) return false; // an empty segment is no parameter
                if (req != null) {
                    req.paramOffsets[2 * param] = pos;
                    req.paramOffsets[2 * param + 1] = end;
                }
                param++;
            }
            pos = end + 1;
        }
        return matchedRest(r, pos, n, param, req);
    }

    /** The end of a match: the wildcard takes the rest (else nothing may be left); records the parameters. */
    private static boolean matchedRest(Route r, int pos, int n, int param, Http1Request req) {
        if (r.wildcard) {
            // "/files/*" matches "/files", "/files/" and "/files/a/b"
            int start = Math.min(pos, n);
            if (req != null) {
                req.paramOffsets[2 * param] = start;
                req.paramOffsets[2 * param + 1] = n;
            }
            param++;
        } else if (pos <= n) {
            return false; // path has more segments
        }
        if (req != null) {
            req.paramNames = r.paramNames;
            req.paramCount = param;
        }
        return true;
    }

    /** The methods allowed for the request's path (for 405 and OPTIONS), or an empty set if none. */
    public Set<String> allowed(Http1Request req) {
        Set<String> out = new LinkedHashSet<>();
        String path = req.path();
        byte[] p = path.getBytes(StandardCharsets.UTF_8);
        Exact e = lookup(p, 0, p.length, hash(p, 0, p.length));
        if (e != null) {
            if (e.any != null) out.addAll(Arrays.asList(Http1Request.METHODS));
            for (int i = 0; i < e.byMethod.length; i++) if (e.byMethod[i] != null) out.add(Http1Request.METHODS[i]);
        }
        for (Route r : patterns) {
            if (matches(r, path, null)) {
                if (r.method == null) out.addAll(Arrays.asList(Http1Request.METHODS));
                else out.add(r.method);
            }
        }
        if (out.contains("GET")) out.add("HEAD");
        out.remove("CONNECT");
        out.remove("TRACE");
        if (!out.isEmpty()) out.add("OPTIONS");
        return out;
    }
}
