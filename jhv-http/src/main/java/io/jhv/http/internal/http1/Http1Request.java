package io.jhv.http.internal.http1;

import io.jhv.http.Cookie;
import io.jhv.http.internal.CookieParser;
import io.jhv.http.internal.FormDecoder;
import io.jhv.http.internal.MultipartParser;
import io.jhv.http.internal.Urls;
import io.jhv.http.server.Part;
import io.jhv.http.server.Request;

import io.jhv.core.net.Connection;
import io.jhv.http.HttpException;

import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.net.SocketAddress;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A request whose head is kept as offsets into the bytes it arrived in; strings are made only when
 * asked for. One per request: a handler that keeps it past its response sees this request or
 * nothing (its data is released when the exchange ends), never a later one. The offset tables
 * of a request that never left the loop are handed on to the connection's next request.
 *
 * <p>While a handler runs synchronously on the loop the offsets point into the connection's input
 * bytes; before the request outlives that (a body still to come, an async or blocking handler) the
 * head is copied into the request's own array ({@link #detach()}).
 */
public final class Http1Request implements Request {
    static final int M_UNKNOWN = -1, M_GET = 0, M_HEAD = 1, M_POST = 2, M_PUT = 3, M_DELETE = 4, M_PATCH = 5,
            M_OPTIONS = 6, M_TRACE = 7, M_CONNECT = 8;
    static final String[] METHODS = {"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "CONNECT"};
    private static final byte[][] METHOD_BYTES;

    static {
        METHOD_BYTES = new byte[METHODS.length][];
        for (int i = 0; i < METHODS.length; i++) METHOD_BYTES[i] = METHODS[i].getBytes(StandardCharsets.ISO_8859_1);
    }

    /** How the body is framed. */
    enum BodyKind { NONE, LENGTH, CHUNKED }

    final HttpConnection conn;

    // head bytes
    private byte[] data;
    private int base, headLen;
    private byte[] own; // the head's own copy, made by detach()
    private int methodEnd, targetStart, targetEnd;
    private int methodId;
    private int minor;
    private int[] hdr; // 4 ints a header: name start/end, value start/end (relative to base)
    private int headerCount;

    // semantics
    BodyKind bodyKind;
    long contentLength;
    boolean keepAlive;
    boolean expectContinue;
    private int hostIndex;

    // path and routing
    private int pathEnd;      // end of the path within the target (relative to base)
    private int pathStart;
    private String path, target, query;
    private Map<String, String> queryFirst;
    private List<Map.Entry<String, String>> queryAll;
    String[] paramNames;
    int[] paramOffsets; // start/end into the decoded path, 2 a parameter
    int paramCount;

    // body
    private byte[] body = EMPTY;
    private int bodyOff, bodyLen;
    private boolean bodyIsView; // body points into the connection's input bytes
    MultipartParser multipart;
    private Map<String, String> form;
    private Map<String, String> cookies;
    private Map<String, Object> attributes;

    private static final byte[] EMPTY = new byte[0];

    Http1Request(HttpConnection conn, int[] hdr, int[] paramOffsets) {
        this.conn = conn;
        this.hdr = hdr != null ? hdr : new int[64];
        this.paramOffsets = paramOffsets != null ? paramOffsets : new int[32];
    }

    private static final int[] NO_INTS = new int[0];

    /**
     * The exchange ended and no other thread can hold this request: gives its offset tables to
     * {@code c} for the next request. A late call on this request finds no header. Loop thread.
     */
    void recycleInto(HttpConnection c) {
        if (hdr.length == 64 && c.spareHdr == null) c.spareHdr = hdr;
        if (paramOffsets.length == 32 && c.spareParams == null) c.spareParams = paramOffsets;
        hdr = NO_INTS;
        paramOffsets = NO_INTS;
        headerCount = 0;
        paramCount = 0;
    }

    // ---------------------------------------------------------------- filled by the parser

    void beginHead(byte[] a, int start, int len) {
        data = a;
        base = start;
        headLen = len;
        // nothing of the previous request on this exchange may show through a head that fails early
        methodId = M_UNKNOWN;
        methodEnd = 0;
        minor = 1;
        targetStart = targetEnd = 0;
        pathStart = pathEnd = -1;
        keepAlive = false;
        headerCount = 0;
        hostIndex = -1;
        path = target = query = null;
        queryFirst = null;
        queryAll = null;
        paramNames = null;
        paramCount = 0;
        body = EMPTY;
        bodyOff = bodyLen = 0;
        bodyIsView = false;
        multipart = null;
        form = null;
        cookies = null;
        attributes = null;
        contentLength = 0;
        bodyKind = BodyKind.NONE;
        expectContinue = false;
    }

    void setMethod(int start, int end) {
        methodEnd = end - base;
        methodId = M_UNKNOWN;
        int n = end - start;
        for (int m = 0; m < METHOD_BYTES.length; m++) {
            byte[] mb = METHOD_BYTES[m];
            if (mb.length == n && Arrays.equals(data, start, end, mb, 0, n)) {
                methodId = m;
                break;
            }
        }
    }

    int methodId() { return methodId; }

    int methodLength() { return methodEnd; }

    void setVersion(int minor) { this.minor = minor; }

    void setTarget(int start, int end) {
        targetStart = start - base;
        targetEnd = end - base;
        byte[] a = data;
        int ps = start, pe = end;
        if (a[start] == '/') {
            // origin-form
        } else if (a[start] == '*' && end - start == 1) {
            if (methodId != M_OPTIONS) throw new HttpException(400, "the asterisk target is only for OPTIONS");
        } else if (startsWithIgnoreCase(a, start, end, "http://") || startsWithIgnoreCase(a, start, end, "https://")) {
            // absolute-form: the path starts at the first '/' after the authority
            int s = start + (a[start + 4] == ':' ? 7 : 8);
            while (s < end && a[s] != '/' && a[s] != '?') s++;
            ps = s;
            if (s == end || a[s] == '?') {
                ps = -1; // empty path means "/"
            }
        } else {
            throw new HttpException(400, "request target must be a path or an absolute URL");
        }
        if (ps < 0) {
            pathStart = -1;
            int q = indexOf(a, start, end, (byte) '?');
            pathEnd = q < 0 ? -1 : q - base;
        } else {
            int q = indexOf(a, ps, end, (byte) '?');
            pathStart = ps - base;
            pathEnd = (q < 0 ? pe : q) - base;
        }
    }

    void addHeader(int ns, int ne, int vs, int ve) {
        int k = headerCount * 4;
        if (k + 4 > hdr.length) hdr = Arrays.copyOf(hdr, hdr.length * 2);
        hdr[k] = ns - base;
        hdr[k + 1] = ne - base;
        hdr[k + 2] = vs - base;
        hdr[k + 3] = ve - base;
        headerCount++;
    }

    /** Applies the semantic rules (Host, framing, persistence) once all header fields are in. */
    void endHead() {
        boolean sawCl = false, sawTe = false, close = false, ka = false;
        long cl = -1;
        for (int h = 0; h < headerCount; h++) {
            int k = h * 4;
            int ns = base + hdr[k], ne = base + hdr[k + 1], vs = base + hdr[k + 2], ve = base + hdr[k + 3];
            int nl = ne - ns;
            if (nl == 4 && regionIs(ns, ne, HOST)) {
                if (hostIndex >= 0) throw new HttpException(400, "more than one Host header");
                hostIndex = h;
                checkHost(vs, ve);
            } else if (nl == 14 && regionIs(ns, ne, CONTENT_LENGTH)) {
                long v = parseContentLength(vs, ve);
                if (sawCl && v != cl) throw new HttpException(400, "differing Content-Length values");
                sawCl = true;
                cl = v;
            } else if (nl == 17 && regionIs(ns, ne, TRANSFER_ENCODING)) {
                // an earlier Transfer-Encoding line passed the check, so it ended in chunked: any
                // coding after it means chunked is not the last (or is applied twice)
                if (sawTe) throw new HttpException(400, "more than one Transfer-Encoding field: chunked must come once, last");
                sawTe = true;
                checkTransferEncoding(vs, ve);
            } else if (nl == 10 && regionIs(ns, ne, CONNECTION)) {
                int tokens = connectionTokens(vs, ve);
                close |= (tokens & CONN_CLOSE) != 0;
                ka |= (tokens & CONN_KEEP_ALIVE) != 0;
            } else if (nl == 6 && regionIs(ns, ne, EXPECT)) {
                if (ve - vs == 12 && regionIs(vs, ve, CONTINUE_100)) expectContinue = true;
                else throw new HttpException(417, "unsupported expectation");
            }
        }
        if (minor == 1 && hostIndex < 0) throw new HttpException(400, "missing Host header");
        if (sawTe && sawCl) throw new HttpException(400, "both Content-Length and Transfer-Encoding");
        if (sawTe) {
            if (minor == 0) throw new HttpException(400, "Transfer-Encoding in an HTTP/1.0 request");
            bodyKind = BodyKind.CHUNKED;
        } else if (sawCl && cl > 0) {
            bodyKind = BodyKind.LENGTH;
            contentLength = cl;
        }
        keepAlive = minor == 1 ? !close : (ka && !close);
        // RFC 9110 10.1.1: a 100-continue expectation in an HTTP/1.0 request is ignored
        if (bodyKind == BodyKind.NONE || minor == 0) expectContinue = false;
    }

    /** Bytes a Host header may not contain: controls, space, DEL, non-ASCII, and URL delimiters. */
    private static final boolean[] BAD_HOST = new boolean[256];

    static {
        for (int b = 0; b < 256; b++) BAD_HOST[b] = b <= 0x20 || b >= 0x7f || "/\\@?#,".indexOf(b) >= 0;
    }

    private void checkHost(int vs, int ve) {
        byte[] d = data;
        for (int i = vs; i < ve; i++) {
            if (BAD_HOST[d[i] & 0xff]) throw new HttpException(400, "invalid Host header");
        }
    }

    private long parseContentLength(int vs, int ve) {
        // A list of identical values ("5, 5") is allowed by RFC 9110 8.6; anything else is an error.
        long v = -1;
        int i = vs;
        while (i < ve) {
            while (i < ve && (data[i] == ' ' || data[i] == '\t')) i++;
            int ds = i;
            long n = 0;
            while (i < ve && data[i] >= '0' && data[i] <= '9') {
                if (i - ds >= 18) throw new HttpException(400, "Content-Length too large");
                n = n * 10 + (data[i] - '0');
                i++;
            }
            if (i == ds) throw new HttpException(400, "malformed Content-Length");
            while (i < ve && (data[i] == ' ' || data[i] == '\t')) i++;
            if (i < ve) {
                if (data[i] != ',') throw new HttpException(400, "malformed Content-Length");
                i++;
            }
            if (v >= 0 && n != v) throw new HttpException(400, "differing Content-Length values");
            v = n;
        }
        if (v < 0) throw new HttpException(400, "empty Content-Length");
        return v;
    }

    private void checkTransferEncoding(int vs, int ve) {
        // Only "chunked" is implemented; it must be the final (and here the only) coding.
        int i = vs;
        boolean chunkedSeen = false;
        while (i < ve) {
            while (i < ve && (data[i] == ' ' || data[i] == '\t' || data[i] == ',')) i++;
            int s = i;
            while (i < ve && data[i] != ',' && data[i] != ' ' && data[i] != '\t' && data[i] != ';') i++;
            if (i == s) break;
            if (i - s == 7 && regionIs(s, i, CHUNKED)) {
                if (chunkedSeen) throw new HttpException(400, "chunked applied twice");
                chunkedSeen = true;
            } else {
                throw new HttpException(501, "transfer coding not implemented: " + new String(data, s, i - s, StandardCharsets.ISO_8859_1));
            }
            while (i < ve && data[i] != ',') i++;
        }
        if (!chunkedSeen) throw new HttpException(400, "Transfer-Encoding without chunked");
    }

    private boolean hasToken(int vs, int ve, String token) {
        int n = token.length();
        int i = vs;
        while (i < ve) {
            while (i < ve && (data[i] == ' ' || data[i] == '\t' || data[i] == ',')) i++;
            int s = i;
            while (i < ve && data[i] != ',') i++;
            int e = i;
            while (e > s && (data[e - 1] == ' ' || data[e - 1] == '\t')) e--;
            if (e - s == n && regionIs(s, e, token)) return true;
        }
        return false;
    }

    private static final int CONN_CLOSE = 1, CONN_KEEP_ALIVE = 2;

    /** The close and keep-alive tokens of a Connection value, in one pass over it. */
    private int connectionTokens(int vs, int ve) {
        int found = 0;
        int i = vs;
        while (i < ve) {
            while (i < ve && (data[i] == ' ' || data[i] == '\t' || data[i] == ',')) i++;
            int s = i;
            while (i < ve && data[i] != ',') i++;
            int e = i;
            while (e > s && (data[e - 1] == ' ' || data[e - 1] == '\t')) e--;
            int n = e - s;
            if (n == 5 && regionIs(s, e, CLOSE)) found |= CONN_CLOSE;
            else if (n == 10 && regionIs(s, e, KEEP_ALIVE)) found |= CONN_KEEP_ALIVE;
        }
        return found;
    }

    private boolean nameIs(int s, int e, String lower) {
        return regionIs(s, e, lower);
    }

    /** ASCII case-insensitive compare of data[s, e) with a lower-case string. */
    // Lower-case names and tokens the head rules look for, compared as bytes.
    private static final byte[] HOST = "host".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] CONTENT_LENGTH = "content-length".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] TRANSFER_ENCODING = "transfer-encoding".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] CONNECTION = "connection".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] EXPECT = "expect".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] CONTINUE_100 = "100-continue".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] CHUNKED = "chunked".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] CLOSE = "close".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] KEEP_ALIVE = "keep-alive".getBytes(StandardCharsets.US_ASCII);

    /**
     * ASCII case-insensitive compare of data[s, e) with lower-case letters, digits and '-': b | 0x20
     * folds A-Z onto a-z, and no other byte a valid head can hold folds onto those.
     */
    private boolean regionIs(int s, int e, byte[] lower) {
        int n = lower.length;
        if (e - s != n) return false;
        byte[] d = data;
        for (int i = 0; i < n; i++) if ((d[s + i] | 0x20) != lower[i]) return false;
        return true;
    }

    private boolean regionIs(int s, int e, String lower) {
        if (e - s != lower.length()) return false;
        for (int i = 0; i < lower.length(); i++) {
            int b = data[s + i];
            if (b >= 'A' && b <= 'Z') b += 32;
            if (b != lower.charAt(i)) return false;
        }
        return true;
    }

    private static boolean startsWithIgnoreCase(byte[] a, int s, int e, String p) {
        if (e - s < p.length()) return false;
        for (int i = 0; i < p.length(); i++) {
            int b = a[s + i];
            if (b >= 'A' && b <= 'Z') b += 32;
            if (b != p.charAt(i)) return false;
        }
        return true;
    }

    private static int indexOf(byte[] a, int s, int e, byte b) {
        for (int i = s; i < e; i++) if (a[i] == b) return i;
        return -1;
    }

    /** Copies the head into the request's own array, so it outlives the input buffer. */
    void detach() {
        if (data == own) return;
        if (own == null || own.length < headLen) own = new byte[Math.max(headLen, 256)];
        System.arraycopy(data, base, own, 0, headLen);
        data = own;
        base = 0;
    }

    // ---------------------------------------------------------------- body

    /** The body is {@code a[off, off+len)} (not copied: valid while the head is). */
    void bodyView(byte[] a, int off, int len) {
        bodyIsView = true;
        body = a;
        bodyOff = off;
        bodyLen = len;
    }

    /**
     * Copies a body view into an array of its own. A new one each time, not reused: {@link #body()}
     * hands the array out, and a handler that keeps it must not see a later request's bytes.
     */
    void detachBody() {
        if (bodyLen == 0 || !bodyIsView) return;
        bodyIsView = false;
        body = Arrays.copyOfRange(body, bodyOff, bodyOff + bodyLen);
        bodyOff = 0;
    }

    /** The body was collected elsewhere. */
    void bodyBytes(byte[] b, int len) {
        bodyIsView = false;
        body = b;
        bodyOff = 0;
        bodyLen = len;
    }

    void cleanup() {
        MultipartParser mp = multipart;
        multipart = null;
        if (mp != null) mp.cleanup();
        body = EMPTY;
        bodyLen = 0;
        data = null;
    }

    boolean isHead() { return methodId == M_HEAD; }

    int minorVersion() { return minor; }

    /** Path bytes for routing: start (absolute) or -1 for "/". */
    byte[] rawData() { return data; }

    int rawPathStart() { return pathStart < 0 ? -1 : base + pathStart; }

    int rawPathEnd() { return base + (pathEnd < 0 ? targetEnd : pathEnd); }

    /** True if the raw path needs percent-decoding. */
    boolean pathHasEscapes() {
        if (pathStart < 0) return false;
        for (int i = base + pathStart, e = rawPathEnd(); i < e; i++) if (data[i] == '%') return true;
        return false;
    }

    // ---------------------------------------------------------------- Request

    @Override
    public String method() {
        return methodId >= 0 ? METHODS[methodId] : new String(data, base, methodEnd, StandardCharsets.ISO_8859_1);
    }

    @Override
    public String target() {
        if (target == null) target = new String(data, base + targetStart, targetEnd - targetStart, StandardCharsets.ISO_8859_1);
        return target;
    }

    @Override
    public String path() {
        if (path == null) {
            if (pathStart < 0) {
                path = "/";
            } else {
                String raw = new String(data, base + pathStart, pathEnd - pathStart, StandardCharsets.UTF_8);
                path = pathHasEscapes() ? Urls.decode(raw, 0, raw.length(), false, true) : raw;
                if (path.isEmpty()) path = "/";
            }
        }
        return path;
    }

    /** Sets the decoded path (when the router decoded it). */
    void path(String p) { this.path = p; }

    @Override
    public String query() {
        if (query == null) {
            int q = pathEnd < 0 ? -1 : pathEnd;
            if (q >= 0 && q < targetEnd && data[base + q] == '?') {
                query = new String(data, base + q + 1, targetEnd - q - 1, StandardCharsets.ISO_8859_1);
            }
        }
        return query;
    }

    private void parseQuery() {
        if (queryFirst != null) return;
        queryFirst = new LinkedHashMap<>();
        queryAll = new ArrayList<>();
        Urls.parseQuery(query(), queryFirst, queryAll);
    }

    @Override
    public String queryParam(String name) {
        if (query() == null) return null;
        parseQuery();
        return queryFirst.get(name);
    }

    @Override
    public Map<String, String> queryParams() {
        if (query() == null) return Map.of();
        parseQuery();
        return Collections.unmodifiableMap(queryFirst);
    }

    @Override
    public List<String> queryParams(String name) {
        if (query() == null) return List.of();
        parseQuery();
        List<String> out = new ArrayList<>();
        for (Map.Entry<String, String> e : queryAll) if (e.getKey().equals(name)) out.add(e.getValue());
        return out;
    }

    @Override
    public String pathParam(String name) {
        String[] names = paramNames;
        if (names == null) return null;
        for (int i = 0; i < paramCount; i++) {
            if (names[i].equals(name)) return path().substring(paramOffsets[2 * i], paramOffsets[2 * i + 1]);
        }
        return null;
    }

    @Override
    public String version() { return minor == 1 ? "HTTP/1.1" : "HTTP/1.0"; }

    private int find(String name, int from) {
        int n = name.length();
        for (int h = from; h < headerCount; h++) {
            int k = h * 4;
            int ns = base + hdr[k], ne = base + hdr[k + 1];
            if (ne - ns != n) continue;
            boolean eq = true;
            for (int i = 0; i < n; i++) {
                int b = data[ns + i], c = name.charAt(i);
                if (b >= 'A' && b <= 'Z') b += 32;
                if (c >= 'A' && c <= 'Z') c += 32;
                if (b != c) {
                    eq = false;
                    break;
                }
            }
            if (eq) return h;
        }
        return -1;
    }

    private String value(int h) {
        int k = h * 4;
        return new String(data, base + hdr[k + 2], hdr[k + 3] - hdr[k + 2], StandardCharsets.ISO_8859_1);
    }

    private String name(int h) {
        int k = h * 4;
        return new String(data, base + hdr[k], hdr[k + 1] - hdr[k], StandardCharsets.ISO_8859_1);
    }

    @Override
    public String header(String name) {
        int h = find(name, 0);
        return h < 0 ? null : value(h);
    }

    @Override
    public List<String> headers(String name) {
        List<String> out = new ArrayList<>(2);
        for (int h = find(name, 0); h >= 0; h = find(name, h + 1)) out.add(value(h));
        return out;
    }

    @Override
    public List<Map.Entry<String, String>> headers() {
        List<Map.Entry<String, String>> out = new ArrayList<>(headerCount);
        for (int h = 0; h < headerCount; h++) out.add(Map.entry(name(h), value(h)));
        return out;
    }

    @Override
    public boolean hasHeader(String name) { return find(name, 0) >= 0; }

    /** True if header {@code name} has the comma-separated token {@code lowerToken}. */
    boolean headerHasToken(String name, String lowerToken) {
        for (int h = find(name, 0); h >= 0; h = find(name, h + 1)) {
            int k = h * 4;
            if (hasToken(base + hdr[k + 2], base + hdr[k + 3], lowerToken)) return true;
        }
        return false;
    }

    @Override
    public String cookie(String name) { return cookies().get(name); }

    @Override
    public Map<String, String> cookies() {
        if (cookies == null) {
            Map<String, String> m = new LinkedHashMap<>();
            for (String v : headers("Cookie")) CookieParser.parse(v, m);
            cookies = Collections.unmodifiableMap(m);
        }
        return cookies;
    }

    @Override
    public byte[] body() {
        if (bodyOff == 0 && bodyLen == body.length) return body;
        return Arrays.copyOfRange(body, bodyOff, bodyOff + bodyLen);
    }

    @Override
    public String bodyString() { return new String(body, bodyOff, bodyLen, charset()); }

    @Override
    public InputStream bodyStream() { return new ByteArrayInputStream(body, bodyOff, bodyLen); }

    @Override
    public long contentLength() { return bodyLen; }

    private Charset charset() {
        String ct = contentType();
        if (ct != null) {
            int i = ct.toLowerCase(java.util.Locale.ROOT).indexOf("charset=");
            if (i >= 0) {
                String cs = ct.substring(i + 8).trim();
                int semi = cs.indexOf(';');
                if (semi >= 0) cs = cs.substring(0, semi).trim();
                if (cs.startsWith("\"") && cs.endsWith("\"") && cs.length() > 1) cs = cs.substring(1, cs.length() - 1);
                try {
                    return Charset.forName(cs);
                } catch (RuntimeException e) {
                    throw new HttpException(415, "unknown charset " + cs);
                }
            }
        }
        return StandardCharsets.UTF_8;
    }

    @Override
    public Map<String, String> form() {
        if (form == null) {
            Map<String, String> m = new LinkedHashMap<>();
            String ct = contentType();
            if (ct != null && ct.regionMatches(true, 0, "application/x-www-form-urlencoded", 0, 33)) {
                FormDecoder.decode(body, bodyOff, bodyLen, charset(), m);
            } else if (multipart != null) {
                for (Part p : multipart.parts()) {
                    if (p.filename() == null) {
                        try {
                            m.putIfAbsent(p.name(), p.string());
                        } catch (java.io.IOException e) {
                            throw new HttpException(500, "cannot read part " + p.name(), e);
                        }
                    }
                }
            }
            form = Collections.unmodifiableMap(m);
        }
        return form;
    }

    @Override
    public List<Part> parts() {
        return multipart == null ? List.of() : multipart.parts();
    }

    @Override
    public <T> T json(Class<T> type) {
        return conn.server().jsonCodec().decode(body, bodyOff, bodyLen, type);
    }

    @Override
    public boolean keepAlive() { return keepAlive; }

    @Override
    public SocketAddress remoteAddress() {
        Connection c = conn.connection();
        return c == null ? null : c.remoteAddress();
    }

    @Override
    public Connection connection() { return conn.connection(); }

    @Override
    public Object attribute(String name) {
        return attributes == null ? null : attributes.get(name);
    }

    @Override
    public void attribute(String name, Object value) {
        if (attributes == null) attributes = new HashMap<>();
        attributes.put(name, value);
    }

    @Override
    public String toString() {
        return data == null ? "Request[-]" : method() + " " + target();
    }
}
