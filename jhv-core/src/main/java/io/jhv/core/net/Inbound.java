package io.jhv.core.net;

import io.jhv.core.buffer.Buffer;
import io.jhv.core.internal.Internals;
import io.jhv.core.internal.LoopAccess;
import io.jhv.core.loop.EventLoop;

import java.util.Objects;

/**
 * One connection's input stage: application bytes (from the socket, or decrypted by the transport
 * layer) go to the protocol handler that has the connection, one handler at a time, and on to the
 * next one at once when it hands over in the middle of them. What no handler consumed is kept
 * (bounded by the endpoint's {@code maxInputBuffer}) and offered again in front of the next read,
 * or when reading resumes after a pause.
 *
 * <p>One per connection, made with it; loop thread only. The connection owns the state machine
 * ({@code closeRequested()}, {@code readPaused()}); this class asks it.
 */
final class Inbound {
    private static final LoopAccess LOOPS = Internals.loops();
    private static final Buffer EMPTY = Buffer.wrap(new byte[0]);

    private final Connection c;
    final TcpEndpoint<?> ep;
    private final EventLoop loop;
    /** The default protocol's message handler ({@link Connection#onMessage(MessageHandler)} replaces it). */
    MessageHandler messageHandler;
    // The protocol handler that gets the input; null only before the endpoint's supplied one is
    // attached (when the connection comes up). See ProtocolHandler for its life.
    private ProtocolHandler handler;
    private Buffer carry; // bytes a handler handed over with handover(next, unconsumed), not yet delivered
    private Buffer inbuf; // bytes no handler consumed yet
    /** For {@link MessageProtocol}: the reusable view a package is delivered in. */
    final Buffer frameView = Buffer.wrap(new byte[0]);
    private boolean delivering;

    Inbound(Connection c, TcpEndpoint<?> ep, EventLoop loop) {
        this.c = c;
        this.ep = ep;
        this.loop = loop;
        this.messageHandler = ep.onMessage;
        if (ep.protocol == null) this.handler = MessageProtocol.INSTANCE; // stateless: nothing to attach
    }

    /** The protocol handler that has the input now; null before the endpoint's is attached. */
    ProtocolHandler handler() { return handler; }

    /**
     * Application bytes in: to the protocol handler, and on to the next one at once when it hands
     * over in the middle of them. What no handler consumed is kept (bounded by maxInputBuffer)
     * and offered again in front of the next read.
     */
    void deliver(Buffer data) {
        if (c.closeRequested()) return;
        Buffer src = data;
        if (inbuf != null && inbuf.isReadable()) {
            inbuf.write(data);
            src = inbuf;
        }
        delivering = true;
        try {
            for (;;) {
                ProtocolHandler h = handler;
                if (h == null) break; // not attached yet (cannot happen before the connection is up): keep the bytes
                if (src.isReadable() && !deliverTo(h, src)) return;
                if (handler == h || c.closeRequested()) break;
                // Handed over during onData: what the old handler carried comes first, then the rest
                // of this read; the next handler gets them now, not only at the next read.
                Buffer k = carry;
                if (k != null) {
                    carry = null;
                    k.write(src);
                    src = k;
                }
                if (!src.isReadable()) break;
            }
        } finally {
            delivering = false;
        }
        if (c.closeRequested()) return; // nothing more is delivered: keep no leftover
        if (src.isReadable()) {
            if (src.readableBytes() > ep.maxInputBuffer) {
                c.closeInLoop(CloseCause.error("input buffer above " + ep.maxInputBuffer + " bytes", null), true);
                return;
            }
            if (src != inbuf) {
                if (inbuf == null) inbuf = Buffer.allocate(Math.max(1024, src.readableBytes()));
                inbuf.write(src);
            }
        } else if (inbuf != null && inbuf.capacity() > 256 * 1024) {
            inbuf = null; // don't hold a large buffer for an idle connection
        }
    }

    /** Calls {@code h.onData}; false if it threw (the connection is then closed). */
    private boolean deliverTo(ProtocolHandler h, Buffer src) {
        try {
            h.onData(c, src);
            return true;
        } catch (UnpackException e) {
            c.closeInLoop(CloseCause.error("unpack failed: " + e.getMessage(), e), true);
        } catch (Throwable t) {
            // A handler (or a custom unpacker) is user code: whatever it throws closes this
            // connection (its unread bytes cannot be framed any more) and never reaches the poller.
            LOOPS.reportError(loop, t);
            c.closeInLoop(CloseCause.error("protocol handler " + h + " threw " + t, t), true);
        }
        return false;
    }

    /** For {@link MessageProtocol}: true while {@code h} may be given more input in this read: still attached, not closing, not paused. */
    boolean mayDeliver(ProtocolHandler h) {
        return handler == h && !c.closeRequested() && !c.readPaused();
    }

    /** For {@link MessageProtocol}: hands {@code b} to the message handler. */
    void dispatch(Buffer b) {
        MessageHandler h = messageHandler;
        if (h == null) {
            b.skip(b.readableBytes());
            return;
        }
        try {
            h.onMessage(c, b);
        } catch (Throwable t) {
            LOOPS.reportError(loop, t);
            c.closeInLoop(CloseCause.error("onMessage threw " + t, t), true);
        }
    }

    /** Packages that arrived while reading was paused and are still buffered are delivered now. */
    void resumeDelivery() {
        // Input already read but left while reading was paused (packages behind a pause, or what a
        // protocol handler left when it paused to answer one request at a time) is offered again:
        // the peer may have sent everything and be waiting, so no next read would bring it. Not for
        // onMessage without an unpacker: what it leaves it did not want.
        if (inbuf != null && inbuf.isReadable() && handler != null && (handler != MessageProtocol.INSTANCE || ep.unpacker != null)
                && !delivering && !c.readPaused()) deliver(EMPTY);
    }

    /**
     * The connection is up: the endpoint's protocol is attached before the application hears of
     * it, so it owns every byte; it may hand over at once (a selector deciding by ALPN) or close.
     * False if the connection closed meanwhile (it never was up).
     */
    boolean attachFirst() {
        ProtocolHandler first;
        try {
            first = Objects.requireNonNull(ep.protocol.get(), "the protocol supplier returned null");
        } catch (Throwable t) {
            LOOPS.reportError(loop, t);
            c.closeInLoop(CloseCause.error("protocol supplier failed: " + t, t), true);
            return false;
        }
        attach(first);
        return !c.closeRequested(); // the handler may refuse the connection
    }

    /** {@code Connection.handover(next, unconsumed)} once its checks passed (loop thread, not closing). */
    void handover(ProtocolHandler next, Buffer unconsumed) {
        if (unconsumed != null && unconsumed.isReadable()) {
            Buffer k = carry;
            if (k == null) carry = k = Buffer.allocate(Math.max(1024, unconsumed.readableBytes()));
            k.write(unconsumed);
        }
        ProtocolHandler old = handler;
        handler = next;
        if (old != null) {
            try {
                old.onDetach(c);
            } catch (Throwable t) { // user code: it is gone either way; the connection goes on with next
                LOOPS.reportError(loop, t);
            }
        }
        if (handler != next || c.closeRequested()) return; // onDetach closed the connection or handed over itself
        if (!attach(next)) return;
        if (!delivering) {
            // Not inside a read: what was carried over and what the connection kept go to next now.
            Buffer k = carry;
            if (k != null) {
                carry = null;
                if (inbuf != null && inbuf.isReadable()) k.write(inbuf);
                if (inbuf != null) inbuf.clear();
                inbuf = k;
            }
            if (inbuf != null && inbuf.isReadable()) deliver(EMPTY);
        }
    }

    /** Makes {@code h} the handler and calls its onAttach; false if that threw (the connection is closed). */
    private boolean attach(ProtocolHandler h) {
        handler = h;
        try {
            h.onAttach(c);
            return true;
        } catch (Throwable t) {
            LOOPS.reportError(loop, t);
            c.closeInLoop(CloseCause.error("protocol handler " + h + " failed to attach: " + t, t), true);
            return false;
        }
    }

    /** The connection closed: the bytes it kept go. */
    void release() {
        inbuf = null;
        carry = null;
    }

    /** The connection closed: the protocol handler releases its state (timers) before the application hears of it. */
    void closed(CloseCause cause) {
        ProtocolHandler h = handler;
        if (h != null && h != MessageProtocol.INSTANCE) {
            try {
                h.onClose(c, cause);
            } catch (Throwable t) {
                LOOPS.reportError(loop, t);
            }
        }
    }
}
