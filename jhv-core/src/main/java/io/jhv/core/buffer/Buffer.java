package io.jhv.core.buffer;

import java.nio.ByteBuffer;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * A growable byte buffer with a readable and a writable region and cheap prepend.
 *
 * <p>Not thread-safe: a buffer belongs to one thread at a time. A buffer handed to
 * {@code onMessage} is borrowed for that call only; copy what you keep ({@link #readBytes(int)}).
 *
 * <pre>
 * +-------------------+------------------+------------------+
 * | prependable bytes |  readable bytes  |  writable bytes  |
 * |                   |     (CONTENT)    |                  |
 * +-------------------+------------------+------------------+
 * |                   |                  |                  |
 * 0      <=      readerIndex   <=   writerIndex    <=     capacity
 * </pre>
 *
 * <p>The layout is muduo's: one contiguous {@code byte[]}, so parsers can scan it with plain array
 * indexing, and a small reserved prefix so a length header can be prepended without moving the
 * payload. Numbers are big-endian unless the method name ends in {@code LE}.
 *
 * {@snippet :
 * Buffer b = Buffer.allocate(64);
 * b.writeString("hello");
 * b.prependInt(b.readableBytes());   // length header, no copy of the payload
 * conn.write(b);
 * }
 */
public final class Buffer {
    /** Bytes kept free in front of the content by default, for {@link #prependInt(int)} and friends. */
    public static final int CHEAP_PREPEND = 8;
    private static final byte[] EMPTY = new byte[0];
    private static final int MAX_ARRAY = Integer.MAX_VALUE - 16;

    private byte[] data;
    private int reader;
    private int writer;
    private final int prependReserve;

    private Buffer(byte[] data, int reader, int writer, int prependReserve) {
        this.data = data;
        this.reader = reader;
        this.writer = writer;
        this.prependReserve = prependReserve;
    }

    /** A new empty buffer with room for {@code capacity} bytes after the prepend reserve. */
    public static Buffer allocate(int capacity) {
        if (capacity < 0) throw new IllegalArgumentException("capacity < 0: " + capacity);
        return new Buffer(new byte[CHEAP_PREPEND + capacity], CHEAP_PREPEND, CHEAP_PREPEND, CHEAP_PREPEND);
    }

    /** A new empty buffer of a default size (1 KiB). */
    public static Buffer allocate() {
        return allocate(1024);
    }

    /** A buffer whose readable bytes are {@code bytes} (not copied: the buffer takes ownership). */
    public static Buffer wrap(byte[] bytes) {
        return wrap(bytes, 0, bytes.length);
    }

    /** A buffer whose readable bytes are {@code bytes[offset, offset+length)} (not copied). */
    public static Buffer wrap(byte[] bytes, int offset, int length) {
        java.util.Objects.checkFromIndexSize(offset, length, bytes.length);
        return new Buffer(bytes, offset, offset + length, 0);
    }

    static {
        // The connection code reaches rewrap through this bridge; applications cannot (not public API).
        io.jhv.core.internal.Internals.install((io.jhv.core.internal.BufferAccess) (view, array, offset, length) -> view.rewrap(array, offset, length));
    }

    /**
     * Re-points this buffer at {@code bytes[offset, offset+length)} with no prepend reserve, so one
     * view object can be reused for many frames (transports use it, through
     * {@code Internals.buffers()}, to hand out frames without allocating). Returns this.
     */
    Buffer rewrap(byte[] bytes, int offset, int length) {
        java.util.Objects.checkFromIndexSize(offset, length, bytes.length);
        this.data = bytes;
        this.reader = offset;
        this.writer = offset + length;
        return this;
    }

    /** A buffer holding a copy of {@code s} in UTF-8. */
    public static Buffer of(String s) {
        return wrap(s.getBytes(StandardCharsets.UTF_8));
    }

    // ---------------------------------------------------------------- indexes and regions

    public int readableBytes() { return writer - reader; }
    public int writableBytes() { return data.length - writer; }
    public int prependableBytes() { return reader; }
    public boolean isReadable() { return writer > reader; }
    public int readerIndex() { return reader; }
    public int writerIndex() { return writer; }
    public int capacity() { return data.length; }

    /**
     * The backing array. Readable bytes are {@code array()[readerIndex(), writerIndex())}. For
     * parsers that scan in place; the array changes identity when the buffer grows.
     */
    public byte[] array() { return data; }

    /** Moves the reader index to {@code index} (between 0 and the writer index). */
    public Buffer readerIndex(int index) {
        if (index < 0 || index > writer) throw new IndexOutOfBoundsException("readerIndex " + index + " not in [0," + writer + "]");
        reader = index;
        return this;
    }

    /** Moves the writer index to {@code index} (between the reader index and the capacity). */
    public Buffer writerIndex(int index) {
        if (index < reader || index > data.length) throw new IndexOutOfBoundsException("writerIndex " + index + " not in [" + reader + "," + data.length + "]");
        writer = index;
        return this;
    }

    /** Discards all content; the next write starts after the prepend reserve. */
    public Buffer clear() {
        reader = writer = Math.min(prependReserve, data.length);
        return this;
    }

    /** Discards {@code n} readable bytes. */
    public Buffer skip(int n) {
        checkReadable(n);
        reader += n;
        if (reader == writer) clear();
        return this;
    }

    /** Makes room for {@code n} more bytes, moving content to the front or growing as needed. */
    public Buffer ensureWritable(int n) {
        if (n < 0) throw new IllegalArgumentException("n < 0: " + n);
        if (writableBytes() >= n) return this;
        int readable = readableBytes();
        if (reader - prependReserve + writableBytes() >= n && readable < data.length / 2) {
            // Enough room overall: slide the content down instead of growing (muduo makeSpace).
            System.arraycopy(data, reader, data, prependReserve, readable);
            reader = prependReserve;
            writer = reader + readable;
            return this;
        }
        long need = (long) prependReserve + readable + n;
        if (need > MAX_ARRAY) throw new IllegalStateException("buffer would exceed " + MAX_ARRAY + " bytes");
        long cap = Math.max(64, data.length);
        while (cap < need) cap <<= 1;
        byte[] bigger = new byte[(int) Math.min(cap, MAX_ARRAY)];
        System.arraycopy(data, reader, bigger, prependReserve, readable);
        data = bigger;
        reader = prependReserve;
        writer = reader + readable;
        return this;
    }

    /** Moves the readable bytes to the front (after the prepend reserve). */
    public Buffer compact() {
        if (reader > prependReserve) {
            int readable = readableBytes();
            System.arraycopy(data, reader, data, prependReserve, readable);
            reader = prependReserve;
            writer = reader + readable;
        }
        return this;
    }

    /** Marks {@code n} bytes written directly into {@link #array()} after the writer index. */
    public Buffer advanceWriter(int n) {
        if (n < 0 || n > writableBytes()) throw new IndexOutOfBoundsException("advance " + n + ", writable " + writableBytes());
        writer += n;
        return this;
    }

    // ---------------------------------------------------------------- writing

    public Buffer write(byte[] src) { return write(src, 0, src.length); }

    public Buffer write(byte[] src, int off, int len) {
        java.util.Objects.checkFromIndexSize(off, len, src.length);
        ensureWritable(len);
        System.arraycopy(src, off, data, writer, len);
        writer += len;
        return this;
    }

    /** Appends the readable bytes of {@code src} and consumes them from {@code src}. */
    public Buffer write(Buffer src) {
        if (src == this) throw new IllegalArgumentException("cannot write a buffer into itself");
        int n = src.readableBytes();
        write(src.data, src.reader, n);
        src.skip(n);
        return this;
    }

    /** Appends the remaining bytes of {@code src} and advances its position. */
    public Buffer write(ByteBuffer src) {
        int n = src.remaining();
        ensureWritable(n);
        src.get(data, writer, n);
        writer += n;
        return this;
    }

    public Buffer writeByte(int v) {
        ensureWritable(1);
        data[writer++] = (byte) v;
        return this;
    }

    public Buffer writeShort(int v) { ensureWritable(2); putShort(writer, v); writer += 2; return this; }
    public Buffer writeInt(int v) { ensureWritable(4); putInt(writer, v); writer += 4; return this; }
    public Buffer writeLong(long v) { ensureWritable(8); putLong(writer, v); writer += 8; return this; }
    public Buffer writeShortLE(int v) { return writeShort(Short.reverseBytes((short) v)); }
    public Buffer writeIntLE(int v) { return writeInt(Integer.reverseBytes(v)); }
    public Buffer writeLongLE(long v) { return writeLong(Long.reverseBytes(v)); }

    /** Appends {@code s} as UTF-8. */
    public Buffer writeString(String s) { return writeString(s, StandardCharsets.UTF_8); }

    /**
     * Appends {@code s} in {@code cs}. Latin-1 and ASCII are encoded in place (one byte a char, no
     * intermediate array); a char the charset cannot map becomes {@code '?'}, as with
     * {@link String#getBytes(Charset)}.
     */
    public Buffer writeString(String s, Charset cs) {
        boolean latin1 = cs == StandardCharsets.ISO_8859_1;
        if (latin1 || cs == StandardCharsets.US_ASCII) {
            int n = s.length();
            int max = latin1 ? 0xff : 0x7f;
            ensureWritable(n);
            byte[] d = data;
            int w = writer;
            for (int i = 0; i < n; i++) {
                char c = s.charAt(i);
                if (c > max) {
                    // A surrogate pair is one unmappable code point: one '?', as the JDK encoder does.
                    if (Character.isHighSurrogate(c) && i + 1 < n && Character.isLowSurrogate(s.charAt(i + 1))) i++;
                    c = '?';
                }
                d[w++] = (byte) c;
            }
            writer = w;
            return this;
        }
        if (cs == StandardCharsets.UTF_8) {
            // ASCII text (headers, JSON keys, most protocol strings) is its own UTF-8: copy it in
            // place and fall back to the encoder only from the first non-ASCII char.
            int n = s.length();
            ensureWritable(n);
            byte[] d = data;
            int w = writer;
            for (int i = 0; i < n; i++) {
                char c = s.charAt(i);
                if (c >= 0x80) {
                    writer = w;
                    return write(s.substring(i).getBytes(StandardCharsets.UTF_8));
                }
                d[w++] = (byte) c;
            }
            writer = w;
            return this;
        }
        return write(s.getBytes(cs));
    }

    // ---------------------------------------------------------------- prepending

    /** Puts {@code len} bytes in front of the content. Free when the prepend reserve has room. */
    public Buffer prepend(byte[] src, int off, int len) {
        java.util.Objects.checkFromIndexSize(off, len, src.length);
        if (len > reader) {
            // Not enough room in front: shift the content to make room.
            int readable = readableBytes();
            ensureWritable(len);
            System.arraycopy(data, reader, data, reader + len, readable);
            writer += len;
            reader += len;
        }
        reader -= len;
        System.arraycopy(src, off, data, reader, len);
        return this;
    }

    public Buffer prependByte(int v) { makePrependRoom(1); data[--reader] = (byte) v; return this; }
    public Buffer prependShort(int v) { makePrependRoom(2); reader -= 2; putShort(reader, v); return this; }
    public Buffer prependInt(int v) { makePrependRoom(4); reader -= 4; putInt(reader, v); return this; }
    public Buffer prependLong(long v) { makePrependRoom(8); reader -= 8; putLong(reader, v); return this; }

    private void makePrependRoom(int n) {
        if (reader >= n) return;
        int readable = readableBytes();
        ensureWritable(n);
        System.arraycopy(data, reader, data, reader + n, readable);
        reader += n;
        writer += n;
    }

    // ---------------------------------------------------------------- reading

    public byte readByte() { checkReadable(1); return data[reader++]; }
    public int readUnsignedByte() { return readByte() & 0xff; }
    public short readShort() { checkReadable(2); short v = getShortAt(reader); reader += 2; return v; }
    public int readUnsignedShort() { return readShort() & 0xffff; }
    public int readInt() { checkReadable(4); int v = getIntAt(reader); reader += 4; return v; }
    public long readLong() { checkReadable(8); long v = getLongAt(reader); reader += 8; return v; }
    public short readShortLE() { return Short.reverseBytes(readShort()); }
    public int readIntLE() { return Integer.reverseBytes(readInt()); }
    public long readLongLE() { return Long.reverseBytes(readLong()); }

    /** Reads {@code n} bytes into a new array (a copy the caller keeps). */
    public byte[] readBytes(int n) {
        checkReadable(n);
        byte[] out = n == 0 ? EMPTY : Arrays.copyOfRange(data, reader, reader + n);
        skip(n);
        return out;
    }

    /** Reads all readable bytes into a new array. */
    public byte[] readBytes() { return readBytes(readableBytes()); }

    /** Reads {@code n} bytes into {@code dst[off, off+n)}. */
    public Buffer readBytes(byte[] dst, int off, int n) {
        checkReadable(n);
        java.util.Objects.checkFromIndexSize(off, n, dst.length);
        System.arraycopy(data, reader, dst, off, n);
        skip(n);
        return this;
    }

    /** Reads {@code n} bytes as a string in {@code cs}. */
    public String readString(int n, Charset cs) {
        checkReadable(n);
        String s = new String(data, reader, n, cs);
        skip(n);
        return s;
    }

    public String readString(int n) { return readString(n, StandardCharsets.UTF_8); }

    /** Reads all readable bytes as UTF-8. */
    public String readString() { return readString(readableBytes()); }

    // ---------------------------------------------------------------- absolute access (offsets from the reader index)

    /** The byte at {@code readerIndex() + i}, without consuming. */
    public byte peek(int i) {
        if (i < 0 || i >= readableBytes()) throw new IndexOutOfBoundsException("peek " + i + ", readable " + readableBytes());
        return data[reader + i];
    }

    public int peekUnsignedByte(int i) { return peek(i) & 0xff; }
    public short peekShort(int i) { checkPeek(i, 2); return getShortAt(reader + i); }
    public int peekInt(int i) { checkPeek(i, 4); return getIntAt(reader + i); }
    public long peekLong(int i) { checkPeek(i, 8); return getLongAt(reader + i); }

    /**
     * Offset from the reader index of the first occurrence of {@code delim}, or -1.
     *
     * @param from offset from the reader index to start the search at
     */
    public int indexOf(byte[] delim, int from) {
        int n = delim.length;
        if (n == 0) return from;
        byte first = delim[0];
        int end = writer - n;
        outer:
        for (int i = reader + Math.max(0, from); i <= end; i++) {
            if (data[i] != first) continue;
            for (int k = 1; k < n; k++) if (data[i + k] != delim[k]) continue outer;
            return i - reader;
        }
        return -1;
    }

    public int indexOf(byte[] delim) { return indexOf(delim, 0); }

    /** Offset from the reader index of the first {@code b}, or -1. */
    public int indexOf(byte b) {
        for (int i = reader; i < writer; i++) if (data[i] == b) return i - reader;
        return -1;
    }

    /** The readable bytes as a string in {@code cs}, without consuming. */
    public String toString(Charset cs) { return new String(data, reader, readableBytes(), cs); }

    /** A heap {@link ByteBuffer} view of the readable bytes (shares content, not indexes). */
    public ByteBuffer nioBuffer() { return ByteBuffer.wrap(data, reader, readableBytes()); }

    /** A copy of this buffer's readable bytes in a new buffer. */
    public Buffer copy() { return wrap(Arrays.copyOfRange(data, reader, writer)); }

    @Override
    public String toString() {
        return "Buffer[r=" + reader + ", w=" + writer + ", cap=" + data.length + "]";
    }

    // ---------------------------------------------------------------- internals

    private void checkReadable(int n) {
        if (n < 0 || n > readableBytes()) {
            throw new IndexOutOfBoundsException("need " + n + " readable bytes, have " + readableBytes());
        }
    }

    private void checkPeek(int i, int n) {
        if (i < 0 || i + n > readableBytes()) throw new IndexOutOfBoundsException("peek " + n + " at " + i + ", readable " + readableBytes());
    }

    private void putShort(int at, int v) { data[at] = (byte) (v >>> 8); data[at + 1] = (byte) v; }

    private void putInt(int at, int v) {
        data[at] = (byte) (v >>> 24); data[at + 1] = (byte) (v >>> 16);
        data[at + 2] = (byte) (v >>> 8); data[at + 3] = (byte) v;
    }

    private void putLong(int at, long v) { putInt(at, (int) (v >>> 32)); putInt(at + 4, (int) v); }

    private short getShortAt(int at) { return (short) (((data[at] & 0xff) << 8) | (data[at + 1] & 0xff)); }

    private int getIntAt(int at) {
        return ((data[at] & 0xff) << 24) | ((data[at + 1] & 0xff) << 16) | ((data[at + 2] & 0xff) << 8) | (data[at + 3] & 0xff);
    }

    private long getLongAt(int at) { return ((long) getIntAt(at) << 32) | (getIntAt(at + 4) & 0xffffffffL); }
}
