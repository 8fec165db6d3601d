package io.jhv.core.loop;

import io.jhv.core.buffer.Buffer;

import java.nio.ByteBuffer;

/**
 * A loop's one read buffer, which every socket on the loop reads into, and the heap
 * {@link ByteBuffer} view a channel read fills. Allocated at the first read. Loop-thread only; for
 * the transports of this library (through {@link LoopBridge}).
 */
final class ReadBuffer {
    private final int size;
    private Buffer buffer;
    private ByteBuffer nio;

    ReadBuffer(int size) {
        this.size = size;
    }

    /** The buffer; its content is valid until the next read on this loop. */
    Buffer buffer() {
        Buffer b = buffer;
        if (b == null) buffer = b = Buffer.allocate(size);
        return b;
    }

    /**
     * A heap {@link ByteBuffer} over {@link #buffer()}'s array, positioned at its writer index with
     * the limit at its capacity, for a channel read.
     */
    ByteBuffer nioBuffer() {
        Buffer b = buffer();
        ByteBuffer n = nio;
        if (n == null || n.array() != b.array()) nio = n = ByteBuffer.wrap(b.array());
        n.limit(b.capacity()).position(b.writerIndex());
        return n;
    }
}
