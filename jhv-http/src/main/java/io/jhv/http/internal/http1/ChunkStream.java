package io.jhv.http.internal.http1;

import io.jhv.http.server.Response.ChunkedWriter;

import java.nio.charset.StandardCharsets;

/**
 * The body writer of a streamed response ({@code Response.stream()}): each write is one chunk,
 * handed to the connection's {@link StreamFlow}; a writer off the loop waits while too much is
 * outstanding. Any thread; close once.
 */
final class ChunkStream implements ChunkedWriter {
    private final Http1Response res;
    private volatile boolean closed;

    ChunkStream(Http1Response res) {
        this.res = res;
    }

    @Override
    public ChunkedWriter write(byte[] data) {
        if (closed) throw new IllegalStateException("stream closed");
        if (data.length > 0) {
            res.conn.stream.awaitCapacity(res);
            res.conn.stream.chunk(res, data.clone(), false);
        }
        return this;
    }

    @Override
    public ChunkedWriter write(String data) {
        return write(data.getBytes(StandardCharsets.UTF_8));
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        res.conn.stream.chunk(res, null, true);
    }
}
