package io.jhv.http.internal.http1;

import io.jhv.core.buffer.Buffer;
import io.jhv.core.loop.EventLoop;
import io.jhv.core.loop.Timer;
import io.jhv.core.net.Connection;
import io.jhv.core.net.ProtocolHandler;
import io.jhv.http.HttpException;
import io.jhv.http.internal.ServerConfig;
import io.jhv.http.server.Handler;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;

/**
 * The HTTP/1.1 side of one TCP connection: runs the requests its {@link RequestReader} parses and
 * writes their responses strictly in request order, also under pipelining with handlers that answer
 * out of order. Loop-thread confined; responses from other threads are handed to the loop.
 *
 * <pre>
 *  bytes --> RequestReader (heads, bodies, input budget) --> dispatch
 *  dispatch --> Exchange: middleware chain --> route handler (loop | virtual thread | deferred)
 *  response --> head of the in-flight queue? write now (OutputBatch per read) : keep until it is
 *  file bodies --> FileSender; streamed bodies --> StreamFlow
 * </pre>
 */
public final class HttpConnection {
    private static final System.Logger LOG = System.getLogger(HttpConnection.class.getName());

    final ServerConfig cfg;
    private final Connection conn;
    private final EventLoop loop;
    final Buffer embeddedOut;
    private final RequestReader reader;
    final StreamFlow stream;

    final ArrayDeque<Exchange> inflight = new ArrayDeque<>();

    private OutputBatch batchSlot; // the loop's batch while this connection holds it, else null
    private Buffer batch;          // batchSlot.buf while held, else null
    private boolean processing;    // a read batch is on the stack: advance() must not start one again

    // Tables of finished exchanges that never left the loop, for the next request's new Request
    // and Response (each request gets its own objects; their arrays need not be new).
    int[] spareHdr, spareParams;
    byte[] spareHead; // a released request's head copy (see Http1Request.detach)
    String[] spareNames, spareValues;
    // A request with an Upgrade header is in flight: what follows it may be another protocol, so
    // nothing behind it is parsed until it is answered (upgrade: the bytes go to the new protocol).
    Exchange awaitingUpgrade;
    // The protocol awaitingUpgrade's 101 switches to; set by Response.upgrade (any thread) before
    // the 101 is submitted, which publishes it to the loop.
    private volatile ProtocolHandler upgradeNext;
    private volatile Http1Response upgradeRes;
    boolean closed;
    private int requests;

    long lastActivity;
    private Timer timer;

    private FileSender files; // made for the first file sent through the heap (TLS, embedded)

    public HttpConnection(ServerConfig cfg, Connection conn) {
        this(cfg, conn, null);
    }

    /**
     * Without a socket ({@code conn} null): responses are appended to {@code embeddedOut}, every
     * call runs on the caller's thread (blocking routes included), and there are no timeouts. For
     * {@link EmbeddedHttp}.
     */
    HttpConnection(ServerConfig cfg, Connection conn, Buffer embeddedOut) {
        this.cfg = cfg;
        this.conn = conn;
        this.loop = conn == null ? null : conn.loop();
        this.embeddedOut = embeddedOut;
        this.reader = new RequestReader(this, cfg);
        this.stream = new StreamFlow(this);
        this.lastActivity = System.nanoTime();
        if (loop != null) {
            long t = Math.max(1, Math.min(cfg.keepAliveTimeoutMs > 0 ? cfg.keepAliveTimeoutMs : Long.MAX_VALUE,
                    cfg.headerTimeoutMs > 0 ? cfg.headerTimeoutMs : Long.MAX_VALUE));
            if (t != Long.MAX_VALUE) timer = loop.setTimeout(t, this::checkTimeouts);
            conn.onWriteComplete(c -> {
                if (files != null) files.pump();
            });
            conn.onWritable((c, writable) -> {
                if (writable) stream.wakeWriters();
            });
        }
    }

    /** True on the connection's loop thread (always in embedded mode). */
    boolean inLoop() {
        return loop == null || loop.inLoop();
    }

    /** Runs {@code task} on the loop later (at once in embedded mode). */
    void toLoop(Runnable task) {
        if (loop == null) task.run();
        else loop.queueInLoop(task);
    }

    /** Closes the socket after what is queued (embedded: marks the connection closed). */
    private void closeConnection() {
        closed = true;
        if (conn != null) conn.close();
    }

    void abortConnection() {
        closed = true;
        if (conn != null) conn.abort();
    }

    /** Aborts from any thread (a handler failed after its response started). */
    void abortFromAnyThread() {
        if (inLoop()) abortConnection();
        else loop.queueInLoop(this::abortConnection);
    }

    /** True once this side has decided to close (for {@link EmbeddedHttp}). */
    boolean isClosing() { return closed; }

    ServerConfig server() { return cfg; }

    public Connection connection() { return conn; }

    /**
     * The connection was handed to another protocol (an upgrade): release what HTTP holds (as on
     * close) and the callbacks it set on the connection, and let reading go on for the new one.
     */
    void detached() {
        if (conn != null) {
            conn.onWriteComplete(null);
            conn.onWritable(null);
            if (reader.readPaused) reader.resumeReading();
        }
        onClosed();
    }

    /** The connection closed: release what the exchanges hold. */
    public void onClosed() {
        closed = true;
        stream.wakeWriters();
        if (timer != null) timer.cancel();
        if (files != null) files.close();
        for (Exchange ex : inflight) {
            ex.res.releaseFile(); // opened for a body that will not be sent
            if (ex.running) {
                ex.retired = true; // a blocking handler still reads it: released when it ends
            } else {
                ex.req.cleanup();
                refund(ex);
            }
        }
        inflight.clear();
        reader.release();
        cfg.removed(this);
    }

    /** Bytes arrived (a borrowed buffer: consumed here, the rest copied). */
    public void onMessage(Buffer in) {
        reader.onMessage(in);
    }

    /** Gives back what a finished exchange's body held. */
    private void refund(Exchange ex) {
        if (ex.charge != 0) {
            cfg.releaseInput(ex.charge);
            ex.charge = 0;
        }
    }

    /**
     * Processes {@code src} with the loop's batch buffer if it is free (else writing directly), and
     * sends the batch at the end. Not re-entered: a response finished meanwhile only queues output.
     */
    void runBatch(Buffer src) {
        OutputBatch slot = OutputBatch.lend(this);
        if (slot != null) {
            batchSlot = slot;
            batch = slot.buf;
        }
        processing = true;
        boolean ok = false;
        try {
            reader.process(src);
            ok = true;
        } finally {
            processing = false;
            if (slot != null) {
                if (ok) flushBatch();
                else batch.clear(); // something threw mid-batch: its output goes nowhere
                batchSlot = null;
                batch = null;
                slot.giveBack();
            }
        }
    }

    /** A new exchange for the next request (never a reused one: see {@link Http1Response}). */
    Exchange acquire() {
        Exchange ex = new Exchange(this);
        if (cfg.metrics != null) ex.startNanos = System.nanoTime();
        return ex;
    }

    /** Tells the metrics listener that {@code ex} was answered (before its request is recycled). */
    private void reportCompleted(Exchange ex) {
        String method;
        try {
            method = ex.req.method();
        } catch (RuntimeException noHead) { // a protocol error before a request line was parsed
            method = "";
        }
        try {
            cfg.metrics.requestCompleted(method, ex.res.status(), System.nanoTime() - ex.startNanos);
        } catch (Throwable t) {
            LOG.log(System.Logger.Level.WARNING, "metrics listener failed", t);
        }
    }

    // ---------------------------------------------------------------- dispatch

    void dispatch(Exchange ex) {
        inflight.add(ex);
        requests++;
        Http1Request req = ex.req;
        // a scan of the header table (lengths first): no field per request, nothing allocated
        if (req.hasHeader("upgrade")) awaitingUpgrade = ex;
        if (!req.keepAlive || cfg.draining || (cfg.maxRequestsPerConnection > 0 && requests >= cfg.maxRequestsPerConnection)) {
            ex.res.closeAfter = true;
            reader.stopReading = true;
        }
        try {
            ex.route = cfg.router.match(req);
        } catch (HttpException e) {
            protocolErrorInFlight(ex, e);
            return;
        }
        if (ex.route != null && ex.route.handler instanceof Handler.Blocking) {
            req.detach();
            req.detachBody();
            ex.res.blocking = true;
            ex.running = true;
            if (loop == null) {
                ex.run(); // embedded: everything on the caller's thread
                chainEnded(ex);
            } else {
                Thread.ofVirtual().name("jhv-http-blocking").start(() -> {
                    ex.run();
                    loop.queueInLoop(() -> chainEnded(ex));
                });
            }
            return;
        }
        ex.running = true;
        ex.run();
        chainEnded(ex);
        if (!ex.res.done) {
            // answered later: keep what the request points at
            req.detach();
            req.detachBody();
        }
        // closeConnection(), or a response to HTTP/1.0 delimited by the close: the requests behind
        // it would never be answered, so do not read (and run) them
        if (ex.res.closeAfter) reader.stopReading = true;
    }

    /** The chain of {@code ex} returned: release the exchange if it was answered meanwhile. Loop thread. */
    private void chainEnded(Exchange ex) {
        ex.running = false;
        if (ex.retired) release(ex);
    }

    /**
     * Frees an exchange that is off the line and whose chain has ended. Its tables go to the next
     * request only if no other thread can hold it (it never was deferred, streamed or blocking).
     */
    private void release(Exchange ex) {
        ex.retired = false;
        ex.req.cleanup();
        ex.res.releaseFile(); // given a file it did not send (an error answer replaced it)
        refund(ex);
        Http1Response res = ex.res;
        if (!closed && !res.blocking && (!res.deferred() || res.loopOnly) && !res.chunked) {
            ex.req.recycleInto(this);
            res.recycleInto(this);
        }
    }

    /** A handler will answer later (defer, stream): keep the request's bytes. Loop thread (or embedded). */
    void keepRequest(Http1Request req) {
        if (inLoop()) {
            req.detach();
            req.detachBody();
        }
    }

    /** A request that cannot be parsed: answer with its status and close after it. */
    void protocolError(Exchange ex, HttpException e) {
        reader.stopReading = true;
        reader.headStart = 0;
        if (ex.req.rawData() == null) ex.req.beginHead(new byte[0], 0, 0);
        inflight.add(ex);
        protocolErrorInFlight(ex, e);
    }

    private void protocolErrorInFlight(Exchange ex, HttpException e) {
        reader.stopReading = true;
        ex.answerProtocolError(e);
    }

    // ---------------------------------------------------------------- output

    /**
     * Bodies of at least this size are not copied into the output: the connection's write queue
     * takes the caller's array as it is (Response.bytes documents that it must not change after).
     * Smaller ones are cheaper to copy into the batch, where they go out in one write with others.
     */
    static final int DIRECT_BODY = 32 * 1024;

    /** A response body is ready ({@code contentLength} -1 for chunked). Any thread. */
    void submit(Http1Response res, byte[] body, int off, int len, long contentLength) {
        if (inLoop()) {
            submitInLoop(res, body, off, len, contentLength);
        } else if (body != null && len >= DIRECT_BODY) {
            toLoop(() -> submitInLoop(res, body, off, len, contentLength));
        } else {
            byte[] copy = body == null ? null : java.util.Arrays.copyOfRange(body, off, off + len);
            toLoop(() -> submitInLoop(res, copy, 0, len, contentLength));
        }
    }

    void submitString(Http1Response res, String body) {
        if (inLoop()) {
            OutputBatch slot = openBatch(res);
            boolean ok = false;
            try {
                Buffer out = outputFor(res);
                res.writeHead(out, HeadEncoding.utf8Length(body));
                if (res.sendsBody()) out.writeString(body); // UTF-8, ASCII copied in place
                finished(res);
                ok = true;
            } finally {
                closeBatch(slot, ok);
            }
        } else {
            byte[] b = body.getBytes(StandardCharsets.UTF_8);
            toLoop(() -> submitInLoop(res, b, 0, b.length, b.length));
        }
    }

    private void submitInLoop(Http1Response res, byte[] body, int off, int len, long contentLength) {
        OutputBatch slot = openBatch(res);
        boolean ok = false;
        try {
            submitOutput(res, body, off, len, contentLength);
            ok = true;
        } finally {
            closeBatch(slot, ok);
        }
    }

    /**
     * Outside a read batch (a response finished later: deferred, proxied, streamed), lends the
     * loop's batch buffer to {@code res} when it is first in line, so its output needs no buffer of
     * its own; {@link #closeBatch} sends it and gives the buffer back. Null if a batch is open (a
     * read batch of this connection, or another connection holds the loop's buffer), when the
     * response must wait behind others, or when embedded. Loop thread.
     */
    OutputBatch openBatch(Http1Response res) {
        if (batch != null || conn == null || closed || sendingFile() || !isHead(res)) return null;
        OutputBatch slot = OutputBatch.lend(this);
        if (slot != null) {
            batchSlot = slot;
            batch = slot.buf;
        }
        return slot;
    }

    /** Ends {@link #openBatch}: sends what was written (unless {@code ok} is false: then it goes nowhere) and gives the buffer back. */
    void closeBatch(OutputBatch slot, boolean ok) {
        if (slot == null) return;
        try {
            if (ok) flushBatch();
        } finally {
            batchSlot = null;
            batch = null;
            slot.giveBack();
        }
    }

    private void submitOutput(Http1Response res, byte[] body, int off, int len, long contentLength) {
        if (closed) {
            res.releaseFile();
            return;
        }
        Buffer out = outputFor(res);
        res.writeHead(out, contentLength);
        if (res.file != null) {
            if (!res.sendsBody() || res.fileLength == 0) {
                res.releaseFile();
                finished(res);
            } else {
                afterOutput(res);
                if (isHead(res)) {
                    startFile(res);
                    if (res.done) advance(); // handed to the socket whole (sendfile)
                }
            }
            return;
        }
        if (contentLength == -1) { // chunked stream: the head now, chunks later
            afterOutput(res);
            return;
        }
        if (body != null && len > 0 && res.sendsBody()) {
            if (len >= DIRECT_BODY) {
                res.body = ByteBuffer.wrap(body, off, len); // sent after the head, not copied
            } else {
                out.write(body, off, len);
            }
        }
        finished(res);
    }

    private boolean isHead(Http1Response res) {
        Exchange h = inflight.peek();
        return h != null && h.res == res;
    }

    /** True while a file body goes out through the heap: everything behind it waits. */
    private boolean sendingFile() {
        return files != null && files.busy();
    }

    /** Where a response writes: the batch when it is first in line during a read, else its own buffer. */
    Buffer outputFor(Http1Response res) {
        if (batch != null && !sendingFile() && isHead(res)) return batch;
        if (res.pendingOut == null) res.pendingOut = Buffer.allocate(1024);
        return res.pendingOut;
    }

    /** Output was added; send it now if the response is first in line. */
    void afterOutput(Http1Response res) {
        if (!isHead(res) || sendingFile()) return;
        sendPending(res);
    }

    /** Sends what {@code res} (first in line) has buffered: into the batch during a read, else now. */
    private void sendPending(Http1Response res) {
        if (res.pendingOut != null && res.pendingOut.isReadable()) {
            if (batch != null) batch.write(res.pendingOut);
            else write(res.pendingOut);
        }
        ByteBuffer body = res.body;
        if (body != null) {
            // a large body goes to the write queue as it is, behind the head (the batch goes first)
            res.body = null;
            flushBatch();
            if (conn == null) embeddedOut.write(body);
            else if (!closed) writeOwned(body);
        }
    }

    private void writeOwned(ByteBuffer b) {
        try {
            conn.write(b);
        } catch (IllegalStateException e) {
            // the connection is closing: nothing more to send
        }
    }

    /** The response is complete: send what is first in line, in order. */
    void finished(Http1Response res) {
        res.markDone();
        afterOutput(res);
        advance();
    }

    /** Retires finished exchanges at the head of the line and sends the ones behind them. */
    private void advance() {
        Exchange h;
        while ((h = inflight.peek()) != null && !sendingFile()) {
            Http1Response res = h.res;
            sendPending(res);
            // first in line but not finished (deferred, streaming): its output so far has gone out
            if (!res.done && res.file == null) break;
            if (res.file != null) {
                startFile(res);
                if (sendingFile()) break; // the file is on its way; retire the exchange when done
                continue;
            }
            inflight.poll();
            if (cfg.metrics != null) reportCompleted(h);
            boolean close = res.closeAfter;
            if (h == awaitingUpgrade) awaitingUpgrade = null; // answered: parsing goes on, or the protocol changes
            ProtocolHandler next = res == upgradeRes ? upgradeNext : null;
            if (next != null) {
                upgradeRes = null;
                upgradeNext = null;
            }
            if (h.running) h.retired = true; // middleware after next() may still read the request
            else release(h);
            if (next != null && !close && res.status() == 101) {
                switchProtocols(next);
                return;
            }
            if (close) {
                flushBatch();
                closeConnection();
                return;
            }
        }
        if (inflight.isEmpty()) {
            // within a read batch onMessage has just set it: no clock read per response
            if (!processing) lastActivity = System.nanoTime();
            reader.lineClear(processing);
        }
    }

    /**
     * The 101 is first in line and complete: it goes out, then the connection goes to {@code next}
     * with the bytes read after the upgrade request (HTTP's pending copy first, then what the
     * connection still holds of the current read). onDetach releases this HTTP connection.
     */
    private void switchProtocols(ProtocolHandler next) {
        flushBatch();
        if (closed || conn == null) return;
        if (!conn.isConnected()) {
            closeConnection(); // closing already: nothing to hand over
            return;
        }
        Buffer rest = reader.pending;
        try {
            conn.handover(next, rest);
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, conn + " upgrade to " + next + " failed", e);
            abortConnection();
        }
    }

    void flushBatch() {
        Buffer b = batch;
        if (b == null || !b.isReadable()) return;
        if (closed) b.clear();
        else write(b);
    }

    private void write(Buffer b) {
        if (conn == null) {
            embeddedOut.write(b);
            return;
        }
        try {
            conn.write(b);
        } catch (IllegalStateException e) {
            b.skip(b.readableBytes()); // the connection is closing: nothing more to send
        }
    }

    void writeNow(byte[] bytes) {
        flushBatch();
        if (conn == null) {
            embeddedOut.write(bytes);
            return;
        }
        try {
            conn.write(ByteBuffer.wrap(bytes));
        } catch (IllegalStateException ignored) {
            // closing
        }
    }

    private void startFile(Http1Response res) {
        files = FileSender.start(this, files, res);
    }

    /** The file body of the exchange first in line has gone out: retire it and go on. */
    void fileSent() {
        Exchange h = inflight.peek();
        if (h != null) {
            h.res.file = null;
            h.res.markDone();
        }
        advance();
    }

    // ---------------------------------------------------------------- timeouts and shutdown

    private void checkTimeouts() {
        if (closed) return;
        long now = System.nanoTime();
        long next = Long.MAX_VALUE;
        if (reader.headStart != 0 && cfg.headerTimeoutMs > 0) {
            long left = cfg.headerTimeoutMs - (now - reader.headStart) / 1_000_000;
            if (left <= 0) {
                Exchange ex = acquire();
                protocolError(ex, new HttpException(408, "request head not received in time"));
                flushBatch();
                return;
            }
            next = left;
        } else if (reader.reading != null && cfg.headerTimeoutMs > 0) {
            // a body that stopped arriving holds the connection as a dribbled head would
            long left = cfg.headerTimeoutMs - (now - lastActivity) / 1_000_000;
            if (left <= 0) {
                Exchange ex = reader.reading;
                reader.abandonBody();
                protocolError(ex, new HttpException(408, "request body not received in time"));
                return;
            }
            next = left;
        } else if (inflight.isEmpty() && reader.reading == null && cfg.keepAliveTimeoutMs > 0) {
            long left = cfg.keepAliveTimeoutMs - (now - lastActivity) / 1_000_000;
            if (left <= 0) {
                closeConnection();
                return;
            }
            next = left;
        }
        if (next == Long.MAX_VALUE) next = Math.max(1000, Math.min(cfg.headerTimeoutMs, cfg.keepAliveTimeoutMs));
        timer = loop.setTimeout(Math.max(1, next), this::checkTimeouts);
    }

    /** {@code res} (the 101 to a request with an Upgrade header) switches to {@code next}. Any thread, before submitting. */
    void upgradeTo(Http1Response res, ProtocolHandler next) {
        upgradeNext = next;
        upgradeRes = res;
    }

    /** Graceful shutdown: close now if idle, else after the in-flight requests. Loop thread. */
    public void drain() {
        if (closed) return;
        reader.stopReading = true;
        if (inflight.isEmpty() && reader.reading == null) {
            closeConnection();
            return;
        }
        Exchange last = inflight.peekLast();
        // not yet answered: it says Connection: close; already answered or streaming: close once it is done
        if (last != null) last.res.closeAfter = true;
    }

    /** True if the connection has no request in progress. */
    public boolean idle() {
        return inflight.isEmpty() && reader.reading == null && reader.headStart == 0;
    }
}
