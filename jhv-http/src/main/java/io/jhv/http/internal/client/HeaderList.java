package io.jhv.http.internal.client;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Response header fields in arrival order, as name/value pairs; lookups ignore the case of names.
 * Small (a response has a handful of headers): a linear scan beats a map and allocates nothing.
 * The parser fills it on the loop thread; after the response is handed out it is only read.
 */
public final class HeaderList {
    public static final HeaderList EMPTY = new HeaderList(0);

    private String[] nv;
    private int size;

    public HeaderList(int capacity) {
        nv = new String[Math.max(2, capacity * 2)];
    }

    public void add(String name, String value) {
        if (size * 2 == nv.length) nv = java.util.Arrays.copyOf(nv, nv.length * 2);
        nv[size * 2] = name;
        nv[size * 2 + 1] = value;
        size++;
    }

    public int size() { return size; }

    public String name(int i) { return nv[i * 2]; }

    public String value(int i) { return nv[i * 2 + 1]; }

    /** The first value of {@code name}, or null. */
    public String get(String name) {
        for (int i = 0; i < size; i++) {
            if (nv[i * 2].equalsIgnoreCase(name)) return nv[i * 2 + 1];
        }
        return null;
    }

    /** Every value of {@code name}, in order (empty if none). */
    public List<String> all(String name) {
        List<String> out = null;
        for (int i = 0; i < size; i++) {
            if (nv[i * 2].equalsIgnoreCase(name)) {
                if (out == null) out = new ArrayList<>(2);
                out.add(nv[i * 2 + 1]);
            }
        }
        return out == null ? List.of() : Collections.unmodifiableList(out);
    }

    /** An unmodifiable map, names case-insensitive, values in order. */
    public Map<String, List<String>> asMap() {
        TreeMap<String, List<String>> m = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
        for (int i = 0; i < size; i++) m.computeIfAbsent(nv[i * 2], k -> new ArrayList<>(1)).add(nv[i * 2 + 1]);
        m.replaceAll((k, v) -> List.copyOf(v));
        return Collections.unmodifiableMap(m);
    }

    /** True if some value of {@code name}, as a comma-separated list, holds {@code token} (case-insensitive). */
    public boolean hasToken(String name, String token) {
        for (int i = 0; i < size; i++) {
            if (!nv[i * 2].equalsIgnoreCase(name)) continue;
            String v = nv[i * 2 + 1];
            int start = 0;
            while (start <= v.length()) {
                int comma = v.indexOf(',', start);
                int end = comma < 0 ? v.length() : comma;
                if (v.substring(start, end).trim().equalsIgnoreCase(token)) return true;
                if (comma < 0) break;
                start = comma + 1;
            }
        }
        return false;
    }

    public void clear() {
        java.util.Arrays.fill(nv, 0, size * 2, null);
        size = 0;
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < size; i++) sb.append(nv[i * 2]).append(": ").append(nv[i * 2 + 1]).append('\n');
        return sb.toString();
    }
}
