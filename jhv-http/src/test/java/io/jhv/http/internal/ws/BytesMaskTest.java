package io.jhv.http.internal.ws;

import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** {@link Bytes#mask} against a byte-at-a-time reference: every phase, length, offset and aliasing. */
class BytesMaskTest {
    private static final int KEY = 0x9A3C_57E1;

    /** RFC 6455 5.3: octet i of the result is octet i of the input XOR octet (i mod 4) of the key. */
    private static byte[] reference(byte[] src, int s, int len, int phase) {
        byte[] out = new byte[len];
        for (int i = 0; i < len; i++) {
            int k = (phase + i) & 3;
            out[i] = (byte) (src[s + i] ^ (KEY >>> (24 - 8 * k)));
        }
        return out;
    }

    @Test
    void copyingMaskMatchesTheReferenceAndLeavesTheSourceAlone() {
        SplittableRandom rnd = new SplittableRandom(7);
        byte[] src = new byte[5000];
        rnd.nextBytes(src);
        byte[] before = src.clone();
        for (int len : new int[] {0, 1, 3, 4, 7, 8, 9, 15, 16, 17, 63, 64, 65, 4096, 4099}) {
            for (int phase = 0; phase < 4; phase++) {
                for (int s = 0; s < 3; s++) {
                    for (int d = 0; d < 3; d++) {
                        byte[] dst = new byte[len + 8];
                        Arrays.fill(dst, (byte) 0x55);
                        int next = Bytes.mask(src, s, dst, d, len, KEY, phase);
                        assertEquals((phase + len) & 3, next, "phase after " + len + " bytes from phase " + phase);
                        assertArrayEquals(reference(src, s, len, phase), Arrays.copyOfRange(dst, d, d + len),
                                "len " + len + " phase " + phase + " s " + s + " d " + d);
                        for (int i = 0; i < d; i++) assertEquals((byte) 0x55, dst[i], "byte before the range written");
                        for (int i = d + len; i < dst.length; i++) assertEquals((byte) 0x55, dst[i], "byte after the range written");
                    }
                }
            }
        }
        assertArrayEquals(before, src, "the source must not be written");
    }

    @Test
    void inPlaceAndOverlappingRangesMatchTheReference() {
        SplittableRandom rnd = new SplittableRandom(11);
        for (int len : new int[] {1, 8, 13, 64, 1000, 4096}) {
            for (int phase = 0; phase < 4; phase++) {
                byte[] a = new byte[len + 16];
                rnd.nextBytes(a);
                byte[] want = reference(a, 5, len, phase);
                Bytes.mask(a, 5, a, 5, len, KEY, phase);
                assertArrayEquals(want, Arrays.copyOfRange(a, 5, 5 + len), "in place, len " + len);

                for (int shift : new int[] {-3, 3, -8, 8}) { // the same array, overlapping ranges
                    rnd.nextBytes(a);
                    want = reference(a, 8, len, phase);
                    Bytes.mask(a, 8, a, 8 + shift, len, KEY, phase);
                    assertArrayEquals(want, Arrays.copyOfRange(a, 8 + shift, 8 + shift + len), "overlap " + shift + ", len " + len);
                }
            }
        }
    }

    @Test
    void maskingTwiceRestoresTheInputAcrossSplitChunks() {
        byte[] data = new byte[10_000];
        new SplittableRandom(3).nextBytes(data);
        byte[] work = data.clone();
        int phase = 0;
        for (int off = 0, step = 1; off < work.length; off += step, step = step * 3 % 97 + 1) { // uneven chunks carry the phase
            int n = Math.min(step, work.length - off);
            phase = Bytes.maskInPlace(work, off, n, KEY, phase);
        }
        assertArrayEquals(reference(data, 0, data.length, 0), work);
        Bytes.mask(work, 0, work, 0, work.length, KEY, 0);
        assertArrayEquals(data, work);
    }
}
