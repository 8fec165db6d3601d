package io.jhv.core.net;

/**
 * Called on the loop thread when a connection's write queue crosses the high-water mark
 * ({@code writable == false}) and when it drains below the low-water mark again ({@code true}).
 */
@FunctionalInterface
public interface WritableHandler {
    void onWritable(Connection conn, boolean writable);
}
