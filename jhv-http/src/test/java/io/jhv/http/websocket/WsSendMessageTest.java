package io.jhv.http.websocket;

import io.jhv.core.buffer.Buffer;
import io.jhv.http.server.HttpServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket.Listener;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

/**
 * Sending one received message to several sockets, to itself and others in any order, and reading
 * it after sending: every receiver gets exactly the bytes that were received. (The echo once handed
 * the received buffer itself to the sender's frame writer: the first send changed what the next
 * ones saw, so a broadcast loop gave every socket after the first an empty message.)
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class WsSendMessageTest {
    private HttpServer server;
    private final List<java.net.http.WebSocket> clients = new ArrayList<>();
    private final HttpClient http = HttpClient.newHttpClient(); // the JDK's client: a peer that is not jhv

    @AfterEach
    void stop() {
        for (java.net.http.WebSocket c : clients) c.abort();
        http.shutdownNow();
        try {
            http.awaitTermination(java.time.Duration.ofSeconds(5));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (server != null) server.close();
    }

    /** A JDK WebSocket client that queues every whole message it receives as text ("bin:" + length + ":" + first bytes for binary). */
    private BlockingQueue<String> connect(int port) throws Exception {
        BlockingQueue<String> got = new LinkedBlockingQueue<>();
        java.net.http.WebSocket ws = http.newWebSocketBuilder()
                .buildAsync(URI.create("ws://127.0.0.1:" + port + "/room"), new Listener() {
                    private final StringBuilder text = new StringBuilder();
                    private final java.io.ByteArrayOutputStream bin = new java.io.ByteArrayOutputStream();

                    @Override
                    public CompletionStage<?> onText(java.net.http.WebSocket w, CharSequence data, boolean last) {
                        text.append(data);
                        if (last) {
                            got.add(text.toString());
                            text.setLength(0);
                        }
                        w.request(1);
                        return null;
                    }

                    @Override
                    public CompletionStage<?> onBinary(java.net.http.WebSocket w, ByteBuffer data, boolean last) {
                        byte[] b = new byte[data.remaining()];
                        data.get(b);
                        bin.writeBytes(b);
                        if (last) {
                            got.add("bin:" + new String(bin.toByteArray(), StandardCharsets.ISO_8859_1));
                            bin.reset();
                        }
                        w.request(1);
                        return null;
                    }
                }).get(10, TimeUnit.SECONDS);
        clients.add(ws);
        return got;
    }

    private static String next(BlockingQueue<String> q) throws InterruptedException {
        String s = q.poll(10, TimeUnit.SECONDS);
        assertNotNull(s, "no message within 10 s");
        return s;
    }

    @Test
    void oneMessageSentToEverySocketReachesAllWhole() throws Exception {
        List<WebSocket> room = new CopyOnWriteArrayList<>();
        CompletableFuture<String> afterSend = new CompletableFuture<>();
        server = HttpServer.create("127.0.0.1", 0).threads(1).ws("/room", new WebSocketHandler() {
            @Override
            public void onOpen(WebSocket ws, Handshake hs) {
                room.add(ws);
            }

            @Override
            public void onMessage(WebSocket ws, Message msg) {
                ws.send(msg);                                 // the sender first (the echo),
                for (WebSocket s : room) if (s != ws) s.send(msg); // then everyone else,
                ws.send(msg);                                 // and the sender once more
                afterSend.complete(msg.text());               // still readable after all that
            }
        }).start();
        int port = server.port();
        List<BlockingQueue<String>> inboxes = new ArrayList<>();
        for (int i = 0; i < 3; i++) inboxes.add(connect(port));
        while (room.size() < 3) Thread.onSpinWait(); // all three registered (bounded by the class timeout)

        String text = "hello from one to all, " + "x".repeat(5000); // over 125 bytes: a 16-bit length
        clients.get(0).sendText(text, true).get(10, TimeUnit.SECONDS);
        assertEquals(text, next(inboxes.get(0)), "the sender's echo");
        assertEquals(text, next(inboxes.get(0)), "the sender's second copy");
        assertEquals(text, next(inboxes.get(1)));
        assertEquals(text, next(inboxes.get(2)));
        assertEquals(text, afterSend.get(10, TimeUnit.SECONDS), "the message read after it was sent");
    }

    @Test
    void othersFirstThenTheSenderAndBinaryToo() throws Exception {
        List<WebSocket> room = new CopyOnWriteArrayList<>();
        server = HttpServer.create("127.0.0.1", 0).threads(1).ws("/room", new WebSocketHandler() {
            @Override
            public void onOpen(WebSocket ws, Handshake hs) {
                room.add(ws);
            }

            @Override
            public void onMessage(WebSocket ws, Message msg) {
                for (WebSocket s : room) if (s != ws) s.send(msg);
                ws.send(msg);
            }
        }).start();
        int port = server.port();
        BlockingQueue<String> a = connect(port), b = connect(port);
        while (room.size() < 2) Thread.onSpinWait();
        byte[] payload = new byte[70_000]; // a 64-bit length
        for (int i = 0; i < payload.length; i++) payload[i] = (byte) (i * 31 + 7);
        String want = "bin:" + new String(payload, StandardCharsets.ISO_8859_1);
        for (int round = 0; round < 20; round++) { // repeated: the server's buffers are reused between messages
            clients.get(0).sendBinary(ByteBuffer.wrap(payload), true).get(10, TimeUnit.SECONDS);
            assertEquals(want, next(b), "round " + round + ": the other socket");
            assertEquals(want, next(a), "round " + round + ": the sender");
        }
    }

    @Test
    void aBufferPassedToSendIsConsumedAsDocumentedAndTheMessageIsNot() throws Exception {
        CompletableFuture<int[]> seen = new CompletableFuture<>();
        server = HttpServer.create("127.0.0.1", 0).threads(1).ws("/room", (ws, msg) -> {
            Buffer buf = msg.buffer();
            int before = buf.readableBytes();
            ws.send(msg);            // the message: left as it was
            int afterMessage = msg.length();
            ws.send(buf, true);      // the Buffer: consumed, as send(Buffer, boolean) documents
            seen.complete(new int[] {before, afterMessage, buf.readableBytes()});
        }).start();
        BlockingQueue<String> in = connect(server.port());
        clients.get(0).sendText("twice", true).get(10, TimeUnit.SECONDS);
        assertEquals("twice", next(in));
        assertEquals("twice", next(in));
        int[] s = seen.get(10, TimeUnit.SECONDS);
        assertEquals(5, s[0]);
        assertEquals(5, s[1], "send(Message) leaves the message readable");
        assertEquals(0, s[2], "send(Buffer, boolean) consumes the buffer");
    }
}
