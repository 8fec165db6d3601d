package io.jhv.http.server;

import io.jhv.http.Headers;
import io.jhv.http.Status;
import io.jhv.http.internal.MimeTypes;
import io.jhv.http.internal.http1.Http1Response;


import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.zip.GZIPOutputStream;

/**
 * A handler that serves the files under a directory: content types by extension, {@code ETag} and
 * {@code Last-Modified} with 304 answers, byte ranges (206, multipart/byteranges, 416),
 * {@code If-Range}, gzip (precompressed {@code name.gz} files, or small compressible files
 * compressed on the fly and cached), an index file, an optional directory listing, and no way out
 * of the directory.
 *
 * <p>The file to serve is the rest of the path matched by the route's wildcard
 * ({@code req.pathParam("*")}), so register it under a prefix with {@code /*} (which
 * {@link HttpServer#staticFiles(String, StaticFiles)} does). The path arrives percent-decoded;
 * any segment that is {@code ..}, or contains a backslash or NUL, is refused with 403, hidden
 * segments ({@code .git}, {@code .env}; {@code .well-known} excepted) with 404 unless
 * {@link #hidden(boolean)} allows them, and the file's real path (symbolic links followed) must lie
 * under the root's real path, else 404.
 *
 * <p>Thread contract: immutable (the wither methods return a new instance), shared by all loops.
 * It stats and opens files on the thread that runs the handler (the loop, unless wrapped in
 * {@link Handler#blocking}); the body goes out zero-copy from the file, except for gzip made on the
 * fly and multiple ranges, which are built in memory and bounded in size. A file is opened before
 * its head is produced, so one that cannot be opened gets a complete 404 (gone) or 503 (no file
 * descriptor left, another error), never a 200 with a cut body.
 *
 * {@snippet :
 * server.staticFiles("/", StaticFiles.create(Path.of("public")).listing(true).maxAge(Duration.ofHours(1)));
 * }
 */
public final class StaticFiles implements Handler {
    private static final System.Logger LOG = System.getLogger(StaticFiles.class.getName());
    /** Files above this are never compressed on the fly (precompressed .gz files have no limit). */
    static final long GZIP_MAX = 1 << 20;
    /** Files below this are not worth compressing. */
    static final long GZIP_MIN = 256;
    /** Multiple ranges are answered in memory up to this many bytes; above it the whole file (200). */
    static final long MULTI_RANGE_MAX = 4 << 20;
    static final int MAX_RANGES = 32;
    private static final long GZIP_CACHE_MAX = 16 << 20;

    private static final DateTimeFormatter HTTP_DATE =
            DateTimeFormatter.ofPattern("EEE, dd MMM yyyy HH:mm:ss 'GMT'", Locale.US).withZone(ZoneOffset.UTC);

    private final Path root;
    private final String index;
    private final boolean listing;
    private final boolean gzip;
    private final boolean precompressed;
    private final boolean hidden;
    private final boolean weakEtags;
    private final String cacheControl;
    private final GzipCache cache;

    private StaticFiles(Path root, String index, boolean listing, boolean gzip, boolean precompressed,
                        boolean hidden, boolean weakEtags, String cacheControl, GzipCache cache) {
        this.root = root;
        this.index = index;
        this.listing = listing;
        this.gzip = gzip;
        this.precompressed = precompressed;
        this.hidden = hidden;
        this.weakEtags = weakEtags;
        this.cacheControl = cacheControl;
        this.cache = cache;
    }

    /**
     * Serves {@code root} (which must be a directory) with the defaults: index {@code index.html},
     * no listing, gzip on, precompressed files on, hidden files refused, strong ETags,
     * {@code Cache-Control: no-cache} (clients revalidate with the ETag).
     */
    public static StaticFiles create(Path root) {
        Path real;
        try {
            real = root.toRealPath();
        } catch (IOException e) {
            throw new IllegalArgumentException("static files root does not exist: " + root, e);
        }
        if (!Files.isDirectory(real)) throw new IllegalArgumentException("static files root is not a directory: " + root);
        return new StaticFiles(real, "index.html", false, true, true, false, false, "no-cache", new GzipCache());
    }

    /** The index file served for a directory (null: none). */
    public StaticFiles index(String name) {
        if (name != null && (name.isEmpty() || name.contains("/") || name.contains("\\") || name.equals(".."))) {
            throw new IllegalArgumentException("bad index file name: " + name);
        }
        return new StaticFiles(root, name, listing, gzip, precompressed, hidden, weakEtags, cacheControl, cache);
    }

    /** An HTML listing for directories without an index file (default off: 404). */
    public StaticFiles listing(boolean on) {
        return new StaticFiles(root, index, on, gzip, precompressed, hidden, weakEtags, cacheControl, cache);
    }

    /** Compresses compressible files of 256 B to 1 MiB on the fly when the client accepts gzip (default on). */
    public StaticFiles gzip(boolean on) {
        return new StaticFiles(root, index, listing, on, precompressed, hidden, weakEtags, cacheControl, cache);
    }

    /** Serves {@code name.gz} beside {@code name}, when present, to clients that accept gzip (default on). */
    public StaticFiles precompressed(boolean on) {
        return new StaticFiles(root, index, listing, gzip, on, hidden, weakEtags, cacheControl, cache);
    }

    /** Serves files and directories whose name starts with '.' (default off: 404). */
    public StaticFiles hidden(boolean on) {
        return new StaticFiles(root, index, listing, gzip, precompressed, on, weakEtags, cacheControl, cache);
    }

    /** Sends weak ETags ({@code W/"..."}), which never match an {@code If-Range} (default strong). */
    public StaticFiles weakEtags(boolean on) {
        return new StaticFiles(root, index, listing, gzip, precompressed, hidden, on, cacheControl, cache);
    }

    /** The Cache-Control header (null: none; default {@code no-cache}). */
    public StaticFiles cacheControl(String value) {
        if (value != null) Headers.checkValue(value, "Cache-Control");
        return new StaticFiles(root, index, listing, gzip, precompressed, hidden, weakEtags, value, cache);
    }

    /** {@code Cache-Control: public, max-age=N}. */
    public StaticFiles maxAge(Duration d) {
        return cacheControl(d.isZero() ? "no-cache" : "public, max-age=" + d.toSeconds());
    }

    /** The real path of the root directory. */
    public Path root() {
        return root;
    }

    // ================================================================== serving

    @Override
    public void handle(Request req, Response res) throws IOException {
        String method = req.method();
        if (!method.equals("GET") && !method.equals("HEAD")) {
            res.setHeader("Allow", "GET, HEAD");
            res.sendStatus(405);
            return;
        }
        String rel = req.pathParam("*");
        if (rel == null) rel = req.path();
        List<String> segments = new ArrayList<>();
        int refusal = split(rel, segments);
        if (refusal != 0) {
            if (LOG.isLoggable(System.Logger.Level.DEBUG)) {
                LOG.log(System.Logger.Level.DEBUG, "refused static path " + printable(rel) + " from " + req.remoteAddress());
            }
            res.sendStatus(refusal);
            return;
        }
        Path p = root;
        for (String s : segments) p = p.resolve(s);
        Path real = realUnderRoot(p);
        if (real == null) {
            res.sendStatus(404);
            return;
        }
        BasicFileAttributes attrs = Files.readAttributes(real, BasicFileAttributes.class);
        if (attrs.isDirectory()) {
            String path = req.path();
            if (!path.endsWith("/")) {
                // Relative links in the page resolve against the directory only with the slash.
                String q = req.query();
                // Runs of slashes collapsed: "//host/dir" would be a redirect to another site.
                res.redirect(encodePath(path.replaceAll("/{2,}", "/")) + "/" + (q != null ? "?" + q : ""), 301);
                return;
            }
            if (index != null) {
                Path idx = realUnderRoot(real.resolve(index));
                if (idx != null) {
                    BasicFileAttributes ia = Files.readAttributes(idx, BasicFileAttributes.class);
                    if (ia.isRegularFile()) {
                        serveFile(req, res, idx, ia);
                        return;
                    }
                }
            }
            if (listing) {
                list(req, res, real, segments.isEmpty());
                return;
            }
            res.sendStatus(404);
            return;
        }
        if (!attrs.isRegularFile()) {
            res.sendStatus(404); // devices, fifos, sockets
            return;
        }
        serveFile(req, res, real, attrs);
    }

    /**
     * Splits the decoded path into segments, dropping empty ones and ".", into {@code out}; returns
     * 0, or the status to refuse it with.
     */
    private int split(String rel, List<String> out) {
        int n = rel.length();
        int start = 0;
        while (start <= n) {
            int slash = rel.indexOf('/', start);
            if (slash < 0) slash = n;
            if (slash > start) {
                String s = rel.substring(start, slash);
                if (s.equals("..") || s.indexOf('\\') >= 0 || s.indexOf('\0') >= 0) return 403;
                if (!s.equals(".")) {
                    if (s.charAt(0) == '.' && !hidden && !s.equals(".well-known")) return 404;
                    out.add(s);
                }
            }
            start = slash + 1;
        }
        return 0;
    }

    /** The real path of {@code p} (links followed) if it exists and lies under the root, else null. */
    private Path realUnderRoot(Path p) throws IOException {
        Path real;
        try {
            real = p.toRealPath();
        } catch (NoSuchFileException | NotDirectoryException e) {
            return null;
        } catch (java.nio.file.FileSystemException e) {
            // ELOOP, ENAMETOOLONG, EACCES on a parent...: as if it did not exist
            LOG.log(System.Logger.Level.DEBUG, "cannot resolve " + p + ": " + e);
            return null;
        }
        if (!real.startsWith(root)) {
            LOG.log(System.Logger.Level.DEBUG, "static path " + p + " leads outside the root to " + real);
            return null;
        }
        return real;
    }

    private void serveFile(Request req, Response res, Path file, BasicFileAttributes attrs) throws IOException {
        String name = file.getFileName().toString();
        String type = MimeTypes.of(name);
        long size = attrs.size();
        long mtime = attrs.lastModifiedTime().toMillis();
        boolean compressible = MimeTypes.compressible(type);
        String range = req.header("Range");

        // Choose the representation: a precompressed .gz, gzip made now, or the file as it is.
        // Ranges always apply to the file as it is (no gzip when Range is present).
        Path gzFile = null;
        BasicFileAttributes gzAttrs = null;
        boolean acceptsGzip = (gzip || precompressed) && acceptsGzip(req.header("Accept-Encoding"));
        boolean varies = false;
        if (precompressed && !name.endsWith(".gz")) {
            Path gz = realUnderRoot(file.resolveSibling(name + ".gz"));
            if (gz != null) {
                BasicFileAttributes ga = Files.readAttributes(gz, BasicFileAttributes.class);
                if (ga.isRegularFile()) {
                    varies = true;
                    if (acceptsGzip && range == null && Files.isReadable(gz)) {
                        gzFile = gz;
                        gzAttrs = ga;
                    }
                }
            }
        }
        boolean gzipNow = false;
        if (gzFile == null && gzip && compressible && size >= GZIP_MIN && size <= GZIP_MAX) {
            varies = true;
            gzipNow = acceptsGzip && range == null;
        }

        String etag = gzFile != null ? etag(gzAttrs.size(), gzAttrs.lastModifiedTime().toMillis(), "gz")
                : etag(size, mtime, gzipNow ? "z" : "");
        long lastModifiedSec = mtime / 1000;
        res.setHeader("Accept-Ranges", "bytes");
        res.setHeader("ETag", etag);
        res.setHeader("Last-Modified", HTTP_DATE.format(Instant.ofEpochSecond(lastModifiedSec)));
        if (cacheControl != null) res.setHeader("Cache-Control", cacheControl);
        if (varies) addVary(res, "Accept-Encoding");

        if (notModified(req, etag, lastModifiedSec)) {
            res.status(304).end();
            return;
        }
        if (!Files.isReadable(file)) {
            res.sendStatus(403);
            return;
        }
        res.contentType(type);

        if (gzFile != null) {
            res.setHeader("Content-Encoding", "gzip");
            sendRegion(res, gzFile, 0, gzAttrs.size());
            return;
        }
        if (gzipNow) {
            byte[] z = cache.get(file, etag);
            if (z == null) {
                z = compress(file, size);
                cache.put(file, etag, z);
            }
            res.setHeader("Content-Encoding", "gzip");
            res.bytes(z);
            return;
        }
        if (range != null && ifRangeHolds(req.header("If-Range"), etag, lastModifiedSec)) {
            long[] ranges = parseRanges(range, size);
            if (ranges != null) {
                if (ranges.length == 0) {
                    res.setHeader("Content-Range", "bytes */" + size);
                    res.removeHeader("Content-Type");
                    res.status(416).text(Status.reason(416));
                    return;
                }
                if (ranges.length == 2) {
                    long first = ranges[0], last = ranges[1];
                    res.status(206);
                    res.setHeader("Content-Range", "bytes " + first + "-" + last + "/" + size);
                    sendRegion(res, file, first, last - first + 1);
                    return;
                }
                if (multiRange(res, file, type, size, ranges)) return;
            }
        }
        sendRegion(res, file, 0, size);
    }

    private static void sendRegion(Response res, Path file, long offset, long length) throws IOException {
        if (res instanceof Http1Response r) {
            r.fileRegion(file, offset, length);
            return;
        }
        // Another Response implementation (a test double, a wrapper): read the region.
        if (length > Integer.MAX_VALUE - 16) throw new IOException("file region too large to buffer: " + length);
        byte[] b = new byte[(int) length];
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            java.nio.ByteBuffer bb = java.nio.ByteBuffer.wrap(b);
            while (bb.hasRemaining()) {
                if (ch.read(bb, offset + bb.position()) < 0) throw new IOException("file shrank: " + file);
            }
        }
        res.bytes(b);
    }

    private String etag(long size, long mtimeMillis, String suffix) {
        String t = "\"" + Long.toHexString(mtimeMillis) + "-" + Long.toHexString(size) + suffix + "\"";
        return weakEtags ? "W/" + t : t;
    }

    private static void addVary(Response res, String value) {
        String v = res.header("Vary");
        if (v == null) res.setHeader("Vary", value);
        else if (!containsToken(v, value)) res.setHeader("Vary", v + ", " + value);
    }

    static boolean containsToken(String list, String token) {
        for (String s : list.split(",")) if (s.trim().equalsIgnoreCase(token)) return true;
        return false;
    }

    /** RFC 9110 13.2.2: If-None-Match (weak comparison) wins over If-Modified-Since. */
    private static boolean notModified(Request req, String etag, long lastModifiedSec) {
        String inm = req.header("If-None-Match");
        if (inm != null) return etagListMatches(inm, etag, false);
        String ims = req.header("If-Modified-Since");
        if (ims != null) {
            long t = parseDate(ims);
            return t >= 0 && lastModifiedSec <= t;
        }
        return false;
    }

    private static boolean etagListMatches(String list, String etag, boolean strong) {
        String mine = strong ? etag : opaque(etag);
        for (String s : list.split(",")) {
            String t = s.trim();
            if (t.equals("*")) return true;
            if (strong ? (!t.startsWith("W/") && t.equals(etag)) : opaque(t).equals(mine)) return true;
        }
        return false;
    }

    private static String opaque(String tag) {
        return tag.startsWith("W/") ? tag.substring(2) : tag;
    }

    /** If-Range: an entity tag must match strongly, a date must equal Last-Modified (RFC 9110 13.1.5). */
    private static boolean ifRangeHolds(String ifRange, String etag, long lastModifiedSec) {
        if (ifRange == null) return true;
        String v = ifRange.trim();
        if (v.startsWith("\"") || v.startsWith("W/")) {
            return !etag.startsWith("W/") && !v.startsWith("W/") && v.equals(etag);
        }
        long t = parseDate(v);
        return t >= 0 && t == lastModifiedSec;
    }

    /** Seconds since the epoch of an HTTP date, or -1. */
    static long parseDate(String s) {
        try {
            return ZonedDateTime.parse(s.trim(), DateTimeFormatter.RFC_1123_DATE_TIME).toEpochSecond();
        } catch (RuntimeException e) {
            return -1;
        }
    }

    /** Formats an HTTP date (IMF-fixdate). */
    static String formatDate(long epochMillis) {
        return HTTP_DATE.format(Instant.ofEpochMilli(epochMillis));
    }

    /**
     * Parses a Range header against a file of {@code size} bytes: null to ignore it (not bytes, bad
     * syntax, too many ranges), an empty array when nothing is satisfiable (416), else pairs of
     * first and last byte positions.
     */
    static long[] parseRanges(String header, long size) {
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
    private static boolean multiRange(Response res, Path file, String type, long size, long[] ranges) throws IOException {
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

    private static byte[] compress(Path file, long size) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream((int) Math.max(64, size / 3));
        try (InputStream in = Files.newInputStream(file); GZIPOutputStream z = new GZIPOutputStream(out, 8192)) {
            in.transferTo(z);
        }
        return out.toByteArray();
    }

    // ================================================================== listing

    private void list(Request req, Response res, Path dir, boolean atRoot) throws IOException {
        record Entry(String name, boolean dir, long size, long mtime) {}
        List<Entry> entries = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
            for (Path p : ds) {
                String n = p.getFileName().toString();
                if (n.startsWith(".") && !hidden) continue;
                BasicFileAttributes a;
                try {
                    a = Files.readAttributes(p, BasicFileAttributes.class);
                } catch (IOException e) {
                    continue; // a dangling link, say
                }
                entries.add(new Entry(n, a.isDirectory(), a.size(), a.lastModifiedTime().toMillis()));
            }
        } catch (AccessDeniedException e) {
            res.sendStatus(403);
            return;
        }
        entries.sort(Comparator.comparing((Entry e) -> !e.dir).thenComparing(Entry::name));
        String path = req.path();
        StringBuilder sb = new StringBuilder(256 + entries.size() * 160);
        sb.append("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Index of ")
          .append(escapeHtml(path)).append("</title>\n<style>body{font-family:system-ui,sans-serif;margin:2em}"
                + "td{padding:0 1.5em 0 0}td.s{text-align:right}</style></head>\n<body><h1>Index of ")
          .append(escapeHtml(path)).append("</h1>\n<table>\n");
        if (!atRoot) sb.append("<tr><td><a href=\"../\">../</a></td><td></td><td></td></tr>\n");
        for (Entry e : entries) {
            String display = e.name + (e.dir ? "/" : "");
            sb.append("<tr><td><a href=\"").append(escapeHtml(encodeSegment(e.name))).append(e.dir ? "/" : "")
              .append("\">").append(escapeHtml(display)).append("</a></td><td class=\"s\">")
              .append(e.dir ? "-" : Long.toString(e.size)).append("</td><td>")
              .append(formatDate(e.mtime)).append("</td></tr>\n");
        }
        sb.append("</table></body></html>\n");
        res.setHeader("Cache-Control", "no-cache");
        res.html(sb.toString());
    }

    /** Escapes text for HTML element content and quoted attribute values. */
    static String escapeHtml(String s) {
        StringBuilder sb = null;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            String r = switch (c) {
                case '<' -> "&lt;";
                case '>' -> "&gt;";
                case '&' -> "&amp;";
                case '"' -> "&quot;";
                case '\'' -> "&#39;";
                default -> null;
            };
            if (r != null) {
                if (sb == null) sb = new StringBuilder(s.length() + 16).append(s, 0, i);
                sb.append(r);
            } else if (sb != null) {
                sb.append(c);
            }
        }
        return sb == null ? s : sb.toString();
    }

    /** Percent-encodes a path segment (all but RFC 3986 unreserved characters). */
    static String encodeSegment(String s) {
        StringBuilder sb = new StringBuilder(s.length() + 8);
        for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
            int c = b & 0xff;
            if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.'
                    || c == '_' || c == '~') {
                sb.append((char) c);
            } else {
                sb.append('%').append(Character.toUpperCase(Character.forDigit(c >> 4, 16)))
                  .append(Character.toUpperCase(Character.forDigit(c & 15, 16)));
            }
        }
        return sb.toString();
    }

    private static String encodePath(String path) {
        StringBuilder sb = new StringBuilder(path.length() + 8);
        int start = 0;
        while (true) {
            int slash = path.indexOf('/', start);
            sb.append(encodeSegment(slash < 0 ? path.substring(start) : path.substring(start, slash)));
            if (slash < 0) return sb.toString();
            sb.append('/');
            start = slash + 1;
        }
    }

    private static String printable(String s) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < s.length() && i < 200; i++) {
            char c = s.charAt(i);
            if (c < 0x20 || c == 0x7f) sb.append(String.format("\\x%02x", (int) c));
            else sb.append(c);
        }
        return sb.toString();
    }

    @Override
    public String toString() {
        return "StaticFiles[" + root + "]";
    }

    /** Gzipped small files by path, valid while their ETag is unchanged; bounded in total size. */
    private static final class GzipCache {
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
    }
}
