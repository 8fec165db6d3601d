package io.jhv.http.internal.ws;

import io.jhv.http.internal.Urls;
import io.jhv.http.websocket.Handshake;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** A snapshot of an opening handshake (the request's data is recycled once HTTP is done with it). */
final class HandshakeInfo implements Handshake {
    private final String path;
    private final String query;
    private final Map<String, List<String>> queryParams;
    private final Map<String, String> pathParams;
    private final List<Map.Entry<String, String>> headers;
    private final Map<String, String> cookies;
    private final Map<String, Object> attributes;
    private final String subprotocol;
    private final String extensions;

    HandshakeInfo(String path, String query, Map<String, List<String>> queryParams, Map<String, String> pathParams,
                  List<Map.Entry<String, String>> headers, Map<String, String> cookies, Map<String, Object> attributes,
                  String subprotocol, String extensions) {
        this.path = path;
        this.query = query;
        this.queryParams = queryParams;
        this.pathParams = pathParams;
        this.headers = headers;
        this.cookies = cookies;
        this.attributes = attributes;
        this.subprotocol = subprotocol;
        this.extensions = extensions;
    }

    /** The client's view: the URI asked for and the 101's headers. */
    static HandshakeInfo client(String path, String query, List<Map.Entry<String, String>> responseHeaders, String subprotocol, String extensions) {
        return new HandshakeInfo(path, query, parseQuery(query), Map.of(), List.copyOf(responseHeaders), Map.of(), Map.of(), subprotocol, extensions);
    }

    static Map<String, List<String>> parseQuery(String query) {
        Map<String, List<String>> m = new LinkedHashMap<>();
        if (query == null || query.isEmpty()) return m;
        for (String pair : query.split("&")) {
            if (pair.isEmpty()) continue;
            int eq = pair.indexOf('=');
            String k = eq < 0 ? pair : pair.substring(0, eq);
            String v = eq < 0 ? "" : pair.substring(eq + 1);
            try {
                m.computeIfAbsent(Urls.decode(k, true), x -> new ArrayList<>()).add(Urls.decode(v, true));
            } catch (RuntimeException bad) {
                // a malformed escape: keep the raw text rather than fail the handshake
                m.computeIfAbsent(k, x -> new ArrayList<>()).add(v);
            }
        }
        return m;
    }

    @Override public String path() { return path; }
    @Override public String query() { return query; }

    @Override
    public String queryParam(String name) {
        List<String> v = queryParams.get(name);
        return v == null || v.isEmpty() ? null : v.get(0);
    }

    @Override public String pathParam(String name) { return pathParams.get(name); }

    @Override
    public String header(String name) {
        for (Map.Entry<String, String> e : headers) if (e.getKey().equalsIgnoreCase(name)) return e.getValue();
        return null;
    }

    @Override
    public List<String> headers(String name) {
        List<String> out = new ArrayList<>(2);
        for (Map.Entry<String, String> e : headers) if (e.getKey().equalsIgnoreCase(name)) out.add(e.getValue());
        return out;
    }

    @Override public String cookie(String name) { return cookies.get(name); }
    @Override public Object attribute(String name) { return attributes.get(name); }
    @Override public String subprotocol() { return subprotocol; }
    @Override public String extensions() { return extensions; }
    @Override public Map<String, Object> attributes() { return attributes; }

    @Override
    public String toString() {
        return "Handshake[" + path + (query != null ? "?" + query : "") + (subprotocol != null ? ", " + subprotocol : "")
                + (extensions != null ? ", " + extensions.toLowerCase(Locale.ROOT) : "") + "]";
    }
}
