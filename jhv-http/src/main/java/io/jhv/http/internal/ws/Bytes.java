package io.jhv.http.internal.ws;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/** Word-at-a-time access to byte arrays (unmasking, the ASCII fast path). */
final class Bytes {
    private static final VarHandle LONG_LE = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle INT_BE = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.BIG_ENDIAN);

    private Bytes() {
    }

    static long longAt(byte[] a, int i) {
        return (long) LONG_LE.get(a, i);
    }

    static int intBE(byte[] a, int i) {
        return (int) INT_BE.get(a, i);
    }

    /**
     * Copies {@code len} bytes from {@code src} to {@code dst} XOR-ing them with the 4-byte mask
     * {@code maskBE} (big-endian: the first mask byte in the top bits), starting at mask byte
     * {@code phase}. Returns the phase after the last byte. {@code src} and {@code dst} may be the
     * same range.
     */
    static int mask(byte[] src, int s, byte[] dst, int d, int len, int maskBE, int phase) {
        int m = Integer.rotateLeft(maskBE, 8 * phase);
        int i = 0;
        if (len >= 8) {
            // the mask as a little-endian long matching the byte order at this phase
            int le = Integer.reverseBytes(m);
            long m8 = (le & 0xffffffffL) | ((long) le << 32);
            for (; i + 8 <= len; i += 8) {
                LONG_LE.set(dst, d + i, (long) LONG_LE.get(src, s + i) ^ m8);
            }
        }
        for (; i < len; i++) {
            dst[d + i] = (byte) (src[s + i] ^ (m >>> 24));
            m = Integer.rotateLeft(m, 8);
        }
        return (phase + len) & 3;
    }
}
