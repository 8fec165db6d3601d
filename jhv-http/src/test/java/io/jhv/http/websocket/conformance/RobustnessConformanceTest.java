package io.jhv.http.websocket.conformance;

import io.jhv.http.server.HttpServer;
import io.jhv.http.websocket.Message;
import io.jhv.http.websocket.WebSocket;
import io.jhv.http.websocket.WebSocketConfig;
import io.jhv.http.websocket.WebSocketHandler;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static io.jhv.http.websocket.conformance.Wire.BINARY;
import static io.jhv.http.websocket.conformance.Wire.CONT;
import static io.jhv.http.websocket.conformance.Wire.RSV1;
import static io.jhv.http.websocket.conformance.Wire.TEXT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Robustness cases in the conformance suite's style, against the jhv server with raw clients.
 *
 * <table>
 * <caption>Cases (all 11 pass against the engine of a591108 and bbd0b31)</caption>
 * <tr><th>Section</th><th>What</th><th>Cases</th></tr>
 * <tr><td>9 (limits)</td><td>a message exactly at maxMessageSize passes, one byte over gets 1009: text, binary,
 *     compressed, fragmented</td><td>8</td></tr>
 * <tr><td>12 (deflate bomb)</td><td>~256 KiB inflating to 256 MiB against a server in a 64 MiB heap (limit 4 MiB): 1009, the
 *     child survives, its heap stays bounded, and it keeps serving; the same bomb in small fragments</td><td>2</td></tr>
 * <tr><td>R (vanishing peers)</td><td>200 clients that vanish without a close frame (FIN, RST, mid-frame, mid-message):
 *     onClose 1006 for each, 10 other clients served throughout, a newcomer served after, no connection left behind</td><td>1</td></tr>
 * </table>
 */
@Timeout(120)
class RobustnessConformanceTest {
    HttpServer server;

    @AfterEach
    void stop() {
        if (server != null) server.close(Duration.ofSeconds(2));
    }

    // ================================================================== limits: exactly at, one over

    static final int LIMIT = 65536;

    int limitServer() {
        server = HttpServer.create("127.0.0.1", 0).threads(1)
                .ws("/echo", WebSocketConfig.builder().maxMessageSize(LIMIT).closeTimeout(Duration.ofSeconds(2)).build(), (ws, m) -> ws.send(m))
                .start();
        return server.port();
    }

    static byte[] masked(boolean fin, int rsv, int op, byte[] p) {
        return Wire.frame(fin, rsv, op, p, true);
    }

    @ParameterizedTest(name = "case_9_R_1: {0} exactly at the limit passes")
    @ValueSource(strings = {"text", "binary", "compressed", "fragmented"})
    void case_9_R_1_messageExactlyAtLimitPasses(String kind) throws Exception {
        int port = limitServer();
        // compressible for "compressed": its wire frame must stay within the frame limit too
        byte[] m = kind.equals("text") ? Wire.repeat("é", LIMIT) : kind.equals("compressed") ? Wire.repeat("zip", LIMIT) : Wire.random(LIMIT, 91);
        String offer = kind.equals("compressed") ? "Sec-WebSocket-Extensions: permessage-deflate" : "X-None: 1";
        try (RawWsClient c = RawWsClient.open(port, "/echo", offer)) {
            c.send(bytesOf(c, kind, m));
            c.expectEcho(kind.equals("text") ? TEXT : BINARY, m);
        }
    }

    @ParameterizedTest(name = "case_9_R_2: {0} one byte over the limit gets 1009")
    @ValueSource(strings = {"text", "binary", "compressed", "fragmented"})
    void case_9_R_2_messageOneByteOverLimitIs1009(String kind) throws Exception {
        int port = limitServer();
        byte[] m = kind.equals("text") ? Wire.repeat("a", LIMIT + 1) : kind.equals("compressed") ? Wire.repeat("zip", LIMIT + 1) : Wire.random(LIMIT + 1, 92);
        String offer = kind.equals("compressed") ? "Sec-WebSocket-Extensions: permessage-deflate" : "X-None: 1";
        try (RawWsClient c = RawWsClient.open(port, "/echo", offer)) {
            try {
                c.send(bytesOf(c, kind, m));
            } catch (IOException closedEarly) {
                // the server may refuse from the header on and close before reading it all
            }
            c.expectClose(1009);
        }
    }

    private static byte[] bytesOf(RawWsClient c, String kind, byte[] m) {
        return switch (kind) {
            case "text" -> masked(true, 0, TEXT, m);
            case "binary" -> masked(true, 0, BINARY, m);
            case "compressed" -> c.compressedFrame(BINARY, m);
            default -> {
                ByteArrayOutputStream all = new ByteArrayOutputStream();
                for (int i = 0; i < m.length; i += 1000) {
                    all.writeBytes(masked(i + 1000 >= m.length, 0, i == 0 ? BINARY : CONT, Wire.slice(m, i, Math.min(m.length, i + 1000))));
                }
                yield all.toByteArray();
            }
        };
    }

    // ================================================================== deflate bomb

    private static byte[] bomb;

    static synchronized byte[] bomb() {
        if (bomb == null) bomb = Wire.deflateBomb(256L << 20); // 4x the child heap, 64x its message limit
        return bomb;
    }

    static long heapOf(RawWsClient c) throws IOException {
        c.text("heap");
        return Long.parseLong(c.next().text());
    }

    @ParameterizedTest(name = "case_12_R_1: deflate bomb in fragments of {0} bytes (0: one frame)")
    @ValueSource(ints = {0, 65536})
    void case_12_R_1_deflateBombStopsAtLimitWithBoundedHeap(int fragment) throws Exception {
        byte[] bomb = bomb(); // 256 MiB of zeros
        assertTrue(bomb.length < 512 << 10, "bomb is " + bomb.length + " bytes");
        try (ForkedWsServer.Child child = ForkedWsServer.start(List.of("-Xmx64m", "-XX:+ExitOnOutOfMemoryError"))) {
            long before;
            try (RawWsClient probe = RawWsClient.open(child.port(), "/echo")) {
                before = heapOf(probe);
            }
            try (RawWsClient c = RawWsClient.open(child.port(), "/echo", "Sec-WebSocket-Extensions: permessage-deflate")) {
                assertNotNull(c.pmd);
                c.socket.setSoTimeout(30000);
                byte[] wire;
                if (fragment == 0) {
                    wire = masked(true, RSV1, BINARY, bomb);
                } else {
                    ByteArrayOutputStream all = new ByteArrayOutputStream();
                    for (int i = 0; i < bomb.length; i += fragment) {
                        all.writeBytes(masked(i + fragment >= bomb.length, i == 0 ? RSV1 : 0, i == 0 ? BINARY : CONT,
                                Wire.slice(bomb, i, Math.min(bomb.length, i + fragment))));
                    }
                    wire = all.toByteArray();
                }
                try {
                    c.sendInChunks(wire, 65536);
                } catch (IOException closedEarly) {
                    // the server stopped reading at the limit
                }
                c.expectClose(1009);
            }
            assertTrue(child.process().isAlive(), () -> "the server died: " + child.output());
            try (RawWsClient after = RawWsClient.open(child.port(), "/echo", "Sec-WebSocket-Extensions: permessage-deflate")) {
                byte[] m = Wire.repeat("still serving ", 1000);
                after.send(after.compressedFrame(TEXT, m));
                after.expectEcho(TEXT, m);
                long heap = heapOf(after);
                System.out.printf("deflate bomb %d bytes -> 256 MiB, fragments %d: child heap before %d KiB, after %d KiB%n",
                        bomb.length, fragment, before >> 10, heap >> 10);
                assertTrue(heap < before + (16L << 20), "heap in use after the bomb: " + heap + " (before: " + before + ")");
            }
        }
    }

    // ================================================================== vanishing clients

    @Test
    void case_R_1_twoHundredClientsVanishWithoutCloseFrame() throws Exception {
        int n = 200;
        Map<Integer, Integer> codes = new ConcurrentHashMap<>();
        CountDownLatch closed = new CountDownLatch(n);
        AtomicInteger opened = new AtomicInteger();
        server = HttpServer.create("127.0.0.1", 0)
                .ws("/echo", WebSocketConfig.builder().closeTimeout(Duration.ofSeconds(2)).build(), new WebSocketHandler() {
                    @Override
                    public void onOpen(WebSocket ws, io.jhv.http.websocket.Handshake h) {
                        String id = h.header("X-Id");
                        ws.context(id == null ? null : Integer.valueOf(id));
                        opened.incrementAndGet();
                    }

                    @Override
                    public void onMessage(WebSocket ws, Message m) {
                        ws.send(m);
                    }

                    @Override
                    public void onClose(WebSocket ws, int code, String reason) {
                        Integer id = ws.context();
                        if (id != null && codes.put(id, code) == null) closed.countDown();
                    }
                })
                .start();
        List<RawWsClient> clients = new ArrayList<>();
        List<RawWsClient> stayers = new ArrayList<>();
        try {
            for (int i = 0; i < 10; i++) stayers.add(RawWsClient.open(server.port(), "/echo")); // they stay through it all
            for (int i = 0; i < n; i++) {
                RawWsClient c = RawWsClient.open(server.port(), "/echo", "X-Id: " + i);
                c.text("hello " + i);
                clients.add(c);
            }
            for (int i = 0; i < n; i++) clients.get(i).expectEcho("hello " + i);
            for (int i = 0; i < n; i++) {
                RawWsClient c = clients.get(i);
                if (i % 20 == 0) { // the others are served while peers vanish around them
                    RawWsClient s = stayers.get(i / 20);
                    s.text("meanwhile " + i);
                    s.expectEcho("meanwhile " + i);
                }
                switch (i % 4) {
                    case 0 -> c.close(); // FIN, no close frame
                    case 1 -> { // RST
                        c.socket.setSoLinger(true, 0);
                        c.close();
                    }
                    case 2 -> { // in the middle of a frame
                        c.send(Wire.slice(masked(true, 0, BINARY, new byte[500]), 0, 50));
                        c.close();
                    }
                    default -> { // in the middle of a fragmented message, then RST
                        c.send(masked(false, 0, TEXT, Wire.utf8("part one")));
                        c.socket.setSoLinger(true, 0);
                        c.close();
                    }
                }
            }
            assertTrue(closed.await(30, TimeUnit.SECONDS), () -> "onClose for " + (n - closed.getCount()) + " of " + n);
            assertEquals(n, codes.size());
            assertTrue(codes.values().stream().allMatch(code -> code == 1006), () -> "codes other than 1006: " + codes);
            // still serving: the ones that stayed, and a newcomer
            for (RawWsClient s : stayers) {
                s.send(Wire.frame(true, 0, BINARY, Wire.random(70000, 7), true));
                s.expectEcho(BINARY, Wire.random(70000, 7));
                s.close(1000, "");
                s.expectClose(1000);
            }
            try (RawWsClient c = RawWsClient.open(server.port(), "/echo")) {
                c.text("after the storm");
                c.expectEcho("after the storm");
                c.close(1000, "");
                c.expectClose(1000);
            }
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (!server.connections().isEmpty() && System.nanoTime() < deadline) Thread.onSpinWait();
            assertEquals(List.of(), server.connections(), "connections left behind");
        } finally {
            for (RawWsClient c : clients) c.close();
            for (RawWsClient c : stayers) c.close();
        }
    }
}
