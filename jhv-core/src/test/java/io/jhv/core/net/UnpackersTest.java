package io.jhv.core.net;

import io.jhv.core.buffer.Buffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

@Timeout(20)
class UnpackersTest {

    // ---------------------------------------------------------------- a model of each mode

    /** One unpacker and how to encode a random package for it. */
    private interface Mode {
        Unpacker unpacker();

        /** Appends one random package to {@code wire}; returns what the unpacker must deliver for it. */
        byte[] encode(Random rnd, ByteArrayOutputStream wire);
    }

    private record Fixed(int n) implements Mode {
        public Unpacker unpacker() { return Unpackers.fixedLength(n); }

        public byte[] encode(Random rnd, ByteArrayOutputStream wire) {
            byte[] p = randomBytes(rnd, n, 256);
            wire.writeBytes(p);
            return p;
        }
    }

    private record Delim(byte[] delim, int max) implements Mode {
        public Unpacker unpacker() { return Unpackers.delimiter(delim, max); }

        public byte[] encode(Random rnd, ByteArrayOutputStream wire) {
            for (;;) {
                // A small alphabet that includes the delimiter's bytes, so partial matches are common.
                int len = rnd.nextInt(max - delim.length + 1);
                byte[] p = new byte[len + delim.length];
                for (int i = 0; i < len; i++) p[i] = rnd.nextInt(3) == 0 ? delim[rnd.nextInt(delim.length)] : (byte) rnd.nextInt(4);
                System.arraycopy(delim, 0, p, len, delim.length);
                if (Buffer.wrap(p).indexOf(delim) != len) continue; // the delimiter would end it earlier
                wire.writeBytes(p);
                return p;
            }
        }
    }

    /** A length-field layout: {@code offset} random bytes, the field, the body. */
    private record LenField(int offset, int size, boolean le, int adjustment, int strip, int maxBody) implements Mode {
        public Unpacker unpacker() {
            Unpackers.LengthFieldBuilder b = Unpackers.lengthField().offset(offset).fieldSize(size)
                    .byteOrder(le ? ByteOrder.LITTLE_ENDIAN : ByteOrder.BIG_ENDIAN).adjustment(adjustment).strip(strip);
            return b.maxPackageSize(offset + (size == Unpackers.VARINT ? 10 : size) + maxBody).build();
        }

        public byte[] encode(Random rnd, ByteArrayOutputStream wire) {
            int body;
            do {
                body = rnd.nextInt(maxBody + 1);
            } while (body - adjustment < 0);
            long value = body - adjustment;
            ByteArrayOutputStream p = new ByteArrayOutputStream();
            p.writeBytes(randomBytes(rnd, offset, 256));
            if (size == Unpackers.VARINT) {
                long v = value;
                while ((v & ~0x7fL) != 0) {
                    p.write((int) ((v & 0x7f) | 0x80));
                    v >>>= 7;
                }
                p.write((int) v);
            } else {
                byte[] f = new byte[size];
                for (int k = 0; k < size; k++) f[le ? k : size - 1 - k] = (byte) (value >>> (8 * k));
                p.writeBytes(f);
            }
            p.writeBytes(randomBytes(rnd, body, 256));
            byte[] pkg = p.toByteArray();
            wire.writeBytes(pkg);
            return Arrays.copyOfRange(pkg, strip, pkg.length);
        }
    }

    private static final List<Mode> MODES = List.of(
            new Fixed(1), new Fixed(7), new Fixed(300),
            new Delim(new byte[] {'\n'}, 64),
            new Delim("\r\n".getBytes(StandardCharsets.US_ASCII), 200),
            new Delim(new byte[] {1, 2, 1, 2, 3}, 40),              // self-overlapping
            new Delim(new byte[] {0, 1, 2, 3, 0, 1, 2, 3}, 100),    // 8 bytes
            new LenField(0, 4, false, 0, 4, 500),                   // classic: strip the header
            new LenField(2, 2, true, 0, 0, 300),                    // magic, LE, keep the header
            new LenField(0, 4, false, -4, 0, 300),                  // field counts itself
            new LenField(1, 3, false, -4, 4, 300),                  // field counts the whole header
            new LenField(3, 8, true, 0, 2, 300),                    // 8-byte LE, strip part of the prefix
            new LenField(0, 8, false, 5, 8, 300),                   // positive adjustment (a trailer)
            new LenField(0, 1, false, 0, 1, 255),
            new LenField(0, Unpackers.VARINT, false, 0, 0, 20_000), // varint lengths of 1 to 3 bytes
            new LenField(2, Unpackers.VARINT, false, -1, 2, 300));  // varint after a prefix, counts a byte more

    private static byte[] randomBytes(Random rnd, int n, int alphabet) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) b[i] = (byte) rnd.nextInt(alphabet);
        return b;
    }

    /** Feeds {@code wire} in chunks of the given sizes, the way a connection does, and collects the packages. */
    private static List<byte[]> unpack(Unpacker u, byte[] wire, int[] chunks) {
        List<byte[]> out = new ArrayList<>();
        Buffer acc = Buffer.allocate(16);
        int pos = 0;
        for (int c : chunks) {
            acc.write(wire, pos, c);
            pos += c;
            for (;;) {
                int r = acc.readerIndex(), w = acc.writerIndex();
                int len = u.frameLength(acc);
                assertEquals(r, acc.readerIndex(), "frameLength must not consume");
                assertEquals(w, acc.writerIndex(), "frameLength must not write");
                if (len < 0) break;
                assertTrue(len > 0 && len <= acc.readableBytes(), "length " + len + " of " + acc.readableBytes());
                out.add(Arrays.copyOfRange(acc.array(), r + u.strip(), r + len));
                acc.skip(len);
            }
        }
        assertEquals(wire.length, pos);
        assertEquals(0, acc.readableBytes(), "bytes left over after the last package");
        return out;
    }

    private static int[] whole(int n) { return new int[] {n}; }

    private static int[] oneByteAtATime(int n) {
        int[] c = new int[n];
        Arrays.fill(c, 1);
        return c;
    }

    private static int[] randomSplits(Random rnd, int n) {
        List<Integer> c = new ArrayList<>();
        for (int left = n; left > 0; ) {
            int k = Math.min(left, rnd.nextInt(4) == 0 ? 1 + rnd.nextInt(3) : 1 + rnd.nextInt(700));
            c.add(k);
            left -= k;
        }
        return c.stream().mapToInt(Integer::intValue).toArray();
    }

    // ---------------------------------------------------------------- properties

    @Test
    void everyModeGivesTheSamePackagesForAnySplit() {
        for (int m = 0; m < MODES.size(); m++) {
            Mode mode = MODES.get(m);
            Unpacker u = mode.unpacker();
            for (int trial = 0; trial < 40; trial++) {
                long seed = 31L * m + 1_000_003L * trial;
                Random rnd = new Random(seed);
                ByteArrayOutputStream wire = new ByteArrayOutputStream();
                List<byte[]> expected = new ArrayList<>();
                int count = 1 + rnd.nextInt(30);
                for (int i = 0; i < count; i++) expected.add(mode.encode(rnd, wire));
                byte[] bytes = wire.toByteArray();
                String what = mode + " seed " + seed;
                assertPackages(expected, unpack(u, bytes, whole(bytes.length)), what + " whole");
                assertPackages(expected, unpack(u, bytes, randomSplits(rnd, bytes.length)), what + " random splits");
                if (trial % 4 == 0) assertPackages(expected, unpack(u, bytes, oneByteAtATime(bytes.length)), what + " byte by byte");
            }
        }
    }

    private static void assertPackages(List<byte[]> expected, List<byte[]> actual, String what) {
        assertEquals(expected.size(), actual.size(), what + ": package count");
        for (int i = 0; i < expected.size(); i++) assertArrayEquals(expected.get(i), actual.get(i), what + ": package " + i);
    }

    @Test
    void oneSharedUnpackerServesInterleavedStreams() {
        // Stateless: two streams fed alternately through one instance unpack as if fed alone.
        Unpacker u = Unpackers.delimiter("\n", 100);
        Buffer a = Buffer.wrap("ab".getBytes()), b = Buffer.wrap("xyz\n".getBytes());
        assertEquals(-1, u.frameLength(a));
        assertEquals(4, u.frameLength(b));
        a.writeString("c\n");
        assertEquals(4, u.frameLength(a));
    }

    // ---------------------------------------------------------------- limits and malformed input

    private static UnpackException rejects(Unpacker u, byte[] input) {
        return assertThrows(UnpackException.class, () -> u.frameLength(Buffer.wrap(input)));
    }

    @Test
    void lengthFieldRejectsAnOversizePackageFromItsHeaderAlone() {
        Unpacker u = Unpackers.lengthField().fieldSize(4).maxPackageSize(65536).build();
        byte[] header = Buffer.allocate(4).writeInt(70000 - 4).readBytes();
        UnpackException e = rejects(u, header);
        assertEquals("package of 70000 bytes exceeds the maximum 65536", e.getMessage());
        byte[] exactlyMax = Buffer.allocate(4).writeInt(65536 - 4).readBytes();
        assertEquals(-1, u.frameLength(Buffer.wrap(exactlyMax)), "a package of the maximum size is allowed");
    }

    @Test
    void lengthFieldRejectsAbsurdAndNegativeLengths() {
        Unpacker eight = Unpackers.lengthField().fieldSize(8).build();
        byte[] top = {(byte) 0x80, 0, 0, 0, 0, 0, 0, 1};
        assertTrue(rejects(eight, top).getMessage().contains("not a valid length"));
        Unpacker fourUnsigned = Unpackers.lengthField().fieldSize(4).build();
        assertTrue(rejects(fourUnsigned, new byte[] {-1, -1, -1, -1}).getMessage().contains("exceeds the maximum"));

        Unpacker countsHeader = Unpackers.lengthField().fieldSize(2).adjustment(-2).build();
        UnpackException e = rejects(countsHeader, new byte[] {0, 1});
        assertTrue(e.getMessage().contains("negative body length"), e.getMessage());

        Unpacker stripTooMuch = Unpackers.lengthField().fieldSize(1).strip(5).build();
        assertTrue(rejects(stripTooMuch, new byte[] {2, 'a', 'b'}).getMessage().contains("shorter than the 5 bytes to strip"));
        assertEquals(6, stripTooMuch.frameLength(Buffer.wrap(new byte[] {5, 1, 2, 3, 4, 5})));

        Unpacker le3 = Unpackers.lengthField().fieldSize(3).littleEndian().maxPackageSize(1000).build();
        assertEquals("package of 65539 bytes exceeds the maximum 1000", rejects(le3, new byte[] {0, 0, 1}).getMessage());
    }

    @Test
    void varintLengthFieldRejectsMalformedEncodings() {
        Unpacker u = Unpackers.lengthField().varint().maxPackageSize(1 << 20).build();
        byte[] eleven = new byte[11];
        Arrays.fill(eleven, (byte) 0x80);
        assertTrue(rejects(u, eleven).getMessage().contains("longer than 10 bytes"));
        byte[] tenOverflow = new byte[10];
        Arrays.fill(tenOverflow, (byte) 0xff);
        tenOverflow[9] = 0x02;
        assertTrue(rejects(u, tenOverflow).getMessage().contains("does not fit in 64 bits"));
        byte[] tenNegative = tenOverflow.clone();
        tenNegative[9] = 0x01;
        assertTrue(rejects(u, tenNegative).getMessage().contains("not a valid length"));
        // 9 continuation bytes: still waiting for the 10th
        assertEquals(-1, u.frameLength(Buffer.wrap(Arrays.copyOf(eleven, 9))));
        // 300 = 0xAC 0x02; a non-minimal but valid encoding of 1 is accepted too
        assertTrue(rejects(Unpackers.lengthField().varint().maxPackageSize(200).build(), new byte[] {(byte) 0xAC, 0x02})
                .getMessage().startsWith("package of 302 bytes exceeds the maximum 200"));
        assertEquals(4, u.frameLength(Buffer.wrap(new byte[] {(byte) 0x81, (byte) 0x80, 0x00, 'x'})));
    }

    @Test
    void delimiterRejectsAPackageWithNoDelimiterWithinTheMaximum() {
        Unpacker u = Unpackers.delimiter("\r\n", 10);
        assertEquals(-1, u.frameLength(Buffer.wrap("123456789".getBytes())), "9 bytes: may still end");
        assertEquals(10, u.frameLength(Buffer.wrap("12345678\r\nmore".getBytes())), "exactly the maximum");
        UnpackException e = rejects(u, "123456789\r\n".getBytes());
        assertTrue(e.getMessage().contains("exceeds the maximum 10"), e.getMessage());
        // the scan is bounded by the maximum even when far more bytes are buffered
        byte[] big = new byte[1 << 20];
        big[big.length - 1] = '\n';
        assertThrows(UnpackException.class, () -> Unpackers.delimiter("\n", 10).frameLength(Buffer.wrap(big)));
    }

    @Test
    void badSettingsAreRefusedAtBuildTime() {
        assertThrows(IllegalArgumentException.class, () -> Unpackers.fixedLength(0));
        assertThrows(IllegalArgumentException.class, () -> Unpackers.delimiter(new byte[0], 10));
        assertThrows(IllegalArgumentException.class, () -> Unpackers.delimiter(new byte[9], 10));
        assertThrows(IllegalArgumentException.class, () -> Unpackers.delimiter("\r\n", 1));
        assertThrows(IllegalArgumentException.class, () -> Unpackers.lengthField().fieldSize(5));
        assertThrows(IllegalArgumentException.class, () -> Unpackers.lengthField().offset(-1));
        assertThrows(IllegalArgumentException.class, () -> Unpackers.lengthField().strip(-1));
        assertThrows(IllegalArgumentException.class, () -> Unpackers.lengthField().offset(10).fieldSize(4).maxPackageSize(12).build());
        assertThrows(IllegalArgumentException.class, () -> Unpackers.lengthField().strip(20).maxPackageSize(12).build());
    }

    // ---------------------------------------------------------------- over a real connection

    @Test
    void packagesArriveOneByOneOverTcpAndAnOversizeOneClosesWithTheReason() throws Exception {
        List<String> got = new CopyOnWriteArrayList<>();
        CompletableFuture<CloseCause> closed = new CompletableFuture<>();
        Unpacker u = Unpackers.lengthField().fieldSize(2).strip(2).maxPackageSize(1024).build();
        try (TcpServer server = TcpServer.create("127.0.0.1", 0).threads(1).unpacker(u)
                .onMessage((c, body) -> {
                    got.add(body.readString());
                    c.write("ok\n");
                })
                .onClose((c, cause) -> closed.complete(cause))
                .start();
             Socket s = new Socket("127.0.0.1", server.port())) {
            s.setTcpNoDelay(true);
            OutputStream out = s.getOutputStream();
            InputStream in = s.getInputStream();
            Buffer wire = Buffer.allocate(64);
            for (String m : new String[] {"hello", "", "world!"}) wire.writeShort(m.length()).writeString(m);
            byte[] bytes = wire.readBytes();
            for (int i = 0; i < bytes.length; i++) { // split: one byte per write
                out.write(bytes[i]);
                out.flush();
            }
            byte[] acks = new byte[9];
            new DataInputStream(in).readFully(acks);
            assertEquals(List.of("hello", "", "world!"), got);

            out.write(new byte[] {0x7f, (byte) 0xff, 'x'}); // header says 32,769 bytes
            out.flush();
            CloseCause cause = closed.get(5, TimeUnit.SECONDS);
            assertEquals(CloseCause.Kind.ERROR, cause.kind());
            assertTrue(cause.detail().contains("package of 32769 bytes exceeds the maximum 1024"), cause.detail());
            assertTrue(cause.error() instanceof UnpackException);
            s.setSoTimeout(5000);
            try {
                int r;
                do r = in.read(); while (r >= 0);
            } catch (java.net.SocketException reset) {
                // a reset is an acceptable way to see the close too
            } catch (EOFException eof) {
                fail("unexpected " + eof);
            }
            assertEquals(3, got.size(), "nothing delivered after the bad header");
        }
    }

    @Test
    void malformedInputClosesOnlyThatConnection() throws Exception {
        CompletableFuture<CloseCause> closed = new CompletableFuture<>();
        try (TcpServer server = TcpServer.create("127.0.0.1", 0).threads(1)
                .unpacker(Unpackers.lengthField().varint().maxPackageSize(4096).build())
                .onMessage((c, pkg) -> c.write(pkg))
                .onClose((c, cause) -> closed.complete(cause))
                .start();
             Socket bad = new Socket("127.0.0.1", server.port());
             Socket good = new Socket("127.0.0.1", server.port())) {
            byte[] garbage = new byte[16];
            Arrays.fill(garbage, (byte) 0xff);
            bad.getOutputStream().write(garbage);
            CloseCause cause = closed.get(5, TimeUnit.SECONDS);
            assertEquals(CloseCause.Kind.ERROR, cause.kind());
            assertTrue(cause.detail().contains("malformed varint length field"), cause.detail());

            good.getOutputStream().write(new byte[] {3, 'a', 'b', 'c'});
            byte[] echo = new byte[4];
            new DataInputStream(good.getInputStream()).readFully(echo);
            assertArrayEquals(new byte[] {3, 'a', 'b', 'c'}, echo);
        }
    }
}
