package io.jhv.http.internal.client;

import io.jhv.http.JsonCodec;
import io.jhv.http.client.HttpRequest;
import io.jhv.http.client.HttpResponse;

import java.net.URI;

/**
 * The engine's way into the package-private parts of the public client types (the shared-secrets
 * pattern): the public classes register an implementation in their static initialisers, so no
 * public method has to expose an internal type.
 */
public final class ClientAccess {
    private ClientAccess() {}

    /** What the engine needs of {@link HttpRequest}. */
    public interface Requests {
        RequestBody body(HttpRequest r);

        /** The cached encoded head (see {@code RequestEncoder}), or null. */
        Object encodedHead(HttpRequest r);

        void encodedHead(HttpRequest r, Object head);

        /** A copy of {@code r} with another method, URI, body and headers (redirects). */
        HttpRequest derive(HttpRequest r, String method, URI uri, RequestBody body, String[] headers);

        /** The header name/value pairs, flat: n0, v0, n1, v1, ... (not copied: do not change). */
        String[] headerArray(HttpRequest r);
    }

    /** What the engine needs of {@link HttpResponse}. */
    public interface Responses {
        HttpResponse create(HttpRequest request, int status, String reason, int minorVersion, HeaderList headers,
                            byte[] body, JsonCodec json);

        void trailers(HttpResponse r, HeaderList trailers);

        void body(HttpResponse r, byte[] body);

        void previous(HttpResponse r, HttpResponse previous);
    }

    private static volatile Requests requests;
    private static volatile Responses responses;

    public static void requests(Requests r) { requests = r; }

    public static void responses(Responses r) { responses = r; }

    public static Requests requests() {
        Requests r = requests;
        if (r == null) {
            init(HttpRequest.class);
            r = requests;
        }
        return r;
    }

    public static Responses responses() {
        Responses r = responses;
        if (r == null) {
            init(HttpResponse.class);
            r = responses;
        }
        return r;
    }

    private static void init(Class<?> c) {
        try {
            Class.forName(c.getName(), true, c.getClassLoader());
        } catch (ClassNotFoundException e) {
            throw new IllegalStateException(e);
        }
    }
}
