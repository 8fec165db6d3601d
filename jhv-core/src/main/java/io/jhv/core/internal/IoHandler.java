package io.jhv.core.internal;

/** Receives readiness from a {@link Poller}. Called on the loop thread only. */
public interface IoHandler {
    /** {@code readyOps} uses the {@link java.nio.channels.SelectionKey} {@code OP_*} bits. */
    void onIoReady(int readyOps);
}
