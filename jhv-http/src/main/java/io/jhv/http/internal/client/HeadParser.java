package io.jhv.http.internal.client;

import io.jhv.http.Headers;
import io.jhv.http.client.MalformedResponseException;

import java.nio.charset.StandardCharsets;

/**
 * Parses a complete response head (status line and header fields, each ending in CRLF) strictly
 * per RFC 9112: {@code HTTP/1.x SP 3DIGIT SP reason}, field names that are tokens with no space
 * before the colon, values without control characters (HTAB allowed), no obs-fold.
 */
final class HeadParser {
    private HeadParser() {}

    static final class Head {
        int minor;
        int status;
        String reason;
        HeaderList headers;
    }

    /** Parses {@code a[start, end)}, where {@code end} is just after the last field's CRLF. */
    static Head parse(byte[] a, int start, int end, int maxHeaders) throws MalformedResponseException {
        Head h = new Head();
        int eol = indexOfCrlf(a, start, end);
        int n = eol - start;
        if (n < 12 || a[start] != 'H' || a[start + 1] != 'T' || a[start + 2] != 'T' || a[start + 3] != 'P'
                || a[start + 4] != '/' || a[start + 5] != '1' || a[start + 6] != '.'
                || (a[start + 7] != '0' && a[start + 7] != '1') || a[start + 8] != ' '
                || !digit(a[start + 9]) || !digit(a[start + 10]) || !digit(a[start + 11])
                || (n > 12 && a[start + 12] != ' ')) {
            throw new MalformedResponseException("malformed status line: " + printable(a, start, Math.min(n, 80)));
        }
        h.minor = a[start + 7] - '0';
        h.status = (a[start + 9] - '0') * 100 + (a[start + 10] - '0') * 10 + (a[start + 11] - '0');
        if (h.status < 100) throw new MalformedResponseException("malformed status code " + h.status);
        if (n > 13) {
            for (int i = start + 13; i < eol; i++) {
                int b = a[i] & 0xff;
                if ((b < 0x20 && b != '\t') || b == 0x7f) throw new MalformedResponseException("control character in the reason phrase");
            }
            h.reason = new String(a, start + 13, eol - start - 13, StandardCharsets.ISO_8859_1);
        } else {
            h.reason = "";
        }
        HeaderList hs = new HeaderList(12);
        int p = eol + 2;
        while (p < end) {
            int e = indexOfCrlf(a, p, end);
            if (hs.size() >= maxHeaders) throw new MalformedResponseException("more than " + maxHeaders + " header fields");
            field(a, p, e, hs);
            p = e + 2;
        }
        h.headers = hs;
        return h;
    }

    /** Parses one field line {@code a[start, end)} (without its CRLF) into {@code out}. */
    static void field(byte[] a, int start, int end, HeaderList out) throws MalformedResponseException {
        if (start < end && (a[start] == ' ' || a[start] == '\t')) throw new MalformedResponseException("obsolete line folding in a header field");
        int colon = -1;
        for (int i = start; i < end; i++) {
            byte b = a[i];
            if (b == ':') {
                colon = i;
                break;
            }
            if (!Headers.isTchar(b & 0xff)) throw new MalformedResponseException("invalid header field name: " + printable(a, start, Math.min(end - start, 80)));
        }
        if (colon <= start) throw new MalformedResponseException("invalid header field: " + printable(a, start, Math.min(end - start, 80)));
        int vs = colon + 1, ve = end;
        while (vs < ve && (a[vs] == ' ' || a[vs] == '\t')) vs++;
        while (ve > vs && (a[ve - 1] == ' ' || a[ve - 1] == '\t')) ve--;
        for (int i = vs; i < ve; i++) {
            int b = a[i] & 0xff;
            if ((b < 0x20 && b != '\t') || b == 0x7f) throw new MalformedResponseException("control character in header field "
                    + new String(a, start, colon - start, StandardCharsets.ISO_8859_1));
        }
        out.add(new String(a, start, colon - start, StandardCharsets.ISO_8859_1), new String(a, vs, ve - vs, StandardCharsets.ISO_8859_1));
    }

    private static int indexOfCrlf(byte[] a, int from, int end) throws MalformedResponseException {
        for (int i = from; i < end; i++) {
            if (a[i] == '\r') {
                if (i + 1 < end && a[i + 1] == '\n') return i;
                throw new MalformedResponseException("bare CR in the response head");
            }
            if (a[i] == '\n') throw new MalformedResponseException("bare LF in the response head (lines must end with CRLF)");
        }
        throw new MalformedResponseException("unterminated line in the response head");
    }

    private static boolean digit(byte b) {
        return b >= '0' && b <= '9';
    }

    static String printable(byte[] a, int off, int len) {
        StringBuilder sb = new StringBuilder("\"");
        for (int i = off; i < off + len; i++) {
            int b = a[i] & 0xff;
            if (b >= 0x20 && b < 0x7f) sb.append((char) b);
            else sb.append(String.format("\\x%02x", b));
        }
        return sb.append('"').toString();
    }
}
