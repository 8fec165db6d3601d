package io.jhv.http.internal;

import io.jhv.http.Headers;
import io.jhv.http.server.Part;

import io.jhv.http.HttpException;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A streaming {@code multipart/form-data} parser (RFC 7578, RFC 2046 section 5.1) fed the request
 * body as it arrives, in pieces of any size.
 *
 * <pre>
 *   preamble CRLF? "--" boundary CRLF           (the first delimiter; the CRLF before it is optional)
 *   headers CRLF CRLF body                      one part
 *   CRLF "--" boundary CRLF  headers ... body   the next part
 *   CRLF "--" boundary "--"  epilogue           the end
 * </pre>
 *
 * The parser looks for the delimiter {@code CRLF "--" boundary} with a matcher that carries its
 * position across calls, so no input byte is buffered twice: body bytes go straight to the part's
 * memory buffer or, once a part outgrows {@code memoryThreshold}, to a temporary file. The heap a
 * part needs is thus at most {@code memoryThreshold} bytes, whatever the size of the upload.
 * Because the boundary may not contain CR (RFC 2046 bchars), a partial delimiter match that fails
 * can restart only at the failing byte, which is why no KMP table is needed.
 *
 * <p>Thread contract: not thread-safe; {@link #onData}, {@link #onEnd} and {@link #parts()} are
 * called by one thread at a time (the connection's loop while the body arrives), then the parts are
 * handed to the handler. Writing a large part to disk happens on the calling thread.
 */
public final class MultipartParser implements BodySink {
    /** Limit of the header block of one part; more is a malformed request, not a large upload. */
    static final int MAX_PART_HEADER_BYTES = 16 * 1024;

    private static final int PREAMBLE = 0, AFTER_DELIMITER = 1, AFTER_DASH = 2, PADDING = 3,
            HEADERS = 4, BODY = 5, EPILOGUE = 6, FAILED = 7;

    private final byte[] delimiter; // CR LF - - boundary
    private final int memoryThreshold;
    private final Path tempDir;
    private final long maxTotal;
    private final int maxParts;

    private final List<MultipartPart> parts = new ArrayList<>();
    private List<Part> result;
    private int state = PREAMBLE;
    /** Bytes of {@link #delimiter} matched so far; the matched bytes themselves are not kept. */
    private int match;
    private long total;

    // the part being read
    private byte[] headerBytes = new byte[256];
    private int headerLen;
    private int headerBlockLen;
    private List<String> partHeaders;
    private String partName;
    private String partFilename;
    private byte[] mem;
    private int memLen;
    private Path file;
    private OutputStream fileOut;
    private long fileLen;

    /** Bytes held in memory by all parts (for the bounded-heap test). */
    private long memoryHeld;
    private long peakMemoryHeld;

    /**
     * @param boundary        the boundary parameter of the Content-Type (see {@link #boundary(String)})
     * @param memoryThreshold parts up to this many bytes stay in memory; larger ones go to disk
     * @param tempDir         where to put the temporary files (null: java.io.tmpdir)
     * @param maxTotal        the most body bytes accepted (413 above)
     * @param maxParts        the most parts accepted (413 above)
     */
    public MultipartParser(String boundary, int memoryThreshold, Path tempDir, long maxTotal, int maxParts) {
        if (boundary == null || boundary.isEmpty() || boundary.length() > 70) {
            throw new IllegalArgumentException("bad multipart boundary: " + boundary);
        }
        if (memoryThreshold < 0) throw new IllegalArgumentException("memoryThreshold < 0: " + memoryThreshold);
        byte[] bb = boundary.getBytes(StandardCharsets.ISO_8859_1);
        delimiter = new byte[4 + bb.length];
        delimiter[0] = '\r';
        delimiter[1] = '\n';
        delimiter[2] = '-';
        delimiter[3] = '-';
        System.arraycopy(bb, 0, delimiter, 4, bb.length);
        this.memoryThreshold = memoryThreshold;
        this.tempDir = tempDir != null ? tempDir : Path.of(System.getProperty("java.io.tmpdir"));
        this.maxTotal = maxTotal;
        this.maxParts = maxParts;
        // The body may start with "--boundary" (no CRLF before it): pretend the CRLF was seen.
        match = 2;
    }

    /**
     * The boundary parameter of a {@code multipart/*} Content-Type, unquoted, or null if the type is
     * not multipart or the boundary is missing or invalid (RFC 2046: 1 to 70 bchars, not ending in
     * a space).
     */
    public static String boundary(String contentType) {
        if (contentType == null) return null;
        int semi = contentType.indexOf(';');
        String type = (semi < 0 ? contentType : contentType.substring(0, semi)).trim();
        if (!type.regionMatches(true, 0, "multipart/", 0, 10) || type.length() == 10) return null;
        int i = semi;
        while (i >= 0 && i < contentType.length()) {
            // at ';' : parse one parameter
            int start = i + 1;
            int eq = contentType.indexOf('=', start);
            if (eq < 0) return null;
            String pname = contentType.substring(start, eq).trim();
            int vs = eq + 1;
            while (vs < contentType.length() && contentType.charAt(vs) == ' ') vs++;
            String value;
            int next;
            if (vs < contentType.length() && contentType.charAt(vs) == '"') {
                StringBuilder sb = new StringBuilder();
                int j = vs + 1;
                for (; j < contentType.length(); j++) {
                    char c = contentType.charAt(j);
                    if (c == '\\' && j + 1 < contentType.length()) sb.append(contentType.charAt(++j));
                    else if (c == '"') break;
                    else sb.append(c);
                }
                if (j >= contentType.length()) return null; // unterminated quote
                value = sb.toString();
                next = contentType.indexOf(';', j + 1);
            } else {
                next = contentType.indexOf(';', vs);
                value = (next < 0 ? contentType.substring(vs) : contentType.substring(vs, next)).trim();
            }
            if (pname.equalsIgnoreCase("boundary")) return validBoundary(value) ? value : null;
            i = next;
        }
        return null;
    }

    private static boolean validBoundary(String b) {
        if (b.isEmpty() || b.length() > 70 || b.charAt(b.length() - 1) == ' ') return false;
        for (int i = 0; i < b.length(); i++) {
            char c = b.charAt(i);
            boolean ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
                    || "'()+_,-./:=? ".indexOf(c) >= 0;
            if (!ok) return false;
        }
        return true;
    }

    @Override
    public void onData(byte[] b, int off, int len) {
        if (state == FAILED) throw new IllegalStateException("multipart parser failed before");
        total += len;
        if (total > maxTotal) fail(new HttpException(413, "multipart body larger than " + maxTotal + " bytes"));
        try {
            int i = off;
            int end = off + len;
            while (i < end) {
                switch (state) {
                    case PREAMBLE, BODY -> i = scan(b, i, end);
                    case AFTER_DELIMITER -> {
                        byte c = b[i++];
                        if (c == '-') state = AFTER_DASH;
                        else if (c == '\r') state = PADDING;
                        else if (c == ' ' || c == '\t') state = PADDING;
                        else throw malformed("unexpected byte after the boundary: " + printable(c));
                        if (c == '\r') match = 1; // reuse match as "CR seen"
                        else match = 0;
                    }
                    case AFTER_DASH -> {
                        byte c = b[i++];
                        if (c != '-') throw malformed("unexpected byte after the boundary: '-" + printable(c) + "'");
                        state = EPILOGUE;
                    }
                    case PADDING -> {
                        // transport padding (LWSP) then CRLF
                        byte c = b[i++];
                        if (match == 1) {
                            if (c != '\n') throw malformed("CR without LF after the boundary");
                            match = 0;
                            startPart();
                        } else if (c == '\r') {
                            match = 1;
                        } else if (c != ' ' && c != '\t') {
                            throw malformed("unexpected byte after the boundary: " + printable(c));
                        }
                    }
                    case HEADERS -> i = headers(b, i, end);
                    case EPILOGUE -> i = end;
                    default -> throw new IllegalStateException("state " + state);
                }
            }
        } catch (HttpException e) {
            fail(e);
        } catch (IOException e) {
            fail(new HttpException(500, "cannot write upload to " + file + ": " + e.getMessage(), e));
        }
    }

    @Override
    public void onEnd() {
        if (state == FAILED) throw new IllegalStateException("multipart parser failed before");
        if (state != EPILOGUE) {
            String where = switch (state) {
                case PREAMBLE -> parts.isEmpty() ? "no boundary found" : "missing closing boundary";
                case HEADERS -> "inside the headers of part " + (parts.size() + 1);
                case BODY -> "inside part " + (parts.size() + 1) + " (no closing boundary)";
                default -> "after a boundary";
            };
            fail(new HttpException(400, "Truncated multipart body: " + where));
        }
        result = List.copyOf(parts);
    }

    /** The parts, in order; valid after {@link #onEnd()}. */
    public List<Part> parts() {
        List<Part> r = result;
        return r != null ? r : List.copyOf(parts);
    }

    /** Deletes the temporary files of parts that were not moved with {@link Part#saveTo}. */
    public void cleanup() {
        closeFile();
        if (file != null) {
            deleteQuietly(file);
            file = null;
        }
        for (MultipartPart p : parts) p.discard();
    }

    /** The most bytes parts held in memory at once (test hook for the bounded-heap property). */
    public long peakMemoryHeld() {
        return peakMemoryHeld;
    }

    // ---------------------------------------------------------------- delimiter scan

    /** Scans body (or preamble) bytes for the delimiter; returns where it stopped. */
    private int scan(byte[] b, int i, int end) throws IOException {
        boolean body = state == BODY;
        int dataStart = i;
        while (i < end) {
            if (match == 0) {
                while (i < end && b[i] != '\r') i++;
                if (i == end) break;
                if (body && i > dataStart) write(b, dataStart, i - dataStart);
                match = 1;
                dataStart = ++i;
            } else if (b[i] == delimiter[match]) {
                i++;
                dataStart = i;
                if (++match == delimiter.length) {
                    match = 0;
                    if (body) endPart();
                    state = AFTER_DELIMITER;
                    return i;
                }
            } else {
                // Not a delimiter after all: what we matched was data. Re-examine b[i] from the start.
                if (body) write(delimiter, 0, match);
                match = 0;
                dataStart = i;
            }
        }
        if (body && match == 0 && i > dataStart) write(b, dataStart, i - dataStart);
        return i;
    }

    // ---------------------------------------------------------------- headers

    private void startPart() {
        if (parts.size() >= maxParts) throw new HttpException(413, "multipart body has more than " + maxParts + " parts");
        state = HEADERS;
        headerLen = 0;
        headerBlockLen = 0;
        partHeaders = new ArrayList<>(4);
        partName = null;
        partFilename = null;
    }

    private int headers(byte[] b, int i, int end) {
        while (i < end) {
            byte c = b[i++];
            if (++headerBlockLen > MAX_PART_HEADER_BYTES) {
                throw new HttpException(400, "Headers of multipart part " + (parts.size() + 1) + " longer than "
                        + MAX_PART_HEADER_BYTES + " bytes");
            }
            if (c == '\n') {
                int l = headerLen;
                if (l == 0 || headerBytes[l - 1] != '\r') throw malformed("bare LF in the headers of part " + (parts.size() + 1));
                headerLen = 0;
                if (l == 1) {
                    beginBody();
                    return i;
                }
                headerLine(new String(headerBytes, 0, l - 1, StandardCharsets.UTF_8));
            } else {
                if (headerLen > 0 && headerBytes[headerLen - 1] == '\r') throw malformed("bare CR in the headers of part " + (parts.size() + 1));
                if (headerLen == headerBytes.length) headerBytes = Arrays.copyOf(headerBytes, headerLen * 2);
                headerBytes[headerLen++] = c;
            }
        }
        return i;
    }

    private void headerLine(String line) {
        int colon = line.indexOf(':');
        if (colon <= 0) throw malformed("bad header line in part " + (parts.size() + 1) + ": " + shorten(line));
        String name = line.substring(0, colon);
        for (int k = 0; k < name.length(); k++) {
            if (!io.jhv.http.Headers.isTchar(name.charAt(k))) {
                throw malformed("bad header name in part " + (parts.size() + 1) + ": " + shorten(name));
            }
        }
        String value = line.substring(colon + 1).strip();
        partHeaders.add(name);
        partHeaders.add(value);
        if (name.equalsIgnoreCase("Content-Disposition")) contentDisposition(value);
    }

    /** {@code form-data; name="field"; filename="a.txt"} (also {@code filename*=UTF-8''a%20b.txt}). */
    private void contentDisposition(String v) {
        int semi = v.indexOf(';');
        String type = (semi < 0 ? v : v.substring(0, semi)).trim();
        if (!type.equalsIgnoreCase("form-data")) {
            throw malformed("part " + (parts.size() + 1) + " has Content-Disposition '" + shorten(type) + "', not form-data");
        }
        String extFilename = null;
        int i = semi;
        while (i >= 0 && i < v.length()) {
            int start = i + 1;
            int eq = v.indexOf('=', start);
            if (eq < 0) break;
            String pname = v.substring(start, eq).trim();
            int vs = eq + 1;
            while (vs < v.length() && (v.charAt(vs) == ' ' || v.charAt(vs) == '\t')) vs++;
            String value;
            if (vs < v.length() && v.charAt(vs) == '"') {
                StringBuilder sb = new StringBuilder();
                int j = vs + 1;
                for (; j < v.length(); j++) {
                    char c = v.charAt(j);
                    // Browsers do not escape backslashes in file names (C:\dir\a.txt); only \" and \\ are escapes.
                    if (c == '\\' && j + 1 < v.length() && (v.charAt(j + 1) == '"' || v.charAt(j + 1) == '\\')) sb.append(v.charAt(++j));
                    else if (c == '"') break;
                    else sb.append(c);
                }
                if (j >= v.length()) throw malformed("unterminated quoted string in Content-Disposition of part " + (parts.size() + 1));
                value = sb.toString();
                i = v.indexOf(';', j + 1);
            } else {
                i = v.indexOf(';', vs);
                value = (i < 0 ? v.substring(vs) : v.substring(vs, i)).trim();
            }
            if (pname.equalsIgnoreCase("name")) partName = value;
            else if (pname.equalsIgnoreCase("filename")) partFilename = value;
            else if (pname.equalsIgnoreCase("filename*")) extFilename = decodeExtValue(value);
        }
        if (extFilename != null) partFilename = extFilename;
    }

    /** RFC 8187 ext-value: {@code charset'lang'pct-encoded}; null if it cannot be decoded. */
    private static String decodeExtValue(String s) {
        int q1 = s.indexOf('\'');
        int q2 = q1 < 0 ? -1 : s.indexOf('\'', q1 + 1);
        if (q2 < 0) return null;
        String cs = s.substring(0, q1);
        try {
            byte[] raw = s.substring(q2 + 1).getBytes(StandardCharsets.ISO_8859_1);
            byte[] scratch = new byte[raw.length];
            return FormDecoder.decodeRange(raw, 0, raw.length, java.nio.charset.Charset.forName(cs), scratch);
        } catch (RuntimeException e) {
            return null;
        }
    }

    private void beginBody() {
        if (partName == null) {
            throw malformed("part " + (parts.size() + 1) + " has no Content-Disposition form-data header with a name");
        }
        state = BODY;
        match = 0;
        mem = null;
        memLen = 0;
        file = null;
        fileOut = null;
        fileLen = 0;
    }

    // ---------------------------------------------------------------- part content

    private void write(byte[] b, int off, int len) throws IOException {
        if (fileOut != null) {
            fileOut.write(b, off, len);
            fileLen += len;
            return;
        }
        int need = memLen + len;
        if (need > memoryThreshold) {
            spill();
            fileOut.write(b, off, len);
            fileLen += len;
            return;
        }
        if (mem == null || need > mem.length) {
            int cap = mem == null ? Math.min(Math.max(need, 512), memoryThreshold)
                    : Math.min(Math.max(need, mem.length * 2), memoryThreshold);
            memoryHeld += cap - (mem == null ? 0 : mem.length);
            if (memoryHeld > peakMemoryHeld) peakMemoryHeld = memoryHeld;
            mem = mem == null ? new byte[cap] : Arrays.copyOf(mem, cap);
        }
        System.arraycopy(b, off, mem, memLen, len);
        memLen = need;
    }

    /** Moves the part from memory to a new temporary file. */
    private void spill() throws IOException {
        file = Files.createTempFile(tempDir, "jhv-upload-", ".part");
        fileOut = new BufferedOutputStream(Files.newOutputStream(file), 16 * 1024);
        if (memLen > 0) fileOut.write(mem, 0, memLen);
        fileLen = memLen;
        if (mem != null) memoryHeld -= mem.length;
        mem = null;
        memLen = 0;
    }

    private void endPart() throws IOException {
        if (fileOut != null) {
            OutputStream out = fileOut;
            fileOut = null;
            out.close();
            parts.add(new MultipartPart.OnDisk(partName, partFilename, partHeaders, file, fileLen));
            file = null;
        } else {
            byte[] data = mem != null ? mem : new byte[0];
            parts.add(new MultipartPart.InMemory(partName, partFilename, partHeaders, data, memLen));
            mem = null;
        }
    }

    // ---------------------------------------------------------------- errors

    private void fail(HttpException e) {
        state = FAILED;
        cleanup();
        throw e;
    }

    private void closeFile() {
        if (fileOut != null) {
            try {
                fileOut.close();
            } catch (IOException ignored) {
                // the file is deleted next; a failed close changes nothing
            }
            fileOut = null;
        }
    }

    private static void deleteQuietly(Path p) {
        try {
            Files.deleteIfExists(p);
        } catch (IOException ignored) {
            // best effort: a leftover temp file is not worth failing the request for
        }
    }

    private static HttpException malformed(String what) {
        return new HttpException(400, "Malformed multipart body: " + what);
    }

    private static String printable(byte c) {
        int v = c & 0xff;
        return v < 0x20 || v >= 0x7f ? String.format("0x%02x", v) : "'" + (char) v + "'";
    }

    private static String shorten(String s) {
        return s.length() > 60 ? s.substring(0, 60) + "..." : s;
    }
}
