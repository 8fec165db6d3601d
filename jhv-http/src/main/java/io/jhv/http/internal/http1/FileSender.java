package io.jhv.http.internal.http1;

import io.jhv.core.net.Connection;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;

/**
 * Sends the file body of the response first in line. On plain TCP the connection sends the region
 * with sendfile (nothing passes through the heap); with TLS, or embedded, the file is read in
 * chunks while the write queue is short, resuming on write-complete. Made the first time a
 * connection sends a file through the heap, then kept. Loop thread only.
 */
final class FileSender {
    private static final System.Logger LOG = System.getLogger(HttpConnection.class.getName());
    private static final int FILE_CHUNK = 64 * 1024;
    private static final long FILE_QUEUE_LIMIT = 256 * 1024;

    private final HttpConnection c;
    private FileChannel ch;
    private long pos, left;

    private FileSender(HttpConnection c) {
        this.c = c;
    }

    /** True while a file goes out in chunks: the responses behind it wait. */
    boolean busy() {
        return ch != null;
    }

    /**
     * Starts sending {@code res}'s file (its head has gone out). Returns the sender that is now busy
     * ({@code current}, or a new one), or {@code current} if the file was handed to the socket whole.
     */
    static FileSender start(HttpConnection c, FileSender current, Http1Response res) {
        c.flushBatch();
        Connection conn = c.connection();
        if (conn != null && !conn.isSecure()) {
            // Plain TCP: the connection sends the region with sendfile, in order after the head,
            // counted in its write queue (so back-pressure applies); nothing passes through the heap.
            // The response opened the file before its head was written; the connection owns it now.
            FileChannel fc = res.takeFile();
            try {
                conn.sendFile(fc, res.fileOffset, res.fileLength, true);
            } catch (IllegalStateException e) { // closing
                try {
                    fc.close();
                } catch (IOException ignored) {
                    // read-only
                }
                c.abortConnection(); // the head promised a body we cannot send
                return current;
            }
            res.markDone();
            return current;
        }
        FileSender s = current != null ? current : new FileSender(c);
        s.ch = res.takeFile();
        s.pos = res.fileOffset;
        s.left = res.fileLength;
        s.pump();
        return s;
    }

    /**
     * With TLS (bytes must be encrypted in the JVM): sends the next part of the file while the write
     * queue is short; resumes on write-complete.
     */
    void pump() {
        FileChannel fc = ch;
        if (fc == null || c.isClosing()) return;
        Connection conn = c.connection();
        try {
            while (left > 0 && (conn == null || conn.queuedBytes() < FILE_QUEUE_LIMIT)) {
                int n = (int) Math.min(FILE_CHUNK, left);
                ByteBuffer bb = ByteBuffer.allocate(n);
                while (bb.hasRemaining()) {
                    int r = fc.read(bb, pos + bb.position());
                    if (r < 0) throw new IOException("file shorter than announced");
                }
                bb.flip();
                pos += n;
                left -= n;
                if (conn == null) c.embeddedOut.write(bb);
                else conn.write(bb);
            }
        } catch (IOException | IllegalStateException e) {
            LOG.log(System.Logger.Level.DEBUG, conn + " file send stopped: " + e);
            close();
            c.abortConnection();
            return;
        }
        if (left == 0) {
            close();
            c.fileSent();
        }
    }

    /** Stops sending (the file is done or the connection closed). */
    void close() {
        FileChannel fc = ch;
        ch = null;
        if (fc != null) {
            try {
                fc.close();
            } catch (IOException ignored) {
                // read-only channel
            }
        }
    }
}
