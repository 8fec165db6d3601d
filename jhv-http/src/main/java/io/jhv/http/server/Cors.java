package io.jhv.http.server;

import io.jhv.http.Headers;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Cross-origin resource sharing (the Fetch standard's CORS protocol) as middleware.
 *
 * <p>A preflight request ({@code OPTIONS} with {@code Origin} and
 * {@code Access-Control-Request-Method}) is answered here, without calling the rest of the chain:
 * 204 with the {@code Access-Control-Allow-*} headers when the origin, method and headers are
 * allowed, else 403. Other requests from an allowed origin go on down the chain with
 * {@code Access-Control-Allow-Origin} (and credentials and exposed headers as configured) set
 * before the handler runs; requests from other origins go on without them, so the browser
 * withholds the response from the page. Responses that depend on the origin carry
 * {@code Vary: Origin}.
 *
 * <p>Thread contract: immutable once built; one instance serves all loops.
 *
 * {@snippet :
 * server.use(Cors.builder()
 *     .allowOrigins("https://app.example.com")
 *     .allowHeaders("Content-Type", "Authorization")
 *     .allowCredentials(true)
 *     .build());
 * server.use("/public", Cors.allowAll());
 * }
 */
public final class Cors implements Middleware {
    private final boolean anyOrigin;
    private final Set<String> origins;      // lower case
    private final String methods;
    private final Set<String> methodSet;
    private final String allowHeaders;      // null: reflect the request's
    private final Set<String> allowHeaderSet;
    private final String exposeHeaders;
    private final boolean credentials;
    private final String maxAge;

    private Cors(Builder b) {
        anyOrigin = b.anyOrigin;
        origins = Set.copyOf(b.origins);
        methodSet = Set.copyOf(b.methods);
        methods = String.join(", ", b.methods);
        allowHeaders = b.headers == null ? null : String.join(", ", b.headers);
        Set<String> hs = new LinkedHashSet<>();
        if (b.headers != null) for (String h : b.headers) hs.add(h.toLowerCase(Locale.ROOT));
        allowHeaderSet = Set.copyOf(hs);
        exposeHeaders = b.exposed.isEmpty() ? null : String.join(", ", b.exposed);
        credentials = b.credentials;
        maxAge = b.maxAge == null ? null : Long.toString(b.maxAge.toSeconds());
    }

    /** Any origin, the default methods, any request headers, no credentials. */
    public static Cors allowAll() {
        return builder().allowAnyOrigin().build();
    }

    /** A builder; at least one origin (or {@code "*"}) must be allowed. */
    public static Builder builder() {
        return new Builder();
    }

    @Override
    public void handle(Request req, Response res, Chain chain) throws Exception {
        String origin = req.header("Origin");
        // The answer depends on Origin unless it is the same literal "*" for everyone.
        boolean varies = !anyOrigin || credentials;
        if (origin == null) {
            if (varies) addVary(res, "Origin");
            chain.next();
            return;
        }
        boolean allowed = allowed(origin);
        String acrm = req.header("Access-Control-Request-Method");
        if (req.method().equals("OPTIONS") && acrm != null) {
            preflight(req, res, origin, allowed, acrm.trim());
            return;
        }
        if (varies) addVary(res, "Origin");
        if (allowed) {
            res.setHeader("Access-Control-Allow-Origin", varies ? origin : "*");
            if (credentials) res.setHeader("Access-Control-Allow-Credentials", "true");
            if (exposeHeaders != null) res.setHeader("Access-Control-Expose-Headers", exposeHeaders);
        }
        chain.next();
    }

    private void preflight(Request req, Response res, String origin, boolean allowed, String method) {
        addVary(res, "Origin");
        addVary(res, "Access-Control-Request-Method");
        addVary(res, "Access-Control-Request-Headers");
        if (!allowed) {
            res.status(403).text("CORS: origin not allowed: " + origin);
            return;
        }
        if (!methodSet.contains(method)) {
            res.status(403).text("CORS: method not allowed: " + method);
            return;
        }
        String requested = req.header("Access-Control-Request-Headers");
        if (requested != null && allowHeaders != null) {
            for (String h : requested.split(",")) {
                String name = h.trim().toLowerCase(Locale.ROOT);
                if (!name.isEmpty() && !allowHeaderSet.contains(name)) {
                    res.status(403).text("CORS: header not allowed: " + h.trim());
                    return;
                }
            }
        }
        res.setHeader("Access-Control-Allow-Origin", anyOrigin && !credentials ? "*" : origin);
        res.setHeader("Access-Control-Allow-Methods", methods);
        if (allowHeaders != null) {
            res.setHeader("Access-Control-Allow-Headers", allowHeaders);
        } else if (requested != null && !requested.isBlank()) {
            res.setHeader("Access-Control-Allow-Headers", requested.trim());
        }
        if (credentials) res.setHeader("Access-Control-Allow-Credentials", "true");
        if (maxAge != null) res.setHeader("Access-Control-Max-Age", maxAge);
        res.status(204).end();
    }

    private boolean allowed(String origin) {
        return anyOrigin || origins.contains(origin.toLowerCase(Locale.ROOT));
    }

    private static void addVary(Response res, String value) {
        String v = res.header("Vary");
        if (v == null) {
            res.setHeader("Vary", value);
        } else {
            for (String s : v.split(",")) if (s.trim().equalsIgnoreCase(value) || s.trim().equals("*")) return;
            res.setHeader("Vary", v + ", " + value);
        }
    }

    /** Configures a {@link Cors}. Not thread-safe. */
    public static final class Builder {
        private boolean anyOrigin;
        private final List<String> origins = new ArrayList<>();
        private final List<String> methods = new ArrayList<>(List.of("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"));
        private List<String> headers;
        private final List<String> exposed = new ArrayList<>();
        private boolean credentials;
        private Duration maxAge = Duration.ofMinutes(10);

        private Builder() {}

        /**
         * The origins allowed ({@code https://example.com}, scheme, host and port as browsers send
         * them; compared case-insensitively). {@code "*"} allows any.
         */
        public Builder allowOrigins(String... list) {
            for (String o : list) {
                String t = o.trim();
                if (t.equals("*")) {
                    anyOrigin = true;
                } else {
                    if (t.isEmpty() || t.endsWith("/")) throw new IllegalArgumentException("bad CORS origin (no path, no trailing '/'): " + o);
                    Headers.checkValue(t, "CORS origin");
                    origins.add(t.toLowerCase(Locale.ROOT));
                }
            }
            return this;
        }

        /** {@link #allowOrigins(String...)} from a list. */
        public Builder allowOrigins(List<String> list) {
            return allowOrigins(list.toArray(String[]::new));
        }

        /** Allows every origin ({@code Access-Control-Allow-Origin: *}, or the origin echoed with credentials). */
        public Builder allowAnyOrigin() {
            anyOrigin = true;
            return this;
        }

        /** The methods allowed by preflight (default GET, HEAD, POST, PUT, PATCH, DELETE). */
        public Builder allowMethods(String... list) {
            methods.clear();
            for (String m : list) {
                Headers.checkToken(m, "method");
                methods.add(m.toUpperCase(Locale.ROOT));
            }
            return this;
        }

        /** The request headers allowed by preflight (default: whatever the browser asks for). */
        public Builder allowHeaders(String... list) {
            headers = new ArrayList<>();
            for (String h : list) {
                Headers.checkToken(h, "header name");
                headers.add(h);
            }
            return this;
        }

        /** Response headers the page may read beyond the safelisted ones. */
        public Builder exposeHeaders(String... list) {
            for (String h : list) {
                Headers.checkToken(h, "header name");
                exposed.add(h);
            }
            return this;
        }

        /** Allows cookies and HTTP authentication (the origin is then echoed, never "*"). */
        public Builder allowCredentials(boolean on) {
            credentials = on;
            return this;
        }

        /** How long browsers may cache a preflight answer (default 10 minutes; null: no header). */
        public Builder maxAge(Duration d) {
            if (d != null && d.isNegative()) throw new IllegalArgumentException("negative max age");
            maxAge = d;
            return this;
        }

        /** The middleware; throws {@link IllegalStateException} if no origin was allowed. */
        public Cors build() {
            if (!anyOrigin && origins.isEmpty()) throw new IllegalStateException("CORS: no allowed origin configured");
            return new Cors(this);
        }
    }
}
