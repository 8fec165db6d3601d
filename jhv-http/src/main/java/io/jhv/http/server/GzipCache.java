package io.jhv.http.server;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.zip.GZIPOutputStream;

/**
 * Gzip on the fly for {@link StaticFiles}: whether a client accepts gzip, compressing a file, and
 * a cache of gzipped small files by path, valid while their ETag is unchanged and bounded in total
 * size. Shared by the instances one {@code StaticFiles.create} made; any thread.
 */
final class GzipCache {
    private static final long GZIP_CACHE_MAX = 16 << 20;

    private record Item(String etag, byte[] data) {}

    private final ConcurrentHashMap<Path, Item> map = new ConcurrentHashMap<>();
    private final AtomicLong bytes = new AtomicLong();

    byte[] get(Path file, String etag) {
        Item i = map.get(file);
        return i != null && i.etag.equals(etag) ? i.data : null;
    }

    void put(Path file, String etag, byte[] data) {
        if (bytes.addAndGet(data.length) > GZIP_CACHE_MAX) {
            // Crude but bounded: start over rather than track recency on the hot path.
            map.clear();
            bytes.set(data.length);
        }
        Item old = map.put(file, new Item(etag, data));
        if (old != null) bytes.addAndGet(-old.data.length);
    }

    /** True if the Accept-Encoding header allows gzip (q > 0 for gzip, x-gzip or *). */
    static boolean acceptsGzip(String acceptEncoding) {
        if (acceptEncoding == null) return false;
        int gzipQ = -1, starQ = -1;
        for (String item : acceptEncoding.split(",")) {
            String[] p = item.split(";");
            String coding = p[0].trim().toLowerCase(Locale.ROOT);
            int q = 1000;
            for (int i = 1; i < p.length; i++) {
                String param = p[i].trim();
                if (param.regionMatches(true, 0, "q=", 0, 2)) {
                    try {
                        q = (int) Math.round(Double.parseDouble(param.substring(2).trim()) * 1000);
                    } catch (NumberFormatException e) {
                        q = 0;
                    }
                }
            }
            if (coding.equals("gzip") || coding.equals("x-gzip")) gzipQ = Math.max(gzipQ, q);
            else if (coding.equals("*")) starQ = q;
        }
        if (gzipQ >= 0) return gzipQ > 0;
        return starQ > 0;
    }

    /** Gzips {@code file} ({@code size} bytes) in memory. */
    static byte[] compress(Path file, long size) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream((int) Math.max(64, size / 3));
        try (InputStream in = Files.newInputStream(file); GZIPOutputStream z = new GZIPOutputStream(out, 8192)) {
            in.transferTo(z);
        }
        return out.toByteArray();
    }
}
