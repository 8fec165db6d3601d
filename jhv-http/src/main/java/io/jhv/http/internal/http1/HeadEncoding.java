package io.jhv.http.internal.http1;

import io.jhv.core.buffer.Buffer;
import io.jhv.http.Status;

import java.nio.charset.StandardCharsets;

/**
 * Byte-level pieces of a response head: cached status lines, decimal lengths without division for
 * the common sizes, and the UTF-8 length of a string without encoding it. Static and
 * allocation-free once warm; any thread (the caches are filled idempotently).
 */
final class HeadEncoding {
    private HeadEncoding() {}

    static final byte[] CRLF = {'\r', '\n'};
    private static final byte[][] STATUS_LINES = new byte[600][];

    static byte[] statusLine(int status) {
        byte[] l = STATUS_LINES[status];
        if (l == null) {
            l = ("HTTP/1.1 " + status + " " + Status.reason(status) + "\r\n").getBytes(StandardCharsets.ISO_8859_1);
            STATUS_LINES[status] = l;
        }
        return l;
    }

    /** Decimal digits of 0..9999, the lengths nearly every body has: no division per response. */
    private static final byte[][] SMALL_DECIMALS = new byte[10_000][];

    static {
        for (int i = 0; i < SMALL_DECIMALS.length; i++) SMALL_DECIMALS[i] = Integer.toString(i).getBytes(StandardCharsets.ISO_8859_1);
    }

    static void writeDecimal(Buffer out, long v) {
        if (v >= 0 && v < SMALL_DECIMALS.length) {
            out.write(SMALL_DECIMALS[(int) v]);
            return;
        }
        if (v == 0) {
            out.writeByte('0');
            return;
        }
        int digits = 0;
        for (long x = v; x > 0; x /= 10) digits++;
        out.ensureWritable(digits);
        byte[] a = out.array();
        int end = out.writerIndex() + digits;
        for (int i = end - 1; v > 0; i--, v /= 10) a[i] = (byte) ('0' + v % 10);
        out.advanceWriter(digits);
    }

    /** The length of {@code s} encoded as UTF-8 by the JDK (a lone surrogate becomes '?'). */
    static int utf8Length(String s) {
        int n = s.length(), len = n;
        for (int i = 0; i < n; i++) {
            char c = s.charAt(i);
            if (c >= 0x80) {
                if (c < 0x800) len += 1;
                else if (Character.isHighSurrogate(c) && i + 1 < n && Character.isLowSurrogate(s.charAt(i + 1))) {
                    len += 2;
                    i++;
                } else if (!Character.isSurrogate(c)) {
                    len += 2;
                } // a lone surrogate is encoded as '?': one byte, as counted

            }
        }
        return len;
    }
}
