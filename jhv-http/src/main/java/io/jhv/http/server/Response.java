package io.jhv.http.server;

import io.jhv.http.Cookie;
import io.jhv.http.JsonCodec;
import io.jhv.http.Status;

import java.nio.file.Path;
import java.time.Duration;
import java.util.function.Consumer;

/**
 * The response to one request.
 *
 * <p>Set status and headers, then send a body once ({@link #text}, {@link #json}, {@link #bytes},
 * {@link #file}, {@link #redirect}, {@link #end()}), or open a {@link #stream()} or
 * {@link #sse()}. If a handler returns without sending and without {@link #defer()}, the response
 * is sent as it is (an empty body with the status set, 200 by default).
 *
 * <p>Thread contract: on the loop the handler runs on, or, after {@link #defer()} or in a blocking
 * handler, from any one thread at a time; the bytes go out through the connection's loop, in
 * request order under pipelining. A header name or value containing CR, LF or NUL is refused with
 * an {@link IllegalArgumentException}.
 *
 * <p>A response belongs to its request for life: once committed (a body sent or a stream opened),
 * every further change or answer throws {@link IllegalStateException}, also from another thread
 * and also after the connection went on to later requests; of two threads answering at once,
 * exactly one wins. A late answer can therefore never reach another request.
 */
public interface Response {

    Response status(int status);

    int status();

    /** Adds a header (several of the same name are allowed). */
    Response header(String name, String value);

    /** Sets a header, replacing any of the same name. */
    Response setHeader(String name, String value);

    /** The first value set for a header, or null. */
    String header(String name);

    Response removeHeader(String name);

    Response contentType(String type);

    /** Adds a Set-Cookie header. */
    Response cookie(Cookie cookie);

    default Response cookie(String name, String value) {
        return cookie(Cookie.of(name, value));
    }

    /** Sends {@code body} as {@code text/plain; charset=utf-8} (unless a Content-Type is set). */
    void text(String body);

    /** Sends {@code body} as {@code text/html; charset=utf-8}. */
    void html(String body);

    /** Sends {@code value} encoded by the server's {@link JsonCodec} as {@code application/json}. */
    void json(Object value);

    /**
     * Sends {@code body} (with the Content-Type set, default {@code application/octet-stream}).
     * A large array is sent as it is, not copied (an echo of a 50 MiB upload costs the upload,
     * not three copies of it): do not change it after this call.
     */
    void bytes(byte[] body);

    /** Sends part of an array; like {@link #bytes(byte[])}, do not change it after this call. */
    void bytes(byte[] body, int offset, int length);

    /**
     * Sends a file (Content-Type from its name, zero-copy for large files). The file is opened by
     * this call, before the head is produced: if it does not exist the answer is 404, if it cannot
     * be opened (no file descriptor left, no permission...) 503, each a complete response rather
     * than a 200 whose body cannot follow.
     */
    void file(Path file);

    /** Redirects with 302. */
    default void redirect(String location) {
        redirect(location, 302);
    }

    /** Redirects with {@code status} (301, 302, 303, 307, 308). */
    void redirect(String location, int status);

    /** Sends the response with what it has (an empty body unless one was set). */
    void end();

    /**
     * Switches the connection to another protocol (WebSocket, h2c): answers
     * {@code 101 Switching Protocols} with the headers set on this response (set {@code Upgrade}
     * and what the protocol needs, such as {@code Sec-WebSocket-Accept}, before calling this;
     * {@code Connection: Upgrade} is added if absent), and once the 101 has gone to the connection,
     * after the responses ahead of it, hands the connection to {@code next}
     * ({@link io.jhv.core.net.Connection#handover}). Bytes the client sent after the upgrade
     * request, already read by HTTP, reach {@code next} first; none is parsed as HTTP, since
     * nothing behind a request with an {@code Upgrade} header is parsed before it is answered. No
     * HTTP timer or callback stays on the connection. Decide from the request's headers; answer
     * normally instead to refuse (HTTP then goes on with the requests behind it).
     *
     * <p>Thread contract: like the other answers (the loop, or any one thread after
     * {@link #defer()}); {@code next} is attached on the loop.
     *
     * @throws IllegalStateException if the request has no {@code Upgrade} header or is not
     *         HTTP/1.1, the connection closes after this response, or the response is committed
     */
    void upgrade(io.jhv.core.net.ProtocolHandler next);

    /** Sends {@code status} with its reason phrase as a text body. */
    default void sendStatus(int status) {
        status(status).text(Status.reason(status));
    }

    /**
     * Marks the response as answered later (from any thread). The handler may return; the response
     * is sent when a body method is called.
     */
    Response defer();

    /** Starts a chunked response; write chunks from any thread and close it to end. */
    ChunkedWriter stream();

    /** Starts a Server-Sent Events stream ({@code text/event-stream}). */
    SseEmitter sse();

    /** True once the status line and headers were committed (body started or sent). */
    boolean committed();

    /** True once the response has been completely handed to the connection. */
    boolean done();

    /** Closes the connection after this response. */
    Response closeConnection();

    /**
     * Calls {@code listener} on the loop once the whole response has been handed to the connection,
     * with its final status and the body bytes sent (for access logs and metrics; deferred and
     * streamed responses included). Several listeners run in the order added; none is called
     * if the connection closes first.
     */
    Response onDone(DoneListener listener);

    /**
     * Calls {@code hook} once the response is about to be committed: after the handler chose the
     * body, just before the status line and headers are encoded, so it may still change the status
     * and the headers (not send another body). This is how middleware adds something after the
     * handler ran: headers set after {@code chain.next()} are too late when the handler has answered.
     *
     * <p>Register before the response is committed (typically before {@code chain.next()}); hooks
     * run on the loop, the most recently added first (the innermost code first, as code after
     * {@code next()} would), also for the error response of a failing handler. A hook that throws
     * turns the response into a 500 (it is logged), and the rest of the hooks are skipped.
     *
     * @throws IllegalStateException if the response is already committed
     */
    Response beforeCommit(Consumer<Response> hook);

    /** See {@link #onDone}. */
    @FunctionalInterface
    interface DoneListener {
        void done(int status, long bodyBytes);
    }

    /**
     * A streaming body, sent with chunked transfer coding. Thread-safe. Written from another thread
     * (a blocking handler's virtual thread), {@code write} blocks while about 1 MiB is still on its
     * way to a slow client, so a stream cannot fill the server's memory; on the loop it never blocks.
     */
    interface ChunkedWriter extends AutoCloseable {
        ChunkedWriter write(byte[] data);

        ChunkedWriter write(String data);

        /** Ends the body (the last chunk). */
        @Override
        void close();
    }

    /** A Server-Sent Events stream. Thread-safe. */
    interface SseEmitter extends AutoCloseable {
        /** Sends {@code data: ...} (multi-line data is split into several data lines). */
        SseEmitter send(String data);

        /** Sends an event with a name and an optional id. */
        SseEmitter send(String event, String data, String id);

        /** Sends a comment line, as a keep-alive. */
        SseEmitter comment(String text);

        /** Sets the client's reconnect delay. */
        SseEmitter retry(Duration delay);

        @Override
        void close();
    }
}
