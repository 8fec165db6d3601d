package io.jhv.http.internal.http1;

import io.jhv.http.internal.BodySink;
import io.jhv.http.internal.MultipartParser;
import io.jhv.http.internal.ServerConfig;
import io.jhv.http.server.Handler;
import io.jhv.http.server.HttpServer;
import io.jhv.http.server.Middleware;
import io.jhv.http.server.Request;
import io.jhv.http.server.Response;

import io.jhv.core.buffer.Buffer;
import io.jhv.core.loop.EventLoop;
import io.jhv.core.loop.Timer;
import io.jhv.core.net.Connection;
import io.jhv.core.net.ProtocolHandler;
import io.jhv.http.HttpException;
import io.jhv.http.Status;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.Set;

/**
 * The HTTP/1.1 side of one TCP connection: parses requests as bytes arrive, runs handlers, and
 * writes responses strictly in request order, also under pipelining with handlers that answer out
 * of order. Loop-thread confined; responses from other threads are handed to the loop.
 *
 * <pre>
 *  bytes --> findHead/parse --> [body: length | chunked --> memory or multipart sink] --> dispatch
 *  dispatch --> middleware chain --> route handler (loop | virtual thread | deferred)
 *  response --> head of the in-flight queue? write now (batched per read) : keep until it is
 * </pre>
 */
public final class HttpConnection {
    private static final System.Logger LOG = System.getLogger(HttpConnection.class.getName());
    private static final byte[] CONTINUE = "HTTP/1.1 100 Continue\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1);
    private static final byte[] LAST_CHUNK = "0\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1);
    private static final int FILE_CHUNK = 64 * 1024;
    private static final long FILE_QUEUE_LIMIT = 256 * 1024;
    private static final int MAX_PENDING = 1 << 20;

    private final ServerConfig cfg;
    private final Connection conn;
    private final EventLoop loop;
    private final Http1Parser parser;
    private final ChunkedDecoder chunked;
    private final Buffer embeddedOut;

    private final ArrayDeque<Exchange> inflight = new ArrayDeque<>();
    private Buffer pending;      // input kept between reads

    /**
     * The output of one read batch: every response finished while a read is processed goes out in
     * one write. One buffer per loop thread, so an idle connection does not keep 16 KiB; it is lent
     * to one connection at a time. A handler on connection A may finish a response of connection B
     * (a chat "publish"), and B may then run its next requests while A's batch is open: B finds the
     * buffer lent and writes straight to its own socket, so A's bytes can never leave on B's.
     */
    private static final class BatchSlot {
        Buffer buf = Buffer.allocate(BATCH_SIZE);
        HttpConnection owner;
    }

    private static final int BATCH_SIZE = 16 * 1024;
    /** A batch grown above this (many pipelined answers) is dropped after use, not kept by the loop. */
    private static final int BATCH_KEEP = 256 * 1024;
    private static final ThreadLocal<BatchSlot> BATCHES = ThreadLocal.withInitial(BatchSlot::new);
    private BatchSlot batchSlot; // the loop's slot while this connection holds its batch, else null
    private Buffer batch;        // batchSlot.buf while held, else null
    private boolean processing;  // process() is on the stack: advance() must not start it again

    // Tables of finished exchanges that never left the loop, for the next request's new Request
    // and Response (each request gets its own objects; their arrays need not be new).
    int[] spareHdr, spareParams;
    String[] spareNames, spareValues;
    private boolean stopReading; // no further requests are parsed (close after the in-flight ones)
    // A request with an Upgrade header is in flight: what follows it may be another protocol, so
    // nothing behind it is parsed until it is answered (upgrade: the bytes go to the new protocol).
    private Exchange awaitingUpgrade;
    // The protocol awaitingUpgrade's 101 switches to; set by Response.upgrade (any thread) before
    // the 101 is submitted, which publishes it to the loop.
    private volatile ProtocolHandler upgradeNext;
    private volatile Http1Response upgradeRes;
    private boolean closed;
    private int requests;
    private boolean readPaused;

    // body being read
    private Exchange reading;
    private long bodyRemaining;
    private long bodyReceived;
    private byte[] bodyBuf;
    private int bodyLen;
    private BodySink sink;
    private boolean continuePending; // a 100 Continue waits for the responses ahead of it

    // timeouts
    private long headStart;  // nanoTime when an unfinished head began, 0 if none
    private long lastActivity;
    private Timer timer;

    // file being sent
    private FileChannel fileCh;
    private long filePos, fileLeft;

    /** One request and its response; a new one for every request. */
    static final class Exchange {
        final Http1Request req;
        final Http1Response res;
        final Chain chain = new Chain();
        Router.Route route;
        /** The middleware chain is still running (its "after" part may read the request). */
        boolean running;
        /** Answered and off the line while still running: released when the chain ends. */
        boolean retired;
        /** Bytes of the body charged to the server's input budget, given back at release. */
        long charge;

        Exchange(HttpConnection c) {
            req = new Http1Request(c, c.spareHdr, c.spareParams);
            res = new Http1Response(c, req, c.spareNames, c.spareValues);
            c.spareHdr = c.spareParams = null;
            c.spareNames = c.spareValues = null;
            chain.ex = this;
        }
    }

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
        this.parser = new Http1Parser(cfg.maxRequestLine, cfg.maxHeaderSize, cfg.maxHeaderCount);
        this.chunked = new ChunkedDecoder(cfg.maxHeaderSize);
        this.lastActivity = System.nanoTime();
        if (loop != null) {
            long t = Math.max(1, Math.min(cfg.keepAliveTimeoutMs > 0 ? cfg.keepAliveTimeoutMs : Long.MAX_VALUE,
                    cfg.headerTimeoutMs > 0 ? cfg.headerTimeoutMs : Long.MAX_VALUE));
            if (t != Long.MAX_VALUE) timer = loop.setTimeout(t, this::checkTimeouts);
            conn.onWriteComplete(c -> pumpFile());
            conn.onWritable((c, writable) -> {
                if (writable) wakeStreamWriters();
            });
        }
    }

    /** True on the connection's loop thread (always in embedded mode). */
    private boolean inLoop() {
        return loop == null || loop.inLoop();
    }

    /** Runs {@code task} on the loop later (at once in embedded mode). */
    private void toLoop(Runnable task) {
        if (loop == null) task.run();
        else loop.queueInLoop(task);
    }

    /** Closes the socket after what is queued (embedded: marks the connection closed). */
    private void closeConnection() {
        closed = true;
        if (conn != null) conn.close();
    }

    private void abortConnection() {
        closed = true;
        if (conn != null) conn.abort();
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
            if (readPaused) {
                readPaused = false;
                conn.resumeReading();
            }
        }
        onClosed();
    }

    /** The connection closed: release what the exchanges hold. */
    public void onClosed() {
        closed = true;
        wakeStreamWriters();
        if (timer != null) timer.cancel();
        closeFile();
        if (sink instanceof MultipartParser mp) mp.cleanup();
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
        pending = null;
        bodyBuf = null;
        // what a blocking handler still holds is given back when its chain ends (release)
        cfg.releaseInput(pendingCharge + bodyCharge);
        pendingCharge = bodyCharge = 0;
        cfg.removed(this);
    }

    // ---------------------------------------------------------------- input

    /** Bytes arrived (a borrowed buffer: consumed here, the rest copied). */
    public void onMessage(Buffer in) {
        if (closed || stopReading && reading == null) {
            in.skip(in.readableBytes());
            return;
        }
        lastActivity = System.nanoTime();
        Buffer src = in;
        if (pending != null && pending.isReadable()) {
            stash(in);
            src = pending;
        }
        runBatch(src);
        if (closed) return;
        if (src.isReadable() && !stopReading) {
            if (src == in) stash(in);
            if (pending.readableBytes() > MAX_PENDING && !readPaused) {
                // the pipeline is full and the client keeps sending: let TCP push back
                readPaused = true;
                if (conn != null) conn.pauseReading();
            }
            if (cfg.inputOverBudget()) shed();
        } else {
            src.skip(src.readableBytes());
            if (pending != null && pending.capacity() > PENDING_KEEP) dropPending();
        }
    }

    // ---------------------------------------------------------------- the server's input budget
    //
    // Input that waits (an unfinished head, pipelined requests behind a busy one, a body being
    // collected) is held in the heap. One connection is bounded by the header and body limits, but
    // thousands of connections each holding an unfinished 60 KiB head would exhaust the heap and
    // take every connection down with it. So all connections of a server share one budget
    // (HttpServer.maxInputMemory): what is held is charged, and when the budget is spent a
    // connection that only holds an unfinished request is answered 503 and closed, one with
    // requests in progress stops reading until they are done. Bytes already read are never dropped.

    /** Bytes of the pending buffer charged to the server's budget. */
    private long pendingCharge;
    /** Bytes of the body being collected ({@link #bodyBuf}) charged to the budget. */
    private long bodyCharge;
    private static final int PENDING_KEEP = 16 * 1024;

    /** Appends {@code in} to the pending input, charging its growth to the server's budget. */
    private void stash(Buffer in) {
        if (pending == null) pending = Buffer.allocate(Math.max(4096, in.readableBytes()));
        pending.write(in);
        long cap = pending.capacity();
        if (cap != pendingCharge) {
            cfg.chargeInput(cap - pendingCharge); // bytes read are kept whatever the budget says
            pendingCharge = cap;
        }
    }

    private void dropPending() {
        pending = null;
        cfg.releaseInput(pendingCharge);
        pendingCharge = 0;
    }

    /** The budget is spent: make this connection hold no more. */
    private void shed() {
        if (!inflight.isEmpty()) {
            // requests are being answered: read no more until they are (advance resumes)
            if (!readPaused) {
                readPaused = true;
                if (conn != null) conn.pauseReading();
            }
            return;
        }
        budgetExceeded(reading);
    }

    /** Answers 503 and closes: the input of this connection cannot be held. */
    private void budgetExceeded(Exchange collecting) {
        if (LOG.isLoggable(System.Logger.Level.DEBUG)) LOG.log(System.Logger.Level.DEBUG, conn + " input memory budget of the server spent: 503");
        Exchange ex = collecting;
        if (ex != null) abandonBody();
        else ex = acquire();
        headStart = 0;
        protocolError(ex, new HttpException(503, "the server is out of memory for request input; retry later"));
        if (pending != null) pending.clear();
    }

    /** Stops collecting the body of {@link #reading} (refused or timed out). */
    private void abandonBody() {
        reading = null;
        continuePending = false;
        if (sink instanceof MultipartParser mp) mp.cleanup();
        sink = null;
        bodyBuf = null;
        cfg.releaseInput(bodyCharge);
        bodyCharge = 0;
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
    private void runBatch(Buffer src) {
        BatchSlot slot = BATCHES.get();
        boolean own = slot.owner == null;
        if (own) {
            slot.owner = this;
            batchSlot = slot;
            batch = slot.buf;
        }
        processing = true;
        boolean ok = false;
        try {
            process(src);
            ok = true;
        } finally {
            processing = false;
            if (own) {
                if (ok) flushBatch();
                else batch.clear(); // something threw mid-batch: its output goes nowhere
                releaseBatch();
            }
        }
    }

    /** Gives the batch buffer back to the loop (a grown one is dropped: memory is not kept for ever). */
    private void releaseBatch() {
        BatchSlot slot = batchSlot;
        if (slot == null) return;
        batch.clear();
        if (batch.capacity() > BATCH_KEEP) slot.buf = Buffer.allocate(BATCH_SIZE);
        slot.owner = null;
        batchSlot = null;
        batch = null;
    }

    private void process(Buffer src) {
        while (src.isReadable() && !closed) {
            if (reading != null) {
                if (!readBody(src)) return;
                continue;
            }
            if (stopReading || awaitingUpgrade != null || inflight.size() >= cfg.maxPipelined) return;
            // RFC 9112 2.2: ignore empty lines before a request line
            while (src.isReadable() && (src.peek(0) == '\r' || src.peek(0) == '\n')) src.skip(1);
            if (!src.isReadable()) return;
            if (!inflight.isEmpty() && !mayOverlap(src)) return; // advance() goes on when the line is clear
            if (headStart == 0) headStart = System.nanoTime();
            byte[] a = src.array();
            int r = src.readerIndex();
            int len;
            Exchange ex = null;
            try {
                len = parser.findHead(a, r, src.writerIndex());
                if (len < 0) return;
                ex = acquire();
                headStart = 0;
                parser.parse(a, r, len, ex.req);
            } catch (HttpException e) {
                if (ex == null) ex = acquire();
                protocolError(ex, e);
                return;
            }
            src.skip(len);
            Http1Request req = ex.req;
            if (req.expectContinue && refuseUnread(ex)) return;
            switch (req.bodyKind) {
                case NONE -> dispatch(ex);
                case LENGTH -> {
                    if (req.contentLength > cfg.maxBodySize) {
                        protocolError(ex, new HttpException(413, "body of " + req.contentLength + " bytes is above the limit of " + cfg.maxBodySize));
                        return;
                    }
                    String ct = req.contentType();
                    boolean multipart = ct != null && ct.regionMatches(true, 0, "multipart/form-data", 0, 19);
                    if (!multipart && src.readableBytes() >= req.contentLength) {
                        int n = (int) req.contentLength;
                        req.bodyView(a, src.readerIndex(), n);
                        src.skip(n);
                        dispatch(ex);
                    } else {
                        if (!startBody(ex, multipart)) return;
                        bodyRemaining = req.contentLength;
                    }
                }
                case CHUNKED -> {
                    String ct = req.contentType();
                    boolean multipart = ct != null && ct.regionMatches(true, 0, "multipart/form-data", 0, 19);
                    if (!startBody(ex, multipart)) return;
                    chunked.reset();
                }
            }
        }
    }

    /**
     * Whether the request starting at {@code src} may be dispatched while others are in flight: by
     * default never (one handler at a time, RFC 9112 9.3.2: a POST must not start before the
     * request ahead of it finished); with {@code pipelinedSafeParallel}, a GET or HEAD behind GETs
     * and HEADs. Looks at the method bytes only: nothing is parsed twice.
     */
    private boolean mayOverlap(Buffer src) {
        if (!cfg.pipelinedSafeParallel || !isSafe(src)) return false;
        for (Exchange ex : inflight) {
            int m = ex.req.methodId();
            if (m != Http1Request.M_GET && m != Http1Request.M_HEAD) return false;
        }
        return true;
    }

    private static boolean isSafe(Buffer src) {
        int n = src.readableBytes();
        if (n < 5) return false;
        byte b0 = src.peek(0), b1 = src.peek(1), b2 = src.peek(2), b3 = src.peek(3);
        if (b0 == 'G' && b1 == 'E' && b2 == 'T' && b3 == ' ') return true;
        return b0 == 'H' && b1 == 'E' && b2 == 'A' && b3 == 'D' && src.peek(4) == ' ';
    }

    /**
     * {@code Expect: 100-continue} for a path or method without a route: answers the final status
     * (404, 405...) now instead of a 100, leaves the body unread and closes after the answer (the
     * unread body cannot be told from a next request). True if refused. A body above the limit is
     * refused with 413 the same way, by the Content-Length check.
     */
    private boolean refuseUnread(Exchange ex) {
        Http1Request req = ex.req;
        if (req.bodyKind == Http1Request.BodyKind.LENGTH && req.contentLength > cfg.maxBodySize) return false; // 413 below
        Router.Route route;
        try {
            route = cfg.router.match(req);
        } catch (HttpException e) {
            protocolError(ex, e);
            return true;
        }
        if (route != null) return false;
        req.bodyKind = Http1Request.BodyKind.NONE;
        req.contentLength = 0;
        req.keepAlive = false; // dispatch closes after the answer and stops reading
        dispatch(ex);
        return true;
    }

    /** Prepares to read a body that is not all here yet; false if the request was refused. */
    private boolean startBody(Exchange ex, boolean multipart) {
        Http1Request req = ex.req;
        req.detach();
        reading = ex;
        bodyReceived = 0;
        bodyLen = 0;
        sink = null;
        if (multipart) {
            String boundary = MultipartParser.boundary(req.contentType());
            if (boundary == null) {
                reading = null;
                protocolError(ex, new HttpException(400, "multipart/form-data without a valid boundary"));
                return false;
            }
            sink = new MultipartParser(boundary, cfg.multipartMemoryThreshold, cfg.tempDir, cfg.maxBodySize, cfg.maxParts);
        } else {
            // grown as the bytes arrive: a claimed length costs nothing until it is sent
            int first = req.bodyKind == Http1Request.BodyKind.LENGTH ? (int) Math.min(req.contentLength, 64 * 1024) : 4096;
            if (!cfg.reserveInput(first)) {
                reading = null;
                budgetExceeded(ex);
                return false;
            }
            bodyCharge = first;
            bodyBuf = new byte[first];
        }
        if (req.expectContinue) {
            // the 100 is an answer too: it may not overtake the responses still in line
            if (inflight.isEmpty()) writeNow(CONTINUE);
            else continuePending = true;
        }
        return true;
    }

    private final ChunkedDecoder.Sink chunkSink = this::bodyData;

    /** Feeds body bytes; true when the body is complete and processing can go on. */
    private boolean readBody(Buffer src) {
        Exchange ex = reading;
        try {
            if (ex.req.bodyKind == Http1Request.BodyKind.LENGTH) {
                int n = (int) Math.min(bodyRemaining, src.readableBytes());
                bodyData(src.array(), src.readerIndex(), n);
                src.skip(n);
                bodyRemaining -= n;
                if (bodyRemaining > 0) return false;
            } else {
                int used = chunked.feed(src.array(), src.readerIndex(), src.writerIndex(), chunkSink);
                src.skip(used);
                if (!chunked.done()) return false;
            }
            if (sink != null) sink.onEnd();
        } catch (HttpException e) {
            abandonBody();
            protocolError(ex, e);
            return false;
        }
        reading = null;
        continuePending = false;
        if (sink instanceof MultipartParser mp) {
            ex.req.multipart = mp;
        } else {
            ex.req.bodyBytes(bodyBuf, bodyLen);
        }
        sink = null;
        bodyBuf = null;
        ex.charge = bodyCharge; // held by the request until the exchange is released
        bodyCharge = 0;
        dispatch(ex);
        return true;
    }

    private void bodyData(byte[] b, int off, int len) {
        bodyReceived += len;
        if (bodyReceived > cfg.maxBodySize) throw new HttpException(413, "body above the limit of " + cfg.maxBodySize + " bytes");
        if (sink != null) {
            sink.onData(b, off, len);
            return;
        }
        if (bodyLen + len > bodyBuf.length) {
            // a Content-Length body ends exactly at its length, so the array is the body
            long limit = reading != null && reading.req.bodyKind == Http1Request.BodyKind.LENGTH ? reading.req.contentLength : cfg.maxBodySize;
            long doubled = Math.max(bodyBuf.length * 2L, bodyLen + (long) len);
            // close to the announced length: take it at once rather than double once more and copy again
            int size = (int) Math.min(limit, doubled * 2 >= limit ? limit : doubled);
            // The budget bounds what is held; the old array is garbage as soon as it is copied.
            if (!cfg.reserveInput(size - bodyBuf.length)) throw new HttpException(503, "the server is out of memory for request bodies; retry later");
            bodyCharge += size - bodyBuf.length;
            bodyBuf = java.util.Arrays.copyOf(bodyBuf, size);
        }
        System.arraycopy(b, off, bodyBuf, bodyLen, len);
        bodyLen += len;
    }

    /** A new exchange for the next request (never a reused one: see {@link Http1Response}). */
    private Exchange acquire() {
        return new Exchange(this);
    }

    // ---------------------------------------------------------------- dispatch

    private void dispatch(Exchange ex) {
        inflight.add(ex);
        requests++;
        Http1Request req = ex.req;
        // a scan of the header table (lengths first): no field per request, nothing allocated
        if (req.hasHeader("upgrade")) awaitingUpgrade = ex;
        if (!req.keepAlive || cfg.draining || (cfg.maxRequestsPerConnection > 0 && requests >= cfg.maxRequestsPerConnection)) {
            ex.res.closeAfter = true;
            stopReading = true;
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
                runChain(ex); // embedded: everything on the caller's thread
                chainEnded(ex);
            } else {
                Thread.ofVirtual().name("jhv-http-blocking").start(() -> {
                    runChain(ex);
                    loop.queueInLoop(() -> chainEnded(ex));
                });
            }
            return;
        }
        ex.running = true;
        runChain(ex);
        chainEnded(ex);
        if (!ex.res.done) {
            // answered later: keep what the request points at
            req.detach();
            req.detachBody();
        }
        // closeConnection(), or a response to HTTP/1.0 delimited by the close: the requests behind
        // it would never be answered, so do not read (and run) them
        if (ex.res.closeAfter) stopReading = true;
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
        if (!closed && !res.blocking && !res.deferred() && !res.chunked) {
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

    /** Runs middleware and handler; finishes the response unless deferred. */
    private void runChain(Exchange ex) {
        Http1Response res = ex.res;
        try {
            ex.chain.index = 0;
            ex.chain.next();
            if (!res.committed() && !res.deferred()) res.end();
        } catch (Throwable t) {
            handleError(ex, t);
        }
    }

    /** The middleware chain of one exchange (reused). */
    static final class Chain implements Middleware.Chain {
        Exchange ex;
        int index;

        @Override
        public void next() throws Exception {
            ServerConfig cfg = ex.req.conn.cfg;
            while (index < cfg.middleware.size()) {
                int i = index++;
                String prefix = cfg.middlewarePrefixes.get(i);
                if (!prefix.isEmpty() && !underPrefix(ex.req.path(), prefix)) continue;
                cfg.middleware.get(i).handle(ex.req, ex.res, this);
                return;
            }
            if (index++ == cfg.middleware.size()) ex.req.conn.terminal(ex);
        }
    }

    static boolean underPrefix(String path, String prefix) {
        if (prefix.equals("/")) return true;
        return path.startsWith(prefix) && (path.length() == prefix.length() || path.charAt(prefix.length()) == '/' || prefix.endsWith("/"));
    }

    /** The end of the chain: the route's handler, or 404 / 405 / OPTIONS. */
    private void terminal(Exchange ex) throws Exception {
        Http1Request req = ex.req;
        Http1Response res = ex.res;
        if (ex.route != null) {
            ex.route.handler.handle(req, res);
            return;
        }
        Set<String> allowed = cfg.router.allowed(req);
        if (allowed.isEmpty()) {
            res.status(404).text("Not Found");
        } else if (req.methodId() == Http1Request.M_OPTIONS) {
            res.status(204).setHeader("Allow", String.join(", ", allowed));
            res.end();
        } else {
            res.status(405).setHeader("Allow", String.join(", ", allowed));
            res.text("Method Not Allowed");
        }
    }

    private void handleError(Exchange ex, Throwable t) {
        Http1Response res = ex.res;
        if (res.committed()) {
            LOG.log(System.Logger.Level.WARNING, conn + " handler failed after the response started: " + ex.req, t);
            if (!res.done) {
                if (inLoop()) abortConnection();
                else loop.queueInLoop(this::abortConnection);
            }
            return;
        }
        try {
            if (cfg.errorHandler != null) {
                cfg.errorHandler.handle(ex.req, res, t);
                if (!res.committed()) res.end();
                return;
            }
        } catch (Throwable t2) {
            t.addSuppressed(t2);
        }
        if (res.committed()) return;
        boolean close = res.closeAfter; // Connection: close, draining, the last allowed request
        res.resetForError();
        res.closeAfter = close;
        if (t instanceof HttpException he) {
            res.status(he.status()).text(he.getMessage() == null ? Status.reason(he.status()) : he.getMessage());
        } else {
            LOG.log(System.Logger.Level.ERROR, conn + " handler failed: " + ex.req, t);
            res.status(500).text("Internal Server Error");
        }
    }

    /** A request that cannot be parsed: answer with its status and close after it. */
    private void protocolError(Exchange ex, HttpException e) {
        stopReading = true;
        headStart = 0;
        if (ex.req.rawData() == null) ex.req.beginHead(new byte[0], 0, 0);
        inflight.add(ex);
        protocolErrorInFlight(ex, e);
    }

    private void protocolErrorInFlight(Exchange ex, HttpException e) {
        if (LOG.isLoggable(System.Logger.Level.DEBUG)) LOG.log(System.Logger.Level.DEBUG, conn + " bad request: " + e.getMessage());
        Http1Response res = ex.res;
        res.resetForError();
        res.closeAfter = true;
        stopReading = true;
        res.status(e.status()).text(e.getMessage() == null ? Status.reason(e.status()) : e.getMessage());
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
            Buffer out = outputFor(res);
            res.writeHead(out, Http1Response.utf8Length(body));
            if (res.sendsBody()) out.writeString(body); // UTF-8, ASCII copied in place
            finished(res);
        } else {
            byte[] b = body.getBytes(StandardCharsets.UTF_8);
            toLoop(() -> submitInLoop(res, b, 0, b.length, b.length));
        }
    }

    private void submitInLoop(Http1Response res, byte[] body, int off, int len, long contentLength) {
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

    /** A chunk of a streaming response (null + last to end). Any thread. */
    void chunk(Http1Response res, byte[] data, boolean last) {
        if (!inLoop()) {
            int n = data == null ? 0 : data.length;
            chunkBytesPosted.addAndGet(n);
            toLoop(() -> {
                chunkBytesPosted.addAndGet(-n);
                chunk(res, data, last);
            });
            return;
        }
        if (closed) return;
        Buffer out = outputFor(res);
        boolean body = res.sendsBody();
        if (data != null && body) {
            res.bodyBytes += data.length;
            if (res.req.minorVersion() == 1) {
                out.writeString(Long.toHexString(data.length), StandardCharsets.ISO_8859_1).writeByte('\r').writeByte('\n');
                out.write(data).writeByte('\r').writeByte('\n');
            } else {
                out.write(data);
            }
        }
        if (last) {
            if (body && res.req.minorVersion() == 1) out.write(LAST_CHUNK);
            finished(res);
        } else {
            afterOutput(res);
        }
        res.backlog = res.pendingOut == null ? 0 : res.pendingOut.readableBytes();
    }

    /** Streamed bytes a writer may have outstanding (posted, queued or held) before it waits. */
    static final long STREAM_HIGH_WATER = 1 << 20;
    private final java.util.concurrent.atomic.AtomicLong chunkBytesPosted = new java.util.concurrent.atomic.AtomicLong();
    private final Object streamLock = new Object();

    /**
     * Back-pressure for streamed bodies written off the loop: blocks the writing thread (a virtual
     * thread, typically) while more than {@link #STREAM_HIGH_WATER} bytes wait to reach the socket.
     * On the loop it returns at once (the loop must not block; check the connection's queue there).
     */
    void awaitStreamCapacity(Http1Response res) {
        if (inLoop() || conn == null) return;
        synchronized (streamLock) {
            while (!closed && chunkBytesPosted.get() + conn.queuedBytes() + res.backlog > STREAM_HIGH_WATER) {
                try {
                    streamLock.wait(20); // woken when the write queue drains; the timeout covers posted bytes
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException("interrupted while waiting for the client to read", e);
                }
            }
        }
    }

    private void wakeStreamWriters() {
        synchronized (streamLock) {
            streamLock.notifyAll();
        }
    }

    private boolean isHead(Http1Response res) {
        Exchange h = inflight.peek();
        return h != null && h.res == res;
    }

    /** Where a response writes: the batch when it is first in line during a read, else its own buffer. */
    private Buffer outputFor(Http1Response res) {
        if (batch != null && fileCh == null && isHead(res)) return batch;
        if (res.pendingOut == null) res.pendingOut = Buffer.allocate(1024);
        return res.pendingOut;
    }

    /** Output was added; send it now if the response is first in line. */
    private void afterOutput(Http1Response res) {
        if (!isHead(res) || fileCh != null) return;
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
    private void finished(Http1Response res) {
        res.markDone();
        afterOutput(res);
        advance();
    }

    /** Retires finished exchanges at the head of the line and sends the ones behind them. */
    private void advance() {
        Exchange h;
        while ((h = inflight.peek()) != null && fileCh == null) {
            Http1Response res = h.res;
            sendPending(res);
            // first in line but not finished (deferred, streaming): its output so far has gone out
            if (!res.done && res.file == null) break;
            if (res.file != null) {
                startFile(res);
                if (fileCh != null) break; // the file is on its way; retire the exchange when done
                continue;
            }
            inflight.poll();
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
            if (continuePending) {
                continuePending = false;
                if (reading != null && !closed) writeNow(CONTINUE);
            }
            if (!processing && pending != null && pending.isReadable() && !stopReading) {
                runBatch(pending); // requests that waited for the line to clear
                if (pending != null && !pending.isReadable() && pending.capacity() > PENDING_KEEP) dropPending();
            }
            if (readPaused && (pending == null || pending.readableBytes() <= MAX_PENDING)) {
                readPaused = false;
                if (conn != null) conn.resumeReading();
            }
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
        Buffer rest = pending;
        try {
            conn.handover(next, rest);
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, conn + " upgrade to " + next + " failed", e);
            abortConnection();
        }
    }

    private void flushBatch() {
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

    private void writeNow(byte[] bytes) {
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

    // ---------------------------------------------------------------- files

    private void startFile(Http1Response res) {
        flushBatch();
        if (conn != null && conn.layer() == null) {
            // Plain TCP: the connection sends the region with sendfile, in order after the head,
            // counted in its write queue (so back-pressure applies); nothing passes through the heap.
            // The response opened the file before its head was written; the connection owns it now.
            FileChannel fc = res.takeFile();
            try {
                conn.sendFile(fc, res.fileOffset, res.fileLength, true);
            } catch (IllegalStateException e) { // closing
                try {
                    fc.close();
                } catch (IOException ignored) {
                    // read-only
                }
                abortConnection(); // the head promised a body we cannot send
                return;
            }
            res.markDone();
            return;
        }
        fileCh = res.takeFile();
        filePos = res.fileOffset;
        fileLeft = res.fileLength;
        pumpFile();
    }

    /**
     * With TLS (bytes must be encrypted in the JVM): sends the next part of the file while the write
     * queue is short; resumes on write-complete.
     */
    private void pumpFile() {
        FileChannel fc = fileCh;
        if (fc == null || closed) return;
        try {
            while (fileLeft > 0 && (conn == null || conn.queuedBytes() < FILE_QUEUE_LIMIT)) {
                int n = (int) Math.min(FILE_CHUNK, fileLeft);
                ByteBuffer bb = ByteBuffer.allocate(n);
                while (bb.hasRemaining()) {
                    int r = fc.read(bb, filePos + bb.position());
                    if (r < 0) throw new IOException("file shorter than announced");
                }
                bb.flip();
                filePos += n;
                fileLeft -= n;
                if (conn == null) embeddedOut.write(bb);
                else conn.write(bb);
            }
        } catch (IOException | IllegalStateException e) {
            LOG.log(System.Logger.Level.DEBUG, conn + " file send stopped: " + e);
            closeFile();
            abortConnection();
            return;
        }
        if (fileLeft == 0) {
            closeFile();
            Exchange h = inflight.peek();
            if (h != null) {
                h.res.file = null;
                h.res.markDone();
            }
            advance();
        }
    }

    private void closeFile() {
        FileChannel fc = fileCh;
        fileCh = null;
        if (fc != null) {
            try {
                fc.close();
            } catch (IOException ignored) {
                // read-only channel
            }
        }
    }

    // ---------------------------------------------------------------- timeouts and shutdown

    private void checkTimeouts() {
        if (closed) return;
        long now = System.nanoTime();
        long next = Long.MAX_VALUE;
        if (headStart != 0 && cfg.headerTimeoutMs > 0) {
            long left = cfg.headerTimeoutMs - (now - headStart) / 1_000_000;
            if (left <= 0) {
                Exchange ex = acquire();
                protocolError(ex, new HttpException(408, "request head not received in time"));
                flushBatch();
                return;
            }
            next = left;
        } else if (reading != null && cfg.headerTimeoutMs > 0) {
            // a body that stopped arriving holds the connection as a dribbled head would
            long left = cfg.headerTimeoutMs - (now - lastActivity) / 1_000_000;
            if (left <= 0) {
                Exchange ex = reading;
                abandonBody();
                protocolError(ex, new HttpException(408, "request body not received in time"));
                return;
            }
            next = left;
        } else if (inflight.isEmpty() && reading == null && cfg.keepAliveTimeoutMs > 0) {
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
        stopReading = true;
        if (inflight.isEmpty() && reading == null) {
            closeConnection();
            return;
        }
        Exchange last = inflight.peekLast();
        if (last != null && !last.res.committed()) last.res.closeAfter = true;
        else if (last != null) {
            // already answered or streaming: close once it is done
            last.res.closeAfter = true;
        }
    }

    /** True if the connection has no request in progress. */
    public boolean idle() {
        return inflight.isEmpty() && reading == null && headStart == 0;
    }
}
