package io.jhv.http.internal.client;

import io.jhv.http.client.MalformedResponseException;

import java.util.zip.CRC32;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;

/**
 * Streaming {@code Content-Encoding} decoder for {@code gzip} (RFC 1952: header, raw deflate, CRC
 * and size checked) and {@code deflate} (zlib, or raw deflate as some servers send). Input of any
 * split; output in pieces of at most one scratch array, so memory stays bounded whatever the
 * compression ratio (the consumer enforces its own total limit).
 *
 * <p>Loop-thread confined, like the exchange that owns it. {@link #close()} frees the inflater.
 */
final class BodyDecoder {
    /** Receives decoded bytes (valid during the call only). */
    interface Output {
        /** Takes decoded bytes; false to stop decoding for now (the reader paused). */
        boolean decoded(byte[] b, int off, int len) throws java.io.IOException;
    }

    private static final int FHCRC = 2, FEXTRA = 4, FNAME = 8, FCOMMENT = 16;

    private final boolean gzip;
    private Inflater inflater;
    private final byte[] out = new byte[16 << 10];
    private final CRC32 crc;
    // gzip header/trailer parsing
    private final byte[] hdr = new byte[10];
    private int hdrLen;
    private int flags = -1;
    private int extraLeft = -1;
    private boolean inName, inComment;
    private int hcrcLeft;
    private boolean headerDone;
    private final byte[] trailer = new byte[8];
    private int trailerLen;
    private long total;
    private boolean finished;
    private boolean deflateDetected;
    private boolean anyInput;
    private int members; // gzip members completed

    private BodyDecoder(boolean gzip) {
        this.gzip = gzip;
        this.crc = gzip ? new CRC32() : null;
        if (gzip) inflater = new Inflater(true);
        else headerDone = true;
    }

    /** A decoder for {@code encoding}, or null when it is identity; throws for unknown codings. */
    static BodyDecoder forEncoding(String encoding) throws MalformedResponseException {
        if (encoding == null) return null;
        String e = encoding.trim().toLowerCase(java.util.Locale.ROOT);
        if (e.isEmpty() || e.equals("identity")) return null;
        if (e.equals("gzip") || e.equals("x-gzip")) return new BodyDecoder(true);
        if (e.equals("deflate")) return new BodyDecoder(false);
        throw new MalformedResponseException("unsupported Content-Encoding: " + encoding + " (the client decodes gzip and deflate)");
    }

    /**
     * Decodes {@code len} bytes at {@code off}; returns how many were consumed: all of them, or
     * fewer when {@code sink} asked to stop (the caller feeds the rest again later).
     */
    int feed(byte[] a, int off, int len, Output sink) throws java.io.IOException {
        if (len > 0) anyInput = true;
        int end = off + len;
        int i = off;
        while (i < end) {
            if (finished) {
                if (gzip && trailerLen < 8) {
                    int n = Math.min(8 - trailerLen, end - i);
                    System.arraycopy(a, i, trailer, trailerLen, n);
                    trailerLen += n;
                    i += n;
                    if (trailerLen == 8) checkTrailer();
                    continue;
                }
                if (gzip) {
                    nextMember(); // RFC 1952 2.2: members follow one another (cat a.gz b.gz)
                    continue;
                }
                return len; // bytes after the end of a deflate stream: ignored
            }
            if (!headerDone) {
                i = gzipHeader(a, i, end);
                continue;
            }
            if (!deflateDetected && !gzip) {
                // zlib starts with CMF/FLG where (CMF*256+FLG) % 31 == 0 and CM = 8; else raw deflate
                int cmf = a[i] & 0xff;
                boolean zlib = (cmf & 0x0f) == 8 && (i + 1 >= end || ((cmf << 8) | (a[i + 1] & 0xff)) % 31 == 0);
                inflater = new Inflater(!zlib);
                deflateDetected = true;
            }
            inflater.setInput(a, i, end - i);
            boolean more = inflateAll(sink);
            i = end - inflater.getRemaining();
            if (!more) return i - off;
        }
        return len;
    }

    /** The next gzip member: a header, deflate data and a trailer of its own. */
    private void nextMember() {
        members++;
        hdrLen = 0;
        flags = -1;
        extraLeft = -1;
        inName = inComment = false;
        hcrcLeft = 0;
        headerDone = false;
        trailerLen = 0;
        total = 0;
        crc.reset();
        inflater.reset();
        finished = false;
    }

    /** Inflates the input set; false when the sink asked to stop (input may remain). */
    private boolean inflateAll(Output sink) throws java.io.IOException {
        try {
            while (true) {
                int n = inflater.inflate(out);
                boolean more = true;
                if (n > 0) {
                    if (crc != null) crc.update(out, 0, n);
                    total += n;
                    more = sink.decoded(out, 0, n);
                }
                if (inflater.finished()) {
                    finished = true;
                    return more;
                }
                if (!more) return false;
                if (n == 0) {
                    if (inflater.needsDictionary()) throw new MalformedResponseException("deflate body needs a preset dictionary");
                    if (inflater.needsInput()) return true;
                }
            }
        } catch (DataFormatException e) {
            throw new MalformedResponseException("corrupt " + (gzip ? "gzip" : "deflate") + " body: " + e.getMessage());
        }
    }

    private int gzipHeader(byte[] a, int i, int end) throws MalformedResponseException {
        if (hdrLen < 10) {
            int n = Math.min(10 - hdrLen, end - i);
            System.arraycopy(a, i, hdr, hdrLen, n);
            hdrLen += n;
            i += n;
            if (hdrLen < 10) return i;
            if ((hdr[0] & 0xff) != 0x1f || (hdr[1] & 0xff) != 0x8b) {
                throw new MalformedResponseException(members == 0 ? "not a gzip body (bad magic)"
                        : "bytes after gzip member " + members + " that are not another gzip member");
            }
            if (hdr[2] != 8) throw new MalformedResponseException("gzip body with an unknown compression method " + hdr[2]);
            flags = hdr[3] & 0xff;
            if ((flags & FEXTRA) != 0) extraLeft = -2; // length follows
            inName = (flags & FNAME) != 0;
            inComment = (flags & FCOMMENT) != 0;
            hcrcLeft = (flags & FHCRC) != 0 ? 2 : 0;
        }
        while (i < end) {
            if (extraLeft == -2 || extraLeft == -3) {
                // two length bytes, little-endian
                if (extraLeft == -2) {
                    hdr[0] = a[i++];
                    extraLeft = -3;
                } else {
                    extraLeft = (hdr[0] & 0xff) | ((a[i++] & 0xff) << 8);
                }
            } else if (extraLeft > 0) {
                int n = Math.min(extraLeft, end - i);
                i += n;
                extraLeft -= n;
            } else if (inName) {
                if (a[i++] == 0) inName = false;
            } else if (inComment) {
                if (a[i++] == 0) inComment = false;
            } else if (hcrcLeft > 0) {
                i++;
                hcrcLeft--;
            } else {
                headerDone = true;
                return i;
            }
        }
        if (extraLeft <= 0 && extraLeft > -2 && !inName && !inComment && hcrcLeft == 0) headerDone = true;
        return i;
    }

    private void checkTrailer() throws MalformedResponseException {
        long c = (trailer[0] & 0xffL) | (trailer[1] & 0xffL) << 8 | (trailer[2] & 0xffL) << 16 | (trailer[3] & 0xffL) << 24;
        long size = (trailer[4] & 0xffL) | (trailer[5] & 0xffL) << 8 | (trailer[6] & 0xffL) << 16 | (trailer[7] & 0xffL) << 24;
        if (c != crc.getValue()) throw new MalformedResponseException("gzip body fails its CRC check");
        if (size != (total & 0xffffffffL)) throw new MalformedResponseException("gzip body size does not match its trailer");
    }

    /** Checks the stream ended properly when the body ends. */
    void finish() throws MalformedResponseException {
        if (!anyInput) return; // an empty body: nothing was encoded
        if (!finished || (gzip && trailerLen < 8)) {
            throw new MalformedResponseException("truncated " + (gzip ? "gzip" : "deflate") + " body");
        }
    }

    void close() {
        if (inflater != null) inflater.end();
    }
}
