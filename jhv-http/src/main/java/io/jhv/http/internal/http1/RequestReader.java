package io.jhv.http.internal.http1;

import io.jhv.core.buffer.Buffer;
import io.jhv.http.HttpException;
import io.jhv.http.internal.BodySink;
import io.jhv.http.internal.MultipartParser;
import io.jhv.http.internal.ServerConfig;

import java.nio.charset.StandardCharsets;

/**
 * The input side of one HTTP/1.1 connection: turns the bytes that arrive into exchanges. Finds and
 * parses heads, collects bodies (Content-Length or chunked, in memory or into a multipart sink),
 * holds input that must wait (an unfinished head, pipelined requests behind a busy one) and charges
 * what it holds to the server's input budget. Hands each complete request to its
 * {@link HttpConnection}, which runs and answers it in order. Loop thread only.
 */
final class RequestReader {
    private static final System.Logger LOG = System.getLogger(HttpConnection.class.getName());
    private static final byte[] CONTINUE = "HTTP/1.1 100 Continue\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1);
    private static final int MAX_PENDING = 1 << 20;
    private static final int PENDING_KEEP = 16 * 1024;

    private final HttpConnection c;
    private final ServerConfig cfg;
    private final Http1Parser parser;
    private final ChunkedDecoder chunked;

    Buffer pending;              // input kept between reads
    boolean stopReading;         // no further requests are parsed (close after the in-flight ones)
    boolean readPaused;
    long headStart;              // nanoTime when an unfinished head began, 0 if none

    // body being read
    Exchange reading;
    private long bodyRemaining;
    private long bodyReceived;
    private byte[] bodyBuf;
    private int bodyLen;
    private BodySink sink;
    boolean continuePending;     // a 100 Continue waits for the responses ahead of it

    RequestReader(HttpConnection c, ServerConfig cfg) {
        this.c = c;
        this.cfg = cfg;
        this.parser = new Http1Parser(cfg.maxRequestLine, cfg.maxHeaderSize, cfg.maxHeaderCount);
        this.chunked = new ChunkedDecoder(cfg.maxHeaderSize);
    }

    /** Bytes arrived (a borrowed buffer: consumed here, the rest copied). */
    void onMessage(Buffer in) {
        if (c.closed || stopReading && reading == null) {
            in.skip(in.readableBytes());
            return;
        }
        c.lastActivity = System.nanoTime();
        Buffer src = in;
        if (pending != null && pending.isReadable()) {
            stash(in);
            src = pending;
        }
        c.runBatch(src);
        if (c.closed) return;
        if (src.isReadable() && !stopReading) {
            if (src == in) stash(in);
            if (pending.readableBytes() > MAX_PENDING && !readPaused) {
                // the pipeline is full and the client keeps sending: let TCP push back
                pauseReading();
            }
            if (cfg.inputOverBudget()) shed();
        } else {
            src.skip(src.readableBytes());
            if (pending != null && pending.capacity() > PENDING_KEEP) dropPending();
        }
    }

    /**
     * The line of in-flight requests is clear: send a 100 Continue that waited for it, parse the
     * requests that waited, and read again if reading was paused.
     */
    void lineClear(boolean processing) {
        if (continuePending) {
            continuePending = false;
            if (reading != null && !c.closed) c.writeNow(CONTINUE);
        }
        if (!processing && pending != null && pending.isReadable() && !stopReading) {
            c.runBatch(pending); // requests that waited for the line to clear
            if (pending != null && !pending.isReadable() && pending.capacity() > PENDING_KEEP) dropPending();
        }
        if (readPaused && (pending == null || pending.readableBytes() <= MAX_PENDING)) resumeReading();
    }

    private void pauseReading() {
        readPaused = true;
        if (c.connection() != null) c.connection().pauseReading();
    }

    void resumeReading() {
        readPaused = false;
        if (c.connection() != null) c.connection().resumeReading();
    }

    /** The connection closed: give back what is held. */
    void release() {
        if (sink instanceof MultipartParser mp) mp.cleanup();
        pending = null;
        bodyBuf = null;
        // what a blocking handler still holds is given back when its chain ends (release)
        cfg.releaseInput(pendingCharge + bodyCharge);
        pendingCharge = bodyCharge = 0;
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
        if (!c.inflight.isEmpty()) {
            // requests are being answered: read no more until they are (advance resumes)
            if (!readPaused) pauseReading();
            return;
        }
        budgetExceeded(reading);
    }

    /** Answers 503 and closes: the input of this connection cannot be held. */
    private void budgetExceeded(Exchange collecting) {
        if (LOG.isLoggable(System.Logger.Level.DEBUG)) LOG.log(System.Logger.Level.DEBUG, c.connection() + " input memory budget of the server spent: 503");
        Exchange ex = collecting;
        if (ex != null) abandonBody();
        else ex = c.acquire();
        headStart = 0;
        c.protocolError(ex, new HttpException(503, "the server is out of memory for request input; retry later"));
        if (pending != null) pending.clear();
    }

    /** Stops collecting the body of {@link #reading} (refused or timed out). */
    void abandonBody() {
        reading = null;
        continuePending = false;
        if (sink instanceof MultipartParser mp) mp.cleanup();
        sink = null;
        bodyBuf = null;
        cfg.releaseInput(bodyCharge);
        bodyCharge = 0;
    }

    // ---------------------------------------------------------------- heads

    void process(Buffer src) {
        while (src.isReadable() && !c.closed) {
            if (reading != null) {
                if (!readBody(src)) return;
                continue;
            }
            if (stopReading || c.awaitingUpgrade != null || c.inflight.size() >= cfg.maxPipelined) return;
            // RFC 9112 2.2: ignore empty lines before a request line
            while (src.isReadable() && (src.peek(0) == '\r' || src.peek(0) == '\n')) src.skip(1);
            if (!src.isReadable()) return;
            if (!c.inflight.isEmpty() && !mayOverlap(src)) return; // advance() goes on when the line is clear
            if (headStart == 0) headStart = System.nanoTime();
            byte[] a = src.array();
            int r = src.readerIndex();
            int len;
            Exchange ex = null;
            try {
                len = parser.findHead(a, r, src.writerIndex());
                if (len < 0) return;
                ex = c.acquire();
                headStart = 0;
                parser.parse(a, r, len, ex.req);
            } catch (HttpException e) {
                if (ex == null) ex = c.acquire();
                c.protocolError(ex, e);
                return;
            }
            src.skip(len);
            Http1Request req = ex.req;
            if (req.expectContinue && refuseUnread(ex)) return;
            switch (req.bodyKind) {
                case NONE -> c.dispatch(ex);
                case LENGTH -> {
                    if (req.contentLength > cfg.maxBodySize) {
                        c.protocolError(ex, new HttpException(413, "body of " + req.contentLength + " bytes is above the limit of " + cfg.maxBodySize));
                        return;
                    }
                    String ct = req.contentType();
                    boolean multipart = ct != null && ct.regionMatches(true, 0, "multipart/form-data", 0, 19);
                    if (!multipart && src.readableBytes() >= req.contentLength) {
                        int n = (int) req.contentLength;
                        req.bodyView(a, src.readerIndex(), n);
                        src.skip(n);
                        c.dispatch(ex);
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
        for (Exchange ex : c.inflight) {
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
            c.protocolError(ex, e);
            return true;
        }
        if (route != null) return false;
        req.bodyKind = Http1Request.BodyKind.NONE;
        req.contentLength = 0;
        req.keepAlive = false; // dispatch closes after the answer and stops reading
        c.dispatch(ex);
        return true;
    }

    // ---------------------------------------------------------------- bodies

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
                c.protocolError(ex, new HttpException(400, "multipart/form-data without a valid boundary"));
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
            if (c.inflight.isEmpty()) c.writeNow(CONTINUE);
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
            c.protocolError(ex, e);
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
        c.dispatch(ex);
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
}
