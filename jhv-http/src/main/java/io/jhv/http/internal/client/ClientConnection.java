package io.jhv.http.internal.client;

import io.jhv.core.buffer.Buffer;
import io.jhv.core.loop.Timer;
import io.jhv.core.net.CloseCause;
import io.jhv.core.net.Connection;
import io.jhv.core.net.ProtocolHandler;
import io.jhv.http.client.ConnectionClosedException;
import io.jhv.http.client.HttpClientException;
import io.jhv.http.client.HttpTimeoutException;
import io.jhv.http.client.MalformedResponseException;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.StandardOpenOption;

/**
 * One pooled client connection: the HTTP/1.1 response parser and the request writer, driving one
 * exchange at a time for a {@link Call}. A {@link ProtocolHandler}, so it lives on the connection's
 * loop and every method runs there.
 *
 * <pre>
 *  IDLE --startExchange--> HEAD --(1xx: stay)--> BODY_LENGTH | BODY_CHUNKED | BODY_CLOSE --> IDLE (reusable)
 *    |                       |                         |                                      or closed
 *    +-- bytes or EOF while idle: stale, closed        +-- failure / timeout / cancel: CLOSED (aborted)
 * </pre>
 *
 * The parser is strict and bounded: the head must end within {@code maxResponseHeadBytes}, lines
 * end with CRLF, no obs-fold, header names are tokens, lengths agree, chunk sizes are hex of at most
 * 15 digits. Body bytes reach the call as slices of the borrowed read buffer (no copy).
 */
final class ClientConnection implements ProtocolHandler {
    static final int IDLE = 0, HEAD = 1, BODY_LENGTH = 2, BODY_CHUNKED = 3, BODY_CLOSE = 4, CLOSED = 5;
    private static final int C_SIZE = 0, C_EXT = 1, C_SIZE_LF = 2, C_DATA = 3, C_DATA_CR = 4, C_DATA_LF = 5,
            C_TRAILER_LINE = 6;
    private static final byte[] CRLFCRLF = {'\r', '\n', '\r', '\n'};
    private static final byte[] CRLF = {'\r', '\n'};
    private static final byte[] LAST_CHUNK = "0\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
    private static final int INLINE_BODY = 16 << 10;
    private static final int MAX_TRAILER_BYTES = 16 << 10;

    private final ClientEngine engine;
    private final ClientSettings s;
    Connection conn;
    Pool pool;
    long createdNanos;
    long idleDeadlineNanos;
    long keepAliveTimeoutMs = -1; // from the server's Keep-Alive header
    boolean inIdle;               // in the pool's idle stack
    boolean acquired;             // carrying a call
    int served;                   // exchanges completed
    long requestsSent;            // requests written on this connection
    long requestLimit = Long.MAX_VALUE; // from the server's Keep-Alive max: no request beyond this one

    Call call;
    int state = IDLE;
    /** Pipelining: calls whose requests went out behind {@link #call}'s, in order (null when off). */
    private java.util.ArrayDeque<Call> queued;
    private boolean reusedForCall;
    private int headScan;
    private boolean sawResponseByte;
    private boolean requestDone;
    private boolean requestWritten;
    private boolean headMethod;
    private boolean keepAlive;
    private long remaining;
    private int chunkState;
    private int sizeDigits;
    private int lineLen;
    private int trailerBytes;
    private final Buffer trailerLine = Buffer.allocate(256);
    private HeaderList trailers;
    private boolean paused;
    private boolean waitingContinue;
    private Timer continueTimer;
    private Timer headTimer;
    private Timer idleTimer;
    private long lastReadNanos;
    private BodyPump pump;
    private BodyPump finishing; // a fixed-length pump that finished, its last chunks still queued
    private boolean timersArmed;
    private final io.jhv.core.net.WriteListener flushed = (c, failure) -> {
        if (failure == null) requestFlushed();
    };
    private final Buffer out = Buffer.allocate(1024);
    private final HeadParser.Head parsed = new HeadParser.Head();
    private final Runnable headTimeout = this::headTimedOut;
    private final Runnable readIdleCheck = this::readIdleCheck;
    private final Runnable continueNow = this::continueTimedOut;
    private final Runnable closeNotifyCheck = this::closeNotifyCheck;
    private Timer closeNotifyTimer;
    private Timer writeTimer;          // the write timeout's check, while request bytes are pending
    private final Runnable writeCheck = this::writeCheck;
    private long writeProgressNanos;   // when the socket last took request bytes (or the clock started)
    private long writtenMark;          // conn.bytesWritten() at that moment
    private long writeLimitMs;         // the current exchange's write timeout

    ClientConnection(ClientEngine engine) {
        this.engine = engine;
        this.s = engine.settings;
    }

    @Override
    public void onAttach(Connection c) {
        this.conn = c;
        this.createdNanos = System.nanoTime();
        // Keep reading while a big request body waits in the write queue: a server may answer
        // early (413) without reading it, and pausing would leave both sides waiting. Uploads are
        // paced by their pumps' write listeners instead.
        c.pauseReadingAboveHighWater(false);
    }

    /** Whether this idle connection may carry another exchange now. */
    boolean usable(long now) {
        if (conn.isClosed() || !conn.isConnected() || state != IDLE || closeNotified() || requestsSent >= requestLimit) return false;
        if (s.maxConnectionLifetimeMs > 0 && now - createdNanos >= s.maxConnectionLifetimeMs * 1_000_000L) return false;
        return now - idleDeadlineNanos < 0;
    }

    /**
     * The liveness check before reuse: one non-blocking read of the socket. A byte (nobody asked
     * for one: onData closes it) or an EOF means the server is done with it. Loop thread.
     */
    boolean alive() {
        return conn.probeReadable() && !conn.isClosed() && !closeNotified();
    }

    /** The idle deadline from now: the client's idle timeout, or the server's Keep-Alive timeout less a margin. */
    void markIdle(long now) {
        long ms = s.idleTimeoutMs;
        if (keepAliveTimeoutMs >= 0) {
            // Stop using it a little before the server drops it: a request crossing the server's
            // close on the wire is the stale-connection race this avoids.
            long server = keepAliveTimeoutMs > 2000 ? keepAliveTimeoutMs - 1000 : keepAliveTimeoutMs / 2;
            ms = Math.min(ms, server);
        }
        idleDeadlineNanos = now + ms * 1_000_000L;
    }

    /** The TLS peer sent close_notify: nothing more comes, whether or not its FIN follows. */
    private boolean closeNotified() {
        io.jhv.core.tls.TlsInfo t = conn.tls();
        return t != null && t.closeNotifyReceived();
    }

    /**
     * A close-delimited body over TLS ends with the peer's close_notify, which some servers send
     * without closing TCP until we answer (openssl s_server). The transport layer has no callback
     * for it, so check after each read and, while such a body is open, on a short timer.
     */
    private void closeNotifyCheck() {
        closeNotifyTimer = null;
        if (state != BODY_CLOSE || call == null) return;
        if (closeNotified()) {
            keepAlive = false;
            conn.close(); // onClose ends the body as for a FIN
            return;
        }
        closeNotifyTimer = conn.loop().setTimeout(20, closeNotifyCheck);
    }

    // ---------------------------------------------------------------- request

    /** Starts an exchange for {@code c}: writes the request (loop thread). */
    void startExchange(Call c, boolean reused) {
        beginResponse(c, reused, false);
        writeRequest(c);
    }

    /** The connection now waits for {@code c}'s response. */
    private void beginResponse(Call c, boolean reused, boolean alreadySent) {
        call = c;
        reusedForCall = reused;
        state = HEAD;
        headScan = 0;
        sawResponseByte = false;
        requestDone = alreadySent;
        requestWritten = alreadySent;
        paused = false;
        keepAlive = true;
        trailers = null;
        headMethod = c.hop.method().equals("HEAD");
        lastReadNanos = System.nanoTime();
        timersArmed = false;
        finishing = null;
        if (alreadySent) requestFlushed();
    }

    /**
     * The request's last byte reached the socket (a write listener, loop thread): the response
     * head timeout and the read idle timeout start now, not while the request is still going out.
     */
    private void requestFlushed() {
        if (call == null || !requestDone || pump != null || timersArmed || state == CLOSED) return;
        timersArmed = true;
        lastReadNanos = System.nanoTime();
        if (s.responseHeadTimeoutMs > 0 && state == HEAD) headTimer = conn.loop().setTimeout(s.responseHeadTimeoutMs, headTimeout);
        if (s.readIdleTimeoutMs > 0) idleTimer = conn.loop().setTimeout(s.readIdleTimeoutMs, readIdleCheck);
    }

    /** A chunk of a fixed-length pumped body reached the socket; the pump may have finished meanwhile (loop thread). */
    void pumpFlushed(BodyPump p) {
        if (p == finishing && p.flushed == p.chunks) {
            finishing = null;
            requestFlushed();
        }
    }

    /** Encodes and writes {@code c}'s request head (and body) for the current exchange. */
    private void writeRequest(Call c) {
        RequestPlan plan = c.plan;
        RequestBody body = c.body;
        long length = c.bodyLength;
        boolean expect = encodeHead(c);
        Buffer o = out;
        requestsSent++;
        try {
            requestWritten = true;
            if (body instanceof RequestBody.Bytes b && !expect && b.bytes.length <= INLINE_BODY) {
                o.write(b.bytes);
                requestDone = true;
                writeLast(o);
            } else if (body == null) {
                requestDone = true;
                writeLast(o);
            } else {
                conn.write(o);
                if (expect) {
                    waitingContinue = true;
                    continueTimer = conn.loop().setTimeout(s.expectContinueTimeoutMs, continueNow);
                } else {
                    sendBody(body, length);
                }
            }
            startWriteClock();
        } catch (IllegalStateException closed) {
            // closed under us (the peer's FIN raced the reuse): nothing of the request left
            requestWritten = false;
            fail(new ConnectionClosedException("connection to " + plan.originKey + " closed before the request was sent: "
                    + closed.getMessage(), reusedForCall, closed));
        }
    }

    /**
     * Writes the request's last bytes. Only the head and read-idle timers need to hear when they
     * reach the socket; without them the write goes out without a listener (a listener costs an
     * object per write) and the request counts as flushed at once.
     */
    private void writeLast(Buffer o) {
        if (s.responseHeadTimeoutMs > 0 || s.readIdleTimeoutMs > 0) {
            conn.write(o, flushed);
        } else {
            conn.write(o);
            requestFlushed();
        }
    }

    /** Puts {@code c}'s request head into {@link #out}; true when it asks for 100-continue. */
    private boolean encodeHead(Call c) {
        RequestPlan plan = c.plan;
        RequestBody body = c.body;
        long length = c.bodyLength;
        Buffer o = out;
        o.clear();
        o.write(plan.head);
        if (c.cookieHeader != null) o.writeString("Cookie: ").writeString(c.cookieHeader).write(CRLF);
        if (!plan.staticFraming && body != null) {
            if (length >= 0) o.writeString("Content-Length: ").writeString(Long.toString(length)).write(CRLF);
            else o.writeString("Transfer-Encoding: chunked\r\n");
        }
        boolean expect = c.hop.expectContinue() && body != null && length != 0;
        if (expect) o.writeString("Expect: 100-continue\r\n");
        o.write(CRLF);
        return expect;
    }

    // ---------------------------------------------------------------- pipelining (opt-in)

    /** Whether {@code c} may go out behind the exchanges in flight here (depth {@code depth}). */
    boolean canPipeline(Call c, int depth) {
        if (call == null || conn.isClosed() || !keepAlive || !requestDone || pump != null || waitingContinue || paused) return false;
        if (requestsSent >= requestLimit) return false; // the server's Keep-Alive max
        if (state != HEAD && state != BODY_LENGTH && state != BODY_CHUNKED) return false;
        if (!pipelinable(c) || !pipelinable(call)) return false;
        return (queued == null ? 0 : queued.size()) + 1 < depth;
    }

    /** Only requests without a body and safe to repeat are pipelined: a broken pipeline retries them. */
    static boolean pipelinable(Call c) {
        if (c.rc != null) return false; // recycled after its callback: it must never wait in a queue it could outlive
        String m = c.hop.method();
        return c.body == null && !c.hop.expectContinue() && (m.equals("GET") || m.equals("HEAD"));
    }

    /** Writes {@code c}'s request now; its response is read after those ahead of it. */
    void pipeline(Call c) {
        if (queued == null) queued = new java.util.ArrayDeque<>();
        encodeHead(c);
        requestsSent++;
        try {
            conn.write(out);
        } catch (IllegalStateException closed) {
            c.exchangeFailed(this, new ConnectionClosedException("connection to " + c.plan.originKey
                    + " closed before the pipelined request was sent", false, closed), false, false, true);
            return;
        }
        queued.addLast(c);
    }

    /** The calls queued behind the current one lose their connection: each hears it (and may retry elsewhere). */
    private void failQueued(String why) {
        java.util.ArrayDeque<Call> q = queued;
        if (q == null || q.isEmpty()) return;
        Call c;
        while ((c = q.pollFirst()) != null) {
            c.exchangeFailed(this, new ConnectionClosedException(c.hop.method() + " " + c.hop.uri()
                    + ": pipelined behind a response that ended the connection (" + why + ")", false, null), true, false, true);
        }
    }

    /** A queued call gave up (cancelled): its response must still be read, so it stays; the call ignores it. */
    boolean isQueued(Call c) {
        return queued != null && queued.contains(c);
    }

    private void continueTimedOut() {
        continueTimer = null;
        if (waitingContinue && call != null) {
            waitingContinue = false;
            sendBody(call.body, call.bodyLength);
            startWriteClock();
        }
    }

    // ---------------------------------------------------------------- write timeout

    /** Whether request bytes are still on their way out (queued, or a pump still sending). */
    private boolean writing() {
        return call != null && state == HEAD && (pump != null || conn.queuedBytes() > 0 || (!requestDone && !waitingContinue));
    }

    /**
     * Starts the write timeout's clock if the request did not go out at once. A request the socket
     * took whole (the common case: a head and a small body) arms no timer, so costs nothing.
     */
    private void startWriteClock() {
        if (writeTimer != null || state == CLOSED || !writing()) return;
        java.time.Duration own = call.hop.writeTimeout();
        long ms = own == null ? s.writeTimeoutMs : own.isZero() ? 0 : Math.max(1, own.toMillis());
        if (ms <= 0) return;
        writeLimitMs = ms;
        writeProgressNanos = System.nanoTime();
        writtenMark = conn.bytesWritten();
        writeTimer = conn.loop().setInterval(Math.max(1, ms / 4), writeCheck);
    }

    /**
     * The write timeout's periodic check: progress is the socket taking bytes; time with nothing
     * queued (a body source slow to produce, a 100-continue wait) is not a stall either.
     */
    private void writeCheck() {
        if (!writing() || state == CLOSED) {
            cancel(writeTimer);
            writeTimer = null;
            return;
        }
        long now = System.nanoTime();
        long w = conn.bytesWritten();
        if (w != writtenMark || conn.queuedBytes() == 0) {
            writtenMark = w;
            writeProgressNanos = now;
            return;
        }
        long stalledMs = (now - writeProgressNanos) / 1_000_000L;
        if (stalledMs < writeLimitMs) return;
        Call c = call;
        fail(new HttpTimeoutException(HttpTimeoutException.Phase.WRITE, c.hop.method() + " " + c.hop.uri()
                + ": sending the request body made no progress for " + stalledMs + " ms (write timeout " + writeLimitMs
                + " ms, " + conn.queuedBytes()
                + " bytes still queued): the server stopped reading"));
    }

    private void sendBody(RequestBody body, long length) {
        if (body instanceof RequestBody.Bytes b) {
            requestDone = true;
            conn.write(ByteBuffer.wrap(b.bytes), flushed);
        } else if (body instanceof RequestBody.FileBody f && !conn.isSecure()) {
            try {
                FileChannel ch = FileChannel.open(f.path, StandardOpenOption.READ);
                requestDone = true;
                conn.sendFile(ch, 0, length, true, flushed);
            } catch (IOException e) {
                fail(new HttpClientException("cannot read the request body " + f.path + ": " + e.getMessage(), e));
            }
        } else {
            pump = BodyPump.start(this, body, length);
        }
    }

    /** A chunk from a body pump (loop thread). */
    void pumpChunk(BodyPump p, ByteBuffer data, boolean chunked) {
        if (p != pump || state == CLOSED) return;
        long sent = p.sent + data.remaining();
        if (!chunked && sent > p.length) {
            // Never write past Content-Length: the surplus would be parsed as another request.
            bodyBrokeItsLength("more than", sent);
            return;
        }
        p.sent = sent;
        if (!chunked) p.chunks++;
        if (chunked) {
            if (!data.hasRemaining()) {
                p.written();
                return;
            }
            conn.write((Integer.toHexString(data.remaining()) + "\r\n").getBytes(StandardCharsets.US_ASCII));
            conn.write(data);
            conn.write(CRLF.clone(), p);
        } else {
            conn.write(data, p);
        }
    }

    /** The body pump finished (loop thread). */
    void pumpDone(BodyPump p, boolean chunked) {
        if (p != pump || state == CLOSED) return;
        if (!chunked && p.sent != p.length) {
            // The server waits for the rest for ever: end the exchange, the connection is unusable.
            bodyBrokeItsLength("only", p.sent);
            return;
        }
        pump = null;
        requestDone = true;
        if (chunked) {
            conn.write(LAST_CHUNK.clone(), flushed);
        } else {
            finishing = p;
            pumpFlushed(p); // now if its chunks are out, else when the last one is
        }
    }

    private void bodyBrokeItsLength(String how, long got) {
        Call c = call;
        fail(new LocalFailure(c.hop.method() + " " + c.hop.uri() + ": the request body declared " + c.bodyLength
                + " bytes (Content-Length) but its source gave " + how + " " + got + "; the request was aborted"));
    }

    /** The body pump failed (loop thread). */
    void pumpFailed(BodyPump p, Throwable e) {
        if (p != pump || state == CLOSED) return;
        pump = null;
        fail(new HttpClientException("the request body failed: " + e, e));
    }

    // ---------------------------------------------------------------- response

    @Override
    public void onData(Connection c, Buffer in) {
        lastReadNanos = System.nanoTime();
        while (in.isReadable()) {
            if (paused) return;
            switch (state) {
                case IDLE -> {
                    // Bytes nobody asked for: the server is confused or closing. Never reuse it.
                    in.skip(in.readableBytes());
                    conn.abort();
                    return;
                }
                case HEAD -> {
                    sawResponseByte = true;
                    if (!head(in)) return;
                }
                case BODY_LENGTH -> {
                    int n = (int) Math.min(remaining, in.readableBytes());
                    remaining -= deliver(in, n); // less when a decoder stopped for a pause
                    if (state == BODY_LENGTH && remaining == 0) done(in);
                }
                case BODY_CHUNKED -> {
                    if (!chunked(in)) return;
                }
                case BODY_CLOSE -> {
                    deliver(in, in.readableBytes());
                    if (state == BODY_CLOSE && closeNotified()) conn.close(); // the end (see closeNotifyCheck)
                }
                default -> {
                    in.skip(in.readableBytes());
                    return;
                }
            }
        }
    }

    /** Hands {@code n} body bytes to the call; returns how many it took (fewer when it paused mid-decoding). */
    private int deliver(Buffer in, int n) {
        int off = in.readerIndex();
        int w = in.writerIndex();
        in.writerIndex(off + n);
        int used;
        try {
            used = call.bodyBytes(in, n);
        } catch (IOException | RuntimeException e) {
            in.writerIndex(w);
            in.readerIndex(off + n);
            fail(e instanceof IOException io ? io : new LocalFailure(call.hop.method() + " " + call.hop.uri()
                    + ": handling the response body failed: " + e, e));
            return n;
        }
        in.writerIndex(w);
        in.readerIndex(off + used);
        return used;
    }

    /** Whether the caller paused the body (loop thread). */
    boolean isPaused() {
        return paused;
    }

    /** Parses the head if complete; false when more bytes are needed or the exchange ended. */
    private boolean head(Buffer in) {
        int avail = in.readableBytes();
        byte[] a = in.array();
        int start = in.readerIndex();
        if (headScan == 0 && avail >= 5 && (a[start] != 'H' || a[start + 1] != 'T' || a[start + 2] != 'T' || a[start + 3] != 'P' || a[start + 4] != '/')) {
            fail(new MalformedResponseException("not an HTTP/1.x response from " + call.plan.originKey + ": starts with "
                    + printable(a, start, Math.min(avail, 40))));
            return false;
        }
        int from = Math.max(0, headScan - 3);
        int end = in.indexOf(CRLFCRLF, from);
        if (end < 0) {
            if (avail > s.maxResponseHeadBytes) {
                fail(new MalformedResponseException("response head from " + call.plan.originKey + " larger than "
                        + s.maxResponseHeadBytes + " bytes"));
            } else {
                headScan = avail;
            }
            return false;
        }
        if (end + 4 > s.maxResponseHeadBytes) {
            fail(new MalformedResponseException("response head from " + call.plan.originKey + " larger than " + s.maxResponseHeadBytes + " bytes"));
            return false;
        }
        headScan = 0;
        HeadParser.Head h = parsed;
        try {
            HeadParser.parse(a, start, start + end + 2, s.maxResponseHeaders, h);
        } catch (MalformedResponseException e) {
            fail(new MalformedResponseException(e.getMessage() + " (from " + call.plan.originKey + ")"));
            return false;
        }
        in.skip(end + 4);
        int status = h.status;
        if (status < 200) {
            if (status == 100 && waitingContinue) {
                waitingContinue = false;
                cancel(continueTimer);
                continueTimer = null;
                sendBody(call.body, call.bodyLength);
                startWriteClock();
            } else if (status == 101) {
                fail(new MalformedResponseException("unexpected 101 Switching Protocols from " + call.plan.originKey));
                return false;
            }
            return true; // 100, 102, 103 ...: the final response follows
        }
        cancel(headTimer);
        headTimer = null;
        if (waitingContinue) {
            // A final answer before the body: the body is never sent, so the connection cannot carry another request.
            waitingContinue = false;
            cancel(continueTimer);
            continueTimer = null;
            keepAlive = false;
        }
        HeaderList hs = h.headers;
        // framing (RFC 9112 6.3)
        int mode;
        long length = -1;
        String te = hs.get("Transfer-Encoding");
        if (headMethod || status == 204 || status == 304) {
            mode = IDLE;
        } else if (te != null) {
            if (lastCodingIsChunked(hs)) mode = BODY_CHUNKED;
            else mode = BODY_CLOSE;
            if (hs.get("Content-Length") != null) keepAlive = false; // both: a smuggling sign, never reuse
        } else {
            try {
                length = contentLength(hs);
            } catch (MalformedResponseException e) {
                fail(new MalformedResponseException(e.getMessage() + " (from " + call.plan.originKey + ")"));
                return false;
            }
            mode = length >= 0 ? BODY_LENGTH : BODY_CLOSE;
        }
        if (h.minor == 0) keepAlive &= hs.hasToken("Connection", "keep-alive");
        else keepAlive &= !hs.hasToken("Connection", "close");
        if (mode == BODY_CLOSE) keepAlive = false;
        if (keepAlive) {
            String ka = hs.get("Keep-Alive");
            if (ka != null) {
                keepAliveTimeoutMs = keepAliveTimeout(ka);
                long max = keepAliveMax(ka);
                // max=N: the server takes N more requests by Apache's count, but others count this
                // one, so N - 1 more (max=0 and max=1: this was the last). Losing one request per
                // connection is cheap; a request sent to a server that closes is not.
                if (max >= 0) requestLimit = Math.min(requestLimit, served + 1 + Math.max(0, max - 1));
            }
        }
        long bodyLength = mode == IDLE ? 0 : mode == BODY_LENGTH ? length : -1;
        state = mode == IDLE ? HEAD : mode; // HEAD until done() for a bodiless response
        if (mode == BODY_CHUNKED) {
            chunkState = C_SIZE;
            remaining = 0;
            sizeDigits = 0;
            trailerBytes = 0;
        }
        remaining = mode == BODY_LENGTH ? length : remaining;
        if (mode == BODY_CLOSE && conn.isSecure()) closeNotifyTimer = conn.loop().setTimeout(20, closeNotifyCheck);
        try {
            call.head(this, status, h.reason, h.minor, hs, bodyLength);
        } catch (IOException e) {
            fail(e);
            return false;
        } catch (RuntimeException e) {
            // a handler's onHead, the cookie jar...: the exchange cannot go on, and trying again would not help
            fail(new LocalFailure(call.hop.method() + " " + call.hop.uri() + ": handling the response head failed: " + e, e));
            return false;
        }
        if (call == null || state == CLOSED) return false; // the call gave up (a redirect it will not follow, cancelled)
        if (mode == IDLE || (mode == BODY_LENGTH && length == 0)) {
            done(in);
            return true;
        }
        return true;
    }

    private static boolean lastCodingIsChunked(HeaderList hs) {
        String last = null;
        for (int i = 0; i < hs.size(); i++) {
            if (hs.name(i).equalsIgnoreCase("Transfer-Encoding")) last = hs.value(i);
        }
        if (last == null) return false;
        int comma = last.lastIndexOf(',');
        return last.substring(comma + 1).trim().equalsIgnoreCase("chunked");
    }

    private static long contentLength(HeaderList hs) throws MalformedResponseException {
        long len = -1;
        for (int i = 0; i < hs.size(); i++) {
            if (!hs.name(i).equalsIgnoreCase("Content-Length")) continue;
            String v = hs.value(i);
            // a list "5, 5" is allowed when all values agree (RFC 9110 8.6)
            int p = 0, n = v.length();
            while (true) {
                while (p < n && (v.charAt(p) == ' ' || v.charAt(p) == '\t')) p++;
                long x = 0;
                int digits = 0;
                while (p < n && v.charAt(p) >= '0' && v.charAt(p) <= '9') {
                    if (++digits > 18) throw new MalformedResponseException("invalid Content-Length: " + v);
                    x = x * 10 + (v.charAt(p++) - '0');
                }
                while (p < n && (v.charAt(p) == ' ' || v.charAt(p) == '\t')) p++;
                if (digits == 0 || (p < n && v.charAt(p) != ',')) throw new MalformedResponseException("invalid Content-Length: " + v);
                if (len >= 0 && x != len) throw new MalformedResponseException("conflicting Content-Length values");
                len = x;
                if (p >= n) break;
                p++; // the comma
            }
        }
        return len;
    }

    /** The {@code timeout=N} parameter of a {@code Keep-Alive} header in ms, or -1 when absent or invalid. */
    static long keepAliveTimeout(String v) {
        long sec = keepAliveParam(v, "timeout=");
        return sec >= 0 && sec < 86_400 ? sec * 1000 : -1;
    }

    /** The {@code max=N} parameter of a {@code Keep-Alive} header, or -1 when absent or invalid. */
    static long keepAliveMax(String v) {
        return keepAliveParam(v, "max=");
    }

    /**
     * The decimal value of parameter {@code name} (with its '=') in a comma-separated
     * {@code Keep-Alive} value, or -1 when absent or not a number of at most 9 digits. Allocates
     * nothing: it runs on every response that carries the header.
     */
    static long keepAliveParam(String v, String name) {
        int n = v.length();
        int i = 0;
        while (i < n) {
            while (i < n && (v.charAt(i) == ' ' || v.charAt(i) == '\t' || v.charAt(i) == ',')) i++;
            int end = v.indexOf(',', i);
            if (end < 0) end = n;
            if (v.regionMatches(true, i, name, 0, name.length())) {
                int p = i + name.length();
                while (p < end && v.charAt(p) == ' ') p++;
                long x = 0;
                int digits = 0;
                while (p < end && v.charAt(p) >= '0' && v.charAt(p) <= '9' && digits < 10) {
                    x = x * 10 + (v.charAt(p++) - '0');
                    digits++;
                }
                while (p < end && (v.charAt(p) == ' ' || v.charAt(p) == '\t')) p++;
                if (digits > 0 && digits <= 9 && p == end) return x;
                // an invalid value: ignore this parameter, look for another
            }
            i = end + 1;
        }
        return -1;
    }

    /** Decodes chunked framing; false when more bytes are needed or the exchange ended. */
    private boolean chunked(Buffer in) {
        byte[] a = in.array();
        while (in.isReadable()) {
            if (state != BODY_CHUNKED || paused) return false;
            int i = in.readerIndex();
            byte b = a[i];
            switch (chunkState) {
                case C_SIZE -> {
                    int d = Character.digit(b, 16);
                    if (d >= 0) {
                        if (++sizeDigits > 15) return failChunk("chunk size too large");
                        remaining = (remaining << 4) | d;
                    } else if (sizeDigits == 0) {
                        return failChunk("invalid chunk size");
                    } else if (b == ';' || b == ' ' || b == '\t') {
                        chunkState = C_EXT;
                        lineLen = 0;
                    } else if (b == '\r') {
                        chunkState = C_SIZE_LF;
                    } else {
                        return failChunk("invalid chunk size");
                    }
                    in.skip(1);
                }
                case C_EXT -> {
                    if (b == '\r') chunkState = C_SIZE_LF;
                    else if ((b < 0x20 && b != '\t') || b == 0x7f) return failChunk("invalid character in a chunk extension");
                    else if (++lineLen > 4096) return failChunk("chunk extension too long");
                    in.skip(1);
                }
                case C_SIZE_LF -> {
                    if (b != '\n') return failChunk("chunk size line must end with CRLF");
                    in.skip(1);
                    sizeDigits = 0;
                    if (remaining == 0) {
                        chunkState = C_TRAILER_LINE;
                        trailerLine.clear();
                    } else {
                        chunkState = C_DATA;
                    }
                }
                case C_DATA -> {
                    int n = (int) Math.min(remaining, in.readableBytes());
                    remaining -= deliver(in, n); // less when a decoder stopped for a pause
                    if (remaining == 0) chunkState = C_DATA_CR;
                }
                case C_DATA_CR -> {
                    if (b != '\r') return failChunk("chunk data not followed by CRLF");
                    chunkState = C_DATA_LF;
                    in.skip(1);
                }
                case C_DATA_LF -> {
                    if (b != '\n') return failChunk("chunk data not followed by CRLF");
                    chunkState = C_SIZE;
                    in.skip(1);
                }
                case C_TRAILER_LINE -> {
                    in.skip(1);
                    if (++trailerBytes > MAX_TRAILER_BYTES) return failChunk("trailer fields larger than " + MAX_TRAILER_BYTES + " bytes");
                    trailerLine.writeByte(b);
                    int len = trailerLine.readableBytes();
                    if (b == '\n') {
                        byte[] t = trailerLine.array();
                        int st = trailerLine.readerIndex();
                        if (len < 2 || t[st + len - 2] != '\r') return failChunk("trailer line must end with CRLF");
                        if (len == 2) {
                            done(in);
                            return true;
                        }
                        try {
                            if (trailers == null) trailers = new HeaderList(4);
                            HeadParser.field(t, st, st + len - 2, trailers);
                        } catch (MalformedResponseException e) {
                            return failChunk("invalid trailer field: " + e.getMessage());
                        }
                        trailerLine.clear();
                    }
                }
                default -> throw new IllegalStateException("chunk state " + chunkState);
            }
        }
        return false;
    }

    private boolean failChunk(String why) {
        fail(new MalformedResponseException(why + " (chunked body from " + call.plan.originKey + ")"));
        return false;
    }

    /** The response is complete: back to the pool (or closed), then the call hears it. */
    private void done(Buffer in) {
        cancelTimers();
        if (paused) {
            // The handler paused on the last chunk: its resume() will find no exchange, so the
            // transport must read again before the connection carries another one.
            paused = false;
            if (!conn.isClosed()) conn.resumeReading();
        }
        Call c = call;
        call = null;
        state = IDLE;
        served++;
        HeaderList t = trailers == null ? HeaderList.EMPTY : trailers;
        trailers = null;
        boolean ok = keepAlive && requestDone && pump == null && !conn.isClosed() && conn.queuedBytes() == 0;
        Call next = queued != null ? queued.pollFirst() : null;
        if (next != null) {
            if (ok) {
                beginResponse(next, true, true); // its request went out already; its response comes next
                pool.pipelinePending(this);
                c.exchangeDone(t);
                return;
            }
            queued.addFirst(next);
            failQueued("the server closes it");
        }
        if (!requestDone || pump != null || conn.queuedBytes() > 0) {
            // answered before the whole body went out (a 413, say): drop the rest instead of
            // flushing it into a server that may have stopped reading
            stopPump();
            conn.abort();
        }
        pool.release(this, ok && !in.isReadable());
        c.exchangeDone(t);
    }

    // ---------------------------------------------------------------- flow control, failure, close

    void pause() {
        if (paused || call == null) return;
        paused = true;
        conn.pauseReading();
    }

    void resume() {
        if (!paused) return;
        paused = false;
        if (!conn.isClosed()) conn.resumeReading();
    }

    /** Ends the exchange with {@code e}: the connection is closed, never reused, and the call hears it. */
    void fail(IOException e) {
        Call c = call;
        call = null;
        state = CLOSED;
        cancelTimers();
        stopPump();
        conn.abort();
        if (c != null) c.exchangeFailed(this, e, requestWritten, sawResponseByte, reusedForCall);
        failQueued(e.getMessage());
    }

    /** The call gave up on this exchange (cancelled, deadline, redirect not followed): close, do not tell it. */
    void abortExchange() {
        call = null;
        state = CLOSED;
        cancelTimers();
        stopPump();
        conn.abort();
        failQueued("the call ahead was cancelled");
    }

    private void stopPump() {
        BodyPump p = pump;
        pump = null;
        if (p != null) p.cancel();
    }

    private void headTimedOut() {
        headTimer = null;
        if (call == null) return;
        fail(new HttpTimeoutException(HttpTimeoutException.Phase.RESPONSE_HEAD, call.hop.method() + " " + call.hop.uri()
                + ": no response head within " + s.responseHeadTimeoutMs + " ms"));
    }

    private void readIdleCheck() {
        idleTimer = null;
        if (call == null) return;
        long now = System.nanoTime();
        // Silence counts only while we wait for the server: not while the request is still going
        // out (a slow upload), nor while the caller paused the body.
        if (!requestDone || pump != null || conn.queuedBytes() > 0) lastReadNanos = now;
        long idleMs = (now - lastReadNanos) / 1_000_000L;
        if (paused || idleMs < s.readIdleTimeoutMs) {
            idleTimer = conn.loop().setTimeout(paused ? s.readIdleTimeoutMs : s.readIdleTimeoutMs - idleMs, readIdleCheck);
            return;
        }
        fail(new HttpTimeoutException(HttpTimeoutException.Phase.READ_IDLE, call.hop.method() + " " + call.hop.uri()
                + ": no response bytes for " + idleMs + " ms (read idle timeout " + s.readIdleTimeoutMs + " ms)"));
    }

    private void cancelTimers() {
        cancel(headTimer);
        cancel(idleTimer);
        cancel(continueTimer);
        cancel(closeNotifyTimer);
        cancel(writeTimer);
        headTimer = idleTimer = continueTimer = closeNotifyTimer = writeTimer = null;
        waitingContinue = false;
    }

    private static void cancel(Timer t) {
        if (t != null) t.cancel();
    }

    @Override
    public void onClose(Connection c, CloseCause cause) {
        int was = state;
        state = CLOSED;
        cancelTimers();
        stopPump();
        Call ca = call;
        call = null;
        if (pool != null) pool.closed(this);
        if (ca == null) {
            failQueued(cause.toString());
            return;
        }
        if (was == BODY_CLOSE && (cause.kind() == CloseCause.Kind.PEER_CLOSED || cause.kind() == CloseCause.Kind.NORMAL)) {
            if (c.isSecure() && !closeNotified()) {
                // Over TLS the body ends with close_notify; a bare FIN (anyone on the path can
                // forge one) cuts it: a truncation, not the end. Not retried: bytes were delivered.
                ca.exchangeFailed(this, new MalformedResponseException(ca.hop.method() + " " + ca.hop.uri()
                        + ": the response body was truncated (the TLS connection closed without close_notify)"),
                        requestWritten, sawResponseByte, reusedForCall);
                failQueued("a truncated close-delimited response");
                return;
            }
            ca.exchangeDone(HeaderList.EMPTY); // a close-delimited body ends with the connection
            failQueued("a close-delimited response");
            return;
        }
        boolean stale = reusedForCall && !sawResponseByte;
        String what = switch (cause.kind()) {
            case RESET -> "reset by the server";
            case PEER_CLOSED -> "closed by the server";
            case TIMEOUT -> "closed on a timeout (" + cause.detail() + ")";
            default -> "closed (" + cause + ")";
        };
        String phase = !sawResponseByte ? "before any response byte" : was == HEAD ? "in the middle of the response head" : "in the middle of the response body";
        ca.exchangeFailed(this, new ConnectionClosedException(ca.hop.method() + " " + ca.hop.uri() + ": connection " + what + " "
                + phase + (stale ? " (a reused keep-alive connection: stale)" : ""), stale, cause.error()),
                requestWritten, sawResponseByte, reusedForCall);
        failQueued(what);
    }

    private static String printable(byte[] a, int off, int len) {
        StringBuilder sb = new StringBuilder("\"");
        for (int i = off; i < off + len; i++) {
            int b = a[i] & 0xff;
            if (b >= 0x20 && b < 0x7f) sb.append((char) b);
            else sb.append(String.format("\\x%02x", b));
        }
        return sb.append('"').toString();
    }

    @Override
    public String toString() {
        return "ClientConnection" + conn;
    }
}
