package io.jhv.http.internal.http1;

import io.jhv.core.buffer.Buffer;

/**
 * The output of one read batch: every response finished while a read is processed goes out in one
 * write. One per loop thread, so an idle connection does not keep 16 KiB; it is lent to one
 * connection at a time. A handler on connection A may finish a response of connection B (a chat
 * "publish"), and B may then run its next requests while A's batch is open: B finds the buffer
 * lent and writes straight to its own socket, so A's bytes can never leave on B's. Loop thread only.
 */
final class OutputBatch {
    private static final int SIZE = 16 * 1024;
    /** A batch grown above this (many pipelined answers) is dropped after use, not kept by the loop. */
    private static final int KEEP = 256 * 1024;
    private static final ThreadLocal<OutputBatch> BATCHES = ThreadLocal.withInitial(OutputBatch::new);

    Buffer buf = Buffer.allocate(SIZE);
    private HttpConnection owner;

    private OutputBatch() {}

    /** This thread's batch, now lent to {@code c}; null if another connection holds it. */
    static OutputBatch lend(HttpConnection c) {
        OutputBatch b = BATCHES.get();
        if (b.owner != null) return null;
        b.owner = c;
        return b;
    }

    /** Gives the buffer back to the loop (a grown one is dropped: memory is not kept for ever). */
    void giveBack() {
        buf.clear();
        if (buf.capacity() > KEEP) buf = Buffer.allocate(SIZE);
        owner = null;
    }
}
