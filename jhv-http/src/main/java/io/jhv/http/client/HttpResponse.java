package io.jhv.http.client;

import io.jhv.http.JsonCodec;
import io.jhv.http.internal.client.ClientAccess;
import io.jhv.http.internal.client.HeaderList;

import java.net.URI;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A response the {@link HttpClient} received: status line, headers, the body (held in memory for
 * {@code send}/{@code sendAsync}; empty for a streamed response, whose body went to a
 * {@link ResponseHandler}), trailers, the final URL after redirects and the responses that
 * redirected there.
 *
 * <p>Immutable once handed out; any thread.
 *
 * {@snippet :
 * HttpResponse res = client.get("http://localhost:8080/hello");
 * if (res.status() == 200) System.out.println(res.bodyString());
 * }
 */
public final class HttpResponse {
    private static final byte[] EMPTY = new byte[0];

    static {
        ClientAccess.responses(new ClientAccess.Responses() {
            @Override
            public HttpResponse create(HttpRequest request, int status, String reason, int minorVersion, HeaderList headers,
                                       byte[] body, JsonCodec json) {
                return new HttpResponse(request, status, reason, minorVersion, headers, body, json);
            }

            @Override public void trailers(HttpResponse r, HeaderList trailers) { r.trailers = trailers; }
            @Override public void body(HttpResponse r, byte[] body) { r.body = body; }
            @Override public void previous(HttpResponse r, HttpResponse previous) { r.previous = previous; }
        });
    }

    private final HttpRequest request;
    private final int status;
    private final String reason;
    private final int minorVersion;
    private final HeaderList headers;
    private byte[] body;
    private HeaderList trailers = HeaderList.EMPTY;
    private final JsonCodec json;
    private HttpResponse previous;

    private HttpResponse(HttpRequest request, int status, String reason, int minorVersion, HeaderList headers,
                         byte[] body, JsonCodec json) {
        this.request = request;
        this.status = status;
        this.reason = reason;
        this.minorVersion = minorVersion;
        this.headers = headers;
        this.body = body == null ? EMPTY : body;
        this.json = json;
    }

    /** The status code, such as 200. */
    public int status() { return status; }

    /** The reason phrase as the server sent it (may be empty). */
    public String reason() { return reason; }

    /** The protocol version: {@code HTTP/1.1} or {@code HTTP/1.0}. */
    public String version() { return minorVersion == 0 ? "HTTP/1.0" : "HTTP/1.1"; }

    /** Whether the status is 2xx. */
    public boolean isSuccessful() { return status >= 200 && status < 300; }

    /** The first value of header {@code name} (case-insensitive), or null. */
    public String header(String name) { return headers.get(name); }

    /** Every value of header {@code name}, in order; empty if none. */
    public List<String> headers(String name) { return headers.all(name); }

    /** All headers, names case-insensitive, values in order. */
    public Map<String, List<String>> headers() { return headers.asMap(); }

    /** The header names and values in the order received, as {@code [name, value]} pairs. */
    public List<Map.Entry<String, String>> headerList() {
        List<Map.Entry<String, String>> l = new ArrayList<>(headers.size());
        for (int i = 0; i < headers.size(); i++) l.add(Map.entry(headers.name(i), headers.value(i)));
        return Collections.unmodifiableList(l);
    }

    /** The body bytes (decoded if the client decompresses); empty for HEAD, 204, 304 and streamed responses. Not copied: do not change. */
    public byte[] body() { return body; }

    /** The body as text in the charset of {@code Content-Type} (UTF-8 when none or unknown). */
    public String bodyString() { return new String(body, charset()); }

    /** The body decoded from JSON by the client's {@link JsonCodec}. */
    public <T> T json(Class<T> type) { return json.decode(body, 0, body.length, type); }

    /** The trailer fields of a chunked body (empty if none). */
    public Map<String, List<String>> trailers() { return trailers.asMap(); }

    /** The first value of trailer {@code name}, or null. */
    public String trailer(String name) { return trailers.get(name); }

    /** The URL this response came from: after redirects, the last one. */
    public URI url() { return request.uri(); }

    /** The request that produced this response (after redirects, the last hop's). */
    public HttpRequest request() { return request; }

    /** The redirect response that led here, or null; follow it back for the whole chain. */
    public HttpResponse previous() { return previous; }

    private Charset charset() {
        String ct = headers.get("Content-Type");
        if (ct == null) return StandardCharsets.UTF_8;
        int i = ct.toLowerCase(Locale.ROOT).indexOf("charset=");
        if (i < 0) return StandardCharsets.UTF_8;
        String cs = ct.substring(i + 8).trim();
        int semi = cs.indexOf(';');
        if (semi >= 0) cs = cs.substring(0, semi).trim();
        if (cs.length() > 1 && cs.startsWith("\"") && cs.endsWith("\"")) cs = cs.substring(1, cs.length() - 1);
        try {
            return Charset.forName(cs);
        } catch (RuntimeException e) {
            return StandardCharsets.UTF_8;
        }
    }

    @Override
    public String toString() {
        return version() + " " + status + (reason.isEmpty() ? "" : " " + reason) + " (" + request.method() + " " + request.uri() + ")";
    }
}
