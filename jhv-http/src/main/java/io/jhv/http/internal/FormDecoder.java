package io.jhv.http.internal;

import io.jhv.http.HttpException;

import java.nio.charset.Charset;
import java.util.Map;

/**
 * Decodes an {@code application/x-www-form-urlencoded} body (the WHATWG URL standard's
 * "application/x-www-form-urlencoded parser"): fields separated by {@code &}, {@code name=value},
 * {@code +} is a space, {@code %XX} a byte; the bytes are then decoded in the given charset.
 *
 * <p>Thread contract: stateless; any thread.
 */
public final class FormDecoder {
    private FormDecoder() {}

    /**
     * Decodes {@code b[off, off+len)} into {@code out}. A field without {@code =} gets the empty
     * value; empty fields ({@code a=1&&b=2}) are skipped; when a name repeats, the first value
     * stays, as for query parameters.
     *
     * @throws HttpException 400 on a bad {@code %} escape
     */
    public static void decode(byte[] b, int off, int len, Charset cs, Map<String, String> out) {
        int end = off + len;
        // One scratch array for the whole body: a decoded field is never longer than its raw bytes.
        byte[] scratch = null;
        int start = off;
        while (start <= end) {
            int amp = start;
            while (amp < end && b[amp] != '&') amp++;
            if (amp > start) {
                if (scratch == null) scratch = new byte[len];
                int eq = start;
                while (eq < amp && b[eq] != '=') eq++;
                String name = decodeRange(b, start, eq, cs, scratch);
                String value = eq < amp ? decodeRange(b, eq + 1, amp, cs, scratch) : "";
                out.putIfAbsent(name, value);
            }
            start = amp + 1;
        }
    }

    /** Decodes one name or value; {@code scratch} is at least {@code to - from} long. */
    static String decodeRange(byte[] b, int from, int to, Charset cs, byte[] scratch) {
        int n = 0;
        for (int i = from; i < to; i++) {
            byte c = b[i];
            if (c == '+') {
                scratch[n++] = ' ';
            } else if (c == '%') {
                int hi = i + 1 < to ? hex(b[i + 1]) : -1;
                int lo = i + 2 < to ? hex(b[i + 2]) : -1;
                if (hi < 0 || lo < 0) {
                    throw new HttpException(400, "Invalid percent-encoding in form data at byte " + (i - from)
                            + " of field '" + printable(b, from, to) + "'");
                }
                scratch[n++] = (byte) (hi << 4 | lo);
                i += 2;
            } else {
                scratch[n++] = c;
            }
        }
        return new String(scratch, 0, n, cs);
    }

    static int hex(byte c) {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    }

    private static String printable(byte[] b, int from, int to) {
        StringBuilder sb = new StringBuilder();
        for (int i = from; i < to && sb.length() < 60; i++) {
            int c = b[i] & 0xff;
            if (c < 0x20 || c >= 0x7f) sb.append(String.format("\\x%02x", c));
            else sb.append((char) c);
        }
        return sb.toString();
    }
}
