package io.jhv.core.internal;

/** Receives readiness from a {@link Poller}. Called on the loop thread only. */
public interface IoHandler {
    /** {@code readyOps} uses the {@link Poller} bits ({@link Poller#READ}, {@link Poller#WRITE}, ...). */
    void onIoReady(int readyOps);

    /**
     * Called, on the loop thread, after {@link #onIoReady} threw {@code failure} (which the poller has
     * already reported): the handler's state is unknown now, so a connection closes itself here. The
     * default does nothing (a listener stays open). Must not throw; if it does, that is reported too.
     */
    default void onIoFailure(Throwable failure) {}
}
