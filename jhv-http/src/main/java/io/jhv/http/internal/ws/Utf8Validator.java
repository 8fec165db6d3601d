package io.jhv.http.internal.ws;

/**
 * Checks UTF-8 (RFC 3629) incrementally, byte range by byte range, so that a text message split
 * over frames (or a sequence split over reads) is checked as it arrives and a bad byte is found at
 * once: overlong forms, surrogates (U+D800-DFFF) and code points above U+10FFFF are refused. Not
 * thread-safe; one per socket.
 */
final class Utf8Validator {
    /** Continuation bytes still expected for the current sequence. */
    private int need;
    /** Bounds of the next continuation byte (narrower right after E0, ED, F0, F4). */
    private int lower = 0x80;
    private int upper = 0xBF;

    /** Feeds {@code len} bytes; false as soon as one cannot be part of valid UTF-8. */
    boolean feed(byte[] a, int off, int len) {
        int i = off;
        int end = off + len;
        while (i < end) {
            if (need == 0) {
                // ASCII runs are the common case: skip them eight bytes at a time.
                while (i + 8 <= end && (Bytes.longAt(a, i) & 0x8080808080808080L) == 0) i += 8;
                while (i < end && a[i] >= 0) i++;
                if (i == end) return true;
                int b = a[i++] & 0xff;
                if (b >= 0xC2 && b <= 0xDF) {
                    need = 1;
                } else if (b >= 0xE0 && b <= 0xEF) {
                    need = 2;
                    if (b == 0xE0) lower = 0xA0;        // overlong below U+0800
                    else if (b == 0xED) upper = 0x9F;   // surrogates
                } else if (b >= 0xF0 && b <= 0xF4) {
                    need = 3;
                    if (b == 0xF0) lower = 0x90;        // overlong below U+10000
                    else if (b == 0xF4) upper = 0x8F;   // above U+10FFFF
                } else {
                    return false;                       // 80-C1 (stray or overlong lead), F5-FF
                }
            } else {
                int b = a[i++] & 0xff;
                if (b < lower || b > upper) return false;
                lower = 0x80;
                upper = 0xBF;
                need--;
            }
        }
        return true;
    }

    /** True when no sequence is left open (a text message may end here). */
    boolean isComplete() {
        return need == 0;
    }

    void reset() {
        need = 0;
        lower = 0x80;
        upper = 0xBF;
    }
}
