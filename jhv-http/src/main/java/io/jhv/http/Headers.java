package io.jhv.http;

/** Checks for header names and values (RFC 9110 field syntax). */
public final class Headers {
    private Headers() {}

    private static final boolean[] TCHAR = new boolean[128];

    static {
        for (char c = '0'; c <= '9'; c++) TCHAR[c] = true;
        for (char c = 'a'; c <= 'z'; c++) TCHAR[c] = true;
        for (char c = 'A'; c <= 'Z'; c++) TCHAR[c] = true;
        for (char c : "!#$%&'*+-.^_`|~".toCharArray()) TCHAR[c] = true;
    }

    /** True if {@code b} is a token character (tchar). */
    public static boolean isTchar(int b) {
        return b >= 0 && b < 128 && TCHAR[b];
    }

    /** Throws unless {@code s} is a non-empty token (a valid header name). */
    public static void checkToken(String s, String what) {
        if (s == null || s.isEmpty()) throw new IllegalArgumentException(what + " is empty");
        for (int i = 0; i < s.length(); i++) {
            if (!isTchar(s.charAt(i))) throw new IllegalArgumentException(what + " has an invalid character at " + i + ": " + printable(s));
        }
    }

    /** Throws if {@code s} contains CR, LF, NUL or another control character (tab allowed). */
    public static void checkValue(String s, String what) {
        if (s == null) throw new IllegalArgumentException(what + " is null");
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if ((c < 0x20 && c != '\t') || c == 0x7f) {
                throw new IllegalArgumentException(what + " contains a control character (CR, LF, NUL...) at " + i + ": " + printable(s));
            }
        }
    }

    private static String printable(String s) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < s.length() && i < 80; i++) {
            char c = s.charAt(i);
            if (c < 0x20 || c == 0x7f) sb.append(String.format("\\x%02x", (int) c));
            else sb.append(c);
        }
        return sb.toString();
    }
}
