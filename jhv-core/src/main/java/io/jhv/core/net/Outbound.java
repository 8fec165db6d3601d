package io.jhv.core.net;

import io.jhv.core.buffer.Buffer;
import io.jhv.core.internal.Internals;
import io.jhv.core.internal.LoopAccess;
import io.jhv.core.loop.EventLoop;

import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * One connection's output stage, on the loop thread: socket bytes go out now when the write queue
 * is empty, else (and what the socket refuses) into the {@link WriteQueue} in order; the queue is
 * flushed when the socket is writable. It applies the water marks ({@code onWritable}, and tells
 * the connection to pause reading above the high one), stamps write activity for the timeouts,
 * and reports a drained queue ({@code onWriteComplete}, and the close or half-close waiting for it).
 *
 * <p>One per connection, made with it; loop thread only. The connection owns what its thread-safe
 * {@code write} checks (the state, the shut-down flags) and the socket; this class asks it, and
 * {@code write} calls {@link #writeInLoop} after its own check.
 */
final class Outbound {
    private static final LoopAccess LOOPS = Internals.loops();

    private final Connection c;
    private final TcpEndpoint<?> ep;
    private final EventLoop loop;
    private final WriteQueue queue; // the connection's: socket bytes in write order, and their listeners
    private boolean aboveHighWater;
    WritableHandler writableHandler;
    ConnectionHandler writeCompleteHandler;
    private Runnable writeCompleteTask;
    private boolean writeCompletePosted; // one onWriteComplete per drain, however many writes completed
    // Reused views for write(Buffer) on the loop: no allocation per echo. Two of them, because a
    // protocol may alternate between two buffers (a WebSocket echo sends the received message's
    // buffer and reads the next into the one it sent before).
    private ByteBuffer writeView;
    private ByteBuffer writeView2;

    Outbound(Connection c, TcpEndpoint<?> ep, EventLoop loop) {
        this.c = c;
        this.ep = ep;
        this.loop = loop;
        this.queue = c.queue;
        this.writableHandler = ep.onWritable;
        this.writeCompleteHandler = ep.onWriteComplete;
    }

    /** True while the write queue is below the high-water mark (a snapshot off the loop). */
    boolean isWritable() { return !aboveHighWater; }

    /** The readable bytes of {@code buf} in the reused view (consumed from {@code buf}). */
    ByteBuffer bufferView(Buffer buf) {
        int n = buf.readableBytes();
        byte[] a = buf.array();
        ByteBuffer view = writeView;
        if (view == null || view.array() != a) {
            ByteBuffer other = writeView2;
            if (other != null && other.array() == a) {
                view = other;
            } else {
                view = ByteBuffer.wrap(a);
            }
            writeView2 = writeView; // the last two arrays stay cached
            writeView = view;
        }
        view.limit(buf.readerIndex() + n).position(buf.readerIndex());
        buf.skip(n);
        return view;
    }

    /** Application bytes out: through the transport layer if there is one, else to the socket. */
    void writeInLoop(ByteBuffer src, boolean owned, WriteListener listener) {
        if (c.closeRequested() || c.outputShutOrPending()) {
            // Only a write queued from another thread that raced with close()/shutdownOutput() gets
            // here (write() checks first). It was made after the close, so close() owes it nothing:
            // drop it, the same with TLS (whose session may already be closing) as without, and never
            // let it disturb what was queued before the close.
            c.dropLateWrite(src.remaining(), listener);
            return;
        }
        LayerLink link = c.link;
        if (link != null) {
            link.write(src, owned, listener);
            return;
        }
        if (listener != null) queue.listen(listener, src.remaining()); // before: writeRaw may complete it at once
        writeRaw(src, owned);
    }

    /** A file region out (no transport layer: the connection refused sendFile with one). */
    void sendFileInLoop(WriteQueue.FileRegion fr, WriteListener listener) {
        if (c.isClosed() || c.outputShutOrPending()) {
            fr.release();
            if (listener != null) c.writeDone(listener, c.notWritten());
            return;
        }
        queue.accept(fr.remaining);
        if (listener != null) queue.listen(listener, 0);
        if (queue.isEmpty() && c.tcpUp) {
            try {
                if (fr.remaining > 0 && queue.sendNow(c.ch, fr) > 0) c.lastWrite = c.lastWriteProgress = System.nanoTime();
            } catch (IOException e) {
                fr.release();
                c.closeInLoop(CloseCause.classify(e), true);
                return;
            }
            if (fr.remaining == 0) {
                fr.release();
                queue.completeDue(c);
                writeComplete();
                return;
            }
        }
        enqueue(fr, fr.remaining);
    }

    /** Sends socket bytes: now if the queue is empty, else (and what the socket refuses) queued in order. */
    void writeRaw(ByteBuffer src, boolean owned) {
        if (c.isClosed() || c.outputShut) return;
        if (!src.hasRemaining()) return;
        queue.accept(src.remaining());
        // Not yet established (a server connection is listed before its loop registers it, so a
        // broadcast can reach it first; a client still connecting): the channel may still block or
        // not be connected, so queue; establishInLoop flushes.
        if (queue.isEmpty() && c.tcpUp) {
            try {
                long n = queue.writeNow(c.ch, src);
                if (n > 0) c.lastWrite = c.lastWriteProgress = System.nanoTime();
            } catch (IOException e) {
                c.closeInLoop(CloseCause.classify(e), true);
                return;
            }
            queue.completeDue(c);
            if (!src.hasRemaining()) {
                writeComplete();
                return;
            }
        }
        ByteBuffer rest = src;
        if (!owned) {
            rest = ByteBuffer.allocate(src.remaining());
            rest.put(src).flip();
        }
        enqueue(rest, rest.remaining());
    }

    /** Appends to the write queue and applies the high-water mark. */
    private void enqueue(Object item, long bytes) {
        if (queue.isEmpty()) c.lastWriteProgress = System.nanoTime();
        long q = queue.add(item, bytes);
        if (c.tcpUp) c.wantWrite(true); // else establishInLoop asks for it
        if (!aboveHighWater && q > ep.highWaterMark) {
            aboveHighWater = true;
            c.queueAboveHighWater();
            tellWritable(false);
        }
    }

    /** The socket is writable: flush the queue, and report what that changed. */
    void handleWrite() {
        if (queue.isEmpty()) {
            c.wantWrite(false);
            return;
        }
        long n;
        try {
            n = queue.flush(c.ch);
        } catch (IOException e) {
            c.closeInLoop(CloseCause.classify(e), true); // what is queued is released with the queue
            return;
        }
        if (n > 0) c.lastWrite = c.lastWriteProgress = System.nanoTime();
        if (aboveHighWater && queue.queuedBytes() <= ep.lowWaterMark) {
            aboveHighWater = false;
            c.queueBelowLowWater();
            tellWritable(true);
        }
        if (n > 0) queue.completeDue(c);
        if (queue.isEmpty() && !c.isClosed()) {
            c.wantWrite(false);
            writeComplete();
        }
    }

    /** The queue is empty: finish a pending close or half-close, tell the application. */
    private void writeComplete() {
        if (!queue.isEmpty()) return;
        if (c.queueDrained()) return; // a close that waited for the queue has finished
        if (writeCompleteHandler != null && !writeCompletePosted) {
            if (writeCompleteTask == null) writeCompleteTask = () -> {
                writeCompletePosted = false;
                // Read again when it runs: a handover (an upgrade) may have removed the handler meanwhile.
                ConnectionHandler h = writeCompleteHandler;
                if (h != null && c.isConnected() && queue.isEmpty()) h.onConnection(c);
            };
            writeCompletePosted = true;
            loop.queueInLoop(writeCompleteTask); // not re-entrant: the handler may write again
        }
    }

    /** Calls {@code onWritable} (user code: what it throws goes to the loop's error handler). */
    private void tellWritable(boolean writable) {
        WritableHandler h = writableHandler;
        if (h == null) return;
        try {
            h.onWritable(c, writable);
        } catch (Throwable t) {
            LOOPS.reportError(loop, t);
        }
    }
}
