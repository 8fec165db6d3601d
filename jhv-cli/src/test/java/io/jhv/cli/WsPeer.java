package io.jhv.cli;

import io.jhv.http.websocket.Handshake;
import io.jhv.http.websocket.Message;
import io.jhv.http.websocket.WebSocket;
import io.jhv.http.websocket.WebSocketHandler;

import java.util.Arrays;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A test's end of a WebSocket (server or client side): records what arrives so the test can wait
 * for it. Text messages are queued as {@code String}, binary ones as {@code byte[]}.
 */
class WsPeer implements WebSocketHandler {
    final CompletableFuture<WebSocket> opened = new CompletableFuture<>();
    final CompletableFuture<Handshake> handshake = new CompletableFuture<>();
    final BlockingQueue<Object> messages = new LinkedBlockingQueue<>();
    final BlockingQueue<String> pongs = new LinkedBlockingQueue<>();
    final CompletableFuture<String> closed = new CompletableFuture<>(); // "code reason"
    volatile Throwable error;

    @Override
    public void onOpen(WebSocket ws, Handshake hs) {
        handshake.complete(hs);
        opened.complete(ws);
    }

    @Override
    public void onMessage(WebSocket ws, Message msg) {
        messages.add(msg.isText() ? msg.text() : msg.bytes());
    }

    @Override
    public void onPong(WebSocket ws, io.jhv.core.buffer.Buffer payload) {
        pongs.add(payload.readString());
    }

    @Override
    public void onError(WebSocket ws, Throwable e) {
        error = e;
    }

    @Override
    public void onClose(WebSocket ws, int code, String reason) {
        closed.complete(code + (reason == null || reason.isEmpty() ? "" : " " + reason));
    }

    WebSocket socket() throws Exception {
        return opened.get(10, TimeUnit.SECONDS);
    }

    /** The next message (20 s at most); fails at once, saying how, if the socket closed with none left. */
    Object next() throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (System.nanoTime() < deadline) {
            Object m = messages.poll(50, TimeUnit.MILLISECONDS);
            if (m != null) return m;
            if (closed.isDone() && messages.isEmpty()) {
                throw new AssertionError("no message: the socket closed with " + closed.join() + (error != null ? " after " + error : ""));
            }
        }
        assertNotNull(null, "no message within 20 s");
        return null;
    }

    String nextText() throws InterruptedException {
        Object m = next();
        assertTrue(m instanceof String, "expected text, got " + describe(m));
        return (String) m;
    }

    byte[] nextBinary() throws InterruptedException {
        Object m = next();
        assertTrue(m instanceof byte[], "expected binary, got " + describe(m));
        return (byte[]) m;
    }

    /** Waits for a text message containing {@code part}, skipping others; returns it. */
    String awaitText(String part) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        StringBuilder skipped = new StringBuilder();
        while (System.nanoTime() < deadline) {
            Object m = messages.poll(100, TimeUnit.MILLISECONDS);
            if (m == null) continue;
            if (m instanceof String s && s.contains(part)) return s;
            skipped.append(describe(m)).append('\n');
        }
        throw new AssertionError("no message containing " + part + " within 20 s; got:\n" + skipped);
    }

    String awaitClose() throws Exception {
        return closed.get(20, TimeUnit.SECONDS);
    }

    static void assertBinary(byte[] expected, Object got) {
        assertTrue(got instanceof byte[], "expected binary, got " + describe(got));
        assertEquals(expected.length, ((byte[]) got).length, "length");
        assertArrayEquals(expected, (byte[]) got);
    }

    static String describe(Object m) {
        if (m instanceof byte[] b) return "binary " + b.length + " bytes " + Arrays.toString(Arrays.copyOf(b, Math.min(8, b.length)));
        String s = String.valueOf(m);
        return "text '" + (s.length() > 80 ? s.substring(0, 80) + "..." : s) + "'";
    }
}
