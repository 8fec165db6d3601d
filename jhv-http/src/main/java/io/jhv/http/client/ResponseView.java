package io.jhv.http.client;

import io.jhv.core.buffer.Buffer;

/**
 * A whole response seen through {@link ResponseCallback#onResponse}: status line, headers, body
 * and trailers, <b>borrowed for the duration of that call</b>. The client reuses the view and its
 * body buffer for a later call, so nothing here is allocated per response; read what you need
 * inside the callback, or keep {@link #toResponse()} (a copy).
 *
 * <p>Thread contract: the connection's loop thread, during {@code onResponse} only. Once that
 * callback has returned, every accessor throws {@link IllegalStateException} (a view kept by
 * mistake fails loudly), until the client hands the same view object to a later call's
 * {@code onResponse}, where it shows that call's response. The {@link #body()} Buffer is not
 * guarded: kept past the callback it reads as empty, and later shows another response's bytes.
 */
public interface ResponseView {
    /** The request that was answered (after redirects, the last hop's). */
    HttpRequest request();

    /** The status code, such as 200. */
    int status();

    /** The reason phrase as the server sent it (may be empty). */
    String reason();

    /** {@code HTTP/1.1} or {@code HTTP/1.0}. */
    String version();

    /** Whether the status is 2xx. */
    default boolean isSuccessful() { return status() >= 200 && status() < 300; }

    /** The first value of header {@code name} (case-insensitive), or null. No allocation. */
    String header(String name);

    /** How many header fields the response had. */
    int headerCount();

    /** The name of the {@code i}-th header field, in the order received. */
    String headerName(int i);

    /** The value of the {@code i}-th header field. */
    String headerValue(int i);

    /**
     * The body (decoded if the client decompresses), from its reader index to its writer index;
     * empty for HEAD, 204 and 304. Borrowed: valid during the callback only; reading it moves
     * its reader index.
     */
    Buffer body();

    /** The body as text in the charset of {@code Content-Type} (UTF-8 when none or unknown); allocates the String. */
    String bodyString();

    /** The first value of trailer {@code name} (a chunked body's), or null. */
    String trailer(String name);

    /** A copy as an {@link HttpResponse}, to keep after the callback (allocates). */
    HttpResponse toResponse();
}
