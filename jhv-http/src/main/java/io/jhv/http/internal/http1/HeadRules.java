package io.jhv.http.internal.http1;

import io.jhv.http.HttpException;

import java.nio.charset.StandardCharsets;

/**
 * The byte-level rules of an HTTP/1.1 request head (RFC 9110, RFC 9112): Host syntax,
 * Content-Length lists, Transfer-Encoding, Connection tokens, and case-insensitive comparison of
 * head bytes. Static, allocation-free checks over the bytes the head arrived in; each throws an
 * {@link HttpException} with the status to answer. Used by {@link Http1Request#endHead()}.
 */
final class HeadRules {
    private HeadRules() {}

    /** Bytes a Host header may not contain: controls, space, DEL, non-ASCII, and URL delimiters. */
    private static final boolean[] BAD_HOST = new boolean[256];

    static {
        for (int b = 0; b < 256; b++) BAD_HOST[b] = b <= 0x20 || b >= 0x7f || "/\\@?#,".indexOf(b) >= 0;
    }

    static void checkHost(byte[] data, int vs, int ve) {
        byte[] d = data;
        for (int i = vs; i < ve; i++) {
            if (BAD_HOST[d[i] & 0xff]) throw new HttpException(400, "invalid Host header");
        }
    }

    static long parseContentLength(byte[] data, int vs, int ve) {
        // A list of identical values ("5, 5") is allowed by RFC 9110 8.6; anything else is an error.
        long v = -1;
        int i = vs;
        while (i < ve) {
            while (i < ve && (data[i] == ' ' || data[i] == '\t')) i++;
            int ds = i;
            long n = 0;
            while (i < ve && data[i] >= '0' && data[i] <= '9') {
                if (i - ds >= 18) throw new HttpException(400, "Content-Length too large");
                n = n * 10 + (data[i] - '0');
                i++;
            }
            if (i == ds) throw new HttpException(400, "malformed Content-Length");
            while (i < ve && (data[i] == ' ' || data[i] == '\t')) i++;
            if (i < ve) {
                if (data[i] != ',') throw new HttpException(400, "malformed Content-Length");
                i++;
            }
            if (v >= 0 && n != v) throw new HttpException(400, "differing Content-Length values");
            v = n;
        }
        if (v < 0) throw new HttpException(400, "empty Content-Length");
        return v;
    }

    static void checkTransferEncoding(byte[] data, int vs, int ve) {
        // Only "chunked" is implemented; it must be the final (and here the only) coding.
        int i = vs;
        boolean chunkedSeen = false;
        while (i < ve) {
            while (i < ve && (data[i] == ' ' || data[i] == '\t' || data[i] == ',')) i++;
            int s = i;
            while (i < ve && data[i] != ',' && data[i] != ' ' && data[i] != '\t' && data[i] != ';') i++;
            if (i == s) break;
            if (i - s == 7 && regionIs(data, s, i, CHUNKED)) {
                if (chunkedSeen) throw new HttpException(400, "chunked applied twice");
                chunkedSeen = true;
            } else {
                throw new HttpException(501, "transfer coding not implemented: " + new String(data, s, i - s, StandardCharsets.ISO_8859_1));
            }
            while (i < ve && data[i] != ',') i++;
        }
        if (!chunkedSeen) throw new HttpException(400, "Transfer-Encoding without chunked");
    }

    static boolean hasToken(byte[] data, int vs, int ve, String token) {
        int n = token.length();
        int i = vs;
        while (i < ve) {
            while (i < ve && (data[i] == ' ' || data[i] == '\t' || data[i] == ',')) i++;
            int s = i;
            while (i < ve && data[i] != ',') i++;
            int e = i;
            while (e > s && (data[e - 1] == ' ' || data[e - 1] == '\t')) e--;
            if (e - s == n && regionIs(data, s, e, token)) return true;
        }
        return false;
    }

    static final int CONN_CLOSE = 1, CONN_KEEP_ALIVE = 2;

    /** The close and keep-alive tokens of a Connection value, in one pass over it. */
    static int connectionTokens(byte[] data, int vs, int ve) {
        int found = 0;
        int i = vs;
        while (i < ve) {
            while (i < ve && (data[i] == ' ' || data[i] == '\t' || data[i] == ',')) i++;
            int s = i;
            while (i < ve && data[i] != ',') i++;
            int e = i;
            while (e > s && (data[e - 1] == ' ' || data[e - 1] == '\t')) e--;
            int n = e - s;
            if (n == 5 && regionIs(data, s, e, CLOSE)) found |= CONN_CLOSE;
            else if (n == 10 && regionIs(data, s, e, KEEP_ALIVE)) found |= CONN_KEEP_ALIVE;
        }
        return found;
    }

    // Lower-case names and tokens the head rules look for, compared as bytes.
    static final byte[] HOST = "host".getBytes(StandardCharsets.US_ASCII);
    static final byte[] CONTENT_LENGTH = "content-length".getBytes(StandardCharsets.US_ASCII);
    static final byte[] TRANSFER_ENCODING = "transfer-encoding".getBytes(StandardCharsets.US_ASCII);
    static final byte[] CONNECTION = "connection".getBytes(StandardCharsets.US_ASCII);
    static final byte[] EXPECT = "expect".getBytes(StandardCharsets.US_ASCII);
    static final byte[] CONTINUE_100 = "100-continue".getBytes(StandardCharsets.US_ASCII);
    static final byte[] CHUNKED = "chunked".getBytes(StandardCharsets.US_ASCII);
    static final byte[] CLOSE = "close".getBytes(StandardCharsets.US_ASCII);
    static final byte[] KEEP_ALIVE = "keep-alive".getBytes(StandardCharsets.US_ASCII);

    /**
     * ASCII case-insensitive compare of data[s, e) with lower-case letters, digits and '-': b | 0x20
     * folds A-Z onto a-z, and no other byte a valid head can hold folds onto those.
     */
    static boolean regionIs(byte[] data, int s, int e, byte[] lower) {
        int n = lower.length;
        if (e - s != n) return false;
        byte[] d = data;
        for (int i = 0; i < n; i++) if ((d[s + i] | 0x20) != lower[i]) return false;
        return true;
    }

    static boolean regionIs(byte[] data, int s, int e, String lower) {
        if (e - s != lower.length()) return false;
        for (int i = 0; i < lower.length(); i++) {
            int b = data[s + i];
            if (b >= 'A' && b <= 'Z') b += 32;
            if (b != lower.charAt(i)) return false;
        }
        return true;
    }

    static boolean startsWithIgnoreCase(byte[] a, int s, int e, String p) {
        if (e - s < p.length()) return false;
        for (int i = 0; i < p.length(); i++) {
            int b = a[s + i];
            if (b >= 'A' && b <= 'Z') b += 32;
            if (b != p.charAt(i)) return false;
        }
        return true;
    }

    static int indexOf(byte[] a, int s, int e, byte b) {
        for (int i = s; i < e; i++) if (a[i] == b) return i;
        return -1;
    }
}
