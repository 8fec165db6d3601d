package io.jhv.http.internal.http1;

import io.jhv.http.internal.DateCache;
import io.jhv.http.internal.MimeTypes;
import io.jhv.http.server.Response;

import io.jhv.core.buffer.Buffer;
import io.jhv.http.Cookie;
import io.jhv.http.Headers;
import io.jhv.http.Status;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.function.Consumer;

/**
 * An HTTP/1.1 response, encoded straight into bytes: the status line and headers are written into
 * the connection's output once the body is known, so a plain-text answer costs no intermediate
 * objects.
 *
 * <p>Bound to one request for life: it is never reused for another, so a late call (a deferred
 * handler answering after a timeout already did) fails with {@link IllegalStateException} and can
 * never answer a later request on the connection. Committing is atomic: of two threads answering
 * at once, exactly one wins. Body methods called off the loop are handed to the loop.
 */
public final class Http1Response implements Response {
    private static final System.Logger LOG = System.getLogger(Http1Response.class.getName());
    private static final String HOOK_FAILED_BODY = "Internal Server Error";

    final HttpConnection conn;
    final Http1Request req;
    private int status = 200;
    private String[] names;
    private String[] values;
    private int headerCount;
    private String contentType;
    boolean closeAfter;
    private volatile boolean deferred;
    volatile boolean committed, done;
    // Volatile so a handler thread and the loop see each other's progress. DONE and DEFERRED are
    // written with release stores (a full volatile store is a fence on every response); COMMITTED
    // with a compare-and-set, the one atomic step that decides which answer is the answer.
    private static final java.lang.invoke.VarHandle COMMITTED, DONE, DEFERRED;

    static {
        try {
            java.lang.invoke.MethodHandles.Lookup l = java.lang.invoke.MethodHandles.lookup();
            COMMITTED = l.findVarHandle(Http1Response.class, "committed", boolean.class);
            DONE = l.findVarHandle(Http1Response.class, "done", boolean.class);
            DEFERRED = l.findVarHandle(Http1Response.class, "deferred", boolean.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** Marks the response complete (loop thread). */
    void markDone() {
        DONE.setRelease(this, true);
        DoneListener l = doneListener;
        if (l != null) {
            doneListener = null;
            try {
                l.done(status, bodyBytes);
            } catch (RuntimeException e) {
                System.getLogger(Http1Response.class.getName()).log(System.Logger.Level.WARNING, "onDone listener failed", e);
            }
        }
    }

    private DoneListener doneListener;
    /** Body bytes handed to the connection so far. */
    long bodyBytes;

    @Override
    public Response onDone(DoneListener listener) {
        java.util.Objects.requireNonNull(listener, "listener");
        DoneListener prev = doneListener;
        this.doneListener = prev == null ? listener : (status, bytes) -> {
            prev.done(status, bytes);
            listener.done(status, bytes);
        };
        return this;
    }
    /** {@link #beforeCommit} hooks in the order added (run newest first); null until one is added. */
    private Consumer<Response>[] commitHooks;
    private int commitHookCount;
    /** The hooks are running (loop thread): the head may still change although the response is committed. */
    private boolean inCommitHooks;
    /** A hook failed and a 500 went out instead: whatever body the handler chose is dropped. */
    private boolean bodyDropped;

    @Override
    @SuppressWarnings("unchecked")
    public Response beforeCommit(Consumer<Response> hook) {
        java.util.Objects.requireNonNull(hook, "hook");
        if (committed) throw new IllegalStateException("response already committed for " + req + "; add beforeCommit hooks before the handler answers (before next())");
        if (commitHooks == null) commitHooks = new Consumer[4];
        else if (commitHookCount == commitHooks.length) commitHooks = Arrays.copyOf(commitHooks, commitHookCount * 2);
        commitHooks[commitHookCount++] = hook;
        return this;
    }

    boolean chunked;
    /** Output waiting while earlier responses on the connection are not finished. */
    Buffer pendingOut;
    /** A large body to send after the head, not copied (see HttpConnection.DIRECT_BODY). */
    java.nio.ByteBuffer body;
    /**
     * A file body waiting to be sent (region): opened when the response was given it, before any
     * byte of the head exists, and owned by this response until the connection takes it
     * ({@link #takeFile}) or it is not sent ({@link #releaseFile}).
     */
    FileChannel file;
    long fileOffset, fileLength;
    boolean blocking;
    /** Bytes of a streamed body held until earlier responses finish (read off the loop). */
    volatile long backlog;

    /** Streamed bytes of this response held back while earlier responses on its connection are unfinished. Any thread. */
    public long heldBytes() {
        return backlog;
    }

    Http1Response(HttpConnection conn, Http1Request req, String[] names, String[] values) {
        this.conn = conn;
        this.req = req;
        this.names = names != null ? names : new String[8];
        this.values = values != null ? values : new String[8];
    }

    private static final String[] NO_STRINGS = new String[0];

    /**
     * The exchange ended and no other thread can hold this response: gives its header tables to
     * {@code c} for the next request. It stays committed, so any later call fails. Loop thread.
     */
    void recycleInto(HttpConnection c) {
        Arrays.fill(names, 0, headerCount, null);
        Arrays.fill(values, 0, headerCount, null);
        if (names.length == 8 && c.spareNames == null) {
            c.spareNames = names;
            c.spareValues = values;
        }
        names = values = NO_STRINGS;
        headerCount = 0;
        pendingOut = null;
        doneListener = null;
    }

    /**
     * Starts over for an error answer that has not been committed (a handler threw, a request could
     * not be parsed): status, headers and a file are cleared; who waits for the response to be done
     * and the beforeCommit hooks stay.
     */
    void resetForError() {
        status = 200;
        Arrays.fill(names, 0, headerCount, null);
        Arrays.fill(values, 0, headerCount, null);
        headerCount = 0;
        contentType = null;
        closeAfter = false;
        chunked = false;
        releaseFile();
        bodyBytes = 0;
        inCommitHooks = false;
        bodyDropped = false;
        if (pendingOut != null) pendingOut.clear();
    }

    // ---------------------------------------------------------------- status and headers

    @Override
    public Response status(int status) {
        if (status < 100 || status > 599) throw new IllegalArgumentException("status out of range: " + status);
        checkNotCommitted();
        this.status = status;
        return this;
    }

    @Override
    public int status() { return status; }

    @Override
    public Response header(String name, String value) {
        Headers.checkToken(name, "header name");
        Headers.checkValue(value, "header value of " + name);
        checkNotCommitted();
        if (headerCount == names.length) {
            names = Arrays.copyOf(names, headerCount * 2);
            values = Arrays.copyOf(values, headerCount * 2);
        }
        names[headerCount] = name;
        values[headerCount] = value;
        headerCount++;
        return this;
    }

    @Override
    public Response setHeader(String name, String value) {
        removeHeader(name);
        return header(name, value);
    }

    @Override
    public String header(String name) {
        if (name.equalsIgnoreCase("Content-Type")) return contentType;
        for (int i = 0; i < headerCount; i++) if (names[i].equalsIgnoreCase(name)) return values[i];
        return null;
    }

    @Override
    public Response removeHeader(String name) {
        checkNotCommitted();
        if (name.equalsIgnoreCase("Content-Type")) {
            contentType = null;
            return this;
        }
        int k = 0;
        for (int i = 0; i < headerCount; i++) {
            if (!names[i].equalsIgnoreCase(name)) {
                names[k] = names[i];
                values[k] = values[i];
                k++;
            }
        }
        Arrays.fill(names, k, headerCount, null);
        Arrays.fill(values, k, headerCount, null);
        headerCount = k;
        return this;
    }

    @Override
    public Response contentType(String type) {
        Headers.checkValue(type, "content type");
        checkNotCommitted();
        this.contentType = type;
        return this;
    }

    @Override
    public Response cookie(Cookie cookie) {
        return header("Set-Cookie", cookie.headerValue());
    }

    @Override
    public Response closeConnection() {
        closeAfter = true;
        return this;
    }

    private void checkNotCommitted() {
        if (committed && !inCommitHooks) throw alreadyCommitted("; add headers before next() or in beforeCommit");
    }

    private IllegalStateException alreadyCommitted(String hint) {
        String what;
        try {
            what = req.toString();
        } catch (RuntimeException released) {
            what = "a finished request"; // the loop released it meanwhile (this may be another thread)
        }
        return new IllegalStateException("response already committed for " + what + hint);
    }

    // ---------------------------------------------------------------- bodies

    @Override
    public void text(String body) {
        if (contentType == null) contentType = "text/plain; charset=utf-8";
        sendString(body);
    }

    @Override
    public void html(String body) {
        if (contentType == null) contentType = "text/html; charset=utf-8";
        sendString(body);
    }

    @Override
    public void json(Object value) {
        if (contentType == null) contentType = "application/json";
        byte[] b = conn.server().jsonCodec().encode(value);
        sendBytes(b, 0, b.length);
    }

    @Override
    public void bytes(byte[] body) {
        bytes(body, 0, body.length);
    }

    @Override
    public void bytes(byte[] body, int offset, int length) {
        java.util.Objects.checkFromIndexSize(offset, length, body.length);
        if (contentType == null) contentType = "application/octet-stream";
        sendBytes(body, offset, length);
    }

    @Override
    public void file(Path file) {
        if (!Files.isRegularFile(file)) {
            status(404).text("Not Found");
            return;
        }
        checkNotSent(); // before opening: a second body must not cost a descriptor
        FileChannel ch = openBody(file);
        if (ch == null) return; // answered
        long size;
        try {
            size = ch.size(); // of what was opened: the file may have been replaced since the check
        } catch (IOException e) {
            close(ch);
            cannotOpen(file, e);
            return;
        }
        if (contentType == null) contentType = MimeTypes.of(file.getFileName().toString());
        sendFile(ch, 0, size);
    }

    /**
     * Sends {@code length} bytes of {@code file} from {@code offset} as the body (Content-Length set
     * here). The file is opened now, before the head is produced: if that fails the response is a
     * complete 404 (the file is gone) or 503 (any other error, such as no file descriptor left)
     * instead of a head that promises a body which cannot follow.
     */
    public void fileRegion(Path file, long offset, long length) {
        if (offset < 0 || length < 0) throw new IllegalArgumentException("bad file region " + offset + "+" + length);
        checkNotSent();
        FileChannel ch = openBody(file);
        if (ch != null) sendFile(ch, offset, length);
    }

    private void sendFile(FileChannel ch, long offset, long length) {
        try {
            beginSend();
        } catch (RuntimeException e) { // answered meanwhile by another thread
            close(ch);
            throw e;
        }
        this.file = ch;
        this.fileOffset = offset;
        this.fileLength = length;
        conn.submit(this, null, 0, 0, length);
    }

    /** Opens a file body; null if it cannot be opened, and then the response has been answered. */
    private FileChannel openBody(Path file) {
        try {
            return FileChannel.open(file, StandardOpenOption.READ);
        } catch (IOException | UnsupportedOperationException e) {
            cannotOpen(file, e);
            return null;
        }
    }

    /** Answers for a file that could not be opened: 404 if it is gone, else 503, with a fresh head. */
    private void cannotOpen(Path file, Exception e) {
        boolean gone = e instanceof NoSuchFileException;
        if (!gone) LOG.log(System.Logger.Level.WARNING, "cannot open " + file + " for " + req + ": " + e);
        clearHead(); // no Content-Range, ETag... of the file that is not sent
        status(gone ? 404 : 503).text(Status.reason(gone ? 404 : 503));
    }

    /** Drops the status and headers set so far (an error answer starts from scratch). */
    private void clearHead() {
        status = 200;
        Arrays.fill(names, 0, headerCount, null);
        Arrays.fill(values, 0, headerCount, null);
        headerCount = 0;
        contentType = null;
    }

    /** The file body, handed over to the connection that sends and then closes it. Loop thread. */
    FileChannel takeFile() {
        FileChannel f = file;
        file = null;
        return f;
    }

    /** Closes a file body that will not be sent (no body, the connection closed, reuse). Loop thread. */
    void releaseFile() {
        FileChannel f = takeFile();
        if (f != null) close(f);
    }

    private static void close(FileChannel ch) {
        try {
            ch.close();
        } catch (IOException ignored) {
            // read-only: nothing was lost
        }
    }

    @Override
    public void redirect(String location, int status) {
        if (status < 300 || status > 399) throw new IllegalArgumentException("not a redirect status: " + status);
        status(status);
        setHeader("Location", location);
        text(Status.reason(status));
    }

    @Override
    public void end() {
        sendBytes(null, 0, 0);
    }

    @Override
    public void upgrade(io.jhv.core.net.ProtocolHandler next) {
        java.util.Objects.requireNonNull(next, "next");
        if (!req.hasHeader("upgrade")) throw new IllegalStateException("upgrade needs a request with an Upgrade header: " + req);
        if (req.minorVersion() != 1) throw new IllegalStateException("upgrade needs an HTTP/1.1 request: " + req);
        if (closeAfter) throw new IllegalStateException("the connection closes after this response: " + req);
        if (conn.connection() == null) throw new IllegalStateException("no connection to upgrade (embedded): " + req);
        checkNotCommitted();
        status = 101;
        // RFC 9110 7.8: a 101 lists the new protocol in Upgrade, and Upgrade is a connection option
        if (header("Connection") == null) setHeader("Connection", "Upgrade");
        conn.upgradeTo(this, next); // kept by the connection (not a field per response: the hot path allocates per request)
        sendBytes(null, 0, 0);
    }

    @Override
    public Response defer() {
        deferred = true;
        conn.keepRequest(req); // another thread may read the request while the loop reads on
        return this;
    }

    boolean deferred() { return deferred; }

    /** Set by {@link #deferOnLoop()}: once answered, the exchange's tables may go to the next request. Loop thread. */
    boolean loopOnly;

    /**
     * {@link #defer()} for a handler that reads the request's head and fields, and answers, on the
     * connection's loop thread only (jhv's reverse proxy): once the response is done its tables
     * and head copy go to the connection's next request, as after an immediate answer, instead of
     * new ones per request. {@link Http1Request#method()} and {@link Http1Request#connection()}
     * stay valid from any thread; headers and target read after the answer find nothing. Loop thread.
     */
    public Response deferOnLoop() {
        loopOnly = true;
        return defer();
    }

    /** False for HEAD and for statuses that never have a body (1xx, 204, 304): nothing after the head. */
    boolean sendsBody() {
        return !bodyDropped && !req.isHead() && status >= 200 && status != 204 && status != 304;
    }

    @Override
    public boolean committed() { return committed; }

    @Override
    public boolean done() { return done; }

    /** Commits the response, atomically: of two threads answering at once, one wins, one gets the exception. */
    private void beginSend() {
        checkNotSent();
        if (!COMMITTED.compareAndSet(this, false, true)) throw alreadyCommitted(": a Response answers its own request once");
    }

    private void checkNotSent() {
        if (committed) throw alreadyCommitted(": a Response answers its own request once");
    }

    private void sendString(String body) {
        beginSend();
        conn.submitString(this, body);
    }

    /**
     * Answers a request whose response has no body here (HEAD, or a 304) with a head that announces
     * {@code contentLength} bytes, as the resource has: a reverse proxy passing an upstream's answer
     * on. Anything else gets an {@link IllegalStateException}.
     */
    public void headOnly(long contentLength) {
        if (sendsBody()) throw new IllegalStateException("headOnly is for HEAD requests and bodyless statuses, not " + req.method() + " " + status);
        beginSend();
        conn.submit(this, null, 0, 0, Math.max(0, contentLength));
    }

    private void sendBytes(byte[] b, int off, int len) {
        beginSend();
        conn.submit(this, b, off, len, len);
    }

    // ---------------------------------------------------------------- streaming

    @Override
    public ChunkedWriter stream() {
        beginSend();
        conn.keepRequest(req);
        chunked = true;
        conn.submit(this, null, 0, 0, -1);
        return new ChunkStream(this);
    }

    @Override
    public SseEmitter sse() {
        if (contentType == null) contentType = "text/event-stream; charset=utf-8";
        if (header("Cache-Control") == null) header("Cache-Control", "no-cache");
        ChunkedWriter w = stream();
        return new SseStream(w);
    }

    // ---------------------------------------------------------------- encoding (loop thread)

    /**
     * Writes the status line and headers, after running the {@link #beforeCommit} hooks.
     * {@code contentLength} -1 means chunked (or, for HTTP/1.0, delimited by closing the connection).
     * If a hook throws, a complete 500 is written instead and {@link #sendsBody()} turns false, so
     * the caller sends nothing of the body (file, chunks) it was given.
     */
    void writeHead(Buffer out, long contentLength) {
        if (commitHookCount > 0 && !runCommitHooks()) {
            writeHookFailure(out);
            return;
        }
        encodeHead(out, contentLength);
    }

    /** Runs the beforeCommit hooks once, newest first; false if one threw (logged, the rest skipped). */
    private boolean runCommitHooks() {
        Consumer<Response>[] hooks = commitHooks;
        int n = commitHookCount;
        commitHookCount = 0;
        inCommitHooks = true;
        try {
            for (int i = n - 1; i >= 0; i--) hooks[i].accept(this);
            return true;
        } catch (Throwable t) { // user code: it must not reach the loop, and the client gets an answer
            LOG.log(System.Logger.Level.ERROR, "beforeCommit hook failed: " + req, t);
            return false;
        } finally {
            inCommitHooks = false;
            Arrays.fill(hooks, 0, n, null);
        }
    }

    /** Writes a whole 500 in place of the response whose hook failed; nothing of the head was written yet. */
    private void writeHookFailure(Buffer out) {
        clearHead();
        status = 500;
        contentType = "text/plain; charset=utf-8";
        encodeHead(out, HOOK_FAILED_BODY.length());
        if (sendsBody()) out.writeString(HOOK_FAILED_BODY, StandardCharsets.ISO_8859_1);
        bodyDropped = true;
    }

    private void encodeHead(Buffer out, long contentLength) {
        bodyBytes = contentLength > 0 && sendsBody() ? contentLength : 0;
        out.write(HeadEncoding.statusLine(status));
        out.write(conn.server().serverHeaderLine());
        out.write(DateCache.line());
        for (int i = 0; i < headerCount; i++) {
            out.writeString(names[i]); // UTF-8: ASCII is copied in place
            out.writeByte(':').writeByte(' ');
            out.writeString(values[i]);
            out.write(HeadEncoding.CRLF);
        }
        boolean bodyless = status < 200 || status == 204 || status == 304;
        if (contentType != null && !bodyless) {
            out.writeString("Content-Type: ", StandardCharsets.ISO_8859_1);
            out.writeString(contentType);
            out.write(HeadEncoding.CRLF);
        }
        if (!bodyless) {
            if (contentLength >= 0) {
                out.writeString("Content-Length: ", StandardCharsets.ISO_8859_1);
                HeadEncoding.writeDecimal(out, contentLength);
                out.write(HeadEncoding.CRLF);
            } else if (req.minorVersion() == 1) {
                out.writeString("Transfer-Encoding: chunked\r\n", StandardCharsets.ISO_8859_1);
            } else {
                closeAfter = true; // HTTP/1.0: the end of the body is the end of the connection
            }
        }
        if (closeAfter) {
            out.writeString("Connection: close\r\n", StandardCharsets.ISO_8859_1);
        } else if (req.minorVersion() == 0) {
            out.writeString("Connection: keep-alive\r\n", StandardCharsets.ISO_8859_1);
        }
        out.write(HeadEncoding.CRLF);
    }
}
