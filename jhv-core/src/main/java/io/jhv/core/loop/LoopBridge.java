package io.jhv.core.loop;

import io.jhv.core.buffer.Buffer;
import io.jhv.core.internal.LoopAccess;
import io.jhv.core.internal.Poller;
import io.jhv.core.internal.Transport;

import java.nio.ByteBuffer;

/**
 * The {@link LoopAccess} bridge: what the transports of this library need of an {@link EventLoop}
 * and applications must not use, reached through {@code Internals.loops()} (installed by
 * {@code EventLoop}'s static initializer). Thread contract as in {@link LoopAccess}.
 */
final class LoopBridge implements LoopAccess {
    @Override public Transport transport(EventLoop loop) { return loop.transport(); }
    @Override public Poller poller(EventLoop loop) { return loop.poller; }
    @Override public Buffer readBuffer(EventLoop loop) { return loop.readBuffer.buffer(); }
    @Override public ByteBuffer readNioBuffer(EventLoop loop) { return loop.readBuffer.nioBuffer(); }
    @Override public void addLoad(EventLoop loop, int delta) { loop.addLoad(delta); }
    @Override public void reportError(EventLoop loop, Throwable t) { loop.errors.report(t); }
}
