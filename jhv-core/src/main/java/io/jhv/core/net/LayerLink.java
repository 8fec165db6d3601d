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
 * <p>Made with the connection only when its endpoint has a layer factory or the connection goes
 * through a proxy (a plain direct connection has none, and its fast path checks one final field
 * for null); the layer itself is made when TCP is up, or, through a proxy, when the tunnel is up:
 * <pre>
 *  TCP up --> [ProxyTunnel: raw handshake with the proxy] --> layer (TLS with the target, or PlainLayer) --> Inbound
 *             (reads go to the tunnel; writes wait here)      (the rest of the proxy's last read goes here first)
 * </pre>
 * Loop thread only.
 */
final class LayerLink implements TransportLayer.Sink {
    private static final LoopAccess LOOPS = Internals.loops();

    private final Connection c;
    private final TcpEndpoint<?> ep;
    private final WriteQueue queue;
    private final TransportLayer.Factory factory;
    private final String peerHost; // a tunnelled client's target, for the layer (SNI, verification); else null
    private final int peerPort;
    private ProxyTunnel tunnel; // the raw stage before the layer (a proxy handshake); null when none or done
    private boolean client;
    private TransportLayer layer; // null until TCP (or the tunnel) is up
    // Plaintext written before the layer exists: a server connection is listed (and reachable by a
    // broadcast) before its loop registers it and starts the layer. It must go to the layer, never
    // to the socket ahead of the handshake.
    private ArrayDeque<ByteBuffer> beforeLayer;
    private Buffer layerIn; // socket bytes the layer has not consumed yet (a partial record)

    LayerLink(Connection c, TcpEndpoint<?> ep) {
        this(c, ep, null, null, 0);
    }

    /** {@code tunnel}: the proxy handshake to run before the layer starts; {@code peerHost:peerPort} then is the target. */
    LayerLink(Connection c, TcpEndpoint<?> ep, ProxyTunnel tunnel, String peerHost, int peerPort) {
        this.c = c;
        this.ep = ep;
        this.queue = c.queue;
        this.factory = ep.layerFactory != null ? ep.layerFactory : (conn, clientMode) -> new PlainLayer();
        this.tunnel = tunnel;
        this.peerHost = peerHost;
        this.peerPort = peerPort;
    }

    /** What TLS negotiated, or null (no layer yet, or not TLS). */
    TlsInfo tls() { return layer instanceof TlsInfo t ? t : null; }

    /**
     * TCP is up: sends the proxy's handshake request if there is a tunnel (the layer starts once it
     * is up), else makes and starts the layer, and hands it what was written before (it holds that
     * until its handshake is done). True if the layer is ready at once; false while a handshake
     * runs ({@link #ready()} follows), or if it failed to start (the connection is closed).
     */
    boolean start(boolean client) {
        this.client = client;
        if (tunnel != null) {
            try {
                tunnel.start(this::sendRaw);
            } catch (ProxyException e) {
                tunnelFailed(e);
            }
            return false;
        }
        return startLayer();
    }

    private boolean startLayer() {
        layer = peerHost != null ? factory.create(c, client, peerHost, peerPort) : factory.create(c, client);
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

    /** Socket bytes in (the loop's read buffer): to the layer (or the tunnel), with what it left over last time in front. */
    void feed(Buffer rb) {
        Buffer src = rb;
        if (layerIn != null && layerIn.isReadable()) src = layerIn.write(rb);
        if (tunnel != null) {
            if (!feedTunnel(src)) {
                keep(src);
                return;
            }
            if (!src.isReadable()) return; // (the tunnel consumed it all)
        }
        try {
            layer.onRead(src);
        } catch (Throwable e) { // a layer may be user code: nothing may escape to the poller
            c.closeInLoop(CloseCause.error("transport layer error: " + e, e), true);
            return;
        }
        resolveWrites();
        keep(src);
    }

    /** Keeps what was not consumed, in front of the next read. */
    private void keep(Buffer src) {
        if (src.isReadable() && !c.isClosed()) {
            if (layerIn == null) layerIn = Buffer.allocate(Math.max(1024, src.readableBytes()));
            if (src != layerIn) layerIn.write(src);
        }
    }

    /**
     * The proxy's bytes go to the tunnel. True once the tunnel is up and the layer started, with the
     * connection open: the rest of {@code src} (the target's first bytes, sent right behind the
     * proxy's reply) is for the layer. False while the tunnel needs more, or when it failed.
     */
    private boolean feedTunnel(Buffer src) {
        boolean up;
        try {
            up = tunnel.onRead(src, this::sendRaw);
        } catch (ProxyException e) {
            tunnelFailed(e);
            return false;
        }
        if (!up) return false;
        tunnel = null;
        if (c.attempt != null) c.attempt.tunnelUp();
        boolean ready = startLayer();
        if (c.isClosed()) return false;
        // A plain tunnel is up now: the connection is reported up before the bytes behind the
        // proxy's reply reach the protocol handler (as a direct connection's would).
        if (ready) c.layerReady();
        return !c.isClosed();
    }

    /** A handshake request to the proxy: raw, to the socket. */
    private void sendRaw(byte[] bytes) {
        c.out.writeRaw(ByteBuffer.wrap(bytes), true);
    }

    private void tunnelFailed(ProxyException e) {
        if (c.attempt != null) c.attempt.tunnelFailed(e);
        c.closeInLoop(CloseCause.error(e.getMessage(), e), true);
    }

    /** What the proxy's closing the connection now means, or null when no tunnel handshake runs. */
    ProxyException tunnelClosedEarly() {
        return tunnel != null ? tunnel.closedEarly() : null;
    }

    /**
     * True when a file region may go to the socket as it is: a plain tunnel that is up and holds
     * nothing (the bytes need no layer, and nothing written before waits here).
     */
    boolean allowsSendFile() {
        return tunnel == null && layer instanceof PlainLayer && beforeLayer == null;
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
        return (layer != null && layer.hasPendingWrites()) || (tunnel != null && beforeLayer != null);
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
