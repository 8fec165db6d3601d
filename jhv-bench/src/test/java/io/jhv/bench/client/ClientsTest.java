package io.jhv.bench.client;

import io.jhv.bench.peer.NettyHttpServer;
import io.jhv.bench.peer.NettyTransport;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Each client of the client harness makes requests correctly (the status and body reach the
 * harness; a 404 is reported as a 404), with several in flight on its pool, and the load loop
 * counts them. Against the Netty plaintext peer on 127.0.0.1; functional only, no load.
 */
@Timeout(value = 20, unit = TimeUnit.SECONDS)
class ClientsTest {
    static NettyHttpServer server;

    @BeforeAll
    static void start() throws Exception {
        server = NettyHttpServer.start("127.0.0.1", 0, NettyTransport.NIO);
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    @ParameterizedTest
    @ValueSource(strings = {"jhv", "jhv-cb", "jdk", "okhttp", "vertx", "netty"})
    void clientGetsPlaintextAnd404(String name) throws Exception {
        String base = "http://127.0.0.1:" + server.port();
        try (LoadClient c = LoadClient.create(name, base + "/plaintext", 4)) {
            assertEquals(name, c.name());
            assertEquals(0, ClientLoad.fetch(c, 20, 4, 200, 13), name + ": every answer is 200 with 13 bytes");
        }
        try (LoadClient c = LoadClient.create(name, base + "/nope", 2)) {
            assertEquals(0, ClientLoad.fetch(c, 3, 2, 404, 0), name + ": a 404 is a 404 with an empty body");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"jhv", "jhv-cb", "netty"})
    void loadLoopKeepsRequestsInFlightAndStops(String name) throws Exception {
        try (LoadClient c = LoadClient.create(name, "http://127.0.0.1:" + server.port() + "/plaintext", 8)) {
            ClientLoad load = new ClientLoad(c, 200, 13);
            load.start(8);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (load.ok() < 200 && System.nanoTime() < deadline) Thread.sleep(5);
            load.stop();
            assertTrue(load.ok() >= 200, name + ": " + load.ok() + " answered");
            assertEquals(0, load.errors(), name + ": " + load.lastError());
        }
    }
}
