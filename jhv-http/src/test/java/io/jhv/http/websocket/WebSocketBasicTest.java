package io.jhv.http.websocket;

import io.jhv.core.net.ReconnectPolicy;
import io.jhv.http.server.HttpServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpClient;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/** The server and the client end to end, and the JDK's WebSocket client as an independent peer. */
class WebSocketBasicTest {

    private HttpServer server;

    @AfterEach
    void stop() {
        if (server != null) server.close();
    }

    private int start(WebSocketConfig cfg, WebSocketHandler h) {
        server = HttpServer.create("127.0.0.1", 0).threads(1).ws("/echo", cfg, h).ws("/room/:name", cfg, h).start();
        return server.port();
    }

    /** Records what a client hears. */
    static class Recorder implements WebSocketHandler {
        final BlockingQueue<Object> messages = new LinkedBlockingQueue<>();
        final CompletableFuture<int[]> closed = new CompletableFuture<>();
        final List<Throwable> errors = new ArrayList<>();
        volatile Handshake handshake;

        @Override public void onOpen(WebSocket ws, Handshake hs) { handshake = hs; }
        @Override public void onMessage(WebSocket ws, Message m) { messages.add(m.isText() ? m.text() : m.bytes()); }
        @Override public void onError(WebSocket ws, Throwable e) { errors.add(e); System.err.println("client error " + e); }
        @Override public void onClose(WebSocket ws, int code, String reason) { System.err.println("client closed " + code + " " + reason); closed.complete(new int[] {code}); }

        Object next() throws InterruptedException {
            Object o = messages.poll(10, TimeUnit.SECONDS);
            assertNotNull(o, "no message within 10 s; errors: " + errors + ", closed: " + (closed.isDone() ? closed.join()[0] : "no"));
            return o;
        }
    }

    @Test
    void echoTextAndBinaryWithAndWithoutCompression() throws Exception {
        for (boolean deflate : new boolean[] {false, true}) {
            WebSocketConfig cfg = WebSocketConfig.builder().compression(deflate).compressionThreshold(0).build();
            int port = start(cfg, (ws, msg) -> ws.send(msg));
            Recorder r = new Recorder();
            WebSocket ws = WebSocketClient.create("ws://127.0.0.1:" + port + "/echo").config(cfg).handler(r).connect().get(10, TimeUnit.SECONDS);
            assertEquals(deflate, ws.isCompressed());
            ws.send("héllo wörld ✓");
            assertEquals("héllo wörld ✓", r.next());
            byte[] big = new byte[3 << 20];
            for (int i = 0; i < big.length; i++) big[i] = (byte) (i * 31 + (i >> 10));
            ws.send(big.clone());
            assertArrayEquals(big, (byte[]) r.next());
            ws.send("");
            assertEquals("", r.next());
            for (int i = 0; i < 200; i++) ws.send("m" + i);
            for (int i = 0; i < 200; i++) assertEquals("m" + i, r.next());
            ws.close(4001, "bye");
            assertEquals(4001, r.closed.get(10, TimeUnit.SECONDS)[0]);
            assertTrue(r.errors.isEmpty(), r.errors.toString());
            server.close();
            server = null;
        }
    }

    @Test
    void jdkClientInteroperates_fragmentsPingsAndClose() throws Exception {
        CompletableFuture<int[]> serverClosed = new CompletableFuture<>();
        int port = start(WebSocketConfig.defaults(), new WebSocketHandler() {
            @Override public void onMessage(WebSocket ws, Message msg) { ws.send(msg); }
            @Override public void onClose(WebSocket ws, int code, String reason) { serverClosed.complete(new int[] {code}); }
        });
        BlockingQueue<String> got = new LinkedBlockingQueue<>();
        BlockingQueue<ByteBuffer> pongs = new LinkedBlockingQueue<>();
        CompletableFuture<Integer> clientClosed = new CompletableFuture<>();
        StringBuilder partial = new StringBuilder();
        try (HttpClient http = HttpClient.newHttpClient()) {
        java.net.http.WebSocket jdk = http.newWebSocketBuilder()
                .buildAsync(URI.create("ws://127.0.0.1:" + port + "/echo"), new java.net.http.WebSocket.Listener() {
                    @Override public CompletionStage<?> onText(java.net.http.WebSocket w, CharSequence data, boolean last) {
                        partial.append(data);
                        if (last) {
                            got.add(partial.toString());
                            partial.setLength(0);
                        }
                        w.request(1);
                        return null;
                    }
                    @Override public CompletionStage<?> onPong(java.net.http.WebSocket w, ByteBuffer message) {
                        pongs.add(message);
                        w.request(1);
                        return null;
                    }
                    @Override public CompletionStage<?> onClose(java.net.http.WebSocket w, int code, String reason) {
                        clientClosed.complete(code);
                        return null;
                    }
                }).get(10, TimeUnit.SECONDS);
        jdk.sendText("frag", false).get();
        jdk.sendPing(ByteBuffer.wrap("p1".getBytes())).get();
        jdk.sendText("mented ✓", true).get();
        assertEquals("fragmented ✓", got.poll(10, TimeUnit.SECONDS));
        ByteBuffer pong = pongs.poll(10, TimeUnit.SECONDS);
        assertNotNull(pong);
        assertEquals("p1", StandardCharsets.UTF_8.decode(pong).toString());
        jdk.sendClose(1000, "done").get();
        assertEquals(1000, serverClosed.get(10, TimeUnit.SECONDS)[0]);
        assertEquals(1000, clientClosed.get(10, TimeUnit.SECONDS));
        http.shutdownNow();
        }
    }

    @Test
    void handshakeSeesPathParamsQueryHeadersAndMiddlewareAttributes() throws Exception {
        CompletableFuture<Handshake> hs = new CompletableFuture<>();
        server = HttpServer.create("127.0.0.1", 0).threads(1)
                .use((req, res, chain) -> {
                    if (!"secret".equals(req.header("X-Token"))) {
                        res.status(401).text("no");
                        return;
                    }
                    req.attribute("user", "ann");
                    chain.next();
                })
                .ws("/room/:name", WebSocketConfig.builder().subprotocols("v2", "v1").build(), new WebSocketHandler() {
                    @Override public void onOpen(WebSocket ws, Handshake h) { hs.complete(h); }
                    @Override public void onMessage(WebSocket ws, Message msg) { }
                }).start();
        int port = server.port();
        Recorder r = new Recorder();
        WebSocket ws = WebSocketClient.create("ws://127.0.0.1:" + port + "/room/blue?x=1&y=a%20b")
                .header("X-Token", "secret").subprotocols("v1", "v2").handler(r).connect().get(10, TimeUnit.SECONDS);
        Handshake h = hs.get(10, TimeUnit.SECONDS);
        assertEquals("blue", h.pathParam("name"));
        assertEquals("a b", h.queryParam("y"));
        assertEquals("secret", h.header("x-token"));
        assertEquals("ann", h.attribute("user"));
        assertEquals("v2", h.subprotocol());
        assertEquals("v2", ws.subprotocol());
        ws.close();

        CompletableFuture<WebSocket> refused = WebSocketClient.create("ws://127.0.0.1:" + port + "/room/blue").handler(new Recorder()).connect();
        ExecutionExceptionAssert.assertCause(refused, WebSocketHandshakeException.class, e -> assertEquals(401, e.status()));
    }

    @Test
    void reconnectsAfterTheServerRestarts() throws Exception {
        int port = start(WebSocketConfig.defaults(), (ws, msg) -> ws.send(msg));
        CountDownLatch opened2 = new CountDownLatch(2);
        Recorder r = new Recorder() {
            @Override public void onOpen(WebSocket ws, Handshake hs) { opened2.countDown(); }
        };
        WebSocketClient client = WebSocketClient.create("ws://127.0.0.1:" + port + "/echo")
                .reconnect(ReconnectPolicy.fixed(Duration.ofMillis(50))).handler(r);
        client.connect().get(10, TimeUnit.SECONDS);
        server.close();
        server = HttpServer.create("127.0.0.1", port).threads(1).ws("/echo", (ws, msg) -> ws.send(msg)).start();
        assertTrue(opened2.await(10, TimeUnit.SECONDS), "no reconnect");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (!client.isOpen() && System.nanoTime() < deadline) Thread.onSpinWait();
        client.send("again");
        assertEquals("again", r.next());
        client.close();
        client.closeFuture().get(10, TimeUnit.SECONDS);
        assertEquals(2, client.openCount());
    }

    /** Small helper for a future that must fail with a given cause. */
    static final class ExecutionExceptionAssert {
        static <T extends Throwable> void assertCause(CompletableFuture<?> f, Class<T> type, java.util.function.Consumer<T> check) throws Exception {
            try {
                f.get(10, TimeUnit.SECONDS);
                fail("expected " + type.getSimpleName());
            } catch (java.util.concurrent.ExecutionException e) {
                assertInstanceOf(type, e.getCause(), String.valueOf(e.getCause()));
                check.accept(type.cast(e.getCause()));
            }
        }
    }
}
