package io.jhv.core.net;

/** Called on the loop thread exactly once per connection, when it has closed, with the cause. */
@FunctionalInterface
public interface CloseHandler {
    void onClose(Connection conn, CloseCause cause);
}
