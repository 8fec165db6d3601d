package io.jhv.core.buffer;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * {@link Buffer} against a plain byte-array model: random sequences of writes, reads, prepends,
 * numbers in both byte orders, searches and compaction must leave both with the same content.
 */
@Timeout(30)
class BufferTest {

    /** The model: the readable bytes, nothing else. */
    private static final class Model {
        byte[] a = new byte[0];

        int size() { return a.length; }

        void append(byte[] b) {
            byte[] n = Arrays.copyOf(a, a.length + b.length);
            System.arraycopy(b, 0, n, a.length, b.length);
            a = n;
        }

        void prepend(byte[] b) {
            byte[] n = new byte[a.length + b.length];
            System.arraycopy(b, 0, n, 0, b.length);
            System.arraycopy(a, 0, n, b.length, a.length);
            a = n;
        }

        byte[] take(int k) {
            byte[] out = Arrays.copyOf(a, k);
            a = Arrays.copyOfRange(a, k, a.length);
            return out;
        }

        int indexOf(byte[] d, int from) {
            outer:
            for (int i = Math.max(0, from); i + d.length <= a.length; i++) {
                for (int k = 0; k < d.length; k++) if (a[i + k] != d[k]) continue outer;
                return i;
            }
            return -1;
        }
    }

    private static byte[] bytes(Random r, int n) {
        byte[] b = new byte[n];
        // A small alphabet, so searches for delimiters find something.
        for (int i = 0; i < n; i++) b[i] = (byte) "ab\r\n\0\u00ffz".charAt(r.nextInt(7));
        return b;
    }

    private static byte[] num(int size, long v, ByteOrder order) {
        ByteBuffer bb = ByteBuffer.allocate(size).order(order);
        switch (size) {
            case 2 -> bb.putShort((short) v);
            case 4 -> bb.putInt((int) v);
            default -> bb.putLong(v);
        }
        return bb.array();
    }

    private static long decode(byte[] b, ByteOrder order) {
        ByteBuffer bb = ByteBuffer.wrap(b).order(order);
        return switch (b.length) {
            case 2 -> bb.getShort();
            case 4 -> bb.getInt();
            default -> bb.getLong();
        };
    }

    private static void check(Buffer b, Model m, String where) {
        assertEquals(m.size(), b.readableBytes(), where + ": readable");
        assertTrue(b.readerIndex() >= 0 && b.readerIndex() <= b.writerIndex() && b.writerIndex() <= b.capacity(), where + ": " + b);
        assertEquals(b.capacity() - b.writerIndex(), b.writableBytes(), where);
        assertEquals(b.readerIndex(), b.prependableBytes(), where);
        assertEquals(m.size() > 0, b.isReadable(), where);
        assertArrayEquals(m.a, Arrays.copyOfRange(b.array(), b.readerIndex(), b.writerIndex()), where + ": content");
    }

    @Test
    void randomOperationsMatchTheModel() {
        for (long seed = 1; seed <= 40; seed++) {
            runSeed(seed);
        }
    }

    private static void runSeed(long seed) {
        Random r = new Random(seed);
        Buffer b = switch ((int) (seed % 3)) {
            case 0 -> Buffer.allocate(r.nextInt(16)); // tiny: grows early and often
            case 1 -> Buffer.allocate();
            default -> Buffer.wrap(new byte[0]);       // no prepend reserve
        };
        Model m = new Model();
        for (int op = 0; op < 3_000; op++) {
            String where = "seed " + seed + " op " + op;
            int k = r.nextInt(30);
            int avail = m.size();
            try {
                switch (k) {
                    case 0, 1 -> { byte[] x = bytes(r, r.nextInt(300)); b.write(x); m.append(x); }
                    case 2 -> {
                        byte[] x = bytes(r, r.nextInt(50) + 10);
                        int off = r.nextInt(5), len = r.nextInt(x.length - off);
                        b.write(x, off, len);
                        m.append(Arrays.copyOfRange(x, off, off + len));
                    }
                    case 3 -> { int v = r.nextInt(); b.writeByte(v); m.append(new byte[] {(byte) v}); }
                    case 4, 5, 6 -> {
                        int size = new int[] {2, 4, 8}[k - 4];
                        boolean le = r.nextBoolean();
                        long v = r.nextLong();
                        ByteOrder order = le ? ByteOrder.LITTLE_ENDIAN : ByteOrder.BIG_ENDIAN;
                        switch (size) {
                            case 2 -> { if (le) b.writeShortLE((int) v); else b.writeShort((int) v); }
                            case 4 -> { if (le) b.writeIntLE((int) v); else b.writeInt((int) v); }
                            default -> { if (le) b.writeLongLE(v); else b.writeLong(v); }
                        }
                        m.append(num(size, v, order));
                    }
                    case 7 -> {
                        Charset cs = new Charset[] {StandardCharsets.UTF_8, StandardCharsets.ISO_8859_1, StandardCharsets.US_ASCII}[r.nextInt(3)];
                        String s = new String[] {"", "hello", "h\u00e9llo", "\u20ac uro", "\ud83d\ude00!", "\ud800x", "plain ascii text"}[r.nextInt(7)];
                        b.writeString(s, cs);
                        m.append(s.getBytes(cs));
                    }
                    case 8 -> {
                        Buffer other = Buffer.allocate(4);
                        byte[] x = bytes(r, r.nextInt(100));
                        other.write(x);
                        b.write(other);
                        assertEquals(0, other.readableBytes(), where);
                        m.append(x);
                    }
                    case 9 -> {
                        byte[] x = bytes(r, r.nextInt(100));
                        ByteBuffer bb = ByteBuffer.allocate(x.length + 6);
                        bb.position(3);
                        bb.put(x).flip().position(3);
                        b.write(bb);
                        assertFalse(bb.hasRemaining(), where);
                        m.append(x);
                    }
                    case 10 -> {
                        int n = r.nextInt(avail + 2);
                        if (n > avail) {
                            assertThrows(IndexOutOfBoundsException.class, () -> b.readBytes(n), where);
                        } else {
                            assertArrayEquals(m.take(n), b.readBytes(n), where);
                        }
                    }
                    case 11 -> {
                        int n = r.nextInt(avail + 1);
                        byte[] dst = new byte[n + 4];
                        b.readBytes(dst, 2, n);
                        assertArrayEquals(m.take(n), Arrays.copyOfRange(dst, 2, 2 + n), where);
                    }
                    case 12 -> {
                        int n = r.nextInt(avail + 1);
                        b.skip(n);
                        m.take(n);
                    }
                    case 13 -> {
                        if (avail < 1) {
                            assertThrows(IndexOutOfBoundsException.class, b::readByte, where);
                        } else if (r.nextBoolean()) {
                            assertEquals(m.take(1)[0], b.readByte(), where);
                        } else {
                            assertEquals(m.take(1)[0] & 0xff, b.readUnsignedByte(), where);
                        }
                    }
                    case 14, 15, 16 -> {
                        int size = new int[] {2, 4, 8}[k - 14];
                        boolean le = r.nextBoolean();
                        ByteOrder order = le ? ByteOrder.LITTLE_ENDIAN : ByteOrder.BIG_ENDIAN;
                        if (avail < size) {
                            assertThrows(IndexOutOfBoundsException.class, () -> readNum(b, size, le, false), where);
                        } else {
                            boolean unsigned = size == 2 && !le && r.nextBoolean();
                            long want = decode(m.take(size), order);
                            if (unsigned) want &= 0xffff;
                            assertEquals(want, readNum(b, size, le, unsigned), where);
                        }
                    }
                    case 17 -> {
                        int n = r.nextInt(avail + 1);
                        Charset cs = r.nextBoolean() ? StandardCharsets.ISO_8859_1 : StandardCharsets.UTF_8;
                        assertEquals(new String(m.take(n), cs), b.readString(n, cs), where);
                    }
                    case 18, 19 -> {
                        byte[] x = bytes(r, r.nextInt(k == 18 ? 8 : 40));
                        b.prepend(x, 0, x.length);
                        m.prepend(x);
                    }
                    case 20 -> {
                        int size = new int[] {1, 2, 4, 8}[r.nextInt(4)];
                        long v = r.nextLong();
                        switch (size) {
                            case 1 -> { b.prependByte((int) v); m.prepend(new byte[] {(byte) v}); }
                            case 2 -> { b.prependShort((int) v); m.prepend(num(2, v, ByteOrder.BIG_ENDIAN)); }
                            case 4 -> { b.prependInt((int) v); m.prepend(num(4, v, ByteOrder.BIG_ENDIAN)); }
                            default -> { b.prependLong(v); m.prepend(num(8, v, ByteOrder.BIG_ENDIAN)); }
                        }
                    }
                    case 21 -> {
                        if (avail == 0) {
                            assertThrows(IndexOutOfBoundsException.class, () -> b.peek(0), where);
                        } else {
                            int i = r.nextInt(avail);
                            assertEquals(m.a[i], b.peek(i), where);
                            assertEquals(m.a[i] & 0xff, b.peekUnsignedByte(i), where);
                        }
                        if (avail >= 8) {
                            int i = r.nextInt(avail - 7);
                            byte[] w = Arrays.copyOfRange(m.a, i, i + 8);
                            assertEquals((short) decode(Arrays.copyOf(w, 2), ByteOrder.BIG_ENDIAN), b.peekShort(i), where);
                            assertEquals((int) decode(Arrays.copyOf(w, 4), ByteOrder.BIG_ENDIAN), b.peekInt(i), where);
                            assertEquals(decode(w, ByteOrder.BIG_ENDIAN), b.peekLong(i), where);
                        }
                        assertThrows(IndexOutOfBoundsException.class, () -> b.peekInt(avail - 3), where);
                    }
                    case 22, 23 -> {
                        byte[] delim = new byte[][] {{'\r', '\n'}, {'a'}, {'\r', '\n', '\r', '\n'}, {0, (byte) 0xff}, {'z', 'z', 'z'}}[r.nextInt(5)];
                        int from = r.nextInt(avail + 3) - 1;
                        assertEquals(m.indexOf(delim, from), b.indexOf(delim, from), where + " delim " + Arrays.toString(delim) + " from " + from);
                        if (delim.length == 1) assertEquals(m.indexOf(delim, 0), b.indexOf(delim[0]), where);
                    }
                    case 24 -> {
                        int prependable = b.prependableBytes();
                        b.compact();
                        assertTrue(b.prependableBytes() <= Math.max(prependable, Buffer.CHEAP_PREPEND), where);
                    }
                    case 25 -> {
                        int n = r.nextInt(2_000);
                        b.ensureWritable(n);
                        assertTrue(b.writableBytes() >= n, where);
                    }
                    case 26 -> {
                        Buffer c = b.copy();
                        assertArrayEquals(m.a, c.readBytes(), where);
                        ByteBuffer nio = b.nioBuffer();
                        byte[] viaNio = new byte[nio.remaining()];
                        nio.get(viaNio);
                        assertArrayEquals(m.a, viaNio, where);
                        assertEquals(new String(m.a, StandardCharsets.ISO_8859_1), b.toString(StandardCharsets.ISO_8859_1), where);
                    }
                    case 27 -> {
                        // write directly into the array, as a channel read does
                        byte[] x = bytes(r, r.nextInt(64));
                        b.ensureWritable(x.length);
                        System.arraycopy(x, 0, b.array(), b.writerIndex(), x.length);
                        b.advanceWriter(x.length);
                        m.append(x);
                    }
                    case 28 -> {
                        if (r.nextInt(10) == 0) { b.clear(); m.a = new byte[0]; }
                    }
                    default -> {
                        // large write: growth far beyond the current capacity
                        byte[] x = bytes(r, 1_000 + r.nextInt(20_000));
                        b.write(x);
                        m.append(x);
                    }
                }
            } catch (AssertionError e) {
                throw e;
            } catch (RuntimeException e) {
                fail(where + " op kind " + k + ": " + e, e);
            }
            check(b, m, where + " (kind " + k + ")");
            if (m.size() > 200_000) { // keep the model cheap
                b.clear();
                m.a = new byte[0];
            }
        }
    }

    private static long readNum(Buffer b, int size, boolean le, boolean unsigned) {
        return switch (size) {
            case 2 -> unsigned ? b.readUnsignedShort() : le ? b.readShortLE() : b.readShort();
            case 4 -> le ? b.readIntLE() : b.readInt();
            default -> le ? b.readLongLE() : b.readLong();
        };
    }

    @Test
    void growsBeyondItsCapacityKeepingContent() {
        Buffer b = Buffer.allocate(8);
        int cap0 = b.capacity();
        byte[] all = new byte[1 << 20];
        new Random(3).nextBytes(all);
        for (int off = 0; off < all.length; off += 777) b.write(all, off, Math.min(777, all.length - off));
        assertTrue(b.capacity() > cap0);
        assertEquals(all.length, b.readableBytes());
        assertArrayEquals(all, b.readBytes());
        assertEquals(0, b.readableBytes());
        assertEquals(Buffer.CHEAP_PREPEND, b.readerIndex(), "an emptied buffer starts again after the prepend reserve");
    }

    @Test
    void prependIsFreeWithinTheReserveAndShiftsBeyondIt() {
        Buffer b = Buffer.allocate(16);
        b.writeString("payload");
        byte[] before = b.array();
        b.prependInt(7);
        assertTrue(before == b.array(), "a header within the reserve needs no new array");
        assertEquals(7, b.readInt());
        assertEquals("payload", b.readString());
        Buffer w = Buffer.wrap("xyz".getBytes(StandardCharsets.US_ASCII));
        w.prependLong(0x0102030405060708L);
        assertEquals(0x0102030405060708L, w.readLong());
        assertEquals("xyz", w.readString());
    }

    @Test
    void latin1AndAsciiStringsMatchTheJdkEncoder() {
        String s = "A\u00e9\u20ac\ud83d\ude00\ud800Z\u0100";
        for (Charset cs : new Charset[] {StandardCharsets.ISO_8859_1, StandardCharsets.US_ASCII, StandardCharsets.UTF_8}) {
            Buffer b = Buffer.allocate(1);
            b.writeString(s, cs);
            assertArrayEquals(s.getBytes(cs), b.readBytes(), cs.name());
        }
    }

    @Test
    void misuseGetsClearErrors() {
        Buffer b = Buffer.allocate(4);
        b.writeInt(1);
        assertThrows(IllegalArgumentException.class, () -> b.write(b));
        assertThrows(IndexOutOfBoundsException.class, () -> b.readLong());
        assertThrows(IndexOutOfBoundsException.class, () -> b.skip(5));
        assertThrows(IndexOutOfBoundsException.class, () -> b.advanceWriter(b.writableBytes() + 1));
        assertThrows(IndexOutOfBoundsException.class, () -> b.readerIndex(b.writerIndex() + 1));
        assertThrows(IndexOutOfBoundsException.class, () -> b.writerIndex(b.readerIndex() - 1));
        assertThrows(IndexOutOfBoundsException.class, () -> b.prepend(new byte[2], 1, 2));
        assertThrows(IndexOutOfBoundsException.class, () -> b.write(new byte[2], 1, 2));
        assertThrows(IllegalArgumentException.class, () -> Buffer.allocate(-1));
        assertEquals(4, b.readableBytes(), "failed calls change nothing");
    }

    @Test
    void rewrapReusesOneViewForManyFrames() {
        byte[] frames = "onetwothree".getBytes(StandardCharsets.US_ASCII);
        Buffer view = Buffer.wrap(new byte[0]);
        assertEquals("one", view.rewrap(frames, 0, 3).readString());
        assertEquals("two", view.rewrap(frames, 3, 3).readString());
        assertEquals("three", view.rewrap(frames, 6, 5).toString(StandardCharsets.US_ASCII));
        assertThrows(IndexOutOfBoundsException.class, () -> view.rewrap(frames, 8, 5));
    }
}
