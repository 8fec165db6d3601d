package io.jhv.http.server;

import io.jhv.http.Headers;
import io.jhv.http.Status;
import io.jhv.http.internal.MimeTypes;
import io.jhv.http.internal.http1.Http1Response;


import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

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
                res.redirect(DirectoryListing.encodePath(path.replaceAll("/{2,}", "/")) + "/" + (q != null ? "?" + q : ""), 301);
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
                DirectoryListing.list(req, res, real, segments.isEmpty(), hidden);
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
        boolean acceptsGzip = (gzip || precompressed) && GzipCache.acceptsGzip(req.header("Accept-Encoding"));
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

        String etag = gzFile != null ? Validators.etag(gzAttrs.size(), gzAttrs.lastModifiedTime().toMillis(), "gz", weakEtags)
                : Validators.etag(size, mtime, gzipNow ? "z" : "", weakEtags);
        long lastModifiedSec = mtime / 1000;
        res.setHeader("Accept-Ranges", "bytes");
        res.setHeader("ETag", etag);
        res.setHeader("Last-Modified", Validators.formatDate(lastModifiedSec * 1000));
        if (cacheControl != null) res.setHeader("Cache-Control", cacheControl);
        if (varies) addVary(res, "Accept-Encoding");

        if (Validators.notModified(req, etag, lastModifiedSec)) {
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
                z = GzipCache.compress(file, size);
                cache.put(file, etag, z);
            }
            res.setHeader("Content-Encoding", "gzip");
            res.bytes(z);
            return;
        }
        if (range != null && Validators.ifRangeHolds(req.header("If-Range"), etag, lastModifiedSec)) {
            long[] ranges = ByteRanges.parse(range, size);
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
                if (ByteRanges.multipart(res, file, type, size, ranges)) return;
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

    private static void addVary(Response res, String value) {
        String v = res.header("Vary");
        if (v == null) res.setHeader("Vary", value);
        else if (!containsToken(v, value)) res.setHeader("Vary", v + ", " + value);
    }

    static boolean containsToken(String list, String token) {
        for (String s : list.split(",")) if (s.trim().equalsIgnoreCase(token)) return true;
        return false;
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
}
