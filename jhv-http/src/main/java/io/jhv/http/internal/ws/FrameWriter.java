package io.jhv.http.internal.ws;

import io.jhv.core.buffer.Buffer;
import io.jhv.core.net.Connection;
import io.jhv.core.net.WriteListener;
import io.jhv.http.websocket.WebSocketConfig;

import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.zip.Deflater;

/**
 * Builds a socket's outgoing frames (RFC 6455 section 5.2) into one reused buffer, deflating
 * messages when permessage-deflate was agreed (RFC 7692 section 7.2.1) and masking them on the
 * client, and hands what it holds to the connection in one write. Loop thread only.
 */
final class FrameWriter {
    /** A buffer bigger than this is let go after its write rather than kept for the next frames. */
    static final int KEEP = 256 << 10;

    private final boolean client;
    private final PerMessageDeflate pmd;
    private final WebSocketConfig cfg;
    private Buffer out;
    /** Client masking keys not handed out yet: 16 per draw from {@link #ENTROPY} (64 bytes). */
    private byte[] keys;
    private int keyPos;
    private Buffer zbuf;
    private Deflater deflater;

    /**
     * RFC 6455 10.3: a client's masking keys must be unpredictable, from a strong source of entropy
     * (a key an attacker can guess lets a page's script make its frames look like HTTP to a proxy).
     * Shared by all writers; drawn 64 bytes at a time, so its cost is spread over 16 frames.
     */
    static final SecureRandom ENTROPY = new SecureRandom();

    FrameWriter(boolean client, PerMessageDeflate pmd, WebSocketConfig cfg) {
        this.client = client;
        this.pmd = pmd;
        this.cfg = cfg;
    }

    /** True if a message of {@code len} bytes is sent compressed. */
    boolean compresses(int len) {
        return pmd != null && len >= cfg.compressionThreshold() && pmd.fitsWindow(len);
    }

    /** Bytes built and not yet handed to the connection. */
    int buffered() {
        return out == null ? 0 : out.readableBytes();
    }

    /**
     * Appends a frame. With {@code compress} the payload is deflated first (RSV1 set: only on the
     * first frame of a message).
     */
    void frame(int op, byte[] a, int off, int len, boolean last, boolean compress) {
        if (compress) {
            Buffer z = deflate(a, off, len);
            a = z.array();
            off = z.readerIndex();
            len = z.readableBytes();
        }
        Buffer o = out;
        if (o == null) out = o = Buffer.allocate(Math.max(256, len + 14));
        o.ensureWritable(len + 14);
        o.writeByte((last ? 0x80 : 0) | (compress ? 0x40 : 0) | op);
        int maskBit = client ? 0x80 : 0;
        if (len < 126) {
            o.writeByte(maskBit | len);
        } else if (len < 65536) {
            o.writeByte(maskBit | 126);
            o.writeShort(len);
        } else {
            o.writeByte(maskBit | 127);
            o.writeLong(len);
        }
        if (client) {
            int key = nextMaskKey();
            o.writeInt(key);
            int w = o.writerIndex();
            Bytes.mask(a, off, o.array(), w, len, key, 0);
            o.advanceWriter(len);
        } else {
            o.write(a, off, len);
        }
        if (compress) {
            if (zbuf.capacity() > KEEP) zbuf = null; // like out: a big message's room is not kept
            else zbuf.clear();
        }
    }

    private int nextMaskKey() {
        byte[] k = keys;
        if (k == null) {
            keys = k = new byte[64];
            keyPos = k.length;
        }
        if (keyPos == k.length) {
            ENTROPY.nextBytes(k);
            keyPos = 0;
        }
        int key = Bytes.intBE(k, keyPos);
        keyPos += 4;
        return key;
    }

    /** Appends a close frame with {@code code} and {@code reason} (at most 123 bytes of UTF-8). */
    void close(int code, String reason) {
        byte[] r = reason == null ? new byte[0] : reason.getBytes(StandardCharsets.UTF_8);
        byte[] p = new byte[2 + r.length];
        p[0] = (byte) (code >> 8);
        p[1] = (byte) code;
        System.arraycopy(r, 0, p, 2, r.length);
        frame(WsSession.OP_CLOSE, p, 0, p.length, true, false);
    }

    /**
     * Hands what is built to {@code conn} ({@code listener}, if not null, hears when it reached the
     * socket). Nothing happens on a closed connection; one closing under us drops the bytes.
     *
     * @throws IllegalStateException only with a listener, when the connection refused the write
     *         (the listener is then never called)
     */
    void flush(Connection conn, WriteListener listener) {
        Buffer o = out;
        if (o == null || !o.isReadable() || conn == null || conn.isClosed()) return;
        try {
            if (listener == null) conn.write(o);
            else conn.write(o, listener);
        } catch (IllegalStateException closing) {
            o.clear();
            if (listener != null) throw closing;
            return;
        }
        if (o.capacity() > KEEP) out = null;
        else o.clear();
    }

    /** Frees the deflater's native memory and the buffers (the socket closed). */
    void release() {
        if (deflater != null) deflater.end();
        deflater = null;
        out = null;
        zbuf = null;
    }

    /** Deflates one message into the reused {@code zbuf}, without the 00 00 ff ff tail (RFC 7692 7.2.1). */
    private Buffer deflate(byte[] a, int off, int len) {
        if (deflater == null) deflater = new Deflater(cfg.compressionLevel(), true);
        Deflater d = deflater;
        Buffer z = zbuf;
        if (z == null) zbuf = z = Buffer.allocate(Math.max(256, len / 2 + 64));
        d.setInput(a, off, len);
        int k, room;
        do {
            z.ensureWritable(Math.max(64, len / 4));
            room = z.writableBytes();
            k = d.deflate(z.array(), z.writerIndex(), room, Deflater.SYNC_FLUSH);
            z.advanceWriter(k);
        } while (k == room); // a full output buffer may hide more: call again with more room
        // SYNC_FLUSH ends with an empty stored block: 00 00 ff ff, which the receiver adds back.
        int w = z.writerIndex();
        if (z.readableBytes() >= 4 && z.array()[w - 4] == 0 && z.array()[w - 3] == 0
                && z.array()[w - 2] == (byte) 0xff && z.array()[w - 1] == (byte) 0xff) {
            z.writerIndex(w - 4);
        }
        // zlib writes nothing for an empty flush right after another one: send the empty stored
        // block's first byte, which with the tail the receiver adds is a whole block (RFC 7692 7.2.3.6).
        if (!z.isReadable()) z.writeByte(0);
        if (pmd.resetAfterEachMessage()) d.reset();
        return z;
    }
}
