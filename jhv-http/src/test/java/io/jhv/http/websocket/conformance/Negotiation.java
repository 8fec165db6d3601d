package io.jhv.http.websocket.conformance;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Parsing of {@code Sec-WebSocket-Extensions} values (RFC 6455 section 9.1, RFC 7692 section 7). */
final class Negotiation {
    private Negotiation() {
    }

    /** One extension of a list: its name and parameters in order (a parameter without value maps to ""). */
    record Ext(String name, Map<String, String> params) {
    }

    /** Parses a comma-separated extension list (no quoted commas: none of the permessage-deflate values need them). */
    static List<Ext> parse(String header) {
        List<Ext> list = new ArrayList<>();
        if (header == null) return list;
        for (String ext : header.split(",")) {
            String[] parts = ext.split(";");
            Map<String, String> params = new LinkedHashMap<>();
            for (int i = 1; i < parts.length; i++) {
                String p = parts[i].trim();
                int eq = p.indexOf('=');
                String name = (eq < 0 ? p : p.substring(0, eq)).trim().toLowerCase(Locale.ROOT);
                String value = eq < 0 ? "" : p.substring(eq + 1).trim().replace("\"", "");
                if (params.put(name, value) != null) params.put(name + "#dup", value);
            }
            list.add(new Ext(parts[0].trim().toLowerCase(Locale.ROOT), params));
        }
        return list;
    }

    /**
     * The parameters of a server's permessage-deflate response, checked as RFC 7692 requires of a
     * response: exactly one extension, permessage-deflate, only known parameters, no duplicates,
     * window bits 8-15.
     */
    static Map<String, String> params(String header) {
        List<Ext> exts = parse(header);
        assertEquals(1, exts.size(), () -> "one extension agreed: " + header);
        Ext e = exts.get(0);
        assertEquals("permessage-deflate", e.name(), header);
        for (Map.Entry<String, String> p : e.params().entrySet()) {
            switch (p.getKey()) {
                case "server_no_context_takeover", "client_no_context_takeover" ->
                        assertEquals("", p.getValue(), () -> p.getKey() + " takes no value: " + header);
                case "server_max_window_bits", "client_max_window_bits" -> {
                    int bits = Integer.parseInt(p.getValue());
                    assertTrue(bits >= 8 && bits <= 15, () -> "window bits 8-15: " + header);
                }
                default -> throw new AssertionError("unknown or duplicate parameter " + p.getKey() + " in " + header);
            }
        }
        return e.params();
    }
}
