package io.jhv.core.internal;

import io.jhv.core.buffer.Buffer;

/**
 * The package-private part of {@link Buffer} the connection code needs (see {@link LoopAccess} for
 * the idea). Same thread contract as the buffer.
 */
public interface BufferAccess {

    /**
     * Points {@code view} at {@code array[offset, offset+length)} (reader index at the start, writer
     * index at the end) without allocating: one view object serves every frame an unpacker cuts.
     */
    Buffer rewrap(Buffer view, byte[] array, int offset, int length);
}
