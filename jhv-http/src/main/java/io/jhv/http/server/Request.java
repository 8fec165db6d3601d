package io.jhv.http.server;

import io.jhv.http.JsonCodec;

import io.jhv.core.loop.EventLoop;
import io.jhv.core.net.Connection;

import java.io.InputStream;
import java.net.SocketAddress;
import java.util.List;
import java.util.Map;

/**
 * An HTTP request as a handler sees it.
 *
 * <p>Thread contract: a request belongs to one exchange; read it on the thread that runs the
 * handler (the loop, or the virtual thread of a blocking handler). After the response has been sent
 * the request object is reused for a later request on the same connection: copy what you keep.
 * Strings (headers, parameters) are decoded from the raw bytes only when asked for.
 */
public interface Request {

    /** The method token, e.g. "GET". */
    String method();

    /** The request target as sent (origin-form path and query, or absolute-form). */
    String target();

    /** The decoded path, without the query. */
    String path();

    /** The raw query string without '?', or null. */
    String query();

    /** The first value of a decoded query parameter, or null. */
    String queryParam(String name);

    /** All decoded query parameters (first value each, in order). */
    Map<String, String> queryParams();

    /** All values of a decoded query parameter. */
    List<String> queryParams(String name);

    /** A path parameter of the matched route ({@code /users/:id} or {@code /users/{id}}; {@code *} for the wildcard rest), or null. */
    String pathParam(String name);

    /** "HTTP/1.1" or "HTTP/1.0". */
    String version();

    /** The first value of a header (case-insensitive name), or null. */
    String header(String name);

    /** All values of a header, in order. */
    List<String> headers(String name);

    /** All header names and values, in order, as sent. */
    List<Map.Entry<String, String>> headers();

    /** True if the request has the header (case-insensitive). */
    boolean hasHeader(String name);

    /** The value of a cookie, or null. */
    String cookie(String name);

    /** All cookies. */
    Map<String, String> cookies();

    /** The Content-Type header, or null. */
    default String contentType() {
        return header("Content-Type");
    }

    /** The body bytes (empty if none). */
    byte[] body();

    /** The body as a string in the charset of the Content-Type (UTF-8 by default). */
    String bodyString();

    /** The body as a stream. */
    InputStream bodyStream();

    /** The body length in bytes. */
    long contentLength();

    /** Decoded {@code application/x-www-form-urlencoded} fields of the body (or of a multipart body's plain fields). */
    Map<String, String> form();

    /** The parts of a {@code multipart/form-data} body (file parts above the threshold are on disk). */
    List<Part> parts();

    /** The part named {@code name}, or null. */
    default Part part(String name) {
        for (Part p : parts()) if (name.equals(p.name())) return p;
        return null;
    }

    /** The body parsed as JSON into {@code type} by the server's {@link JsonCodec}. */
    <T> T json(Class<T> type);

    /** True if the connection stays open after this exchange. */
    boolean keepAlive();

    SocketAddress remoteAddress();

    /** The connection the request came on. */
    Connection connection();

    /** The event loop of the connection (for timers and posting). */
    default EventLoop loop() {
        return connection().loop();
    }

    /** Per-request attributes, for middleware to pass values to handlers. */
    Object attribute(String name);

    void attribute(String name, Object value);

    /** A read-only view of the attributes set so far (empty when none). */
    Map<String, Object> attributes();
}
