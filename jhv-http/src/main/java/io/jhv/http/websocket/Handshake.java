package io.jhv.http.websocket;

import java.util.List;
import java.util.Map;

/**
 * What the opening handshake asked for and agreed on. On the server: the upgrade request (path,
 * query, path parameters of the route, headers, cookies, and the attributes middleware set on the
 * request, for example the user an authentication middleware found). On the client: the URI asked
 * for and the headers of the server's {@code 101} response. A snapshot: valid for the socket's life.
 *
 * <p>Thread contract: immutable, any thread.
 */
public interface Handshake {

    /** The request's path (without the query), e.g. {@code /chat/lobby}. */
    String path();

    /** The raw query string without {@code ?}, or null. */
    String query();

    /** The first value of a query parameter, decoded, or null. */
    String queryParam(String name);

    /** A path parameter of the server's route ({@code /chat/:room}), or null (always null on the client). */
    String pathParam(String name);

    /** The first value of a header (the request's on the server, the response's on the client), or null. */
    String header(String name);

    /** Every value of a header, in order. */
    List<String> headers(String name);

    /** A cookie the client sent (server only; null on the client). */
    String cookie(String name);

    /** A request attribute set before the upgrade (server only), or null. */
    Object attribute(String name);

    /** The subprotocol agreed on, or null. */
    String subprotocol();

    /** The {@code Sec-WebSocket-Extensions} value agreed on (e.g. {@code permessage-deflate}), or null. */
    String extensions();

    /** All request attributes (server only; empty on the client). */
    Map<String, Object> attributes();
}
