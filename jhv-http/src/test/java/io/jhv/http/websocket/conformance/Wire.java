package io.jhv.http.websocket.conformance;

import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.Base64;
import java.util.concurrent.ThreadLocalRandom;
import java.util.zip.DataFormatException;
import java.util.zip.Deflater;
import java.util.zip.Inflater;

/**
 * The WebSocket wire format written out by hand for the conformance tests (RFC 6455 section 5.2):
 * frames encoded exactly as asked (reserved bits, opcodes, non-minimal lengths, with or without a
 * mask), frames decoded strictly, and permessage-deflate (RFC 7692) with {@link Deflater} /
 * {@link Inflater} in raw ("nowrap") mode and the {@code 00 00 ff ff} tail rule. Independent of the
 * engine under test on purpose: nothing here comes from {@code io.jhv.http.internal.ws}.
 */
final class Wire {
    private Wire() {
    }

    static final int CONT = 0x0, TEXT = 0x1, BINARY = 0x2, CLOSE = 0x8, PING = 0x9, PONG = 0xA;
    static final int RSV1 = 4, RSV2 = 2, RSV3 = 1;
    static final String GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    static final byte[] TAIL = {0, 0, (byte) 0xff, (byte) 0xff};

    /** A decoded frame; {@code payload} is unmasked. {@code maskKey} is null for an unmasked frame. */
    record Frame(boolean fin, int rsv, int opcode, byte[] maskKey, byte[] payload) {
        boolean masked() {
            return maskKey != null;
        }

        boolean isControl() {
            return (opcode & 0x8) != 0;
        }

        /** The close code of a close frame: 1005 for an empty one. */
        int closeCode() {
            if (payload.length < 2) return 1005;
            return ((payload[0] & 0xff) << 8) | (payload[1] & 0xff);
        }

        String closeReason() {
            return payload.length <= 2 ? "" : new String(payload, 2, payload.length - 2, StandardCharsets.UTF_8);
        }

        String text() {
            return new String(payload, StandardCharsets.UTF_8);
        }

        @Override
        public String toString() {
            String p = opcode == CLOSE ? "code=" + closeCode() + " reason=" + closeReason()
                    : payload.length <= 40 ? Arrays.toString(payload) : payload.length + " bytes";
            return "Frame[fin=" + fin + " rsv=" + rsv + " op=" + opcode + " masked=" + masked() + " " + p + "]";
        }
    }

    // ------------------------------------------------------------------ encoding

    /** A frame with the minimal length encoding; masked with a random key when {@code mask}. */
    static byte[] frame(boolean fin, int rsv, int opcode, byte[] payload, boolean mask) {
        return frame(fin, rsv, opcode, payload, mask ? randomMask() : null, 0);
    }

    /**
     * A frame as asked: {@code lengthBits} 0 for the minimal length encoding, or 7, 16 or 64 to force
     * one (a non-minimal one when the payload is short).
     */
    static byte[] frame(boolean fin, int rsv, int opcode, byte[] payload, byte[] maskKey, int lengthBits) {
        int n = payload.length;
        if (lengthBits == 0) lengthBits = n <= 125 ? 7 : n <= 0xffff ? 16 : 64;
        ByteArrayOutputStream out = new ByteArrayOutputStream(n + 14);
        out.write((fin ? 0x80 : 0) | (rsv & 7) << 4 | (opcode & 0xf));
        int m = maskKey != null ? 0x80 : 0;
        switch (lengthBits) {
            case 7 -> out.write(m | n);
            case 16 -> {
                out.write(m | 126);
                out.write(n >>> 8);
                out.write(n);
            }
            case 64 -> {
                out.write(m | 127);
                for (int s = 56; s >= 0; s -= 8) out.write((int) ((long) n >>> s));
            }
            default -> throw new IllegalArgumentException("lengthBits " + lengthBits);
        }
        if (maskKey != null) {
            out.write(maskKey, 0, 4);
            byte[] masked = payload.clone();
            for (int i = 0; i < masked.length; i++) masked[i] ^= maskKey[i & 3];
            out.write(masked, 0, masked.length);
        } else {
            out.write(payload, 0, n);
        }
        return out.toByteArray();
    }

    /** A frame header alone announcing {@code length} bytes (64-bit field; any value, the top bit too). */
    static byte[] header64(boolean fin, int rsv, int opcode, long length, boolean mask) {
        byte[] h = new byte[mask ? 14 : 10];
        h[0] = (byte) ((fin ? 0x80 : 0) | (rsv & 7) << 4 | (opcode & 0xf));
        h[1] = (byte) ((mask ? 0x80 : 0) | 127);
        for (int i = 0; i < 8; i++) h[2 + i] = (byte) (length >>> (56 - 8 * i));
        if (mask) System.arraycopy(randomMask(), 0, h, 10, 4);
        return h;
    }

    static byte[] randomMask() {
        byte[] k = new byte[4];
        ThreadLocalRandom.current().nextBytes(k);
        return k;
    }

    /** A close payload: code (2 bytes, big-endian) and reason bytes. */
    static byte[] closePayload(int code, byte[] reason) {
        byte[] p = new byte[2 + reason.length];
        p[0] = (byte) (code >>> 8);
        p[1] = (byte) code;
        System.arraycopy(reason, 0, p, 2, reason.length);
        return p;
    }

    static byte[] closePayload(int code, String reason) {
        return closePayload(code, utf8(reason));
    }

    static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) out.write(p, 0, p.length);
        return out.toByteArray();
    }

    static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    /** Bytes from hex ("ce ba e1"), spaces ignored. */
    static byte[] hex(String s) {
        String h = s.replace(" ", "");
        byte[] b = new byte[h.length() / 2];
        for (int i = 0; i < b.length; i++) b[i] = (byte) Integer.parseInt(h.substring(2 * i, 2 * i + 2), 16);
        return b;
    }

    static byte[] repeat(String s, int bytes) {
        byte[] unit = utf8(s);
        byte[] b = new byte[bytes];
        for (int i = 0; i < bytes; i++) b[i] = unit[i % unit.length];
        return b;
    }

    static byte[] random(int n, long seed) {
        byte[] b = new byte[n];
        new java.util.Random(seed).nextBytes(b);
        return b;
    }

    static byte[] slice(byte[] b, int from, int to) {
        return Arrays.copyOfRange(b, from, to);
    }

    // ------------------------------------------------------------------ decoding

    /** Reads one frame strictly; EOFException when the stream ends before a frame is complete. */
    static Frame readFrame(InputStream in) throws IOException {
        int b0 = readByte(in), b1 = readByte(in);
        long len = b1 & 0x7f;
        if (len == 126) {
            len = (long) readByte(in) << 8 | readByte(in);
        } else if (len == 127) {
            len = 0;
            for (int i = 0; i < 8; i++) len = len << 8 | readByte(in);
        }
        if (len < 0 || len > Integer.MAX_VALUE - 8) throw new IOException("frame length " + len);
        byte[] key = null;
        if ((b1 & 0x80) != 0) key = in.readNBytes(4);
        byte[] payload = in.readNBytes((int) len);
        if (payload.length != len || (key != null && key.length != 4)) throw new EOFException("frame cut short");
        if (key != null) for (int i = 0; i < payload.length; i++) payload[i] ^= key[i & 3];
        return new Frame((b0 & 0x80) != 0, (b0 >>> 4) & 7, b0 & 0xf, key, payload);
    }

    private static int readByte(InputStream in) throws IOException {
        int b = in.read();
        if (b < 0) throw new EOFException("end of stream");
        return b;
    }

    static String acceptFor(String key) {
        try {
            MessageDigest sha1 = MessageDigest.getInstance("SHA-1");
            return Base64.getEncoder().encodeToString(sha1.digest((key + GUID).getBytes(StandardCharsets.ISO_8859_1)));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
    }

    static String newKey() {
        byte[] k = new byte[16];
        ThreadLocalRandom.current().nextBytes(k);
        return Base64.getEncoder().encodeToString(k);
    }

    // ------------------------------------------------------------------ UTF-8

    /** Strict UTF-8 validity (RFC 3629): no overlongs, no surrogates, nothing above U+10FFFF, nothing truncated. */
    static boolean validUtf8(byte[] b) {
        try {
            StandardCharsets.UTF_8.newDecoder().decode(java.nio.ByteBuffer.wrap(b));
            return true;
        } catch (java.nio.charset.CharacterCodingException e) {
            return false;
        }
    }

    // ------------------------------------------------------------------ permessage-deflate

    /**
     * One direction's compressor (RFC 7692 section 7.2.1): raw DEFLATE, each message ended with a sync
     * flush whose {@code 00 00 ff ff} is stripped; the context kept across messages unless
     * {@code noContextTakeover}.
     */
    static final class Compressor {
        private final Deflater deflater;
        private final boolean noContextTakeover;

        Compressor(int level, boolean noContextTakeover) {
            this.deflater = new Deflater(level, true);
            this.noContextTakeover = noContextTakeover;
        }

        Compressor(boolean noContextTakeover) {
            this(Deflater.DEFAULT_COMPRESSION, noContextTakeover);
        }

        byte[] compress(byte[] message) {
            deflater.setInput(message);
            ByteArrayOutputStream out = new ByteArrayOutputStream(message.length / 2 + 16);
            byte[] buf = new byte[8192];
            int n;
            do {
                n = deflater.deflate(buf, 0, buf.length, Deflater.SYNC_FLUSH);
                out.write(buf, 0, n);
            } while (n == buf.length || !deflater.needsInput());
            byte[] all = out.toByteArray();
            if (noContextTakeover) deflater.reset();
            // zlib emits nothing for an empty flush after an earlier one: an empty stored block then
            // (RFC 7692 7.2.3.6)
            if (all.length == 0 && message.length == 0) return new byte[] {0};
            if (all.length < 4 || !Arrays.equals(all, all.length - 4, all.length, TAIL, 0, 4)) {
                throw new AssertionError("sync flush did not end with 00 00 ff ff");
            }
            return Arrays.copyOf(all, all.length - 4);
        }

        /**
         * Compresses with a final block (BFINAL=1) instead of a sync flush, then, as RFC 7692 7.2.1 and
         * the example of 7.2.3.4 have it, an empty stored block whose {@code 00 00 ff ff} is removed:
         * the payload is the final block and one {@code 0x00} octet.
         */
        byte[] compressFinal(byte[] message) {
            deflater.setInput(message);
            deflater.finish();
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            byte[] buf = new byte[8192];
            while (!deflater.finished()) {
                int n = deflater.deflate(buf);
                out.write(buf, 0, n);
            }
            deflater.reset();
            out.write(0);
            return out.toByteArray();
        }

        void end() {
            deflater.end();
        }
    }

    /** One direction's decompressor: appends {@code 00 00 ff ff} to each message's payload and inflates. */
    static final class Decompressor {
        private final Inflater inflater = new Inflater(true);
        private final boolean noContextTakeover;

        Decompressor(boolean noContextTakeover) {
            this.noContextTakeover = noContextTakeover;
        }

        /** Inflates one message; fails when the output would pass {@code limit} bytes. */
        byte[] decompress(byte[] payload, int limit) throws DataFormatException {
            inflater.setInput(concat(payload, TAIL));
            ByteArrayOutputStream out = new ByteArrayOutputStream(payload.length * 4 + 16);
            byte[] buf = new byte[16384];
            while (true) {
                int n = inflater.inflate(buf);
                out.write(buf, 0, n);
                if (out.size() > limit) throw new DataFormatException("inflated past " + limit);
                if (n == 0 && (inflater.needsInput() || inflater.finished())) break;
                if (n == 0 && inflater.needsDictionary()) throw new DataFormatException("dictionary");
            }
            if (noContextTakeover || inflater.finished()) inflater.reset();
            return out.toByteArray();
        }

        void end() {
            inflater.end();
        }
    }

    /** Compresses {@code size} zero bytes into a raw DEFLATE stream (sync-flushed, tail stripped) without holding them. */
    static byte[] deflateBomb(long size) {
        Deflater d = new Deflater(Deflater.BEST_COMPRESSION, true);
        byte[] zeros = new byte[1 << 20];
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] buf = new byte[65536];
        for (long done = 0; done < size; done += zeros.length) {
            d.setInput(zeros, 0, (int) Math.min(zeros.length, size - done));
            while (!d.needsInput()) {
                int n = d.deflate(buf, 0, buf.length, Deflater.NO_FLUSH);
                out.write(buf, 0, n);
            }
        }
        int n;
        do {
            n = d.deflate(buf, 0, buf.length, Deflater.SYNC_FLUSH);
            out.write(buf, 0, n);
        } while (n == buf.length);
        d.end();
        byte[] all = out.toByteArray();
        return Arrays.copyOf(all, all.length - 4);
    }
}
