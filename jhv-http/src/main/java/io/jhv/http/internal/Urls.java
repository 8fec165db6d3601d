package io.jhv.http.internal;

import io.jhv.http.HttpException;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

/** Percent-decoding of paths and query strings. */
public final class Urls {
    private Urls() {}

    /**
     * Decodes {@code s[from, to)} of a URL component: %XX escapes (UTF-8), and '+' as space when
     * {@code plusIsSpace}. A bad escape, or %00 when {@code rejectNul}, is a 400.
     */
    public static String decode(String s, int from, int to, boolean plusIsSpace, boolean rejectNul) {
        int i = from;
        while (i < to) {
            char c = s.charAt(i);
            if (c == '%' || (plusIsSpace && c == '+')) break;
            i++;
        }
        if (i == to) return s.substring(from, to);
        ByteArrayOutputStream out = new ByteArrayOutputStream(to - from);
        byte[] prefix = s.substring(from, i).getBytes(StandardCharsets.UTF_8);
        out.write(prefix, 0, prefix.length);
        while (i < to) {
            char c = s.charAt(i);
            if (c == '%') {
                if (i + 2 >= to) throw new HttpException(400, "bad percent-escape at the end of \"" + s + "\"");
                int hi = Character.digit(s.charAt(i + 1), 16), lo = Character.digit(s.charAt(i + 2), 16);
                if (hi < 0 || lo < 0) throw new HttpException(400, "bad percent-escape in \"" + s + "\"");
                int b = (hi << 4) | lo;
                if (b == 0 && rejectNul) throw new HttpException(400, "NUL (%00) in the URL");
                out.write(b);
                i += 3;
            } else if (plusIsSpace && c == '+') {
                out.write(' ');
                i++;
            } else if (c < 0x80) {
                out.write(c);
                i++;
            } else {
                int j = i + 1;
                while (j < to && s.charAt(j) >= 0x80) j++;
                byte[] b = s.substring(i, j).getBytes(StandardCharsets.UTF_8);
                out.write(b, 0, b.length);
                i = j;
            }
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    public static String decode(String s, boolean plusIsSpace) {
        return decode(s, 0, s.length(), plusIsSpace, false);
    }

    /** Parses {@code a=1&b=2} into {@code out} (first value wins in a map; all kept when out is a multi-map list). */
    public static void parseQuery(String query, Map<String, String> first, List<Map.Entry<String, String>> all) {
        if (query == null || query.isEmpty()) return;
        int n = query.length(), start = 0;
        while (start <= n) {
            int amp = query.indexOf('&', start);
            if (amp < 0) amp = n;
            if (amp > start) {
                int eq = query.indexOf('=', start);
                String k, v;
                if (eq < 0 || eq > amp) {
                    k = decode(query, start, amp, true, false);
                    v = "";
                } else {
                    k = decode(query, start, eq, true, false);
                    v = decode(query, eq + 1, amp, true, false);
                }
                if (first != null) first.putIfAbsent(k, v);
                if (all != null) all.add(Map.entry(k, v));
            }
            start = amp + 1;
        }
    }
}
