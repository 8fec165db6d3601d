package io.jhv.http.internal.client;

import io.jhv.core.loop.EventLoop;
import io.jhv.core.net.Connection;
import io.jhv.core.net.WriteListener;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.util.concurrent.Flow;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.Semaphore;

/**
 * Sends a request body that is not in memory (an {@code InputStream}, a file over TLS, a
 * publisher) with back-pressure: at most {@link #WINDOW} chunks are between the source and the
 * socket; the next is read (or requested) only when one has reached the socket. The source is never
 * read faster than the connection drains. Chunks go to the loop, which writes them
 * ({@link ClientConnection#pumpChunk}); the pump is a {@link WriteListener} of each chunk.
 */
abstract class BodyPump implements WriteListener {
    static final int WINDOW = 4;
    static final int CHUNK = 16 << 10;

    final ClientConnection owner;
    final EventLoop loop;
    final boolean chunked;
    /** The declared length ({@code Content-Length}), or -1 when sent chunked. */
    final long length;
    /** Bytes handed to the connection so far (loop thread). */
    long sent;
    /** Fixed length: chunks handed to the connection, and those that reached the socket (loop thread). */
    int chunks, flushed;
    volatile boolean cancelled;

    BodyPump(ClientConnection owner, long length) {
        this.owner = owner;
        this.loop = owner.conn.loop();
        this.chunked = length < 0;
        this.length = length;
    }

    /** Starts pumping {@code body}, declared as {@code length} bytes (-1: chunked). Loop thread. */
    static BodyPump start(ClientConnection owner, RequestBody body, long length) {
        boolean chunked = length < 0;
        BodyPump p;
        if (body instanceof RequestBody.PublisherBody pb) {
            p = new PublisherPump(owner, pb.publisher, length);
        } else if (body instanceof RequestBody.StreamBody sb) {
            p = new StreamPump(owner, () -> sb.stream, length);
        } else if (body instanceof RequestBody.Pieces pc) {
            p = new StreamPump(owner, pc::open, length);
        } else if (body instanceof RequestBody.FileBody fb) {
            p = new StreamPump(owner, () -> Files.newInputStream(fb.path), length);
        } else {
            throw new IllegalArgumentException("no pump for " + body);
        }
        p.begin();
        return p;
    }

    abstract void begin();

    /** A chunk reached the socket (or was empty). Loop thread. */
    abstract void written();

    /** The exchange ended early: stop reading the source. Loop thread. */
    void cancel() {
        cancelled = true;
    }

    @Override
    public void onWriteDone(Connection c, Throwable failure) {
        if (failure != null) {
            cancel();
            return; // the connection closed: the exchange fails through its close
        }
        written();
        if (!chunked) {
            flushed++;
            owner.pumpFlushed(this);
        }
    }

    void post(Runnable r) {
        try {
            loop.execute(r);
        } catch (RejectedExecutionException stopped) {
            cancelled = true;
        }
    }

    interface Opener {
        InputStream open() throws IOException;
    }

    /**
     * Reads an InputStream on a virtual thread; a permit per chunk in flight. The chunks cycle
     * through {@link #WINDOW} arrays: chunk k takes a permit only once chunk k - WINDOW reached the
     * socket (writes complete in order), so its array is free again, and a body of any size costs
     * {@code WINDOW * CHUNK} bytes of buffers.
     */
    static final class StreamPump extends BodyPump {
        private final Opener opener;
        private final Semaphore credit = new Semaphore(WINDOW);
        private volatile Thread reader;
        private volatile InputStream in;

        StreamPump(ClientConnection owner, Opener opener, long length) {
            super(owner, length);
            this.opener = opener;
        }

        @Override
        void begin() {
            reader = Thread.ofVirtual().name("jhv-http-body").start(this::run);
        }

        private void run() {
            byte[][] bufs = new byte[WINDOW][];
            int k = 0;
            try (InputStream s = opener.open()) {
                in = s;
                while (!cancelled) {
                    credit.acquire();
                    if (cancelled) return;
                    byte[] buf = bufs[k];
                    if (buf == null) buf = bufs[k] = new byte[CHUNK];
                    k = (k + 1) % WINDOW;
                    int n = s.readNBytes(buf, 0, CHUNK);
                    if (n <= 0) break;
                    ByteBuffer data = ByteBuffer.wrap(buf, 0, n);
                    post(() -> owner.pumpChunk(this, data, chunked));
                    if (n < CHUNK) break;
                }
                if (!cancelled) post(() -> owner.pumpDone(this, chunked));
            } catch (InterruptedException e) {
                // cancelled
            } catch (IOException | RuntimeException e) {
                if (!cancelled) post(() -> owner.pumpFailed(this, e));
            }
        }

        @Override
        void written() {
            credit.release();
        }

        @Override
        void cancel() {
            super.cancel();
            credit.release();
            Thread t = reader;
            if (t != null) t.interrupt();
        }
    }

    /** Requests from a publisher as chunks drain. */
    static final class PublisherPump extends BodyPump implements Flow.Subscriber<ByteBuffer> {
        private final Flow.Publisher<ByteBuffer> publisher;
        private Flow.Subscription subscription; // loop thread after onSubscribe arrives there

        PublisherPump(ClientConnection owner, Flow.Publisher<ByteBuffer> publisher, long length) {
            super(owner, length);
            this.publisher = publisher;
        }

        @Override
        void begin() {
            try {
                publisher.subscribe(this);
            } catch (RuntimeException e) {
                post(() -> owner.pumpFailed(this, e));
            }
        }

        @Override
        public void onSubscribe(Flow.Subscription s) {
            post(() -> {
                subscription = s;
                if (cancelled) s.cancel();
                else s.request(WINDOW);
            });
        }

        @Override
        public void onNext(ByteBuffer item) {
            post(() -> owner.pumpChunk(this, item, chunked));
        }

        @Override
        public void onError(Throwable t) {
            post(() -> owner.pumpFailed(this, t));
        }

        @Override
        public void onComplete() {
            post(() -> owner.pumpDone(this, chunked));
        }

        @Override
        void written() {
            if (subscription != null && !cancelled) subscription.request(1);
        }

        @Override
        void cancel() {
            super.cancel();
            if (subscription != null) subscription.cancel();
        }
    }
}
