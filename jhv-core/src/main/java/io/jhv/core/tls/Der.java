package io.jhv.core.tls;

import java.io.ByteArrayOutputStream;
import java.math.BigInteger;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.nio.charset.StandardCharsets;

/**
 * A small ASN.1 DER writer and reader: just what PEM key conversion and certificate generation need
 * (we chose not to depend on BouncyCastle or the JDK-internal {@code sun.security.util} classes).
 *
 * <p>Writer methods return the complete encoding (tag, length, content) of one value, so structures
 * nest as plain calls: {@code seq(integer(0), seq(oid(...), nul()), octetString(key))}.
 *
 * <p>Stateless and thread-safe; a {@link Reader} is confined to its caller.
 */
final class Der {
    static final int INTEGER = 0x02, BIT_STRING = 0x03, OCTET_STRING = 0x04, NULL = 0x05, OID = 0x06,
            UTF8_STRING = 0x0c, SEQUENCE = 0x30, SET = 0x31, IA5_STRING = 0x16, UTC_TIME = 0x17,
            GENERALIZED_TIME = 0x18, BOOLEAN = 0x01;

    private Der() {}

    // ---------------------------------------------------------------- writing

    /** One value: tag, definite length, content. */
    static byte[] tlv(int tag, byte[] content) {
        int n = content.length;
        int lenBytes = n < 0x80 ? 0 : n < 0x100 ? 1 : n < 0x10000 ? 2 : n < 0x1000000 ? 3 : 4;
        byte[] out = new byte[2 + lenBytes + n];
        out[0] = (byte) tag;
        if (lenBytes == 0) {
            out[1] = (byte) n;
        } else {
            out[1] = (byte) (0x80 | lenBytes);
            for (int i = 0; i < lenBytes; i++) out[2 + i] = (byte) (n >>> (8 * (lenBytes - 1 - i)));
        }
        System.arraycopy(content, 0, out, 2 + lenBytes, n);
        return out;
    }

    static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        for (byte[] p : parts) b.writeBytes(p);
        return b.toByteArray();
    }

    static byte[] seq(byte[]... parts) { return tlv(SEQUENCE, concat(parts)); }

    static byte[] set(byte[]... parts) { return tlv(SET, concat(parts)); }

    static byte[] integer(long v) { return integer(BigInteger.valueOf(v)); }

    static byte[] integer(BigInteger v) { return tlv(INTEGER, v.toByteArray()); } // two's complement, minimal

    static byte[] bool(boolean v) { return tlv(BOOLEAN, new byte[] {(byte) (v ? 0xff : 0)}); }

    static byte[] nul() { return new byte[] {NULL, 0}; }

    static byte[] octetString(byte[] content) { return tlv(OCTET_STRING, content); }

    /** A BIT STRING of whole bytes (no unused bits). */
    static byte[] bitString(byte[] bits) {
        byte[] c = new byte[bits.length + 1];
        System.arraycopy(bits, 0, c, 1, bits.length);
        return tlv(BIT_STRING, c);
    }

    /**
     * A named-bit BIT STRING (KeyUsage): bit 0 is the most significant bit of the first byte;
     * trailing zero bits are dropped as DER requires.
     */
    static byte[] namedBits(int... bits) {
        int max = 0;
        for (int b : bits) max = Math.max(max, b);
        byte[] v = new byte[max / 8 + 1];
        for (int b : bits) v[b / 8] |= (byte) (0x80 >>> (b % 8));
        int unused = 7 - (max % 8);
        byte[] c = new byte[v.length + 1];
        c[0] = (byte) unused;
        System.arraycopy(v, 0, c, 1, v.length);
        return tlv(BIT_STRING, c);
    }

    static byte[] utf8(String s) { return tlv(UTF8_STRING, s.getBytes(StandardCharsets.UTF_8)); }

    /** An OBJECT IDENTIFIER from its dotted form, such as {@code 1.2.840.10045.2.1}. */
    static byte[] oid(String dotted) {
        String[] parts = dotted.split("\\.");
        if (parts.length < 2) throw new IllegalArgumentException("bad OID " + dotted);
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        writeBase128(b, new BigInteger(parts[0]).multiply(BigInteger.valueOf(40)).add(new BigInteger(parts[1])));
        for (int i = 2; i < parts.length; i++) writeBase128(b, new BigInteger(parts[i]));
        return tlv(OID, b.toByteArray());
    }

    private static void writeBase128(ByteArrayOutputStream b, BigInteger v) {
        int groups = Math.max(1, (v.bitLength() + 6) / 7);
        for (int i = groups - 1; i >= 0; i--) {
            int septet = v.shiftRight(7 * i).intValue() & 0x7f;
            b.write(i == 0 ? septet : septet | 0x80);
        }
    }

    /** An X.509 Time: UTCTime for the years 1950-2049, GeneralizedTime otherwise (RFC 5280 4.1.2.5). */
    static byte[] time(Instant t) {
        ZonedDateTime z = t.atZone(ZoneOffset.UTC);
        int year = z.getYear();
        if (year >= 1950 && year < 2050) {
            return tlv(UTC_TIME, z.format(DateTimeFormatter.ofPattern("yyMMddHHmmss'Z'")).getBytes(StandardCharsets.US_ASCII));
        }
        return tlv(GENERALIZED_TIME, z.format(DateTimeFormatter.ofPattern("yyyyMMddHHmmss'Z'")).getBytes(StandardCharsets.US_ASCII));
    }

    /** A constructed context-specific tag {@code [n]} around complete encodings (EXPLICIT tagging). */
    static byte[] explicit(int n, byte[]... parts) { return tlv(0xa0 | n, concat(parts)); }

    /** A primitive context-specific tag {@code [n]} with raw content (IMPLICIT tagging of a primitive). */
    static byte[] implicit(int n, byte[] content) { return tlv(0x80 | n, content); }

    // ---------------------------------------------------------------- reading

    /** Thrown for malformed DER; the message says where. */
    static final class DerException extends Exception {
        DerException(String message) { super(message); }
    }

    /** Reads consecutive values from a region of a byte array. */
    static final class Reader {
        private final byte[] data;
        private int pos;
        private final int end;
        // the last value read
        int tag, headerStart, start, length;

        Reader(byte[] data) { this(data, 0, data.length); }

        Reader(byte[] data, int offset, int length) {
            this.data = data;
            this.pos = offset;
            this.end = offset + length;
        }

        boolean hasMore() { return pos < end; }

        /** Reads the next value's header; its content is {@code [start, start + length)}. */
        Reader next() throws DerException {
            if (pos + 2 > end) throw new DerException("truncated at byte " + pos);
            headerStart = pos;
            tag = data[pos++] & 0xff;
            if ((tag & 0x1f) == 0x1f) throw new DerException("multi-byte tags are not supported (byte " + (pos - 1) + ")");
            int b = data[pos++] & 0xff;
            int len;
            if (b < 0x80) {
                len = b;
            } else {
                int k = b & 0x7f;
                if (k == 0 || k > 4) throw new DerException("unsupported length encoding at byte " + (pos - 1));
                if (pos + k > end) throw new DerException("truncated length at byte " + pos);
                len = 0;
                for (int i = 0; i < k; i++) len = (len << 8) | (data[pos++] & 0xff);
                if (len < 0) throw new DerException("length too large");
            }
            if (len > end - pos) throw new DerException("value at byte " + pos + " runs past the end (" + len + " bytes)");
            start = pos;
            length = len;
            pos += len;
            return this;
        }

        /** Reads the next value and checks its tag. */
        Reader expect(int expectedTag, String what) throws DerException {
            next();
            if (tag != expectedTag) {
                throw new DerException("expected " + what + " (tag 0x" + Integer.toHexString(expectedTag) + ") but found tag 0x" + Integer.toHexString(tag));
            }
            return this;
        }

        /** A reader over the content of the last value (a SEQUENCE, SET or constructed tag). */
        Reader contents() { return new Reader(data, start, length); }

        byte[] content() {
            byte[] c = new byte[length];
            System.arraycopy(data, start, c, 0, length);
            return c;
        }

        /** The whole encoding (header included) of the last value. */
        byte[] encoded() {
            byte[] c = new byte[start + length - headerStart];
            System.arraycopy(data, headerStart, c, 0, c.length);
            return c;
        }

        BigInteger integer() { return new BigInteger(content()); }

        /** The last value as a dotted OID. */
        String oid() throws DerException {
            if (tag != OID) throw new DerException("expected an OID, found tag 0x" + Integer.toHexString(tag));
            StringBuilder sb = new StringBuilder();
            BigInteger v = BigInteger.ZERO;
            boolean first = true;
            for (int i = start; i < start + length; i++) {
                int b = data[i] & 0xff;
                v = v.shiftLeft(7).or(BigInteger.valueOf(b & 0x7f));
                if ((b & 0x80) == 0) {
                    if (first) {
                        int a = v.compareTo(BigInteger.valueOf(80)) >= 0 ? 2 : v.intValue() / 40;
                        sb.append(a).append('.').append(v.subtract(BigInteger.valueOf(40L * a)));
                        first = false;
                    } else {
                        sb.append('.').append(v);
                    }
                    v = BigInteger.ZERO;
                }
            }
            return sb.toString();
        }
    }
}
