package io.jhv.http.internal.http1;

import io.jhv.core.buffer.Buffer;
import io.jhv.core.net.Connection;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Streamed response bodies of one connection: encodes the chunks a writer sends (chunked coding on
 * HTTP/1.1, raw bytes on HTTP/1.0) and holds writers on other threads back while too much waits to
 * reach the socket. One per connection; it is also the lock the waiting writers sleep on.
 */
final class StreamFlow {
    private static final byte[] LAST_CHUNK = "0\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1);
    /** Streamed bytes a writer may have outstanding (posted, queued or held) before it waits. */
    static final long STREAM_HIGH_WATER = 1 << 20;

    private final HttpConnection c;
    /** Bytes of chunks posted to the loop from other threads and not yet encoded. */
    private final AtomicLong posted = new AtomicLong();

    StreamFlow(HttpConnection c) {
        this.c = c;
    }

    /** A chunk of a streaming response (null + last to end). Any thread. */
    void chunk(Http1Response res, byte[] data, boolean last) {
        if (!c.inLoop()) {
            int n = data == null ? 0 : data.length;
            posted.addAndGet(n);
            c.toLoop(() -> {
                posted.addAndGet(-n);
                chunk(res, data, last);
            });
            return;
        }
        if (c.isClosing()) return;
        OutputBatch slot = c.openBatch(res);
        boolean ok = false;
        try {
            chunkInLoop(res, data, last);
            ok = true;
        } finally {
            c.closeBatch(slot, ok);
        }
    }

    private void chunkInLoop(Http1Response res, byte[] data, boolean last) {
        Buffer out = c.outputFor(res);
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
            c.finished(res);
        } else {
            c.afterOutput(res);
        }
        res.backlog = res.pendingOut == null ? 0 : res.pendingOut.readableBytes();
    }

    /**
     * Back-pressure for streamed bodies written off the loop: blocks the writing thread (a virtual
     * thread, typically) while more than {@link #STREAM_HIGH_WATER} bytes wait to reach the socket.
     * On the loop it returns at once (the loop must not block; check the connection's queue there).
     */
    void awaitCapacity(Http1Response res) {
        Connection conn = c.connection();
        if (c.inLoop() || conn == null) return;
        synchronized (this) {
            while (!c.isClosing() && posted.get() + conn.queuedBytes() + res.backlog > STREAM_HIGH_WATER) {
                try {
                    wait(20); // woken when the write queue drains; the timeout covers posted bytes
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException("interrupted while waiting for the client to read", e);
                }
            }
        }
    }

    /** The write queue drained or the connection closed: let waiting writers look again. */
    void wakeWriters() {
        synchronized (this) {
            notifyAll();
        }
    }
}
