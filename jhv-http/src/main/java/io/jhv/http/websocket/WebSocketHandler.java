package io.jhv.http.websocket;

import io.jhv.core.buffer.Buffer;

/**
 * What a WebSocket does with its events, on the server ({@code HttpServer.ws(path, handler)}) and
 * on the client ({@link WebSocketClient#handler}). Only {@link #onMessage} must be written, so an
 * echo server is a lambda:
 *
 * {@snippet :
 * HttpServer.create(8080)
 *     .ws("/echo", (ws, msg) -> ws.send(msg))
 *     .start();
 * }
 *
 * <p>Thread contract: every method of one socket is called on that socket's loop thread, one at a
 * time, in this order: {@code onOpen}, then {@code onMessage}/{@code onPing}/{@code onPong} as frames
 * arrive, then {@code onError} (when something went wrong) and exactly one {@code onClose}. An
 * exception thrown by a callback closes the socket with 1011 (internal error) and reaches
 * {@link #onError}; the loop goes on.
 */
@FunctionalInterface
public interface WebSocketHandler {

    /**
     * The socket is open: the handshake is done. {@code handshake} tells what was asked for and
     * agreed on (the upgrade request's path, query, headers and cookies on the server, with the
     * attributes middleware set on the request; the response's headers on the client).
     */
    default void onOpen(WebSocket ws, Handshake handshake) {
    }

    /**
     * A whole message (or, with {@link WebSocketConfig.Builder#streaming(boolean) streaming}, a
     * fragment of one: see {@link Message#isLast()}). {@code message} and its buffer are borrowed
     * for this call: read them here, or copy ({@link Message#bytes()}, {@link Message#text()}).
     * {@link WebSocket#send(Message)} sends it (back, or to other sockets) and leaves it unchanged.
     */
    void onMessage(WebSocket ws, Message message);

    /** A ping arrived ({@code payload} borrowed for this call); the pong echoing it has been sent already. */
    default void onPing(WebSocket ws, Buffer payload) {
    }

    /** A pong arrived ({@code payload} borrowed for this call). */
    default void onPong(WebSocket ws, Buffer payload) {
    }

    /**
     * Something went wrong: a protocol violation by the peer ({@link WebSocketException} with the
     * close code sent: 1002, 1007, 1009...), a failed handshake on the client
     * ({@link WebSocketHandshakeException}), a timeout, an I/O error, or an exception thrown by
     * another callback. {@link #onClose} follows.
     */
    default void onError(WebSocket ws, Throwable error) {
    }

    /**
     * The socket closed: {@code code} and {@code reason} are those of the peer's close frame, or
     * 1005 ({@link CloseCodes#NO_STATUS}) for a close frame without a code, or 1006
     * ({@link CloseCodes#ABNORMAL}) when the connection ended without a close handshake (a vanished
     * peer, a timeout, an error). Called once.
     */
    default void onClose(WebSocket ws, int code, String reason) {
    }
}
