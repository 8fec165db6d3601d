package io.jhv.http.websocket;

import io.jhv.http.server.HttpServer;
import org.junit.jupiter.api.AfterEach;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * For WebSocket tests: the {@link #server} a test starts and what it puts in {@link #closeLater}
 * (clients, raw sockets) are closed after it, the clients first, each on a best-effort basis.
 */
abstract class WsServerClosedAfterEach {
    HttpServer server;
    final List<AutoCloseable> closeLater = new ArrayList<>();

    @AfterEach
    void closeServerAndClients() {
        for (AutoCloseable c : closeLater) {
            try {
                c.close();
            } catch (Exception ignored) {
                // best effort: the test is over
            }
        }
        if (server != null) server.close(Duration.ofSeconds(2));
    }
}
