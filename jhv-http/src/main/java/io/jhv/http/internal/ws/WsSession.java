package io.jhv.http.internal.ws;

import io.jhv.core.buffer.Buffer;
import io.jhv.core.loop.EventLoop;
import io.jhv.core.loop.Timer;
import io.jhv.core.net.CloseCause;
import io.jhv.core.net.Connection;
import io.jhv.core.net.ProtocolHandler;
import io.jhv.http.websocket.CloseCodes;
import io.jhv.http.websocket.Handshake;
import io.jhv.http.websocket.Message;
import io.jhv.http.websocket.WebSocket;
import io.jhv.http.websocket.WebSocketConfig;
import io.jhv.http.websocket.WebSocketException;
import io.jhv.http.websocket.WebSocketHandler;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import java.util.function.Consumer;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;

/**
 * One WebSocket on its connection, after the handshake: the frame reader (RFC 6455 section 5, with
 * the checks of sections 5.2-5.5, 7.4 and 8.1), the frame writer, the close handshake, the heartbeat,
 * and permessage-deflate (RFC 7692). It is the connection's {@link ProtocolHandler}, so everything
 * but the thread-safe sending entry points runs on the loop thread.
 *
 * <p>Reading is incremental: a data frame's payload is unmasked (and inflated) as its bytes arrive,
 * into one per-socket message buffer that grows only with bytes actually received (a frame header
 * announcing 16 MiB costs nothing until they come), and text is checked for UTF-8 on the way, so a
 * bad byte fails the socket with 1007 before the message ends. Writing builds each frame in a reused
 * buffer; frames sent while this socket is reading (an echo) are written with one write at the end
 * of the read.
 */
public final class WsSession implements WebSocket, ProtocolHandler {

    private static final System.Logger LOG = System.getLogger(WsSession.class.getName());

    static final int OP_CONT = 0, OP_TEXT = 1, OP_BINARY = 2, OP_CLOSE = 8, OP_PING = 9, OP_PONG = 10;
    private static final byte[] DEFLATE_TAIL = {0, 0, (byte) 0xff, (byte) 0xff};
    private static final byte[] EMPTY = new byte[0];
    /** A message buffer bigger than this is let go after its message rather than kept for the next. */
    private static final int KEEP_BUFFER = 64 << 10;

    private enum Read { HEADER, PAYLOAD, DISCARD }

    private static final int OPEN = 0, CLOSING = 1, CLOSED = 2;

    // ---------------------------------------------------------------- fixed at creation
    private final WebSocketConfig cfg;
    private final WebSocketHandler handler;
    private final boolean client;
    private final PerMessageDeflate pmd;
    private final Handshake handshake;
    private final String subprotocol;
    /** Told on the loop once the socket is open (the client's connect future). */
    private final Consumer<WsSession> onOpened;
    /** The server's registry of open sockets (null on the client). */
    private final io.jhv.http.internal.ServerConfig server;

    private Connection conn;
    private EventLoop loop;
    private volatile Object context;

    // ---------------------------------------------------------------- state
    /** OPEN, CLOSING (our close frame sent or being sent) or CLOSED; written on the loop only. */
    private volatile int state = OPEN;
    /** Set by close()/abort() callers before the loop runs it: sends after it are refused at once. */
    private volatile boolean closeRequested;
    private boolean closeReceived;
    private int peerCode = CloseCodes.ABNORMAL;
    private String peerReason = "";
    private boolean errorReported;
    private List<Runnable> closedHooks;
    private volatile boolean userPaused;

    // ---------------------------------------------------------------- reading
    private Read rstate = Read.HEADER;
    private boolean fin;
    private int opcode;
    private boolean frameCompressed;
    private long remaining;
    private boolean masked;
    private int maskKey;
    private int maskPhase;
    /** The opcode of the data message in progress (0: none), whether it is compressed, its length so far. */
    private int msgOpcode;
    private boolean msgCompressed;
    private long msgLength;
    private Buffer msg;
    private final byte[] control = new byte[125];
    private int controlLength;
    private final Utf8Validator utf8 = new Utf8Validator();
    /** The start of a UTF-8 sequence a streamed fragment ended inside, kept for the next one. */
    private final byte[] heldBack = new byte[3];
    private Inflater inflater;
    private final ReceivedMessage received = new ReceivedMessage();
    /** What this socket's message buffer has charged to the server's input budget. */
    private long charged;
    private long lastReadNanos;

    // ---------------------------------------------------------------- writing
    private final FrameWriter writer;
    private boolean inRead;
    /** Opcode of a fragmented message being sent by sendFragment: 0 none. */
    private volatile int sendingFragments;
    /** Tasks other threads posted through onLoop that have not run yet. */
    private final java.util.concurrent.atomic.AtomicInteger postedTasks = new java.util.concurrent.atomic.AtomicInteger();
    /** A close() made on the loop while posted tasks were pending: run after the last of them (loop thread). */
    private int deferredCloseCode;
    private String deferredCloseReason;
    /** A fragmented message's first frames are written and its last is not (loop thread). */
    private boolean fragmentOpen;

    // ---------------------------------------------------------------- timers
    private Timer pingTimer;
    private Timer pongTimer;
    private Timer idleTimer;
    private Timer closeTimer;
    private boolean pingOutstanding;

    WsSession(WebSocketConfig cfg, WebSocketHandler handler, boolean client, PerMessageDeflate pmd,
              Handshake handshake, String subprotocol, Consumer<WsSession> onOpened, io.jhv.http.internal.ServerConfig server) {
        this.cfg = cfg;
        this.handler = handler;
        this.client = client;
        this.pmd = pmd;
        this.handshake = handshake;
        this.subprotocol = subprotocol;
        this.onOpened = onOpened;
        this.server = server;
        this.writer = new FrameWriter(client, pmd, cfg);
    }

    /** The engine's view of a socket handed out to users. */
    public static WsSession of(WebSocket ws) {
        return (WsSession) Objects.requireNonNull(ws, "ws");
    }

    // ================================================================ ProtocolHandler

    @Override
    public void onAttach(Connection c) {
        this.conn = c;
        this.loop = c.loop();
        lastReadNanos = System.nanoTime();
        if (server != null) server.webSockets.add(this);
        if (!cfg.pingInterval().isZero()) pingTimer = loop.setInterval(cfg.pingInterval(), this::heartbeat);
        if (!cfg.idleTimeout().isZero()) {
            long period = Math.max(10, cfg.idleTimeout().toMillis() / 4);
            idleTimer = loop.setInterval(period, this::checkIdle);
        }
        try {
            handler.onOpen(this, handshake);
        } catch (Throwable t) {
            callbackFailed("onOpen", t);
            return;
        }
        if (onOpened != null && state == OPEN) onOpened.accept(this);
        if (server != null && server.draining) closeInLoop(CloseCodes.GOING_AWAY, "server shutting down");
    }

    @Override
    public void onData(Connection c, Buffer in) {
        lastReadNanos = System.nanoTime();
        inRead = true;
        try {
            while (!userPaused) {
                if (state == CLOSED) { // closed from a callback (abort): the rest of this read is not for anyone
                    in.skip(in.readableBytes());
                    break;
                }
                if (rstate == Read.HEADER && !readHeader(in)) break;
                if (rstate == Read.PAYLOAD && !readPayload(in)) break;
                if (rstate == Read.DISCARD) {
                    in.skip(in.readableBytes());
                    break;
                }
            }
        } finally {
            inRead = false;
            flush();
        }
    }

    @Override
    public void onClose(Connection c, CloseCause cause) {
        state = CLOSED;
        cancelTimers();
        fragmentOpen = false;
        runAfterFragments(); // what waited behind a fragmented message: dropped, its sendAsync futures failed
        if (inflater != null) inflater.end();
        writer.release();
        inflater = null;
        msg = null;
        syncCharge();
        int code = closeReceived ? peerCode : CloseCodes.ABNORMAL;
        if (!closeReceived && !errorReported && cause != null && (cause.kind() == CloseCause.Kind.ERROR
                || cause.kind() == CloseCause.Kind.RESET || cause.kind() == CloseCause.Kind.TIMEOUT)) {
            reportError(new WebSocketException(CloseCodes.ABNORMAL, "connection ended without a close handshake: " + cause, cause.error()));
        }
        try {
            handler.onClose(this, code, closeReceived ? peerReason : "");
        } catch (Throwable t) {
            reportToLoop(t);
        }
        if (server != null) server.webSocketClosed(this);
        List<Runnable> hooks = closedHooks;
        closedHooks = null;
        if (hooks != null) for (Runnable h : hooks) {
            try {
                h.run();
            } catch (Throwable t) {
                reportToLoop(t);
            }
        }
    }

    // ================================================================ reading frames

    /** Parses a frame header when all of it is there; false when more bytes are needed (or the socket failed). */
    private boolean readHeader(Buffer in) {
        int avail = in.readableBytes();
        if (avail < 2) return false;
        int b0 = in.peekUnsignedByte(0);
        int b1 = in.peekUnsignedByte(1);
        int len7 = b1 & 0x7f;
        boolean m = (b1 & 0x80) != 0;
        int hlen = 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0) + (m ? 4 : 0);
        if (avail < hlen) return false;
        boolean f = (b0 & 0x80) != 0;
        int op = b0 & 0x0f;
        boolean rsv1 = (b0 & 0x40) != 0;
        if ((b0 & 0x30) != 0) return fail(CloseCodes.PROTOCOL_ERROR, "reserved bit RSV2 or RSV3 set without an extension that defines it");
        long len;
        if (len7 == 126) {
            len = in.peekShort(2) & 0xffff;
        } else if (len7 == 127) {
            len = in.peekLong(2);
            if (len < 0) return fail(CloseCodes.PROTOCOL_ERROR, "frame length with the most significant bit set");
        } else {
            len = len7;
        }
        if (m != !client) {
            return fail(CloseCodes.PROTOCOL_ERROR, client ? "masked frame from the server" : "unmasked frame from the client");
        }
        if (op >= OP_CLOSE) {
            if (op > OP_PONG) return fail(CloseCodes.PROTOCOL_ERROR, "reserved control opcode " + op);
            if (!f) return fail(CloseCodes.PROTOCOL_ERROR, "fragmented control frame");
            if (len > 125) return fail(CloseCodes.PROTOCOL_ERROR, "control frame payload of " + len + " bytes (at most 125)");
            if (rsv1) return fail(CloseCodes.PROTOCOL_ERROR, "RSV1 set on a control frame");
        } else if (op == OP_CONT) {
            if (msgOpcode == 0) return fail(CloseCodes.PROTOCOL_ERROR, "continuation frame without a message to continue");
            if (rsv1) return fail(CloseCodes.PROTOCOL_ERROR, "RSV1 set on a continuation frame");
        } else if (op == OP_TEXT || op == OP_BINARY) {
            if (msgOpcode != 0) return fail(CloseCodes.PROTOCOL_ERROR, "new data frame before the fragmented message ended");
            if (rsv1 && pmd == null) return fail(CloseCodes.PROTOCOL_ERROR, "RSV1 set but permessage-deflate was not agreed");
        } else {
            return fail(CloseCodes.PROTOCOL_ERROR, "reserved data opcode " + op);
        }
        if (len > cfg.maxFrameSize()) {
            return fail(CloseCodes.MESSAGE_TOO_BIG, "frame of " + len + " bytes is above the limit of " + cfg.maxFrameSize());
        }
        if (op < OP_CLOSE) {
            boolean compressed = op == OP_CONT ? msgCompressed : rsv1;
            if (!compressed && msgLength + len > cfg.maxMessageSize()) {
                return fail(CloseCodes.MESSAGE_TOO_BIG, "message of more than " + cfg.maxMessageSize() + " bytes");
            }
            if (op != OP_CONT) {
                msgOpcode = op;
                msgCompressed = rsv1;
                msgLength = 0;
                utf8.reset();
            }
        }
        if (state == CLOSING && op < OP_CLOSE && closeReceived) return fail(CloseCodes.PROTOCOL_ERROR, "data after the close frame");
        fin = f;
        opcode = op;
        frameCompressed = op < OP_CLOSE && msgCompressed;
        remaining = len;
        masked = m;
        maskKey = m ? in.peekInt(hlen - 4) : 0;
        maskPhase = 0;
        in.skip(hlen);
        rstate = Read.PAYLOAD;
        return true;
    }

    /** Consumes payload bytes; true when the frame is done (and handled), false when more are needed. */
    private boolean readPayload(Buffer in) {
        if (opcode >= OP_CLOSE) {
            if (in.readableBytes() < remaining) return false;
            int n = (int) remaining;
            if (masked) Bytes.mask(in.array(), in.readerIndex(), control, 0, n, maskKey, 0);
            else System.arraycopy(in.array(), in.readerIndex(), control, 0, n);
            in.skip(n);
            controlLength = n;
            remaining = 0;
            rstate = Read.HEADER;
            handleControl();
            return rstate != Read.DISCARD;
        }
        int n = (int) Math.min(in.readableBytes(), remaining);
        if (n > 0) {
            if (!(frameCompressed ? inflateChunk(in, n) : copyChunk(in, n))) return false;
            remaining -= n;
        }
        if (remaining > 0) return false;
        rstate = Read.HEADER;
        if (fin) return endMessage();
        if (cfg.streaming() && msg != null && msg.readableBytes() > 0) deliverFragment();
        return rstate != Read.DISCARD;
    }

    /** Delivers a streamed fragment, holding back the start of a UTF-8 sequence it ends inside for the next one. */
    private void deliverFragment() {
        int hold = msgOpcode == OP_TEXT ? utf8.pendingBytes() : 0;
        Buffer b = msg;
        if (b.readableBytes() <= hold) return;
        if (hold > 0) {
            System.arraycopy(b.array(), b.writerIndex() - hold, heldBack, 0, hold);
            b.writerIndex(b.writerIndex() - hold);
        }
        deliver(false);
        if (state == CLOSED) return; // closed from onMessage (abort): nothing more is read into a buffer
        if (hold > 0) {
            Buffer next = messageBuffer(hold);
            if (next != null) next.write(heldBack, 0, hold);
        }
    }

    private boolean copyChunk(Buffer in, int n) {
        Buffer b = messageBuffer(n, remaining - n);
        if (b == null) return false;
        int w = b.writerIndex();
        if (masked) maskPhase = Bytes.mask(in.array(), in.readerIndex(), b.array(), w, n, maskKey, maskPhase);
        else System.arraycopy(in.array(), in.readerIndex(), b.array(), w, n);
        in.skip(n);
        b.advanceWriter(n);
        msgLength += n;
        if (msgOpcode == OP_TEXT && !utf8.feed(b.array(), w, n)) {
            return fail(CloseCodes.INVALID_PAYLOAD, "invalid UTF-8 in a text message");
        }
        return true;
    }

    private boolean inflateChunk(Buffer in, int n) {
        byte[] a = in.array();
        int r = in.readerIndex();
        if (masked) maskPhase = Bytes.mask(a, r, a, r, n, maskKey, maskPhase);
        boolean ok = inflate(a, r, n);
        in.skip(n);
        return ok;
    }

    /** Inflates {@code a[off, off+len)} into the message buffer, never beyond the message limit. */
    private boolean inflate(byte[] a, int off, int len) {
        if (inflater == null) inflater = new Inflater(true);
        Inflater inf = inflater;
        inf.setInput(a, off, len);
        try {
            while (true) {
                long room = (long) cfg.maxMessageSize() - msgLength + 1; // one byte over the limit tells it was passed
                // Room for the next 4 KiB at least: the buffer doubles only when that is not left, so
                // a small message reuses the same buffer every time (asking for its capacity each
                // turn made it grow past what is kept and be allocated anew per message).
                Buffer b = messageBuffer((int) Math.min(room, 4096));
                if (b == null) return false;
                int w = b.writerIndex();
                int inputBefore = inf.getRemaining();
                int k = inf.inflate(b.array(), w, (int) Math.min(b.writableBytes(), room));
                if (k > 0) {
                    b.advanceWriter(k);
                    msgLength += k;
                    if (msgLength > cfg.maxMessageSize()) {
                        return fail(CloseCodes.MESSAGE_TOO_BIG, "message inflates to more than " + cfg.maxMessageSize() + " bytes");
                    }
                    if (msgOpcode == OP_TEXT && !utf8.feed(b.array(), w, k)) {
                        return fail(CloseCodes.INVALID_PAYLOAD, "invalid UTF-8 in a text message");
                    }
                } else if (inf.finished()) {
                    // A final block (BFINAL=1, RFC 7692 7.2.3.4): the sender ended its stream, so
                    // what follows (in the RFC's example an empty stored block with the tail we
                    // add) starts a new one.
                    int rest = inf.getRemaining();
                    inf.reset();
                    if (rest == 0) return true;
                    inf.setInput(a, off + len - rest, rest);
                } else if (inf.needsInput() || inf.needsDictionary()) {
                    if (inf.needsDictionary()) return fail(CloseCodes.INVALID_PAYLOAD, "deflate data asks for a preset dictionary");
                    return true;
                } else if (inf.getRemaining() == inputBefore) {
                    // no output, no input taken, room to write: zlib cannot go on with this data
                    return fail(CloseCodes.INVALID_PAYLOAD, "deflate data makes no progress");
                }
                // else: input consumed without output yet (block headers): go on
            }
        } catch (DataFormatException e) {
            return fail(CloseCodes.INVALID_PAYLOAD, "bad deflate data: " + e.getMessage());
        }
    }

    private boolean endMessage() {
        if (msgCompressed) {
            if (!inflate(DEFLATE_TAIL, 0, 4)) return false;
            if (pmd.remoteNoContextTakeover || inflater.finished()) inflater.reset();
        }
        if (msgOpcode == OP_TEXT && !utf8.isComplete()) {
            return fail(CloseCodes.INVALID_PAYLOAD, "text message ends inside a UTF-8 sequence");
        }
        deliver(true);
        msgOpcode = 0;
        msgCompressed = false;
        msgLength = 0;
        return rstate != Read.DISCARD;
    }

    private void deliver(boolean last) {
        if (closeRequested || state != OPEN) {
            // This side has closed (or is failing): like a browser, no message after close(); the
            // frames are still read, to find the peer's close.
            if (msg != null) {
                if (msg.capacity() > KEEP_BUFFER) msg = null;
                else msg.clear();
            }
            syncCharge();
            return;
        }
        Buffer b = msg != null ? msg : Buffer.allocate(0);
        msg = b;
        received.set(msgOpcode == OP_TEXT, last, b);
        try {
            handler.onMessage(this, received);
        } catch (Throwable t) {
            callbackFailed("onMessage", t);
        } finally {
            received.set(false, true, null);
            if (msg != null) {
                if (msg.capacity() > KEEP_BUFFER) msg = null;
                else msg.clear();
            }
            syncCharge();
        }
    }

    /** The message buffer with room for {@code n} more bytes (grown as bytes arrive, not as headers announce). */
    private Buffer messageBuffer(int n) {
        return messageBuffer(n, 0);
    }

    /**
     * The message buffer with room for {@code n} more bytes. It grows with bytes that arrived, not
     * with lengths announced: doubling, but when the end of the current uncompressed frame
     * ({@code known} more bytes after these {@code n}) is within another doubling, exactly to it,
     * so a message of a known length ends in a buffer of its size, not up to twice that. On a server the growth is taken from the
     * input budget it shares with HTTP ({@code HttpServer.maxInputMemory}) before it is allocated:
     * when that would overspend it, the socket fails with 1013 and null is returned.
     */
    private Buffer messageBuffer(int n, long known) {
        Buffer b = msg;
        if (b != null && b.writableBytes() >= n) return b;
        long readable = b == null ? 0 : b.readableBytes();
        long want = readable + n;
        long grown = b == null ? Math.max(256, n) : 2L * (b.capacity() - Buffer.CHEAP_PREPEND);
        // the frame's end is near (within another doubling): size for it at once, not twice
        if (known > 0 && want + known <= 2 * grown) grown = want + known;
        long size = Math.min(Math.max(want, grown), Math.max(want, (long) cfg.maxMessageSize() + 1));
        long delta = size + Buffer.CHEAP_PREPEND - (b == null ? 0 : b.capacity());
        if (server != null && !server.reserveInput(delta)) {
            fail(CloseCodes.TRY_AGAIN_LATER, "the server's input memory is in use: try again later");
            return null;
        }
        Buffer nb = Buffer.allocate((int) size);
        if (b != null) nb.write(b.array(), b.readerIndex(), b.readableBytes());
        msg = nb;
        if (server != null) {
            server.releaseInput(delta); // reserved to decide; charged exactly by syncCharge
            syncCharge();
        }
        return nb;
    }

    /** Charges the server's input budget with what the message buffer holds now (its capacity). */
    private void syncCharge() {
        if (server == null) return;
        long now = msg == null ? 0 : msg.capacity();
        if (now != charged) {
            server.chargeInput(now - charged);
            charged = now;
        }
    }

    private void handleControl() {
        switch (opcode) {
            case OP_PING -> {
                if (state == OPEN) sendFrame(OP_PONG, control, 0, controlLength, true, false);
                if (handler != null) {
                    try {
                        handler.onPing(this, Buffer.wrap(control, 0, controlLength));
                    } catch (Throwable t) {
                        callbackFailed("onPing", t);
                    }
                }
            }
            case OP_PONG -> {
                pingOutstanding = false;
                if (pongTimer != null) {
                    pongTimer.cancel();
                    pongTimer = null;
                }
                try {
                    handler.onPong(this, Buffer.wrap(control, 0, controlLength));
                } catch (Throwable t) {
                    callbackFailed("onPong", t);
                }
            }
            default -> receiveClose();
        }
    }

    private void receiveClose() {
        int n = controlLength;
        int code;
        String reason = "";
        if (n == 0) {
            code = CloseCodes.NO_STATUS;
        } else if (n == 1) {
            fail(CloseCodes.PROTOCOL_ERROR, "close frame with a 1-byte payload");
            return;
        } else {
            code = ((control[0] & 0xff) << 8) | (control[1] & 0xff);
            if (!CloseCodes.isValid(code)) {
                fail(CloseCodes.PROTOCOL_ERROR, "close code " + code + " may not be sent");
                return;
            }
            Utf8Validator v = new Utf8Validator();
            if (!v.feed(control, 2, n - 2) || !v.isComplete()) {
                fail(CloseCodes.INVALID_PAYLOAD, "close reason is not valid UTF-8");
                return;
            }
            reason = new String(control, 2, n - 2, StandardCharsets.UTF_8);
        }
        closeReceived = true;
        peerCode = code;
        peerReason = reason;
        rstate = Read.DISCARD;
        if (state == OPEN) {
            // Echo the peer's code (RFC 6455 5.5.1; 1000 for a close without one), then, as the
            // server, end the TCP connection.
            state = CLOSING;
            closeRequested = true;
            byte[] payload = code == CloseCodes.NO_STATUS ? new byte[] {0x03, (byte) 0xe8} : new byte[] {control[0], control[1]};
            sendFrame(OP_CLOSE, payload, 0, payload.length, true, false);
        }
        finishClose();
    }

    /** Both close frames have been exchanged: the server closes TCP now, the client waits for it (bounded). */
    private void finishClose() {
        flush();
        if (!client) {
            conn.close();
        } else if (closeTimer == null) {
            closeTimer = loop.setTimeout(cfg.closeTimeout().isZero() ? 1 : cfg.closeTimeout().toMillis(), () -> conn.close());
        }
    }

    /**
     * Fails the socket (RFC 6455 7.1.7): reports the error, sends a close frame with {@code code},
     * ignores everything the peer sends afterwards, and closes the connection. Returns false.
     */
    private boolean fail(int code, String message) {
        if (LOG.isLoggable(System.Logger.Level.DEBUG)) LOG.log(System.Logger.Level.DEBUG, this + " failing with " + code + ": " + message);
        reportError(new WebSocketException(code, message));
        rstate = Read.DISCARD;
        msg = null; // nothing more is read into it: its memory (and budget) goes at once
        syncCharge();
        if (state == OPEN) {
            state = CLOSING;
            closeRequested = true;
            sendClose(code, reasonFor(message));
        }
        flush();
        closeAfterFailure();
        return false;
    }

    /**
     * Ends the connection after a close frame that failed the socket: FIN after the frame, then
     * the peer's input is read and dropped until it closes too (bounded by the close timeout).
     * Closing at once would make the kernel answer a peer still sending (a message over the limit)
     * with a reset, which destroys the close frame before the peer reads its code.
     */
    private void closeAfterFailure() {
        if (conn.isClosed()) return;
        conn.shutdownOutput();
        if (closeTimer == null) {
            long ms = Math.max(1, cfg.closeTimeout().toMillis());
            closeTimer = loop.setTimeout(ms, () -> {
                closeTimer = null;
                if (state != CLOSED) conn.abort();
            });
        }
    }

    private static String reasonFor(String message) {
        // a close reason is at most 123 bytes; these messages are ASCII
        return message.length() <= 123 ? message : message.substring(0, 123);
    }

    private void callbackFailed(String where, Throwable t) {
        reportToLoop(t);
        reportError(t);
        if (state != CLOSED) {
            rstate = Read.DISCARD;
            if (state == OPEN) {
                state = CLOSING;
                closeRequested = true;
                sendClose(CloseCodes.INTERNAL_ERROR, "internal error");
            }
            flush();
            closeAfterFailure();
        }
    }

    private void reportError(Throwable t) {
        errorReported = true;
        try {
            handler.onError(this, t);
        } catch (Throwable t2) {
            reportToLoop(t2);
        }
    }

    private void reportToLoop(Throwable t) {
        LOG.log(System.Logger.Level.WARNING, this + ": a WebSocket callback threw", t);
    }

    // ================================================================ heartbeat and idle

    private void heartbeat() {
        if (state != OPEN) return;
        if (pingOutstanding) return; // the pong timer decides
        pingOutstanding = true;
        byte[] p = Long.toString(System.nanoTime(), 36).getBytes(StandardCharsets.US_ASCII);
        sendFrame(OP_PING, p, 0, p.length, true, false);
        // The pong timeout counts from when the ping reached the socket, not from when it was
        // queued behind a large write to a slow but live reader.
        try {
            writer.flush(conn, (c, failure) -> {
                if (failure == null && pingOutstanding && state == OPEN) armPongTimer();
            });
        } catch (IllegalStateException closing) {
            // closing already: no heartbeat needed
        }
    }

    private void armPongTimer() {
        Timer t = pongTimer;
        if (t != null) t.cancel();
        pongTimer = loop.setTimeout(cfg.pongTimeout(), () -> {
            pongTimer = null;
            if (!pingOutstanding || state == CLOSED) return;
            if (userPaused) {
                armPongTimer(); // the pong cannot be read while the application paused reading
                return;
            }
            reportError(new WebSocketException(CloseCodes.GOING_AWAY, "no pong within " + cfg.pongTimeout().toMillis() + " ms: the peer is gone"));
            conn.abort();
        });
    }

    private void checkIdle() {
        if (state != OPEN) return;
        if (userPaused) {
            lastReadNanos = System.nanoTime(); // paused by the application: not the peer's silence
            return;
        }
        if (System.nanoTime() - lastReadNanos >= cfg.idleTimeout().toNanos()) {
            reportError(new WebSocketException(CloseCodes.GOING_AWAY, "idle for " + cfg.idleTimeout().toMillis() + " ms"));
            closeInLoop(CloseCodes.GOING_AWAY, "idle timeout");
        }
    }

    private void cancelTimers() {
        if (pingTimer != null) pingTimer.cancel();
        if (pongTimer != null) pongTimer.cancel();
        if (idleTimer != null) idleTimer.cancel();
        if (closeTimer != null) closeTimer.cancel();
        pingTimer = pongTimer = idleTimer = closeTimer = null;
    }

    // ================================================================ writing frames (loop thread)

    /** Sends one data message (loop thread): compressed when agreed and worth it. */
    void sendMessage(int op, byte[] a, int off, int len) {
        if (state != OPEN) {
            if (LOG.isLoggable(System.Logger.Level.DEBUG)) LOG.log(System.Logger.Level.DEBUG, this + ": message of " + len + " bytes dropped, socket closing");
            return;
        }
        if (fragmentOpen) {
            // A fragmented message is on the wire and its last fragment has not been built yet
            // (RFC 6455 5.4: no data frame between fragments): this one goes after it. A copy: the
            // caller's bytes may be borrowed for this call only.
            byte[] copy = java.util.Arrays.copyOfRange(a, off, off + len);
            afterFragments().add(() -> sendMessage(op, copy, 0, copy.length));
            return;
        }
        sendFrame(op, a, off, len, true, writer.compresses(len));
        flushSoon();
    }

    /**
     * Flushes now unless this socket is reading (then the frames go out with one write at the end of
     * the read), but not beyond KEEP_BUFFER: a burst sent from onMessage reaches the connection's
     * queue as it goes, so isWritable()/queuedBytes() see it and the output buffer stays small.
     */
    private void flushSoon() {
        if (!inRead || writer.buffered() >= KEEP_BUFFER) flush();
    }

    /** Writes what the frame writer holds. */
    private void flush() {
        writer.flush(conn, null);
    }

    private void sendFrame(int op, byte[] a, int off, int len, boolean last, boolean compress) {
        writer.frame(op, a, off, len, last, compress);
    }

    private void sendClose(int code, String reason) {
        writer.close(code, reason);
    }

    private void closeInLoop(int code, String reason) {
        if (state != OPEN) return;
        state = CLOSING;
        sendClose(code, reason);
        flush();
        if (!cfg.closeTimeout().isZero()) {
            closeTimer = loop.setTimeout(cfg.closeTimeout(), () -> {
                closeTimer = null;
                if (state != CLOSED) conn.close();
            });
        } else {
            conn.close();
        }
    }

    // ================================================================ WebSocket: sending (any thread)

    /**
     * False (the message is dropped) once a close has started, from either side: like a browser's
     * or OkHttp's WebSocket, a send never throws for that. A loop that sends one message to many
     * sockets must not fail because one of them is closing. {@link #sendAsync} reports it.
     */
    private boolean canSend() {
        if (!closeRequested && state == OPEN) return true;
        if (LOG.isLoggable(System.Logger.Level.DEBUG)) LOG.log(System.Logger.Level.DEBUG, this + ": send dropped, the socket is closing or closed");
        return false;
    }

    private void onLoop(Runnable task) {
        EventLoop l = loop;
        if (l == null) throw new IllegalStateException("WebSocket " + this + " is not open yet");
        if (l.inLoop()) {
            l.runInLoop(task);
            return;
        }
        // Counted until it has run, so that a close() on the loop waits for it (see close).
        postedTasks.incrementAndGet();
        try {
            l.queueInLoop(() -> {
                try {
                    task.run();
                } finally {
                    if (postedTasks.decrementAndGet() == 0 && deferredCloseReason != null) {
                        String r = deferredCloseReason;
                        deferredCloseReason = null;
                        closeInLoop(deferredCloseCode, r);
                    }
                }
            });
        } catch (RejectedExecutionException e) {
            postedTasks.decrementAndGet();
            throw new IllegalStateException("WebSocket " + this + ": its loop has stopped", e);
        }
    }

    @Override
    public void send(String text) {
        if (!canSend()) return;
        byte[] b = text.getBytes(StandardCharsets.UTF_8);
        onLoop(() -> sendMessage(OP_TEXT, b, 0, b.length));
    }

    @Override
    public void send(byte[] data) {
        if (!canSend()) return;
        onLoop(() -> sendMessage(OP_BINARY, data, 0, data.length));
    }

    @Override
    public void send(ByteBuffer data) {
        if (!canSend()) {
            data.position(data.limit()); // consumed, as a sent one would be
            return;
        }
        byte[] b;
        int off, len = data.remaining();
        if (data.hasArray()) {
            b = data.array();
            off = data.arrayOffset() + data.position();
        } else {
            b = new byte[len];
            data.duplicate().get(b);
            off = 0;
        }
        data.position(data.limit());
        final byte[] fb = b;
        final int foff = off;
        onLoop(() -> sendMessage(OP_BINARY, fb, foff, len));
    }

    @Override
    public void send(Buffer data, boolean text) {
        if (!canSend()) {
            data.skip(data.readableBytes()); // consumed, as a sent one would be
            return;
        }
        int op = text ? OP_TEXT : OP_BINARY;
        if (loop != null && loop.inLoop()) {
            sendMessage(op, data.array(), data.readerIndex(), data.readableBytes());
            data.skip(data.readableBytes());
        } else {
            byte[] b = data.readBytes();
            onLoop(() -> sendMessage(op, b, 0, b.length));
        }
    }

    /**
     * Sends the message's bytes and leaves the message as it was: the same message may be sent to
     * several sockets (a broadcast loop) or read after it was sent. Always a copy into the frame
     * (handing the received buffer itself to the writer, as an echo once did, let the first send
     * change what the next ones saw).
     */
    @Override
    public void send(Message message) {
        if (!canSend()) return;
        int op = message.isText() ? OP_TEXT : OP_BINARY;
        if (loop != null && loop.inLoop()) {
            Buffer b = message.buffer();
            sendMessage(op, b.array(), b.readerIndex(), b.readableBytes());
        } else {
            byte[] b = message.bytes(); // a received message is only valid on its loop, during onMessage: this throws then
            onLoop(() -> sendMessage(op, b, 0, b.length));
        }
    }

    @Override
    public CompletableFuture<Void> sendAsync(String text) {
        byte[] b = text.getBytes(StandardCharsets.UTF_8);
        return sendAsync(OP_TEXT, b);
    }

    @Override
    public CompletableFuture<Void> sendAsync(byte[] data) {
        return sendAsync(OP_BINARY, data);
    }

    private CompletableFuture<Void> sendAsync(int op, byte[] b) {
        CompletableFuture<Void> f = new CompletableFuture<>();
        try {
            if (closeRequested || state != OPEN) throw new IllegalStateException("send on a closing or closed WebSocket " + this);
            onLoop(() -> {
                if (state != OPEN) {
                    f.completeExceptionally(new WebSocketException(CloseCodes.ABNORMAL, "WebSocket closed before the message was sent"));
                    return;
                }
                if (fragmentOpen) { // another thread's fragmented message is still going out: after it
                    afterFragments().add(() -> sendAsyncFrame(op, b, f));
                    return;
                }
                sendAsyncFrame(op, b, f);
            });
        } catch (RuntimeException e) {
            f.completeExceptionally(e);
        }
        return f;
    }

    private void sendAsyncFrame(int op, byte[] b, CompletableFuture<Void> f) {
        if (state != OPEN) {
            f.completeExceptionally(new WebSocketException(CloseCodes.ABNORMAL, "WebSocket closed before the message was sent"));
            return;
        }
        sendFrame(op, b, 0, b.length, true, writer.compresses(b.length));
        try {
            writer.flush(conn, (c, failure) -> {
                if (failure == null) f.complete(null);
                else f.completeExceptionally(failure);
            });
        } catch (IllegalStateException closing) {
            f.completeExceptionally(closing);
        }
    }

    @Override
    public void sendFragment(byte[] data, boolean text, boolean last) {
        if (!canSend()) return;
        int first = text ? OP_TEXT : OP_BINARY;
        int op;
        synchronized (this) {
            op = sendingFragments == 0 ? first : OP_CONT;
            sendingFragments = last ? 0 : first;
        }
        // From another thread the frame is built later, on the loop: copy, so that a caller who
        // refills one chunk array between calls (streaming a file) sends what it held at the call.
        byte[] d = inLoop() ? data : data.clone();
        onLoop(() -> {
            if (state != OPEN) return;
            sendFrame(op, d, 0, d.length, last, false);
            fragmentOpen = !last;
            flushSoon();
            if (last) runAfterFragments();
        });
    }

    private boolean inLoop() {
        EventLoop l = loop;
        return l != null && l.inLoop();
    }

    /** Data messages sent while a fragmented message was on the wire, to go after its last fragment (loop thread). */
    private java.util.ArrayDeque<Runnable> afterFragments;

    private java.util.ArrayDeque<Runnable> afterFragments() {
        if (afterFragments == null) afterFragments = new java.util.ArrayDeque<>(4);
        return afterFragments;
    }

    /** The fragmented message is complete: what waited for it goes out, in order (loop thread). */
    private void runAfterFragments() {
        java.util.ArrayDeque<Runnable> q = afterFragments;
        while (q != null && !q.isEmpty() && !fragmentOpen) q.poll().run();
    }

    @Override
    public void ping(byte[] payload) {
        controlFrame(OP_PING, payload);
    }

    @Override
    public void pong(byte[] payload) {
        controlFrame(OP_PONG, payload);
    }

    private void controlFrame(int op, byte[] payload) {
        byte[] given = payload == null ? EMPTY : payload;
        if (given.length > 125) throw new IllegalArgumentException("control frame payload of " + given.length + " bytes (at most 125)");
        if (!canSend()) return;
        byte[] p = inLoop() ? given : given.clone(); // built later on the loop: what the array held at the call
        onLoop(() -> {
            if (state != OPEN) return;
            sendFrame(op, p, 0, p.length, true, false);
            flushSoon();
        });
    }

    @Override
    public void close() {
        close(CloseCodes.NORMAL, "");
    }

    @Override
    public void close(int code, String reason) {
        if (!CloseCodes.isValid(code)) throw new IllegalArgumentException("close code " + code + " may not be sent");
        String r = reason == null ? "" : reason;
        if (r.getBytes(StandardCharsets.UTF_8).length > 123) throw new IllegalArgumentException("close reason longer than 123 bytes");
        closeRequested = true;
        EventLoop l = loop;
        if (l == null) return;
        try {
            l.runInLoop(() -> {
                // A send another thread queued before this call may still wait in the loop's queue
                // (a close on the loop runs at once, and the loop's own tasks run before those of
                // other threads): the close frame goes out after the last of them has run.
                if (postedTasks.get() > 0) {
                    if (deferredCloseReason == null) {
                        deferredCloseCode = code;
                        deferredCloseReason = r;
                    }
                } else {
                    closeInLoop(code, r);
                }
            });
        } catch (RejectedExecutionException stopped) {
            // the loop has stopped: it closed the connection already
        }
    }

    @Override
    public void abort() {
        closeRequested = true;
        Connection c = conn;
        if (c != null) c.abort();
    }

    // ================================================================ WebSocket: the rest

    @Override public boolean isOpen() { return state == OPEN && !closeRequested; }
    /** The connection has closed (onClose ran). */
    boolean isClosed() { return state == CLOSED; }
    @Override public String subprotocol() { return subprotocol; }
    @Override public boolean isCompressed() { return pmd != null; }
    @Override public Handshake handshake() { return handshake; }
    @Override public long queuedBytes() { Connection c = conn; return c == null ? 0 : c.queuedBytes(); }
    @Override public boolean isWritable() { Connection c = conn; return c != null && c.isWritable(); }

    @Override
    public void onWritable(Consumer<WebSocket> h) {
        conn.onWritable(h == null ? null : (c, writable) -> {
            if (writable) h.accept(this);
        });
    }

    @Override
    public void pauseReading() {
        userPaused = true;
        conn.pauseReading();
    }

    @Override
    public void resumeReading() {
        userPaused = false;
        conn.resumeReading();
    }

    @Override public EventLoop loop() { return loop; }
    @Override public Connection connection() { return conn; }

    @SuppressWarnings("unchecked")
    @Override public <C> C context() { return (C) context; }
    @Override public void context(Object ctx) { this.context = ctx; }

    /** Runs {@code hook} on the loop once this socket has closed (at once if it has). Thread-safe. */
    public void whenClosed(Runnable hook) {
        onLoop(() -> {
            if (state == CLOSED) {
                hook.run();
            } else {
                if (closedHooks == null) closedHooks = new ArrayList<>(2);
                closedHooks.add(hook);
            }
        });
    }

    /** {@link #whenClosed} before the socket is attached, on the loop that will run it. */
    void whenClosedUnattached(Runnable hook) {
        if (closedHooks == null) closedHooks = new ArrayList<>(2);
        closedHooks.add(hook);
    }

    /**
     * A broadcast's message (the array is shared between sockets and not changed): sent unless this
     * socket has more than {@code maxQueued} queued, in which case it is skipped, or, when
     * {@code closeSlow}, dropped (onError hears a {@link WebSocketException} with 1008). Thread-safe. Returns false if it was not sent (closing or slow).
     */
    public boolean sendShared(byte[] payload, boolean text, long maxQueued, boolean closeSlow) {
        if (closeRequested || state != OPEN) return false;
        Runnable task = () -> {
            if (state != OPEN) return;
            // A data frame may not come between a message's fragments (RFC 6455 5.4): while another
            // thread is still streaming one, the broadcast skips this socket (holding it could grow
            // without bound for a long stream); once its last fragment was called, sendMessage holds
            // the broadcast until that fragment is out.
            if (fragmentOpen && sendingFragments != 0) return;
            long queued = conn.queuedBytes();
            if (queued > maxQueued) {
                if (closeSlow) {
                    // A close frame would wait behind the queue this peer does not drain: drop it.
                    reportError(new WebSocketException(CloseCodes.POLICY_VIOLATION, "too slow for a broadcast: " + queued + " bytes queued, the bound is " + maxQueued));
                    closeRequested = true;
                    conn.abort();
                }
                return;
            }
            sendMessage(text ? OP_TEXT : OP_BINARY, payload, 0, payload.length);
        };
        try {
            onLoop(task);
        } catch (IllegalStateException stopped) {
            return false;
        }
        return true;
    }

    @Override
    public String toString() {
        Connection c = conn;
        return "WebSocket[" + (client ? "client " : "server ") + (c != null ? c.toString() : "unattached") + "]";
    }
}
