package io.jhv.http.internal.http1;

import io.jhv.http.Headers;
import io.jhv.http.HttpException;

/**
 * The HTTP/1.1 request-head parser (RFC 9112), strict where the RFC says MUST.
 *
 * <p>Two steps: {@link #findHead} scans incoming bytes for the empty line that ends the head,
 * resuming where it stopped so input fed one byte at a time is scanned once; {@link #parse} then
 * validates the head and records offsets into the bytes (no strings are made). Both throw
 * {@link HttpException} with the status to answer: 400 (syntax), 414 (request line too long),
 * 431 (headers too large or too many), 501 (unknown method or transfer coding), 505 (version).
 *
 * <p>One parser per connection; loop-thread confined.
 */
public final class Http1Parser {
    private final int maxRequestLine;
    private final int maxHeaderSize;
    private final int maxHeaderCount;

    // scan state, relative to the head's first byte
    private int scanned;
    private int lineStart;
    private boolean requestLineDone;

    /** Bytes allowed in a field value (RFC 9110 5.5): VCHAR, obs-text, SP and HTAB. */
    private static final boolean[] FIELD_VALUE = new boolean[256];

    static {
        for (int b = 0; b < 256; b++) FIELD_VALUE[b] = b == '\t' || (b >= 0x20 && b != 0x7f);
    }

    public Http1Parser(int maxRequestLine, int maxHeaderSize, int maxHeaderCount) {
        this.maxRequestLine = maxRequestLine;
        this.maxHeaderSize = maxHeaderSize;
        this.maxHeaderCount = maxHeaderCount;
    }

    /** Forgets the scan state; call when a new head starts. */
    public void reset() {
        scanned = 0;
        lineStart = 0;
        requestLineDone = false;
    }

    /**
     * Looks for the end of the head in {@code a[start, end)}. Returns the head's length (through the
     * empty line), or -1 if more bytes are needed.
     */
    public int findHead(byte[] a, int start, int end) {
        int i = start + scanned;
        int ls = start + lineStart;
        for (; i < end; i++) {
            if (a[i] != '\n') continue;
            int len = i - ls; // bytes before the LF
            if (!requestLineDone) {
                requestLineDone = true;
                if (len > maxRequestLine) throw new HttpException(414, "request line longer than " + maxRequestLine + " bytes");
            } else if (len == 0 || (len == 1 && a[i - 1] == '\r')) {
                int headLen = i + 1 - start;
                if (headLen > maxHeaderSize) throw new HttpException(431, "request head larger than " + maxHeaderSize + " bytes");
                reset();
                return headLen;
            }
            ls = i + 1;
        }
        scanned = i - start;
        lineStart = ls - start;
        if (!requestLineDone && scanned > maxRequestLine) throw new HttpException(414, "request line longer than " + maxRequestLine + " bytes");
        if (scanned > maxHeaderSize) throw new HttpException(431, "request head larger than " + maxHeaderSize + " bytes");
        return -1;
    }

    /** Parses and validates the head {@code a[start, start+len)} into {@code r}. */
    public void parse(byte[] a, int start, int len, Http1Request r) {
        int end = start + len;
        r.beginHead(a, start, len);
        // ---- request line: method SP request-target SP HTTP-version CRLF
        int i = start;
        while (i < end && Headers.isTchar(a[i])) i++;
        if (i == start) throw new HttpException(400, "missing or invalid method");
        if (i >= end || a[i] != ' ') throw new HttpException(400, "invalid character in method or missing space after it");
        r.setMethod(start, i);
        int ts = ++i;
        while (i < end) {
            int b = a[i] & 0xff;
            if (b == ' ') break;
            if (b <= 0x20 || b == 0x7f) throw new HttpException(400, "invalid character 0x" + Integer.toHexString(b) + " in the request target");
            i++;
        }
        if (i == ts) throw new HttpException(400, "empty request target");
        if (i >= end) throw new HttpException(400, "missing HTTP version");
        int te = i++;
        int vs = i;
        if (end - vs < 10 || a[vs] != 'H' || a[vs + 1] != 'T' || a[vs + 2] != 'T' || a[vs + 3] != 'P' || a[vs + 4] != '/'
                || !digit(a[vs + 5]) || a[vs + 6] != '.' || !digit(a[vs + 7])) {
            throw new HttpException(400, "malformed HTTP version");
        }
        if (a[vs + 8] != '\r' || a[vs + 9] != '\n') throw new HttpException(400, "the request line must end with CRLF right after the version");
        if (a[vs + 5] != '1') throw new HttpException(505, "HTTP version " + (char) a[vs + 5] + "." + (char) a[vs + 7] + " is not supported");
        if (a[vs + 7] != '1' && a[vs + 7] != '0') throw new HttpException(505, "HTTP/1." + (char) a[vs + 7] + " is not supported");
        r.setVersion(a[vs + 7] - '0');
        r.setTarget(ts, te);
        if (r.methodId() == Http1Request.M_UNKNOWN) throw new HttpException(501, "method not implemented: " + new String(a, start, r.methodLength(), java.nio.charset.StandardCharsets.ISO_8859_1));
        // ---- header fields
        i = vs + 10;
        int count = 0;
        while (true) {
            if (i >= end) throw new HttpException(400, "unterminated head");
            if (a[i] == '\r') {
                if (i + 1 < end && a[i + 1] == '\n') break; // the empty line
                throw new HttpException(400, "bare CR in the head");
            }
            if (a[i] == '\n') throw new HttpException(400, "bare LF in the head");
            if (a[i] == ' ' || a[i] == '\t') throw new HttpException(400, "obsolete line folding (obs-fold) is not allowed");
            int ns = i;
            while (i < end && Headers.isTchar(a[i])) i++;
            if (i >= end) throw new HttpException(400, "unterminated header line");
            if (a[i] != ':') {
                if (a[i] == ' ' || a[i] == '\t') throw new HttpException(400, "whitespace between a header name and the colon");
                throw new HttpException(400, "invalid character 0x" + Integer.toHexString(a[i] & 0xff) + " in a header name");
            }
            if (i == ns) throw new HttpException(400, "empty header name");
            int ne = i++;
            while (i < end && (a[i] == ' ' || a[i] == '\t')) i++;
            int vstart = i;
            while (true) {
                if (i >= end) throw new HttpException(400, "unterminated header line");
                int b = a[i] & 0xff;
                if (FIELD_VALUE[b]) { // the common case: one table lookup a byte
                    i++;
                    continue;
                }
                if (b == '\r') {
                    if (i + 1 >= end || a[i + 1] != '\n') throw new HttpException(400, "bare CR in a header value");
                    break;
                }
                if (b == '\n') throw new HttpException(400, "bare LF in a header value");
                throw new HttpException(400, "control character 0x" + Integer.toHexString(b) + " in a header value");
            }
            int vend = i;
            while (vend > vstart && (a[vend - 1] == ' ' || a[vend - 1] == '\t')) vend--;
            if (++count > maxHeaderCount) throw new HttpException(431, "more than " + maxHeaderCount + " header fields");
            r.addHeader(ns, ne, vstart, vend);
            i += 2;
        }
        r.endHead();
    }

    private static boolean digit(byte b) {
        return b >= '0' && b <= '9';
    }
}
