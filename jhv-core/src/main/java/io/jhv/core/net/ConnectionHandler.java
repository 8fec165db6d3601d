package io.jhv.core.net;

/** Called on the loop thread when a connection comes up and again when it goes down ({@link Connection#isConnected()}). */
@FunctionalInterface
public interface ConnectionHandler {
    void onConnection(Connection conn);
}
