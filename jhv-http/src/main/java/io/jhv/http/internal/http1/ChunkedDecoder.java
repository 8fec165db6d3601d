package io.jhv.http.internal.http1;

import io.jhv.http.HttpException;

/**
 * Decodes a chunked request body (RFC 9112 7.1) incrementally: chunk extensions are accepted and
 * ignored, trailer fields are accepted (validated, not kept). Any split of the input gives the same
 * result. Invalid chunk sizes and malformed framing are a 400.
 */
final class ChunkedDecoder {
    /** Receives the decoded data. */
    interface Sink {
        void data(byte[] b, int off, int len);
    }

    private enum S { SIZE, EXT, SIZE_LF, DATA, DATA_CR, DATA_LF, TRAILER_START, TRAILER_LINE, TRAILER_LF, END_LF, DONE }

    private static final int MAX_LINE = 4096;
    private S state = S.SIZE;
    private long remaining;
    private int sizeDigits;
    private int lineLen;
    private int trailerBytes;
    private final int maxTrailer;

    ChunkedDecoder(int maxTrailer) {
        this.maxTrailer = maxTrailer;
    }

    void reset() {
        state = S.SIZE;
        remaining = 0;
        sizeDigits = 0;
        lineLen = 0;
        trailerBytes = 0;
    }

    boolean done() { return state == S.DONE; }

    /** Decodes from {@code a[off, end)}; returns the bytes consumed (stops after the last chunk). */
    int feed(byte[] a, int off, int end, Sink sink) {
        int i = off;
        while (i < end && state != S.DONE) {
            byte b = a[i];
            switch (state) {
                case SIZE -> {
                    int d = Character.digit(b, 16);
                    if (d >= 0) {
                        if (++sizeDigits > 15) throw new HttpException(400, "chunk size too large");
                        remaining = (remaining << 4) | d;
                        i++;
                    } else if (sizeDigits == 0) {
                        throw new HttpException(400, "invalid chunk size");
                    } else if (b == ';' || b == ' ' || b == '\t') {
                        state = S.EXT;
                        lineLen = 0;
                        i++;
                    } else if (b == '\r') {
                        state = S.SIZE_LF;
                        i++;
                    } else {
                        throw new HttpException(400, "invalid chunk size");
                    }
                }
                case EXT -> {
                    if (b == '\r') {
                        state = S.SIZE_LF;
                    } else if ((b < 0x20 && b != '\t') || b == 0x7f) {
                        throw new HttpException(400, "invalid character in a chunk extension");
                    } else if (++lineLen > MAX_LINE) {
                        throw new HttpException(400, "chunk extension too long");
                    }
                    i++;
                }
                case SIZE_LF -> {
                    if (b != '\n') throw new HttpException(400, "chunk size line must end with CRLF");
                    i++;
                    sizeDigits = 0;
                    if (remaining == 0) {
                        state = S.TRAILER_START;
                    } else {
                        state = S.DATA;
                    }
                }
                case DATA -> {
                    int n = (int) Math.min(remaining, end - i);
                    sink.data(a, i, n);
                    i += n;
                    remaining -= n;
                    if (remaining == 0) state = S.DATA_CR;
                }
                case DATA_CR -> {
                    if (b != '\r') throw new HttpException(400, "chunk data not followed by CRLF");
                    state = S.DATA_LF;
                    i++;
                }
                case DATA_LF -> {
                    if (b != '\n') throw new HttpException(400, "chunk data not followed by CRLF");
                    state = S.SIZE;
                    i++;
                }
                case TRAILER_START -> {
                    if (b == '\r') {
                        state = S.END_LF;
                    } else if (b == ' ' || b == '\t' || b == ':' || !io.jhv.http.Headers.isTchar(b)) {
                        throw new HttpException(400, "invalid trailer field");
                    } else {
                        state = S.TRAILER_LINE;
                        lineLen = 1;
                    }
                    trailer();
                    i++;
                }
                case TRAILER_LINE -> {
                    if (b == '\r') {
                        state = S.TRAILER_LF;
                    } else if (b == '\n' || b == 0 || (b < 0x20 && b != '\t') || b == 0x7f) {
                        throw new HttpException(400, "invalid character in a trailer field");
                    }
                    trailer();
                    i++;
                }
                case TRAILER_LF -> {
                    if (b != '\n') throw new HttpException(400, "bare CR in a trailer field");
                    state = S.TRAILER_START;
                    trailer();
                    i++;
                }
                case END_LF -> {
                    if (b != '\n') throw new HttpException(400, "chunked body must end with CRLF");
                    state = S.DONE;
                    i++;
                }
                default -> throw new IllegalStateException(state.name());
            }
        }
        return i - off;
    }

    private void trailer() {
        if (++trailerBytes > maxTrailer) throw new HttpException(431, "trailer fields larger than " + maxTrailer + " bytes");
    }
}
