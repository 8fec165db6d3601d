package io.jhv.core.net;

import io.jhv.core.buffer.Buffer;
import io.jhv.core.internal.TransportLayer;

import java.nio.ByteBuffer;

/**
 * The layer of a plain (no TLS) connection tunnelled through a proxy: bytes pass as they are. It
 * exists so that {@link LayerLink} treats a tunnel without TLS like one with it (writes made
 * before the tunnel is up wait, in order, and go out after it). Loop thread only.
 */
final class PlainLayer implements TransportLayer {
    private Sink sink;

    @Override
    public boolean start(Sink s) {
        this.sink = s;
        return true;
    }

    @Override public void onRead(Buffer in) { sink.deliver(in); }

    @Override public void write(ByteBuffer plain, boolean owned) { sink.writeRaw(plain, owned); }

    @Override public void closeOutbound() {
        // no close message of its own: the connection sends FIN
    }
}
