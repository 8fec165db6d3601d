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
     * same range; {@code src} is never written otherwise.
     *
     * <p>Copies first, then unmasks {@code dst} in place: C2 vectorizes an in-place word loop (a
     * load and a store at the same index) but not a copying one between two arrays that might be
     * the same (4 KiB: ~140 ns for the copy and the in-place pass against ~600 ns for a copying
     * word loop, JDK 25).
     */
    static int mask(byte[] src, int s, byte[] dst, int d, int len, int maskBE, int phase) {
        if (src != dst || s != d) System.arraycopy(src, s, dst, d, len);
        return maskInPlace(dst, d, len, maskBE, phase);
    }

    /** XORs {@code a[off, off+len)} with the mask from mask byte {@code phase}; returns the phase after it. */
    static int maskInPlace(byte[] a, int off, int len, int maskBE, int phase) {
        int m = Integer.rotateLeft(maskBE, 8 * phase);
        int words = len & ~7;
        if (words > 0) {
            // the mask as a little-endian long matching the byte order at this phase
            int le = Integer.reverseBytes(m);
            long m8 = (le & 0xffffffffL) | ((long) le << 32);
            for (int i = 0; i < words; i += 8) {
                LONG_LE.set(a, off + i, (long) LONG_LE.get(a, off + i) ^ m8);
            }
        }
        for (int i = words; i < len; i++) {
            a[off + i] = (byte) (a[off + i] ^ (m >>> 24));
            m = Integer.rotateLeft(m, 8);
        }
        return (phase + len) & 3;
    }
}
