package io.jhv.core.net;

import io.jhv.core.buffer.Buffer;
import io.jhv.core.internal.Internals;
import io.jhv.core.internal.LoopAccess;
import io.jhv.core.internal.TransportLayer;
import io.jhv.core.tls.TlsInfo;

import java.nio.ByteBuffer;
import java.util.ArrayDeque;

/**
 * Wires a connection to its transport layer (TLS): socket bytes in go to the layer, the plaintext
 * it decrypts goes to the connection's {@link Inbound}; plaintext written goes to the layer, the
 * records it makes go to the connection's write queue. It is the layer's {@link TransportLayer.Sink}.
 *
 * <p>Made with the connection only when its endpoint has a layer factory (a plain connection has
 * none, and its fast path checks one final field for null); the layer itself is made when TCP is
 * up. Loop thread only.
 */
final class LayerLink implements TransportLayer.Sink {
    private static final LoopAccess LOOPS = Internals.loops();

    private final Connection c;
    private final TcpEndpoint<?> ep;
    private final WriteQueue queue;
    private TransportLayer layer; // null until TCP is up
    // Plaintext written before the layer exists: a server connection is listed (and reachable by a
    // broadcast) before its loop registers it and starts the layer. It must go to the layer, never
    // to the socket ahead of the handshake.
    private ArrayDeque<ByteBuffer> beforeLayer;
    private Buffer layerIn; // socket bytes the layer has not consumed yet (a partial record)

    LayerLink(Connection c, TcpEndpoint<?> ep) {
        this.c = c;
        this.ep = ep;
        this.queue = c.queue;
    }

    /** What TLS negotiated, or null (no layer yet, or not TLS). */
    TlsInfo tls() { return layer instanceof TlsInfo t ? t : null; }

    /**
     * TCP is up: makes and starts the layer, and hands it what was written before (it holds that
     * until its handshake is done). True if the layer is ready at once; false while its handshake
     * runs ({@link #ready()} follows), or if it failed to start (the connection is closed).
     */
    boolean start(boolean client) {
        layer = ep.layerFactory.create(c, client);
        boolean ready;
        try {
            ready = layer.start(this);
        } catch (Throwable e) {
            c.closeInLoop(CloseCause.error("transport layer failed to start", e), true);
            return false;
        }
        ArrayDeque<ByteBuffer> early = beforeLayer;
        beforeLayer = null;
        if (early != null) for (ByteBuffer b : early) c.out.writeInLoop(b, true, null); // the layer holds them until its handshake is done
        resolveWrites();
        return ready;
    }

    /** Socket bytes in (the loop's read buffer): to the layer, with what it left over last time in front. */
    void feed(Buffer rb) {
        Buffer src = rb;
        if (layerIn != null && layerIn.isReadable()) src = layerIn.write(rb);
        try {
            layer.onRead(src);
        } catch (Throwable e) { // a layer may be user code: nothing may escape to the poller
            c.closeInLoop(CloseCause.error("transport layer error: " + e, e), true);
            return;
        }
        resolveWrites();
        if (src.isReadable() && !c.isClosed()) {
            if (layerIn == null) layerIn = Buffer.allocate(Math.max(1024, src.readableBytes()));
            if (src != layerIn) layerIn.write(src);
        }
    }

    /** Plaintext out (the connection checked it may be written): through the layer, or kept until the layer exists. */
    void write(ByteBuffer src, boolean owned, WriteListener listener) {
        if (layer == null) {
            if (beforeLayer == null) beforeLayer = new ArrayDeque<>(2);
            beforeLayer.add(owned ? src : ByteBuffer.allocate(src.remaining()).put(src).flip());
            if (listener != null) queue.listen(listener, -1); // known once the layer has the bytes and hands them on
            return;
        }
        try {
            layer.write(src, owned);
        } catch (RuntimeException e) {
            c.closeInLoop(CloseCause.error("transport layer error: " + e.getMessage(), e), true);
        }
        if (listener != null) {
            if (c.isClosed()) {
                c.writeDone(listener, c.notWritten());
            } else {
                // The layer encrypted the bytes and handed the records on (accepted), unless it
                // holds them (before its handshake): then they are known later.
                queue.listen(listener, layer.hasPendingWrites() ? -1 : 0);
                queue.completeDue(c);
            }
        }
    }

    /** The layer may have handed on the writes it held (its handshake finished): their listeners know what to wait for. */
    private void resolveWrites() {
        if (queue.hasUnresolved() && layer != null && beforeLayer == null && !layer.hasPendingWrites() && !c.isClosed()) {
            queue.resolve();
            queue.completeDue(c);
        }
    }

    /** True while the layer holds written bytes (TLS before its handshake is done). */
    boolean hasPendingWrites() {
        return layer != null && layer.hasPendingWrites();
    }

    /** Output is being shut down: the layer queues its close message (close_notify) behind the data. */
    void closeOutbound() {
        if (layer != null) layer.closeOutbound();
    }

    /** {@link #closeOutbound()} for a close: a failure changes nothing, the connection is closing anyway. */
    void closeOutboundQuietly() {
        try {
            closeOutbound();
        } catch (RuntimeException ignored) {
            // the connection is closing anyway
        }
    }

    /** The connection closed: the layer's timers must not keep it alive. */
    void release() {
        layerIn = null;
        if (layer != null) {
            try {
                layer.release();
            } catch (Throwable t) {
                LOOPS.reportError(c.loop(), t);
            }
        }
    }

    // ---------------------------------------------------------------- TransportLayer.Sink (the layer calls these)

    @Override public void deliver(Buffer plain) { c.in.deliver(plain); }

    @Override public void writeRaw(ByteBuffer bytes, boolean owned) { c.out.writeRaw(bytes, owned); }

    @Override
    public void ready() {
        resolveWrites(); // the layer has just sent what it held for the handshake
        c.layerReady();
    }

    @Override
    public void fail(String detail, Throwable error) {
        c.closeInLoop(CloseCause.error(detail, error), true);
    }

    @Override
    public void fail(CloseCause cause) {
        c.closeInLoop(cause, true);
    }
}
