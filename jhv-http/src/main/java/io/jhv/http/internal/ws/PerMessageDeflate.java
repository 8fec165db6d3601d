package io.jhv.http.internal.ws;

import io.jhv.http.websocket.WebSocketConfig;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * permessage-deflate (RFC 7692) as agreed for one socket: who keeps its compression context
 * between messages and the window each side may use. Parses offers (server) and responses
 * (client), and writes the other side of each.
 *
 * <p>The JDK's {@code Deflater} always uses a 32 KiB window. When this side must keep to a smaller
 * one ({@code *_max_window_bits} below 15), it compresses each message on its own and sends a message
 * longer than the window uncompressed (allowed per message), so that no back-reference can reach
 * farther than the window. The inflater takes any window.
 */
final class PerMessageDeflate {
    static final String NAME = "permessage-deflate";

    /** This side resets its deflater after each message. */
    final boolean localNoContextTakeover;
    /** The peer resets its deflater after each message, so this side may reset its inflater. */
    final boolean remoteNoContextTakeover;
    /** The window this side's compressor must keep to (8-15). */
    final int localWindowBits;
    /** The response (server) or offer-as-agreed (client) header value. */
    final String header;

    private PerMessageDeflate(boolean localNct, boolean remoteNct, int localBits, String header) {
        this.localNoContextTakeover = localNct;
        this.remoteNoContextTakeover = remoteNct;
        this.localWindowBits = localBits;
        this.header = header;
    }

    /** A message this long may be compressed within the window (with the context reset). */
    boolean fitsWindow(int length) {
        return localWindowBits == 15 || length <= (1 << localWindowBits);
    }

    /** With a window below 15 bits the context must not carry over. */
    boolean resetAfterEachMessage() {
        return localNoContextTakeover || localWindowBits < 15;
    }

    // ------------------------------------------------------------------ server side

    /**
     * The first acceptable permessage-deflate offer among the {@code Sec-WebSocket-Extensions}
     * header values, agreed with {@code cfg}, or null when there is none (the socket then runs
     * uncompressed). Offers with unknown, repeated or badly valued parameters are declined, as RFC
     * 7692 section 5 asks.
     */
    static PerMessageDeflate acceptOffer(List<String> headerValues, WebSocketConfig cfg) {
        if (!cfg.compression()) return null;
        for (String value : headerValues) {
            for (String offer : splitTopLevel(value, ',')) {
                List<String> parts = splitTopLevel(offer, ';');
                if (parts.isEmpty() || !parts.get(0).trim().equalsIgnoreCase(NAME)) continue;
                PerMessageDeflate agreed = serverAgree(parts, cfg);
                if (agreed != null) return agreed;
            }
        }
        return null;
    }

    private static PerMessageDeflate serverAgree(List<String> parts, WebSocketConfig cfg) {
        boolean serverNct = false, clientNct = false;
        int serverBits = -1;            // asked for by the client
        int clientBits = -1;            // -1 absent, 0 present without a value
        List<String> seen = new ArrayList<>();
        for (int i = 1; i < parts.size(); i++) {
            String p = parts.get(i).trim();
            if (p.isEmpty()) return null;
            int eq = p.indexOf('=');
            String name = (eq < 0 ? p : p.substring(0, eq)).trim().toLowerCase(Locale.ROOT);
            String val = eq < 0 ? null : unquote(p.substring(eq + 1).trim());
            if (seen.contains(name)) return null;
            seen.add(name);
            switch (name) {
                case "server_no_context_takeover" -> { if (val != null) return null; serverNct = true; }
                case "client_no_context_takeover" -> { if (val != null) return null; clientNct = true; }
                case "server_max_window_bits" -> { serverBits = bits(val); if (serverBits < 0) return null; }
                case "client_max_window_bits" -> {
                    if (val == null) clientBits = 0;
                    else { clientBits = bits(val); if (clientBits < 0) return null; }
                }
                default -> { return null; }
            }
        }
        boolean localNct = serverNct || cfg.serverNoContextTakeover();
        boolean remoteNct = clientNct || cfg.clientNoContextTakeover();
        int localBits = Math.min(serverBits < 0 ? 15 : serverBits, cfg.serverMaxWindowBits());
        StringBuilder h = new StringBuilder(NAME);
        if (localNct) h.append("; server_no_context_takeover");
        if (remoteNct) h.append("; client_no_context_takeover");
        if (serverBits >= 0 || localBits < 15) h.append("; server_max_window_bits=").append(localBits);
        if (clientBits >= 0 && cfg.clientMaxWindowBits() < 15) {
            // May only be sent when offered; never above the value offered.
            int cb = clientBits == 0 ? cfg.clientMaxWindowBits() : Math.min(clientBits, cfg.clientMaxWindowBits());
            h.append("; client_max_window_bits=").append(cb);
        }
        return new PerMessageDeflate(localNct, remoteNct, localBits, h.toString());
    }

    // ------------------------------------------------------------------ client side

    /** The offer a client sends for {@code cfg} (null when compression is off). */
    static String clientOffer(WebSocketConfig cfg) {
        if (!cfg.compression()) return null;
        StringBuilder h = new StringBuilder(NAME);
        if (cfg.serverNoContextTakeover()) h.append("; server_no_context_takeover");
        if (cfg.clientNoContextTakeover()) h.append("; client_no_context_takeover");
        if (cfg.serverMaxWindowBits() < 15) h.append("; server_max_window_bits=").append(cfg.serverMaxWindowBits());
        // We can keep to any window the server asks for (see the class comment).
        h.append("; client_max_window_bits");
        if (cfg.clientMaxWindowBits() < 15) h.append('=').append(cfg.clientMaxWindowBits());
        return h.toString();
    }

    /**
     * The server's response, checked against what {@code cfg} offered: null when the server agreed
     * on no extension; the agreement otherwise.
     *
     * @throws IllegalArgumentException (the handshake fails) when the response names an extension
     *         not offered, or parameters the offer does not allow
     */
    static PerMessageDeflate clientAccept(List<String> headerValues, WebSocketConfig cfg) {
        List<String> exts = new ArrayList<>();
        for (String v : headerValues) for (String e : splitTopLevel(v, ',')) if (!e.isBlank()) exts.add(e);
        if (exts.isEmpty()) return null;
        if (exts.size() > 1) throw new IllegalArgumentException("the server agreed on more than one extension: " + exts);
        List<String> parts = splitTopLevel(exts.get(0), ';');
        if (!parts.get(0).trim().equalsIgnoreCase(NAME) || !cfg.compression()) {
            throw new IllegalArgumentException("the server agreed on an extension that was not offered: " + exts.get(0).trim());
        }
        boolean serverNct = false, clientNct = false;
        int serverBits = 15, clientBits = 15;
        List<String> seen = new ArrayList<>();
        for (int i = 1; i < parts.size(); i++) {
            String p = parts.get(i).trim();
            int eq = p.indexOf('=');
            String name = (eq < 0 ? p : p.substring(0, eq)).trim().toLowerCase(Locale.ROOT);
            String val = eq < 0 ? null : unquote(p.substring(eq + 1).trim());
            if (seen.contains(name)) throw new IllegalArgumentException("repeated parameter " + name + " in " + exts.get(0).trim());
            seen.add(name);
            switch (name) {
                case "server_no_context_takeover" -> serverNct = true;
                case "client_no_context_takeover" -> clientNct = true;
                case "server_max_window_bits" -> {
                    serverBits = bits(val);
                    if (serverBits < 0 || serverBits > cfg.serverMaxWindowBits()) throw new IllegalArgumentException("bad server_max_window_bits in " + exts.get(0).trim());
                }
                case "client_max_window_bits" -> {
                    clientBits = bits(val);
                    if (clientBits < 0 || clientBits > cfg.clientMaxWindowBits() && cfg.clientMaxWindowBits() < 15) throw new IllegalArgumentException("bad client_max_window_bits in " + exts.get(0).trim());
                }
                default -> throw new IllegalArgumentException("unknown permessage-deflate parameter " + name);
            }
        }
        if (cfg.serverNoContextTakeover() && !serverNct) {
            throw new IllegalArgumentException("the server did not agree to server_no_context_takeover");
        }
        boolean localNct = clientNct || cfg.clientNoContextTakeover();
        int localBits = Math.min(clientBits, cfg.clientMaxWindowBits());
        return new PerMessageDeflate(localNct, serverNct, localBits, exts.get(0).trim());
    }

    // ------------------------------------------------------------------ parsing

    private static int bits(String v) {
        if (v == null || v.isEmpty() || v.length() > 2) return -1;
        for (int i = 0; i < v.length(); i++) if (v.charAt(i) < '0' || v.charAt(i) > '9') return -1;
        int b = Integer.parseInt(v);
        return b >= 8 && b <= 15 ? b : -1;
    }

    private static String unquote(String v) {
        return v.length() >= 2 && v.charAt(0) == '"' && v.charAt(v.length() - 1) == '"' ? v.substring(1, v.length() - 1) : v;
    }

    /** Splits on {@code sep} outside quoted strings. */
    static List<String> splitTopLevel(String s, char sep) {
        List<String> out = new ArrayList<>();
        boolean quoted = false;
        int start = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '"') quoted = !quoted;
            else if (c == sep && !quoted) {
                out.add(s.substring(start, i));
                start = i + 1;
            }
        }
        out.add(s.substring(start));
        if (out.size() == 1 && out.get(0).isBlank()) out.clear();
        return out;
    }
}
