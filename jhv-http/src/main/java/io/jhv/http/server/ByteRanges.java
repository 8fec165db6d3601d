package io.jhv.http.server;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Byte ranges of a file (RFC 9110 14): parsing a {@code Range} header against the file's size, and
 * a {@code multipart/byteranges} answer for several ranges, built in memory and bounded. A single
 * range goes out zero-copy from {@link StaticFiles}. Stateless; any thread.
 */
final class ByteRanges {
    private ByteRanges() {}

    /** Multiple ranges are answered in memory up to this many bytes; above it the whole file (200). */
    static final long MULTI_RANGE_MAX = 4 << 20;
    static final int MAX_RANGES = 32;

    /**
     * Parses a Range header against a file of {@code size} bytes: null to ignore it (not bytes, bad
     * syntax, too many ranges), an empty array when nothing is satisfiable (416), else pairs of
     * first and last byte positions.
     */
    static long[] parse(String header, long size) {
        String h = header.trim();
        if (!h.regionMatches(true, 0, "bytes=", 0, 6)) return null;
        String[] specs = h.substring(6).split(",");
        if (specs.length > MAX_RANGES) return null;
        long[] out = new long[specs.length * 2];
        int n = 0;
        boolean any = false;
        for (String spec : specs) {
            String s = spec.trim();
            if (s.isEmpty()) continue;
            any = true;
            int dash = s.indexOf('-');
            if (dash < 0) return null;
            String a = s.substring(0, dash).trim(), b = s.substring(dash + 1).trim();
            long first, last;
            try {
                if (a.isEmpty()) { // suffix: the last N bytes
                    if (b.isEmpty()) return null;
                    long len = parseNonNegative(b);
                    if (len == 0 || size == 0) continue;
                    first = Math.max(0, size - len);
                    last = size - 1;
                } else {
                    first = parseNonNegative(a);
                    last = b.isEmpty() ? Long.MAX_VALUE : parseNonNegative(b);
                    if (last < first) return null; // invalid spec: ignore the header
                    if (first >= size) continue;   // unsatisfiable
                    last = Math.min(last, size - 1);
                }
            } catch (NumberFormatException e) {
                return null;
            }
            out[n++] = first;
            out[n++] = last;
        }
        if (!any) return null;
        return java.util.Arrays.copyOf(out, n);
    }

    private static long parseNonNegative(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < '0' || c > '9') throw new NumberFormatException(s);
        }
        if (s.length() > 18) return Long.MAX_VALUE / 2; // beyond any file
        return Long.parseLong(s);
    }

    /** A 206 multipart/byteranges body built in memory; false when too large (serve the whole file). */
    static boolean multipart(Response res, Path file, String type, long size, long[] ranges) throws IOException {
        long total = 0;
        for (int i = 0; i < ranges.length; i += 2) total += ranges[i + 1] - ranges[i] + 1;
        if (total > MULTI_RANGE_MAX) return false;
        String boundary = "jhv-" + Long.toHexString(System.nanoTime()) + Long.toHexString(Double.doubleToLongBits(Math.random()));
        ByteArrayOutputStream out = new ByteArrayOutputStream((int) total + 128 * ranges.length);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            for (int i = 0; i < ranges.length; i += 2) {
                long first = ranges[i], last = ranges[i + 1];
                String head = "\r\n--" + boundary + "\r\nContent-Type: " + type + "\r\nContent-Range: bytes "
                        + first + "-" + last + "/" + size + "\r\n\r\n";
                out.writeBytes(head.getBytes(StandardCharsets.ISO_8859_1));
                java.nio.ByteBuffer bb = java.nio.ByteBuffer.allocate((int) (last - first + 1));
                while (bb.hasRemaining()) {
                    if (ch.read(bb, first + bb.position()) < 0) throw new IOException("file shrank: " + file);
                }
                out.write(bb.array(), 0, bb.capacity());
            }
        }
        out.writeBytes(("\r\n--" + boundary + "--\r\n").getBytes(StandardCharsets.ISO_8859_1));
        res.status(206);
        res.contentType("multipart/byteranges; boundary=" + boundary);
        res.bytes(out.toByteArray());
        return true;
    }
}
