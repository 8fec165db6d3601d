package io.jhv.core.net;

import io.jhv.core.internal.StreamSocket;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.util.ArrayDeque;
import java.util.Arrays;

/**
 * A connection's socket bytes waiting to be written, in order (heap buffers and file regions), and
 * the {@link WriteListener}s waiting for them: one job, the order and the accounting; the policy
 * (interest, water marks, closing) stays with {@link Connection}. Loop thread only, except
 * {@link #queuedBytes()}.
 *
 * <p>Completion works on two running totals of socket bytes: {@code accepted} (handed to the
 * socket or queued) and {@code written} (taken by the socket). A listener waits for the
 * {@code accepted} total right after its write; it is due once {@code written} reaches it. Without
 * listeners this costs two additions per write and allocates nothing.
 */
final class WriteQueue {
    private static final int MAX_GATHER = 64;

    /**
     * The most bytes one write call is given from heap buffers. The JDK copies a heap buffer into a
     * temporary native buffer of the size it is handed and caches it per thread for good: a 50 MiB
     * response written in one call left the loop holding 64 MiB of native memory for ever (seen as
     * resident memory that never came back; HeapExhaustionTest). Gathering writes are capped too.
     */
    static final int MAX_WRITE = 256 * 1024;

    private final ArrayDeque<Object> items = new ArrayDeque<>(4); // ByteBuffer or FileRegion, in write order
    private volatile long queuedBytes;
    private long maxQueuedBytes;
    private ByteBuffer[] gather;

    private long accepted;
    private long written;
    // Listeners in write order; a target of -1 is not known yet (the write waits in the transport
    // layer, before its handshake): resolve() fixes it once the layer has handed the bytes on.
    private ArrayDeque<Waiting> waiting;

    private static final class Waiting {
        long target;
        final WriteListener listener;

        Waiting(long target, WriteListener listener) {
            this.target = target;
            this.listener = listener;
        }
    }

    boolean isEmpty() { return items.isEmpty(); }

    long queuedBytes() { return queuedBytes; }

    /** Bytes the socket has taken so far (a recent value from another thread). */
    long writtenBytes() { return written; }

    long maxQueuedBytes() { return maxQueuedBytes; }

    /** {@code bytes} of socket data enter the write path (written now or queued). */
    void accept(long bytes) { accepted += bytes; }

    /** Appends {@code item} (already {@link #accept accepted}); returns the bytes queued now. */
    long add(Object item, long bytes) {
        items.add(item);
        long q = queuedBytes + bytes;
        queuedBytes = q;
        if (q > maxQueuedBytes) maxQueuedBytes = q;
        return q;
    }

    /** Writes what the socket takes of {@code b} now (the queue is empty), at most {@link #MAX_WRITE} bytes a call. */
    long writeNow(StreamSocket ch, ByteBuffer b) throws IOException {
        long n = writeSome(ch, b);
        written += n;
        return n;
    }

    /** Sends what the socket takes of a file region now (the queue is empty). */
    long sendNow(StreamSocket ch, FileRegion fr) throws IOException {
        long n = fr.transferTo(ch);
        if (n > 0) written += n;
        return n;
    }

    private static long writeSome(StreamSocket ch, ByteBuffer b) throws IOException {
        if (b.isDirect() || b.remaining() <= MAX_WRITE) return ch.write(b);
        long total = 0;
        int limit = b.limit();
        try {
            while (b.position() < limit) {
                int slice = Math.min(MAX_WRITE, limit - b.position());
                b.limit(b.position() + slice);
                int n = ch.write(b);
                total += n;
                if (n < slice) break; // the socket is full
            }
        } finally {
            b.limit(limit);
        }
        return total;
    }

    /**
     * Writes from the head of the queue what the socket takes in one call: a gathering write of
     * the leading buffers, or a sendfile of a leading file region. Returns the bytes written. On an
     * IOException nothing is lost from the queue (it is released with {@link #clear}).
     */
    long flush(StreamSocket ch) throws IOException {
        if (gather == null) gather = new ByteBuffer[MAX_GATHER];
        ByteBuffer[] g = gather;
        // Take the head of the queue out and put back what was not written: no iterator, so a
        // writable event allocates nothing.
        int k = 0;
        long gathered = 0;
        while (k < MAX_GATHER && gathered < MAX_WRITE && items.peekFirst() instanceof ByteBuffer b) {
            if (k > 0 && gathered + b.remaining() > MAX_WRITE) break; // see MAX_WRITE
            items.pollFirst();
            g[k++] = b;
            gathered += b.remaining();
        }
        long n;
        try {
            if (k == 0) {
                // a file region is first in line: sendfile it, then (next event) what follows
                FileRegion fr = (FileRegion) items.peekFirst();
                n = fr.transferTo(ch);
                if (fr.remaining == 0) {
                    items.pollFirst();
                    fr.release();
                }
            } else {
                n = k == 1 ? writeSome(ch, g[0]) : ch.write(g, 0, k);
            }
        } catch (IOException e) {
            for (int i = k - 1; i >= 0; i--) items.addFirst(g[i]);
            Arrays.fill(g, 0, k, null);
            throw e;
        }
        for (int i = k - 1; i >= 0; i--) if (g[i].hasRemaining()) items.addFirst(g[i]);
        Arrays.fill(g, 0, k, null);
        if (n > 0) {
            queuedBytes -= n;
            written += n;
        }
        return n;
    }

    /** Drops what is queued (the connection closed); file regions are released. */
    void clear() {
        for (Object o : items) if (o instanceof FileRegion fr) fr.release();
        items.clear();
        queuedBytes = 0;
    }

    // ---------------------------------------------------------------- completion

    /**
     * Waits for the bytes accepted so far and {@code more} bytes about to be accepted; with
     * {@code more < 0}, for bytes the transport layer still holds (see {@link #resolve}).
     */
    void listen(WriteListener l, long more) {
        if (waiting == null) waiting = new ArrayDeque<>(4);
        waiting.add(new Waiting(more < 0 ? -1 : accepted + more, l));
    }

    /** True if any listener waits. */
    boolean hasWaiting() { return waiting != null && !waiting.isEmpty(); }

    /** True if a listener waits for bytes not yet handed on by the transport layer. */
    boolean hasUnresolved() {
        return waiting != null && !waiting.isEmpty() && waiting.peekLast().target < 0;
    }

    /** The transport layer has handed on every byte written to it: those listeners wait for them now. */
    void resolve() {
        if (waiting == null) return;
        for (Waiting w : waiting) if (w.target < 0) w.target = accepted;
    }

    /**
     * Calls the listeners whose bytes were all written, in order. Not re-entered: a listener that
     * writes again (the next chunk of a stream) and whose write the socket takes at once would
     * otherwise run the next listener inside itself, and a long stream would overflow the stack;
     * the loop already running here calls it right after the current listener returns.
     */
    void completeDue(Connection c) {
        ArrayDeque<Waiting> q = waiting;
        if (q == null || completing) return;
        completing = true;
        try {
            Waiting w;
            while ((w = q.peekFirst()) != null && w.target >= 0 && w.target <= written) {
                q.pollFirst();
                c.writeDone(w.listener, null);
            }
        } finally {
            completing = false;
        }
    }

    private boolean completing; // completeDue is calling listeners

    /** The connection closed: every listener still waiting is told why. */
    void failAll(Connection c, Throwable why) {
        ArrayDeque<Waiting> q = waiting;
        if (q == null) return;
        Waiting w;
        while ((w = q.pollFirst()) != null) c.writeDone(w.listener, why);
    }

    /** A part of a file waiting in the write queue. */
    static final class FileRegion {
        final FileChannel file;
        long position;
        long remaining;
        final boolean closeWhenDone;

        FileRegion(FileChannel file, long position, long count, boolean closeWhenDone) {
            this.file = file;
            this.position = position;
            this.remaining = count;
            this.closeWhenDone = closeWhenDone;
        }

        /** Sends what the socket takes now; returns the bytes sent. */
        long transferTo(StreamSocket ch) throws IOException {
            long n = ch.transferFrom(file, position, remaining);
            if (n <= 0 && remaining > 0 && position >= file.size()) throw new IOException("file shorter than the region to send");
            position += n;
            remaining -= n;
            return n;
        }

        void release() {
            if (!closeWhenDone) return;
            try {
                file.close();
            } catch (IOException ignored) {
                // read-only use; nothing to recover
            }
        }
    }
}
