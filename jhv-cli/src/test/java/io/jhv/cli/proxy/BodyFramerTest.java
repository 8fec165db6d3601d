package io.jhv.cli.proxy;

import io.jhv.core.buffer.Buffer;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Where {@link BodyFramer} says a body ends, fed whole and one byte at a time. */
class BodyFramerTest {
    private static final String NEXT = "GET http://other/ HTTP/1.1\r\n\r\n";

    /** The body length the framer finds in {@code body + NEXT}, fed in pieces of {@code step} bytes; -1 if malformed. */
    private static int bodyLength(BodyFramer f, String stream, int step) {
        byte[] b = stream.getBytes(StandardCharsets.ISO_8859_1);
        int total = 0;
        for (int at = 0; at < b.length && !f.isDone(); at += step) {
            Buffer piece = Buffer.wrap(b, at, Math.min(step, b.length - at));
            int before = piece.readableBytes();
            int n = f.consume(piece);
            if (n < 0) return -1;
            assertEquals(before, piece.readableBytes(), "consume does not move the buffer");
            total += n;
        }
        return f.isDone() ? total : -2;
    }

    private static void ends(String body, boolean chunked) {
        for (int step : new int[] {1, 2, 7, 1 << 20}) {
            BodyFramer f = chunked ? BodyFramer.chunked() : BodyFramer.length(body.length());
            assertEquals(body.length(), bodyLength(f, body + NEXT, step), "step " + step + ": " + body);
        }
    }

    @Test
    void contentLengthBodies() {
        ends("", false);
        ends("hello", false);
        ends("x".repeat(100_000), false);
        assertTrue(BodyFramer.length(0).isDone());
    }

    @Test
    void chunkedBodiesWithExtensionsAndTrailers() {
        ends("0\r\n\r\n", true);
        ends("5\r\nhello\r\n0\r\n\r\n", true);
        ends("5;name=value\r\nhello\r\nA\r\n0123456789\r\n0\r\n\r\n", true);
        ends("3\r\nabc\r\n0\r\nX-Checksum: 42\r\nX-Other: y\r\n\r\n", true);
        ends("1a\r\n" + "z".repeat(26) + "\r\n0\r\n\r\n", true);
    }

    @Test
    void malformedChunkedBodiesAreRefused() {
        for (String bad : new String[] {"g\r\nx\r\n0\r\n\r\n", "\r\n", "5\r\nhelloXX0\r\n\r\n", "5\nhello\r\n0\r\n\r\n",
                ";ext\r\n", "3\r\nabc\r\n0\r\nBad\nTrailer\r\n\r\n", "ffffffffffffffffff\r\n"}) {
            assertEquals(-1, bodyLength(BodyFramer.chunked(), bad + NEXT, 1), bad);
        }
        assertEquals(-1, bodyLength(BodyFramer.chunked(), "1" + ";x".repeat(5000) + "\r\n", 100), "an endless size line");
    }

    @Test
    void anUnfinishedBodyIsNotDone() {
        BodyFramer f = BodyFramer.chunked();
        assertEquals(-2, bodyLength(f, "5\r\nhel", 1));
        assertFalse(f.isDone());
    }
}
