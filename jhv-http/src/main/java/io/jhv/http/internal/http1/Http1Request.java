package io.jhv.http.internal.http1;

import io.jhv.http.Cookie;
import io.jhv.http.internal.CookieParser;
import io.jhv.http.internal.MultipartParser;
import io.jhv.http.internal.Urls;
import io.jhv.http.server.Part;
import io.jhv.http.server.Request;

import io.jhv.core.net.Connection;
import io.jhv.http.HttpException;

import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.net.SocketAddress;
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
        if (own != null && own.length == OWN_SIZE && c.spareHead == null && data != own) c.spareHead = own;
        own = null;
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
        } else if (HeadRules.startsWithIgnoreCase(a, start, end, "http://") || HeadRules.startsWithIgnoreCase(a, start, end, "https://")) {
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
            int q = HeadRules.indexOf(a, start, end, (byte) '?');
            pathEnd = q < 0 ? -1 : q - base;
        } else {
            int q = HeadRules.indexOf(a, ps, end, (byte) '?');
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
            if (nl == 4 && HeadRules.regionIs(data, ns, ne, HeadRules.HOST)) {
                if (hostIndex >= 0) throw new HttpException(400, "more than one Host header");
                hostIndex = h;
                HeadRules.checkHost(data, vs, ve);
            } else if (nl == 14 && HeadRules.regionIs(data, ns, ne, HeadRules.CONTENT_LENGTH)) {
                long v = HeadRules.parseContentLength(data, vs, ve);
                if (sawCl && v != cl) throw new HttpException(400, "differing Content-Length values");
                sawCl = true;
                cl = v;
            } else if (nl == 17 && HeadRules.regionIs(data, ns, ne, HeadRules.TRANSFER_ENCODING)) {
                // an earlier Transfer-Encoding line passed the check, so it ended in chunked: any
                // coding after it means chunked is not the last (or is applied twice)
                if (sawTe) throw new HttpException(400, "more than one Transfer-Encoding field: chunked must come once, last");
                sawTe = true;
                HeadRules.checkTransferEncoding(data, vs, ve);
            } else if (nl == 10 && HeadRules.regionIs(data, ns, ne, HeadRules.CONNECTION)) {
                int tokens = HeadRules.connectionTokens(data, vs, ve);
                close |= (tokens & HeadRules.CONN_CLOSE) != 0;
                ka |= (tokens & HeadRules.CONN_KEEP_ALIVE) != 0;
            } else if (nl == 6 && HeadRules.regionIs(data, ns, ne, HeadRules.EXPECT)) {
                if (ve - vs == 12 && HeadRules.regionIs(data, vs, ve, HeadRules.CONTINUE_100)) expectContinue = true;
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

    /** The usual size of a head copy: one this size is handed on to the connection's next request. */
    private static final int OWN_SIZE = 256;

    /** Copies the head into the request's own array, so it outlives the input buffer. */
    void detach() {
        if (data == own) return;
        if (own == null && headLen <= OWN_SIZE && conn.spareHead != null) {
            own = conn.spareHead; // a released request's copy: no other thread can hold it
            conn.spareHead = null;
        }
        if (own == null || own.length < headLen) own = new byte[Math.max(headLen, OWN_SIZE)];
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

    // ------------------------------------------------ header fields by index, without Strings (the reverse proxy)

    /** Header fields in the head, in order. Valid while the head is (the handler's thread). */
    public int headerCount() { return headerCount; }

    /** The name of field {@code h} as sent. */
    public String headerName(int h) { return name(h); }

    /** The value of field {@code h}. */
    public String headerValue(int h) { return value(h); }

    /** True if field {@code h}'s name is {@code lowerName} (ASCII case-insensitive; {@code lowerName} lower-case). */
    public boolean headerNameIs(int h, String lowerName) {
        int k = h * 4;
        return HeadRules.regionIs(data, base + hdr[k], base + hdr[k + 1], lowerName);
    }

    /** The length of field {@code h}'s name. */
    public int headerNameLength(int h) {
        int k = h * 4;
        return hdr[k + 1] - hdr[k];
    }

    /** True if field {@code h}'s value is exactly {@code s} (ISO-8859-1). */
    public boolean headerValueIs(int h, String s) {
        int k = h * 4;
        return regionEquals(base + hdr[k + 2], base + hdr[k + 3], s);
    }

    /** True if the request target is exactly {@code s} (ISO-8859-1), without making a String of it. */
    public boolean targetIs(String s) {
        if (target != null) return target.equals(s);
        return regionEquals(base + targetStart, base + targetEnd, s);
    }

    /** {@code target().hashCode()}, without making a String of the target. */
    public int targetHash() {
        if (target != null) return target.hashCode();
        int hash = 0;
        for (int i = base + targetStart, e = base + targetEnd; i < e; i++) hash = 31 * hash + (data[i] & 0xff);
        return hash;
    }

    private boolean regionEquals(int s, int e, String str) {
        if (e - s != str.length()) return false;
        byte[] d = data;
        for (int i = 0; i < e - s; i++) if ((d[s + i] & 0xff) != str.charAt(i)) return false;
        return true;
    }

    /** True if header {@code name} has the comma-separated token {@code lowerToken}. */
    boolean headerHasToken(String name, String lowerToken) {
        for (int h = find(name, 0); h >= 0; h = find(name, h + 1)) {
            int k = h * 4;
            if (HeadRules.hasToken(data, base + hdr[k + 2], base + hdr[k + 3], lowerToken)) return true;
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
    public String bodyString() { return new String(body, bodyOff, bodyLen, RequestBodies.charset(contentType())); }

    @Override
    public InputStream bodyStream() { return new ByteArrayInputStream(body, bodyOff, bodyLen); }

    @Override
    public long contentLength() { return bodyLen; }

    @Override
    public Map<String, String> form() {
        if (form == null) {
            form = RequestBodies.form(contentType(), body, bodyOff, bodyLen, multipart);
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
    public Map<String, Object> attributes() {
        return attributes == null ? Map.of() : java.util.Collections.unmodifiableMap(attributes);
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
