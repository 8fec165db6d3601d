package io.jhv.http.internal.ws;

import io.jhv.http.internal.ServerConfig;
import io.jhv.http.server.Handler;
import io.jhv.http.server.Request;
import io.jhv.http.server.Response;
import io.jhv.http.websocket.WebSocketConfig;
import io.jhv.http.websocket.WebSocketHandler;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The server side of the opening handshake (RFC 6455 section 4.2) as a route handler: checks the
 * request, agrees on a subprotocol and permessage-deflate, answers {@code 101} and hands the
 * connection to a {@link WsSession}. Refusals are ordinary HTTP answers, so the connection goes on
 * with HTTP.
 */
public final class WsUpgrade implements Handler {
    static final String GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

    private final WebSocketConfig config;
    private final WebSocketHandler handler;
    private final List<String> paramNames;
    private final ServerConfig server;

    public WsUpgrade(String routePath, WebSocketConfig config, WebSocketHandler handler, ServerConfig server) {
        this.config = config;
        this.handler = handler;
        this.paramNames = paramNames(routePath);
        this.server = server;
    }

    @Override
    public void handle(Request req, Response res) {
        String upgrade = req.header("Upgrade");
        if (upgrade == null || !hasToken(req.headers("Upgrade"), "websocket")) {
            res.status(426).setHeader("Upgrade", "websocket").setHeader("Connection", "Upgrade")
                    .text("426 Upgrade Required: this is a WebSocket endpoint\n");
            return;
        }
        if (!"HTTP/1.1".equals(req.version())) {
            res.status(400).text("400 Bad Request: a WebSocket handshake needs HTTP/1.1\n");
            return;
        }
        if (!hasToken(req.headers("Connection"), "upgrade")) {
            res.status(400).text("400 Bad Request: Connection: Upgrade is missing\n");
            return;
        }
        String version = req.header("Sec-WebSocket-Version");
        if (version == null || !version.trim().equals("13")) {
            res.status(426).setHeader("Sec-WebSocket-Version", "13")
                    .text("426 Upgrade Required: WebSocket version 13 only\n");
            return;
        }
        String key = req.header("Sec-WebSocket-Key");
        if (key == null || req.headers("Sec-WebSocket-Key").size() != 1 || !validKey(key.trim())) {
            res.status(400).text("400 Bad Request: Sec-WebSocket-Key must be the base64 of 16 bytes\n");
            return;
        }
        if (config.originCheck() != null && !config.originCheck().test(req.header("Origin"))) {
            res.status(403).text("403 Forbidden: origin not allowed\n");
            return;
        }
        if (server.draining) { // before the handshake's headers: a refusal carries none of them
            res.status(503).setHeader("Retry-After", "1").text("503 Service Unavailable: shutting down\n");
            return;
        }
        String protocol = chooseSubprotocol(req.headers("Sec-WebSocket-Protocol"));
        PerMessageDeflate pmd = PerMessageDeflate.acceptOffer(req.headers("Sec-WebSocket-Extensions"), config);

        res.setHeader("Upgrade", "websocket");
        res.setHeader("Connection", "Upgrade");
        res.setHeader("Sec-WebSocket-Accept", accept(key.trim()));
        if (protocol != null) res.setHeader("Sec-WebSocket-Protocol", protocol);
        if (pmd != null) res.setHeader("Sec-WebSocket-Extensions", pmd.header);

        HandshakeInfo hs = snapshot(req, protocol, pmd == null ? null : pmd.header);
        res.upgrade(new WsSession(config, handler, false, pmd, hs, protocol, null, server));
    }

    private HandshakeInfo snapshot(Request req, String protocol, String extensions) {
        Map<String, String> params = new LinkedHashMap<>();
        for (String n : paramNames) {
            String v = req.pathParam(n);
            if (v != null) params.put(n, v);
        }
        List<Map.Entry<String, String>> headers = new ArrayList<>();
        for (Map.Entry<String, String> e : req.headers()) headers.add(Map.entry(e.getKey(), e.getValue()));
        return new HandshakeInfo(req.path(), req.query(), HandshakeInfo.parseQuery(req.query()), params, headers,
                Map.copyOf(req.cookies()), copyAllowingNulls(req.attributes()), protocol, extensions);
    }

    /**
     * An unmodifiable copy that keeps null values: Request.attribute(name, null) is allowed (a
     * middleware may record an absent user), and Map.copyOf would throw on it and fail the upgrade.
     */
    private static Map<String, Object> copyAllowingNulls(Map<String, Object> m) {
        if (m.isEmpty()) return Map.of();
        return java.util.Collections.unmodifiableMap(new LinkedHashMap<>(m));
    }

    private String chooseSubprotocol(List<String> offered) {
        if (config.subprotocols().isEmpty() || offered.isEmpty()) return null;
        List<String> tokens = new ArrayList<>();
        for (String v : offered) for (String t : v.split(",")) if (!t.isBlank()) tokens.add(t.trim());
        for (String mine : config.subprotocols()) if (tokens.contains(mine)) return mine;
        return null;
    }

    /** The names of a route's parameters ({@code :name}, {@code {name}}, a trailing {@code *}). */
    private static List<String> paramNames(String path) {
        List<String> names = new ArrayList<>();
        for (String seg : path.split("/")) {
            if (seg.startsWith(":")) names.add(seg.substring(1));
            else if (seg.startsWith("{") && seg.endsWith("}")) names.add(seg.substring(1, seg.length() - 1));
            else if (seg.equals("*")) names.add("*");
        }
        return names;
    }

    static boolean hasToken(List<String> values, String token) {
        for (String v : values) {
            for (String t : v.split(",")) if (t.trim().toLowerCase(Locale.ROOT).equals(token)) return true;
        }
        return false;
    }

    private static boolean validKey(String key) {
        if (key.length() != 24) return false;
        try {
            return Base64.getDecoder().decode(key).length == 16;
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    /** {@code Sec-WebSocket-Accept} for {@code key}: base64(SHA-1(key + GUID)). */
    static String accept(String key) {
        try {
            MessageDigest sha1 = MessageDigest.getInstance("SHA-1");
            return Base64.getEncoder().encodeToString(sha1.digest((key + GUID).getBytes(StandardCharsets.US_ASCII)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-1 is not available", e);
        }
    }
}
