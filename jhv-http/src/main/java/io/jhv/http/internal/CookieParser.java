package io.jhv.http.internal;

import io.jhv.http.Cookie;

import java.util.Map;

/**
 * Parses a {@code Cookie} request header ({@code a=1; b="two"}, RFC 6265 section 5.4) into names and
 * values. Lenient, as browsers are: pairs without {@code =} or with an empty name are skipped,
 * surrounding white space is trimmed, one pair of double quotes around a value is removed. When a
 * name repeats the first value stays (browsers send the cookie with the most specific path first).
 *
 * <p>Thread contract: stateless; any thread.
 */
public final class CookieParser {
    private CookieParser() {}

    /** Adds the cookies of {@code cookieHeader} (may be null) to {@code out}. */
    public static void parse(String cookieHeader, Map<String, String> out) {
        if (cookieHeader == null) return;
        int len = cookieHeader.length();
        int start = 0;
        while (start < len) {
            int semi = cookieHeader.indexOf(';', start);
            if (semi < 0) semi = len;
            int eq = cookieHeader.indexOf('=', start);
            if (eq >= 0 && eq < semi) {
                int ns = skipWs(cookieHeader, start, eq);
                int ne = trimWs(cookieHeader, ns, eq);
                if (ne > ns) {
                    int vs = skipWs(cookieHeader, eq + 1, semi);
                    int ve = trimWs(cookieHeader, vs, semi);
                    if (ve - vs >= 2 && cookieHeader.charAt(vs) == '"' && cookieHeader.charAt(ve - 1) == '"') {
                        vs++;
                        ve--;
                    }
                    out.putIfAbsent(cookieHeader.substring(ns, ne), cookieHeader.substring(vs, ve));
                }
            }
            start = semi + 1;
        }
    }

    private static int skipWs(String s, int from, int to) {
        while (from < to && isWs(s.charAt(from))) from++;
        return from;
    }

    private static int trimWs(String s, int from, int to) {
        while (to > from && isWs(s.charAt(to - 1))) to--;
        return to;
    }

    private static boolean isWs(char c) {
        return c == ' ' || c == '\t';
    }
}
