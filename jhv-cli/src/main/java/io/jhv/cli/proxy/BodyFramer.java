package io.jhv.cli.proxy;

import io.jhv.core.buffer.Buffer;

/**
 * Finds where an HTTP/1.1 message body ends in a stream without changing it: a
 * {@code Content-Length} body, or a chunked one through its last chunk and trailer section. A proxy
 * forwards exactly the body's bytes, framing included, and nothing after it (so a second request
 * behind the first never reaches an origin that was asked for the first).
 *
 * <p>Not thread-safe: one per message, on its connection's loop.
 */
final class BodyFramer {
    private static final int MAX_LINE = 8 * 1024;

    private enum State { LENGTH, SIZE, SIZE_LF, DATA, DATA_CR, DATA_LF, TRAILER, TRAILER_LF, DONE }

    private State state;
    private long remaining; // LENGTH, DATA
    private long size;      // SIZE: the size read so far
    private boolean sizeDigits, inExtension;
    private int lineLength;  // SIZE and TRAILER lines, bounded

    private BodyFramer(State state, long remaining) {
        this.state = state;
        this.remaining = remaining;
    }

    static BodyFramer length(long n) {
        return new BodyFramer(n == 0 ? State.DONE : State.LENGTH, n);
    }

    static BodyFramer chunked() {
        return new BodyFramer(State.SIZE, 0);
    }

    boolean isDone() { return state == State.DONE; }

    /**
     * How many of {@code buf}'s readable bytes (from its reader index) belong to the body; the framer
     * advances past them. -1 if the chunked framing is malformed. Does not move {@code buf}'s indexes.
     */
    int consume(Buffer buf) {
        int n = buf.readableBytes();
        int i = 0;
        while (i < n && state != State.DONE) {
            switch (state) {
                case LENGTH, DATA -> {
                    int take = (int) Math.min(remaining, n - i);
                    i += take;
                    remaining -= take;
                    if (remaining == 0) state = state == State.LENGTH ? State.DONE : State.DATA_CR;
                }
                case SIZE -> {
                    byte b = buf.peek(i++);
                    if (++lineLength > MAX_LINE) return -1;
                    if (b == '\r') {
                        if (!sizeDigits) return -1;
                        state = State.SIZE_LF;
                    } else if (inExtension) {
                        if (b == '\n') return -1;
                    } else if (b == ';' || b == ' ' || b == '\t') {
                        if (!sizeDigits) return -1;
                        inExtension = true;
                    } else {
                        int d = Character.digit(b, 16);
                        if (d < 0 || size > (Long.MAX_VALUE >> 4)) return -1;
                        size = size * 16 + d;
                        sizeDigits = true;
                    }
                }
                case SIZE_LF -> {
                    if (buf.peek(i++) != '\n') return -1;
                    lineLength = 0;
                    inExtension = false;
                    sizeDigits = false;
                    if (size == 0) {
                        state = State.TRAILER;
                    } else {
                        remaining = size;
                        state = State.DATA;
                    }
                    size = 0;
                }
                case DATA_CR -> {
                    if (buf.peek(i++) != '\r') return -1;
                    state = State.DATA_LF;
                }
                case DATA_LF -> {
                    if (buf.peek(i++) != '\n') return -1;
                    state = State.SIZE;
                }
                case TRAILER -> {
                    byte b = buf.peek(i++);
                    if (++lineLength > MAX_LINE) return -1;
                    if (b == '\r') state = State.TRAILER_LF;
                    else if (b == '\n') return -1;
                }
                case TRAILER_LF -> {
                    if (buf.peek(i++) != '\n') return -1;
                    // an empty line ends the trailer section; otherwise it was a trailer field
                    state = lineLength == 1 ? State.DONE : State.TRAILER;
                    lineLength = 0;
                }
                default -> throw new IllegalStateException(state.toString());
            }
        }
        return i;
    }
}
