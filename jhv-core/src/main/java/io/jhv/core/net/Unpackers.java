package io.jhv.core.net;

import io.jhv.core.buffer.Buffer;

import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.Objects;

/**
 * The standard {@link Unpacker}s (libhv's {@code unpack_setting_t} modes): fixed length, delimiter
 * and length field.
 *
 * <p>Every unpacker made here is immutable and may be shared by any number of connections and
 * loops. Each enforces a maximum package size: a package above it, or a header that cannot be a
 * valid one, makes {@link Unpacker#frameLength} throw an {@link UnpackException} whose message says
 * why, and the connection closes with {@link CloseCause.Kind#ERROR}.
 *
 * {@snippet :
 * // 2-byte big-endian length that counts only the body; deliver the body without the header
 * TcpServer.create(7000)
 *     .unpacker(Unpackers.lengthField().fieldSize(2).strip(2).maxPackageSize(64 * 1024).build())
 *     .onMessage((conn, body) -> conn.write(body));
 * }
 */
public final class Unpackers {
    /** The maximum package size when none is given: 2 MiB (libhv's default). */
    public static final int DEFAULT_MAX_PACKAGE_SIZE = 2 << 20;

    /** {@link LengthFieldBuilder#fieldSize(int)} value for a protobuf-style base-128 varint field. */
    public static final int VARINT = 0;

    /** A varint length is at most 10 bytes (64 bits in 7-bit groups), as in protobuf. */
    private static final int MAX_VARINT_BYTES = 10;

    private Unpackers() {}

    /**
     * Packages of exactly {@code length} bytes each (the length is also the maximum package size).
     *
     * @throws IllegalArgumentException if {@code length < 1}
     */
    public static Unpacker fixedLength(int length) {
        if (length < 1) throw new IllegalArgumentException("fixed package length must be >= 1: " + length);
        return new FixedLength(length);
    }

    /**
     * Packages that end with {@code delimiter} (1 to 8 bytes); the delivered package includes the
     * delimiter. A package of more than {@code maxPackageSize} bytes, delimiter included, is rejected.
     *
     * <p>The unpacker is stateless, so when a package arrives in many small reads the search starts
     * again at the package's first byte on each read. The search never looks beyond
     * {@code maxPackageSize} bytes, which bounds that cost; choose the maximum with it in mind.
     *
     * @throws IllegalArgumentException if the delimiter is empty or longer than 8 bytes, or the
     *                                  maximum is smaller than the delimiter
     */
    public static Unpacker delimiter(byte[] delimiter, int maxPackageSize) {
        Objects.requireNonNull(delimiter, "delimiter");
        if (delimiter.length < 1 || delimiter.length > 8) {
            throw new IllegalArgumentException("delimiter must be 1 to 8 bytes: " + delimiter.length);
        }
        if (maxPackageSize < delimiter.length) {
            throw new IllegalArgumentException("maxPackageSize " + maxPackageSize + " is smaller than the delimiter");
        }
        return new Delimiter(delimiter.clone(), maxPackageSize);
    }

    /** {@link #delimiter(byte[], int)} with the delimiter given as UTF-8 text, for example {@code "\r\n"}. */
    public static Unpacker delimiter(String delimiter, int maxPackageSize) {
        return delimiter(delimiter.getBytes(java.nio.charset.StandardCharsets.UTF_8), maxPackageSize);
    }

    /** A builder for a length-field unpacker; see {@link LengthFieldBuilder}. */
    public static LengthFieldBuilder lengthField() {
        return new LengthFieldBuilder();
    }

    // ---------------------------------------------------------------- fixed length

    private static final class FixedLength implements Unpacker {
        private final int length;

        FixedLength(int length) { this.length = length; }

        @Override
        public int frameLength(Buffer in) {
            return in.readableBytes() >= length ? length : -1;
        }

        @Override
        public String toString() { return "fixedLength(" + length + ")"; }
    }

    // ---------------------------------------------------------------- delimiter

    private static final class Delimiter implements Unpacker {
        private final byte[] delim;
        private final int max;

        Delimiter(byte[] delim, int max) {
            this.delim = delim;
            this.max = max;
        }

        @Override
        public int frameLength(Buffer in) {
            byte[] a = in.array();
            int start = in.readerIndex();
            int avail = in.readableBytes();
            int window = Math.min(avail, max); // never scan past the largest allowed package
            int n = delim.length;
            byte first = delim[0];
            int last = start + window - n; // last index a delimiter may start at
            outer:
            for (int i = start; i <= last; i++) {
                if (a[i] != first) continue;
                for (int k = 1; k < n; k++) if (a[i + k] != delim[k]) continue outer;
                return i - start + n;
            }
            if (avail >= max) {
                throw new UnpackException("package of more than " + max + " bytes exceeds the maximum " + max
                        + " (no delimiter in the first " + max + " bytes)");
            }
            return -1;
        }

        @Override
        public String toString() {
            return "delimiter(" + Arrays.toString(delim) + ", max " + max + ")";
        }
    }

    // ---------------------------------------------------------------- length field

    /**
     * Settings of a length-field unpacker. A package is:
     * <pre>
     * +------------------+--------------+--------------------------------------+
     * | offset bytes     | length field | body: field value + adjustment bytes |
     * +------------------+--------------+--------------------------------------+
     * |&lt;-------- header (offset + field size) ------&gt;|
     * |&lt;-- strip --&gt;| delivered ...................................................|
     * </pre>
     * The package is {@code offset + fieldSize + value + adjustment} bytes; the first {@code strip}
     * bytes are removed before delivery. When the field counts the header too, the adjustment is
     * minus the header size (e.g. {@code -4} for a 4-byte field at offset 0).
     *
     * <p>The builder is not thread-safe; what {@link #build()} returns is immutable and shareable.
     */
    public static final class LengthFieldBuilder {
        private int offset;
        private int fieldSize = 4;
        private ByteOrder order = ByteOrder.BIG_ENDIAN;
        private int adjustment;
        private int strip;
        private int max = DEFAULT_MAX_PACKAGE_SIZE;

        private LengthFieldBuilder() {}

        /** Bytes before the length field (a magic number, a type byte...). Default 0. */
        public LengthFieldBuilder offset(int bytes) {
            if (bytes < 0) throw new IllegalArgumentException("field offset < 0: " + bytes);
            this.offset = bytes;
            return this;
        }

        /** The length field's size: 1, 2, 3, 4 or 8 bytes, or {@link Unpackers#VARINT}. Default 4. */
        public LengthFieldBuilder fieldSize(int bytes) {
            if (bytes != VARINT && bytes != 1 && bytes != 2 && bytes != 3 && bytes != 4 && bytes != 8) {
                throw new IllegalArgumentException("length field size must be 1, 2, 3, 4, 8 or VARINT: " + bytes);
            }
            this.fieldSize = bytes;
            return this;
        }

        /** A protobuf-style base-128 varint length field (least significant group first), at most 10 bytes. */
        public LengthFieldBuilder varint() {
            return fieldSize(VARINT);
        }

        /** Byte order of a fixed-size field (default big endian; ignored for varints). */
        public LengthFieldBuilder byteOrder(ByteOrder order) {
            this.order = Objects.requireNonNull(order, "order");
            return this;
        }

        /** Shorthand for {@code byteOrder(ByteOrder.LITTLE_ENDIAN)}. */
        public LengthFieldBuilder littleEndian() {
            return byteOrder(ByteOrder.LITTLE_ENDIAN);
        }

        /** Added to the field value to get the body length (negative when the field counts the header). */
        public LengthFieldBuilder adjustment(int bytes) {
            this.adjustment = bytes;
            return this;
        }

        /** Bytes removed from the front of each package before delivery (e.g. the header). Default 0. */
        public LengthFieldBuilder strip(int bytes) {
            if (bytes < 0) throw new IllegalArgumentException("bytes to strip < 0: " + bytes);
            this.strip = bytes;
            return this;
        }

        /** The largest package, header included (default {@link Unpackers#DEFAULT_MAX_PACKAGE_SIZE}). */
        public LengthFieldBuilder maxPackageSize(int bytes) {
            if (bytes < 1) throw new IllegalArgumentException("maxPackageSize < 1: " + bytes);
            this.max = bytes;
            return this;
        }

        /**
         * The unpacker.
         *
         * @throws IllegalArgumentException if the header or the bytes to strip cannot fit in the maximum
         */
        public Unpacker build() {
            long headerMin = (long) offset + (fieldSize == VARINT ? 1 : fieldSize);
            if (headerMin > max) {
                throw new IllegalArgumentException("header of " + headerMin + " bytes does not fit the maximum package size " + max);
            }
            if (strip > max) throw new IllegalArgumentException("bytes to strip " + strip + " exceed the maximum package size " + max);
            return new LengthField(offset, fieldSize, order == ByteOrder.LITTLE_ENDIAN, adjustment, strip, max);
        }
    }

    private static final class LengthField implements Unpacker {
        private final int offset;
        private final int fieldSize; // VARINT (0) or 1..8
        private final boolean littleEndian;
        private final int adjustment;
        private final int strip;
        private final int max;

        LengthField(int offset, int fieldSize, boolean littleEndian, int adjustment, int strip, int max) {
            this.offset = offset;
            this.fieldSize = fieldSize;
            this.littleEndian = littleEndian;
            this.adjustment = adjustment;
            this.strip = strip;
            this.max = max;
        }

        @Override
        public int strip() { return strip; }

        @Override
        public int frameLength(Buffer in) {
            byte[] a = in.array();
            int r = in.readerIndex();
            int avail = in.readableBytes();
            long value;
            int headerEnd;
            if (fieldSize == VARINT) {
                value = 0;
                int i = 0;
                for (;;) {
                    if (offset + i >= avail) return -1;
                    int b = a[r + offset + i] & 0xff;
                    if (i == MAX_VARINT_BYTES - 1 && b > 1) {
                        // the 10th group may only hold bit 63; a continuation bit means an 11th byte
                        throw new UnpackException((b & 0x80) != 0
                                ? "malformed varint length field: longer than " + MAX_VARINT_BYTES + " bytes"
                                : "malformed varint length field: value does not fit in 64 bits");
                    }
                    value |= (long) (b & 0x7f) << (7 * i);
                    i++;
                    if ((b & 0x80) == 0) break;
                }
                headerEnd = offset + i;
            } else {
                headerEnd = offset + fieldSize;
                if (avail < headerEnd) return -1;
                value = readUnsigned(a, r + offset);
            }
            if (value < 0) {
                throw new UnpackException("malformed length field: value " + Long.toUnsignedString(value) + " is not a valid length");
            }
            long body = value + adjustment; // value < 2^63 and |adjustment| < 2^31: no overflow
            if (body < 0) {
                throw new UnpackException("malformed length field: value " + value + " with adjustment " + adjustment
                        + " gives a negative body length " + body);
            }
            long total = headerEnd + body;
            if (total < 0 || total > max) {
                throw new UnpackException("package of " + (total < 0 ? "more than " + Long.MAX_VALUE : total)
                        + " bytes exceeds the maximum " + max);
            }
            if (total < strip) {
                throw new UnpackException("malformed length field: package of " + total + " bytes is shorter than the "
                        + strip + " bytes to strip");
            }
            return avail >= total ? (int) total : -1;
        }

        private long readUnsigned(byte[] a, int at) {
            long v = 0;
            int n = fieldSize;
            if (littleEndian) {
                for (int k = n - 1; k >= 0; k--) v = (v << 8) | (a[at + k] & 0xff);
            } else {
                for (int k = 0; k < n; k++) v = (v << 8) | (a[at + k] & 0xff);
            }
            return v;
        }

        @Override
        public String toString() {
            return "lengthField(offset " + offset + ", size " + (fieldSize == VARINT ? "varint" : fieldSize)
                    + (fieldSize > 1 ? (littleEndian ? " LE" : " BE") : "") + ", adjustment " + adjustment
                    + ", strip " + strip + ", max " + max + ")";
        }
    }
}
