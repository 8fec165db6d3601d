package io.jhv.http.client;

import io.jhv.http.Headers;
import io.jhv.http.internal.client.ClientAccess;
import io.jhv.http.internal.client.RequestBody;

import java.io.InputStream;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.concurrent.Flow;

/**
 * An HTTP request for the {@link HttpClient}: method, absolute {@code http://} or {@code https://}
 * URL, headers, an optional body, and an optional per-call deadline.
 *
 * <p>Immutable and thread-safe once built; send it as often as you like (a body from an
 * {@code InputStream} or a publisher can be sent once only). The client adds {@code Host},
 * {@code Content-Length} or {@code Transfer-Encoding: chunked}, {@code User-Agent},
 * {@code Accept-Encoding} (when decompressing) and cookies; headers set here win over the
 * client's defaults (not over the framing headers, which the client owns). The builder is for one
 * thread.
 *
 * {@snippet :
 * HttpRequest req = HttpRequest.post("http://localhost:8080/items")
 *     .header("Accept", "application/json")
 *     .json(Map.of("name", "box"))
 *     .timeout(Duration.ofSeconds(5))
 *     .build();
 * }
 */
public final class HttpRequest {
    static {
        ClientAccess.requests(new ClientAccess.Requests() {
            @Override public RequestBody body(HttpRequest r) { return r.body; }
            @Override public Object encodedHead(HttpRequest r) { return r.encodedHead; }
            @Override public void encodedHead(HttpRequest r, Object head) { r.encodedHead = head; }
            @Override public String[] headerArray(HttpRequest r) { return r.headers; }
            @Override public HttpRequest derive(HttpRequest r, String method, URI uri, RequestBody body, String[] headers) {
                return new HttpRequest(method, uri, headers, body, r.timeout, r.expectContinue, r.writeTimeout);
            }
        });
    }

    private final String method;
    private final URI uri;
    private final String[] headers; // n0, v0, n1, v1, ...
    private final RequestBody body;
    private final Duration timeout;
    private final boolean expectContinue;
    private final Duration writeTimeout; // null: the client's
    // The request head encoded once for the client that sends it (an immutable request sent again
    // and again costs no encoding): set and read by the engine, racy but idempotent.
    private volatile Object encodedHead;

    private HttpRequest(String method, URI uri, String[] headers, RequestBody body, Duration timeout, boolean expectContinue,
                        Duration writeTimeout) {
        this.writeTimeout = writeTimeout;
        this.method = method;
        this.uri = uri;
        this.headers = headers;
        this.body = body;
        this.timeout = timeout;
        this.expectContinue = expectContinue;
    }

    /** A builder for a {@code GET} of {@code url}. Any thread. @throws IllegalArgumentException for a bad URL */
    public static Builder get(String url) { return new Builder("GET", url); }

    /** A builder for a {@code POST} to {@code url}. */
    public static Builder post(String url) { return new Builder("POST", url); }

    /** A builder for a {@code PUT} to {@code url}. */
    public static Builder put(String url) { return new Builder("PUT", url); }

    /** A builder for a {@code PATCH} of {@code url}. */
    public static Builder patch(String url) { return new Builder("PATCH", url); }

    /** A builder for a {@code DELETE} of {@code url}. */
    public static Builder delete(String url) { return new Builder("DELETE", url); }

    /** A builder for a {@code HEAD} of {@code url}. */
    public static Builder head(String url) { return new Builder("HEAD", url); }

    /** A builder for any method (a token, such as {@code OPTIONS} or {@code PROPFIND}). */
    public static Builder newBuilder(String method, String url) { return new Builder(method, url); }

    /** A builder for any method and a parsed URI. */
    public static Builder newBuilder(String method, URI uri) { return new Builder(method, uri); }

    /** A builder starting from this request's method, URL, headers, body and settings. */
    public Builder toBuilder() {
        Builder b = new Builder(method, uri);
        b.headers.addAll(Arrays.asList(headers));
        b.body = body;
        b.timeout = timeout;
        b.expectContinue = expectContinue;
        b.writeTimeout = writeTimeout;
        return b;
    }

    /** The method, upper case as given ({@code GET}). */
    public String method() { return method; }

    /** The absolute URL. */
    public URI uri() { return uri; }

    /** The first value of header {@code name} (case-insensitive), or null. */
    public String header(String name) {
        for (int i = 0; i < headers.length; i += 2) if (headers[i].equalsIgnoreCase(name)) return headers[i + 1];
        return null;
    }

    /** The headers set on this request, names case-insensitive, values in order. */
    public Map<String, List<String>> headers() {
        TreeMap<String, List<String>> m = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
        for (int i = 0; i < headers.length; i += 2) m.computeIfAbsent(headers[i], k -> new ArrayList<>(1)).add(headers[i + 1]);
        m.replaceAll((k, v) -> List.copyOf(v));
        return Collections.unmodifiableMap(m);
    }

    /** Whether the request carries a body. */
    public boolean hasBody() { return body != null; }

    /** The per-call deadline, or null for the client's {@code callTimeout}. */
    public Duration timeout() { return timeout; }

    /** This request's write timeout ({@link Duration#ZERO}: none), or null for the client's {@code writeTimeout}. */
    public Duration writeTimeout() { return writeTimeout; }

    /** Whether the client sends {@code Expect: 100-continue} and waits for the go-ahead before the body. */
    public boolean expectContinue() { return expectContinue; }

    @Override
    public String toString() {
        return method + " " + uri;
    }

    /**
     * Builds an {@link HttpRequest}. One thread; {@link #build()} may be called again after more
     * changes.
     */
    public static final class Builder {
        private String method;
        private URI uri;
        private final List<String> headers = new ArrayList<>();
        private RequestBody body;
        private Duration timeout;
        private boolean expectContinue;
        private Duration writeTimeout;

        private Builder(String method, String url) {
            this(method, parse(url));
        }

        private Builder(String method, URI uri) {
            method(method);
            uri(uri);
        }

        private static URI parse(String url) {
            Objects.requireNonNull(url, "url");
            try {
                return new URI(url);
            } catch (URISyntaxException e) {
                throw new IllegalArgumentException("not a URL: " + url + " (" + e.getMessage() + ")", e);
            }
        }

        /** Sets the method (an HTTP token; upper-cased). */
        public Builder method(String m) {
            Objects.requireNonNull(m, "method");
            Headers.checkToken(m, "method");
            this.method = m.toUpperCase(Locale.ROOT);
            return this;
        }

        /** Sets the URL: absolute, {@code http} or {@code https}, with a host, without user info. */
        public Builder uri(URI u) {
            Objects.requireNonNull(u, "uri");
            String s = u.getScheme() == null ? "" : u.getScheme().toLowerCase(Locale.ROOT);
            if (!s.equals("http") && !s.equals("https")) throw new IllegalArgumentException("not an http:// or https:// URL: " + u);
            if (u.getHost() == null || u.getHost().isEmpty()) throw new IllegalArgumentException("no host in " + u);
            if (u.getRawUserInfo() != null) throw new IllegalArgumentException("user info in a URL is not sent: set an Authorization header instead: " + u);
            this.uri = u;
            return this;
        }

        /** Sets the URL from a string. */
        public Builder uri(String url) { return uri(parse(url)); }

        /** Adds a header (a name may repeat). Names are tokens; values have no CR, LF or NUL. */
        public Builder header(String name, String value) {
            Headers.checkToken(Objects.requireNonNull(name, "name"), "header name");
            Headers.checkValue(Objects.requireNonNull(value, "value"), "header value");
            if (name.equalsIgnoreCase("Content-Length") || name.equalsIgnoreCase("Transfer-Encoding")
                    || name.equalsIgnoreCase("Host") || name.equalsIgnoreCase("Connection")) {
                throw new IllegalArgumentException("the client sets " + name + " itself");
            }
            headers.add(name);
            headers.add(value);
            return this;
        }

        /** Replaces every value of header {@code name} with {@code value}. */
        public Builder setHeader(String name, String value) {
            removeHeader(name);
            return header(name, value);
        }

        /** Removes every value of header {@code name}. */
        public Builder removeHeader(String name) {
            for (int i = headers.size() - 2; i >= 0; i -= 2) {
                if (headers.get(i).equalsIgnoreCase(name)) {
                    headers.remove(i + 1);
                    headers.remove(i);
                }
            }
            return this;
        }

        private String contentType(String fallback) {
            for (int i = 0; i < headers.size(); i += 2) if (headers.get(i).equalsIgnoreCase("Content-Type")) return null;
            return fallback;
        }

        /** A body of bytes (copied), {@code application/octet-stream} unless a Content-Type is set. */
        public Builder body(byte[] bytes) {
            this.body = new RequestBody.Bytes(bytes.clone(), "application/octet-stream");
            return this;
        }

        /** A UTF-8 text body, {@code text/plain; charset=utf-8} unless a Content-Type is set. */
        public Builder body(String text) {
            this.body = new RequestBody.Bytes(text.getBytes(StandardCharsets.UTF_8), "text/plain; charset=utf-8");
            return this;
        }

        /** A file body, read as it is sent, with its length; content type by the file's name. */
        public Builder body(Path file) {
            Objects.requireNonNull(file, "file");
            if (!Files.isRegularFile(file)) throw new IllegalArgumentException("not a readable file: " + file);
            this.body = new RequestBody.FileBody(file, "application/octet-stream");
            return this;
        }

        /**
         * A body read from {@code in} as the socket drains (off the loop thread), sent chunked;
         * closed when done. Such a request can be sent once and is never retried after a byte
         * of it was written.
         */
        public Builder body(InputStream in) {
            this.body = new RequestBody.StreamBody(Objects.requireNonNull(in, "in"), -1, "application/octet-stream");
            return this;
        }

        /**
         * A body from a reactive-streams publisher, requested as the socket drains, sent chunked
         * (or with {@code Content-Length} when {@code length >= 0}). Sent once; never retried after a
         * byte was written.
         */
        public Builder body(Flow.Publisher<ByteBuffer> publisher, long length) {
            this.body = new RequestBody.PublisherBody(Objects.requireNonNull(publisher, "publisher"), length, "application/octet-stream");
            return this;
        }

        /** {@code value} encoded by the client's {@link io.jhv.http.JsonCodec} when sent, as {@code application/json}. */
        public Builder json(Object value) {
            this.body = new RequestBody.JsonBody(value);
            return this;
        }

        /** An {@code application/x-www-form-urlencoded} body from {@code fields}, in their iteration order. */
        public Builder form(Map<String, String> fields) {
            this.body = RequestBody.form(fields);
            return this;
        }

        /** A {@code multipart/form-data} body; file parts are streamed from disk (see {@link Multipart}). */
        public Builder multipart(Multipart multipart) {
            this.body = new RequestBody.MultipartBody(Objects.requireNonNull(multipart, "multipart"));
            return this;
        }

        /** No body. */
        public Builder noBody() {
            this.body = null;
            return this;
        }

        /** A deadline for the whole call (redirects and retries included), overriding the client's {@code callTimeout}. */
        public Builder timeout(Duration d) {
            Objects.requireNonNull(d, "timeout");
            if (d.isNegative() || d.isZero()) throw new IllegalArgumentException("timeout must be > 0: " + d);
            this.timeout = d;
            return this;
        }

        /**
         * The write timeout for this request, overriding the client's
         * {@link HttpClient.Builder#writeTimeout} ({@link Duration#ZERO}: none): how long sending it
         * may make no progress. A long upload to a server known to pause can take a longer one.
         */
        public Builder writeTimeout(Duration d) {
            Objects.requireNonNull(d, "writeTimeout");
            if (d.isNegative()) throw new IllegalArgumentException("writeTimeout must be >= 0: " + d);
            this.writeTimeout = d;
            return this;
        }

        /** Sends {@code Expect: 100-continue} and the body only after the server's 100 (or a short wait). */
        public Builder expectContinue() {
            this.expectContinue = true;
            return this;
        }

        /** The request. */
        public HttpRequest build() {
            RequestBody b = body;
            if (b != null && b.contentType != null && contentType(b.contentType) != null) {
                headers.add("Content-Type");
                headers.add(b.contentType);
                HttpRequest r = new HttpRequest(method, uri, headers.toArray(new String[0]), b, timeout, expectContinue, writeTimeout);
                headers.remove(headers.size() - 1);
                headers.remove(headers.size() - 1);
                return r;
            }
            return new HttpRequest(method, uri, headers.toArray(new String[0]), b, timeout, expectContinue, writeTimeout);
        }
    }
}
