package io.jhv.http.websocket;

import io.jhv.core.buffer.Buffer;
import io.jhv.core.tls.TlsConfig;
import io.jhv.http.server.HttpServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Random;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.zip.Deflater;
import java.util.zip.Inflater;

import static org.junit.jupiter.api.Assertions.*;

/**
 * A reviewer's attacks on the WebSocket engine: races between other threads and the loop, memory
 * kept after big messages, close corner cases, the client's close in each phase, and
 * permessage-deflate windows. Each test names the defect it guards against.
 */
@Timeout(60)
class WsReviewTest extends WsServerClosedAfterEach {


    /** What a server socket went through, in order. */
    static class Events implements WebSocketHandler {
        final BlockingQueue<WebSocket> opened = new LinkedBlockingQueue<>();
        final BlockingQueue<Integer> closes = new LinkedBlockingQueue<>();
        final List<String> order = new CopyOnWriteArrayList<>();
        final AtomicInteger closeCount = new AtomicInteger();
        final boolean echo;

        Events(boolean echo) { this.echo = echo; }

        @Override public void onOpen(WebSocket ws, Handshake hs) { opened.add(ws); }
        @Override public void onMessage(WebSocket ws, Message m) {
            if (echo) ws.send(m);
        }
        @Override public void onError(WebSocket ws, Throwable e) { order.add("error"); }
        @Override public void onClose(WebSocket ws, int code, String reason) {
            order.add("close " + code);
            closeCount.incrementAndGet();
            closes.add(code);
        }
    }

    /** A frame as read off the wire, with RSV1. */
    record Frame(int opcode, boolean fin, boolean rsv1, byte[] payload) {
        String text() { return new String(payload, StandardCharsets.UTF_8); }
        int closeCode() { return payload.length >= 2 ? ((payload[0] & 0xff) << 8) | (payload[1] & 0xff) : 1005; }
    }

    static Frame readFrame(InputStream is) throws IOException {
        DataInputStream in = new DataInputStream(is);
        int b0 = in.readUnsignedByte();
        int b1 = in.readUnsignedByte();
        long len = b1 & 0x7f;
        if (len == 126) len = in.readUnsignedShort();
        else if (len == 127) len = in.readLong();
        byte[] key = null;
        if ((b1 & 0x80) != 0) {
            key = new byte[4];
            in.readFully(key);
        }
        byte[] p = new byte[(int) len];
        in.readFully(p);
        if (key != null) for (int i = 0; i < p.length; i++) p[i] ^= key[i & 3];
        return new Frame(b0 & 0x0f, (b0 & 0x80) != 0, (b0 & 0x40) != 0, p);
    }

    /** An unmasked frame (server to client). */
    static byte[] serverFrame(int opcode, boolean fin, boolean rsv1, byte[] p) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.write((fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | opcode);
        if (p.length < 126) {
            b.write(p.length);
        } else {
            b.write(126);
            b.write(p.length >> 8);
            b.write(p.length);
        }
        b.writeBytes(p);
        return b.toByteArray();
    }

    static String accept(String key) throws Exception {
        MessageDigest sha1 = MessageDigest.getInstance("SHA-1");
        return Base64.getEncoder().encodeToString(sha1.digest((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").getBytes(StandardCharsets.US_ASCII)));
    }

    /** Reads a request head on a raw server socket and returns its Sec-WebSocket-Key. */
    /** Reads the upgrade request on {@code s} and answers 101, with {@code extensions} as Sec-WebSocket-Extensions unless empty. */
    static void answer101(Socket s, String extensions) throws Exception {
        String key = readRequestKey(s);
        s.getOutputStream().write(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: "
                + accept(key) + (extensions.isEmpty() ? "" : "\r\nSec-WebSocket-Extensions: " + extensions) + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
    }

    static String readRequestKey(Socket s) throws IOException {
        RawWs r = new RawWs(s);
        String head = r.readHead();
        for (String l : head.split("\r\n")) {
            if (l.toLowerCase().startsWith("sec-websocket-key:")) return l.substring(l.indexOf(':') + 1).trim();
        }
        throw new IOException("no key in " + head);
    }

    static RawWs openRaw(int port, String path, String extraHeaders) throws IOException {
        Socket s = new Socket("127.0.0.1", port);
        s.setSoTimeout(20_000);
        RawWs ws = new RawWs(s);
        ws.out.write(("GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" + extraHeaders + "\r\n").getBytes(StandardCharsets.US_ASCII));
        String head = ws.readHead();
        if (!head.startsWith("HTTP/1.1 101")) throw new IOException("no 101: " + head);
        return ws;
    }

    static Object field(Object o, String name) throws Exception {
        var f = o.getClass().getDeclaredField(name);
        f.setAccessible(true);
        return f.get(o);
    }

    /** Runs nothing on {@code ws}'s loop, and waits for it: every task queued before has run. */
    static void drainLoop(WebSocket ws) throws Exception {
        CountDownLatch l = new CountDownLatch(1);
        ws.loop().runInLoop(l::countDown);
        assertTrue(l.await(10, TimeUnit.SECONDS));
    }

    // ================================================================ thread safety

    /**
     * Defect: close() called on the loop ran at once, so a message another thread had queued
     * before (its send returned before close was called) was dropped after the close frame,
     * although the contract says close sends its frame "after what was queued before".
     */
    @Test
    void aCloseOnTheLoopDoesNotOvertakeASendQueuedBeforeFromAnotherThread() throws Exception {
        Events ev = new Events(false);
        server = HttpServer.create("127.0.0.1", 0).threads(1).ws("/ws", ev).start();
        try (RawWs raw = RawWs.open(server.port(), "/ws")) {
            WebSocket ws = ev.opened.poll(10, TimeUnit.SECONDS);
            assertNotNull(ws);
            CountDownLatch gate = new CountDownLatch(1);
            CountDownLatch blocking = new CountDownLatch(1);
            ws.loop().runInLoop(() -> {
                blocking.countDown();
                try {
                    gate.await(10, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                ws.close(CloseCodes.NORMAL, "done"); // on the loop, after the send below returned
            });
            assertTrue(blocking.await(10, TimeUnit.SECONDS));
            ws.send("last words"); // from this thread: queued behind the blocked task
            gate.countDown();       // happens-before the close
            RawWs.Frame f = raw.read();
            assertEquals(1, f.opcode(), "the message sent before close() must come before the close frame");
            assertEquals("last words", f.text());
            RawWs.Frame c = raw.read();
            assertEquals(8, c.opcode());
            raw.send(8, c.payload(), true);
        }
        assertEquals(CloseCodes.NORMAL, ev.closes.poll(10, TimeUnit.SECONDS));
    }

    /**
     * Defect: a broadcast reaching a socket in the middle of a fragmented send (sendFragment)
     * put a whole text frame between the fragments, a protocol error for the peer (RFC 6455 5.4:
     * fragments of one message may only be interleaved with control frames).
     */
    @Test
    void aBroadcastDoesNotSplitAFragmentedMessageBeingSent() throws Exception {
        Events ev = new Events(false);
        WebSocketGroup room = new WebSocketGroup();
        server = HttpServer.create("127.0.0.1", 0).threads(1).ws("/ws", ev).start();
        try (RawWs raw = RawWs.open(server.port(), "/ws")) {
            WebSocket ws = ev.opened.poll(10, TimeUnit.SECONDS);
            assertTrue(room.add(ws));
            ws.sendFragment("one ".getBytes(StandardCharsets.UTF_8), true, false);
            room.broadcast("broadcast");
            ws.sendFragment("two".getBytes(StandardCharsets.UTF_8), true, true);
            ws.send("after");
            List<RawWs.Frame> frames = new ArrayList<>();
            while (frames.isEmpty() || !"after".equals(frames.get(frames.size() - 1).text())) frames.add(raw.read());
            boolean inMessage = false;
            for (RawWs.Frame f : frames) {
                if (f.opcode() == 1 || f.opcode() == 2) assertFalse(inMessage, "a new data frame between the fragments of a message: " + frames.stream().map(RawWs.Frame::text).toList());
                if (f.opcode() < 8) inMessage = !f.fin();
            }
            assertEquals("one ", frames.get(0).text());
        }
    }

    /**
     * Sends from many threads racing a close from another: what arrives is, per thread, the
     * messages in the order sent and without a gap, every one sent before close() was called among
     * them, and nothing after the close frame; the sends that lost the race are dropped, not thrown.
     */
    @Test
    void sendsRacingACloseArriveInOrderBeforeTheCloseFrameOrAreDropped() throws Exception {
        Events ev = new Events(false);
        server = HttpServer.create("127.0.0.1", 0).threads(1).ws("/ws", ev).start();
        int threadsN = 4, before = 100, total = 2000;
        try (RawWs raw = RawWs.open(server.port(), "/ws")) {
            WebSocket ws = ev.opened.poll(10, TimeUnit.SECONDS);
            CountDownLatch sentBefore = new CountDownLatch(threadsN);
            List<Throwable> thrown = new java.util.concurrent.CopyOnWriteArrayList<>();
            List<Thread> threads = new ArrayList<>();
            for (int t = 0; t < threadsN; t++) {
                int id = t;
                threads.add(Thread.ofPlatform().start(() -> {
                    for (int i = 0; i < total; i++) {
                        try {
                            ws.send(id + ":" + i);
                        } catch (Throwable e) {
                            thrown.add(e);
                            return;
                        }
                        if (i == before - 1) sentBefore.countDown();
                    }
                }));
            }
            assertTrue(sentBefore.await(10, TimeUnit.SECONDS));
            ws.close(); // the first 100 of every thread were sent before this
            for (Thread t : threads) t.join(10_000);
            assertTrue(thrown.isEmpty(), "a send racing a close threw: " + thrown);
            int[] next = new int[threadsN];
            RawWs.Frame f;
            while ((f = raw.read()).opcode() != 8) {
                String[] m = f.text().split(":");
                int id = Integer.parseInt(m[0]), i = Integer.parseInt(m[1]);
                assertEquals(next[id], i, "thread " + id + "'s messages in order, without a gap");
                next[id]++;
            }
            for (int t = 0; t < threadsN; t++) assertTrue(next[t] >= before, "thread " + t + ": only " + next[t] + " of the messages sent before close() arrived");
            raw.send(8, f.payload(), true);
            assertEquals(-1, raw.in.read(), "nothing after the close frame");
        }
    }

    // ================================================================ memory

    /**
     * Defect: the buffer the deflater writes into (zbuf) was kept at the size of the largest
     * message ever compressed, so every socket that once sent a big compressed message held that
     * much memory until it closed (the message and output buffers are let go above 64/256 KiB).
     */
    @Test
    void theDeflateBufferIsNotKeptAtTheSizeOfTheLargestMessage() throws Exception {
        Events ev = new Events(true);
        server = HttpServer.create("127.0.0.1", 0).threads(1).ws("/ws", ev).start();
        BlockingQueue<byte[]> got = new LinkedBlockingQueue<>();
        WebSocketClient client = WebSocketClient.create("ws://127.0.0.1:" + server.port() + "/ws").handler((w, m) -> got.add(m.bytes()));
        closeLater.add(client);
        WebSocket ws = client.connect().get(10, TimeUnit.SECONDS);
        assertTrue(ws.isCompressed());
        byte[] big = new byte[4 << 20];
        new Random(1).nextBytes(big); // incompressible: the deflate output is a bit bigger than the input
        ws.send(big);
        assertArrayEquals(big, got.poll(30, TimeUnit.SECONDS));
        WebSocket serverSide = ev.opened.poll(10, TimeUnit.SECONDS);
        drainLoop(ws);
        drainLoop(serverSide);
        for (WebSocket s : List.of(ws, serverSide)) {
            Buffer z = (Buffer) field(field(s, "writer"), "zbuf");
            assertTrue(z == null || z.capacity() <= 256 << 10, "a " + (z == null ? 0 : z.capacity()) + "-byte deflate buffer kept after the message");
            Buffer m = (Buffer) field(s, "msg");
            assertTrue(m == null || m.capacity() <= 64 << 10, "message buffer kept");
        }
    }

    // ================================================================ close corner cases

    /** Both ends close at once: the server reports the peer's code once, sends one close frame and ends TCP. */
    @Test
    void bothEndsClosingAtOnceEndCleanlyWithOneOnClose() throws Exception {
        Events ev = new Events(false) {
            @Override public void onMessage(WebSocket ws, Message m) { ws.close(CloseCodes.NORMAL, "server bye"); }
        };
        server = HttpServer.create("127.0.0.1", 0).threads(1).ws("/ws", ev).start();
        WebSocket ws;
        try (RawWs raw = RawWs.open(server.port(), "/ws")) {
            ws = ev.opened.poll(10, TimeUnit.SECONDS);
            byte[] bye = RawWs.frame(1, "bye".getBytes(StandardCharsets.UTF_8), 0, 3, true);
            byte[] close = RawWs.frame(8, new byte[] {0x03, (byte) 0xe9}, 0, 2, true); // 1001
            byte[] both = new byte[bye.length + close.length];
            System.arraycopy(bye, 0, both, 0, bye.length);
            System.arraycopy(close, 0, both, bye.length, close.length);
            raw.out.write(both);
            raw.out.flush();
            RawWs.Frame f = raw.read();
            assertEquals(8, f.opcode());
            assertEquals(-1, raw.in.read(), "exactly one close frame, then the server ends TCP");
        }
        assertEquals(CloseCodes.GOING_AWAY, ev.closes.poll(10, TimeUnit.SECONDS), "onClose reports the peer's code");
        drainLoop(ws);
        assertEquals(1, ev.closeCount.get());
    }

    /** A protocol error: onError first, then onClose once with 1006, and the socket leaves the server's registry. */
    @Test
    void everyClosePathLeavesTheServersRegistryAndCallsOnCloseOnce() throws Exception {
        Events ev = new Events(true) {
            @Override public void onMessage(WebSocket ws, Message m) {
                switch (m.text()) {
                    case "abort" -> ws.abort();
                    case "throw" -> throw new IllegalStateException("callback failure on purpose");
                    default -> ws.send(m);
                }
            }
        };
        server = HttpServer.create("127.0.0.1", 0).threads(1)
                .ws("/ws", WebSocketConfig.builder().closeTimeout(Duration.ofMillis(300)).build(), ev).start();
        @SuppressWarnings("unchecked")
        java.util.Set<WebSocket> registry = (java.util.Set<WebSocket>) field(field(server, "cfg"), "webSockets");

        // 1. protocol error (unmasked frame)
        try (RawWs raw = RawWs.open(server.port(), "/ws")) {
            ev.opened.poll(10, TimeUnit.SECONDS);
            raw.out.write(new byte[] {(byte) 0x81, 0x01, 'x'});
            raw.out.flush();
            assertEquals(CloseCodes.PROTOCOL_ERROR, raw.read().closeCode());
        }
        assertEquals(CloseCodes.ABNORMAL, ev.closes.poll(10, TimeUnit.SECONDS));
        assertEquals(List.of("error", "close 1006"), ev.order);
        // 2. the server aborts
        try (RawWs raw = RawWs.open(server.port(), "/ws")) {
            ev.opened.poll(10, TimeUnit.SECONDS);
            raw.sendText("abort");
            assertEquals(-1, raw.in.read());
        }
        assertEquals(CloseCodes.ABNORMAL, ev.closes.poll(10, TimeUnit.SECONDS));
        // 3. a callback throws
        try (RawWs raw = RawWs.open(server.port(), "/ws")) {
            ev.opened.poll(10, TimeUnit.SECONDS);
            raw.sendText("throw");
            assertEquals(CloseCodes.INTERNAL_ERROR, raw.read().closeCode());
        }
        ev.closes.poll(10, TimeUnit.SECONDS);
        // 4. the peer vanishes (RST)
        try (RawWs raw = RawWs.open(server.port(), "/ws")) {
            ev.opened.poll(10, TimeUnit.SECONDS);
            raw.socket.setSoLinger(true, 0);
        }
        assertEquals(CloseCodes.ABNORMAL, ev.closes.poll(10, TimeUnit.SECONDS));
        // 5. our close is never answered: the close timeout ends it
        WebSocket ws;
        try (RawWs raw = RawWs.open(server.port(), "/ws")) {
            ws = ev.opened.poll(10, TimeUnit.SECONDS);
            ws.close();
            assertEquals(8, raw.read().opcode());
            assertEquals(-1, raw.in.read(), "the close timeout ends the connection");
        }
        assertEquals(CloseCodes.ABNORMAL, ev.closes.poll(10, TimeUnit.SECONDS));
        drainLoop(ws);
        assertEquals(5, ev.closeCount.get(), "one onClose per socket: " + ev.order);
        assertTrue(registry.isEmpty(), "sockets left in the server's registry: " + registry);
    }

    // ================================================================ the client's close in each phase

    /** close() before connect(): the close future is done and connect() is refused; no loop started. */
    @Test
    void closingTheClientBeforeConnectEndsIt() throws Exception {
        WebSocketClient c = WebSocketClient.create("ws://127.0.0.1:9/ws").handler((w, m) -> { });
        c.close();
        c.closeFuture().get(5, TimeUnit.SECONDS);
        assertThrows(IllegalStateException.class, c::connect);
    }

    /** close() while the TLS handshake hangs: the connect future fails, the own loop stops. */
    @Test
    void closingTheClientDuringTlsEndsItAndStopsItsLoop() throws Exception {
        try (ServerSocket silent = new ServerSocket(0, 10, InetAddress.getLoopbackAddress())) {
            WebSocketClient c = WebSocketClient.create("wss://127.0.0.1:" + silent.getLocalPort() + "/ws")
                    .tls(TlsConfig.client().verifyHostname(false).build()).handshakeTimeout(Duration.ofSeconds(30)).handler((w, m) -> { });
            CompletableFuture<WebSocket> f = c.connect();
            try (Socket s = silent.accept()) {
                s.getInputStream().read(); // the ClientHello is under way
                c.close();
                // Defect: the future failed with a CancellationException (the connector's future
                // cancelled by close()), which get() throws as such, not as an ExecutionException.
                ExecutionException e = assertThrows(ExecutionException.class, () -> f.get(10, TimeUnit.SECONDS));
                WebSocketException we = assertInstanceOf(WebSocketException.class, e.getCause());
                assertEquals(CloseCodes.GOING_AWAY, we.closeCode());
                c.closeFuture().get(10, TimeUnit.SECONDS); // completes when its own loop has terminated
            }
        }
    }

    /** close() while the 101 is awaited: the connect future fails and the client ends. */
    @Test
    void closingTheClientDuringTheUpgradeEndsIt() throws Exception {
        try (ServerSocket silent = new ServerSocket(0, 10, InetAddress.getLoopbackAddress())) {
            WebSocketClient c = WebSocketClient.create("ws://127.0.0.1:" + silent.getLocalPort() + "/ws")
                    .handshakeTimeout(Duration.ofSeconds(30)).reconnect(io.jhv.core.net.ReconnectPolicy.fixed(Duration.ofMillis(10)))
                    .handler((w, m) -> { });
            CompletableFuture<WebSocket> f = c.connect();
            try (Socket s = silent.accept()) {
                readRequestKey(s);
                c.close();
                ExecutionException e = assertThrows(ExecutionException.class, () -> f.get(10, TimeUnit.SECONDS));
                assertEquals(CloseCodes.GOING_AWAY, assertInstanceOf(WebSocketException.class, e.getCause()).closeCode());
                c.closeFuture().get(10, TimeUnit.SECONDS);
                assertEquals(-1, s.getInputStream().read(), "the half-done connection is closed");
            }
        }
    }

    /** close() while open to a server that never answers the close: the close timeout ends the client. */
    @Test
    void closingTheClientToAServerThatNeverAnswersEndsAtTheCloseTimeout() throws Exception {
        try (ServerSocket raw = new ServerSocket(0, 10, InetAddress.getLoopbackAddress())) {
            BlockingQueue<Integer> closes = new LinkedBlockingQueue<>();
            WebSocketClient c = WebSocketClient.create("ws://127.0.0.1:" + raw.getLocalPort() + "/ws")
                    .config(WebSocketConfig.builder().compression(false).closeTimeout(Duration.ofMillis(300)).build())
                    .handler(new WebSocketHandler() {
                        @Override public void onMessage(WebSocket ws, Message m) { }
                        @Override public void onClose(WebSocket ws, int code, String reason) { closes.add(code); }
                    });
            CompletableFuture<WebSocket> f = c.connect();
            try (Socket s = raw.accept()) {
                answer101(s, "");
                f.get(10, TimeUnit.SECONDS);
                c.close();
                Frame close = readFrame(s.getInputStream());
                assertEquals(8, close.opcode());
                c.closeFuture().get(10, TimeUnit.SECONDS);
                assertEquals(CloseCodes.ABNORMAL, closes.poll(10, TimeUnit.SECONDS));
            }
        }
    }

    // ================================================================ permessage-deflate windows

    /** The server agreed to a 512-byte window: longer messages go out uncompressed, shorter ones compressed and inflatable on their own. */
    @Test
    void aServerWindowBelow15BitsSendsLongMessagesUncompressed() throws Exception {
        Events ev = new Events(true);
        server = HttpServer.create("127.0.0.1", 0).threads(1).ws("/ws", ev).start();
        try (RawWs raw = openRaw(server.port(), "/ws", "Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=9\r\n")) {
            String shortText = "abcdefghij".repeat(40); // 400 bytes: fits the 512-byte window
            String longText = "abcdefghij".repeat(200); // 2000 bytes
            for (String t : List.of(shortText, longText, shortText)) {
                raw.sendText(t);
                Frame f = readFrame(raw.in);
                if (t.length() > 512) {
                    assertFalse(f.rsv1(), "a message longer than the window must go uncompressed");
                    assertEquals(t, f.text());
                } else {
                    assertTrue(f.rsv1(), "a short compressible message is compressed");
                    Inflater inf = new Inflater(true); // a fresh inflater: the context was not carried over
                    byte[] in = java.util.Arrays.copyOf(f.payload(), f.payload().length + 4);
                    in[in.length - 2] = (byte) 0xff;
                    in[in.length - 1] = (byte) 0xff;
                    inf.setInput(in);
                    byte[] outb = new byte[4096];
                    int n = inf.inflate(outb);
                    inf.end();
                    assertEquals(t, new String(outb, 0, n, StandardCharsets.UTF_8));
                }
            }
        }
    }

    /** The client agreed to a 512-byte window (the server asked): longer messages go uncompressed. */
    @Test
    void aClientWindowBelow15BitsSendsLongMessagesUncompressed() throws Exception {
        try (ServerSocket rawServer = new ServerSocket(0, 10, InetAddress.getLoopbackAddress())) {
            WebSocketClient c = WebSocketClient.create("ws://127.0.0.1:" + rawServer.getLocalPort() + "/ws").handler((w, m) -> { });
            closeLater.add(c);
            CompletableFuture<WebSocket> f = c.connect();
            try (Socket s = rawServer.accept()) {
                s.setSoTimeout(20_000);
                answer101(s, "permessage-deflate; client_max_window_bits=9");
                WebSocket ws = f.get(10, TimeUnit.SECONDS);
                String shortText = "0123456789".repeat(40);
                String longText = "0123456789".repeat(200);
                ws.send(shortText);
                ws.send(longText);
                Frame a = readFrame(s.getInputStream());
                Frame b = readFrame(s.getInputStream());
                assertTrue(a.rsv1());
                assertFalse(b.rsv1(), "longer than the 512-byte window: uncompressed");
                assertEquals(longText, b.text());
            }
        }
    }

    /** A client that announced client_no_context_takeover resets its deflater: each message inflates on its own. */
    @Test
    void clientNoContextTakeoverMakesEachMessageInflatableAlone() throws Exception {
        try (ServerSocket rawServer = new ServerSocket(0, 10, InetAddress.getLoopbackAddress())) {
            WebSocketClient c = WebSocketClient.create("ws://127.0.0.1:" + rawServer.getLocalPort() + "/ws").handler((w, m) -> { });
            closeLater.add(c);
            CompletableFuture<WebSocket> f = c.connect();
            try (Socket s = rawServer.accept()) {
                s.setSoTimeout(20_000);
                answer101(s, "permessage-deflate; client_no_context_takeover");
                WebSocket ws = f.get(10, TimeUnit.SECONDS);
                String text = "the same words again and again ".repeat(10);
                for (int i = 0; i < 3; i++) ws.send(text);
                for (int i = 0; i < 3; i++) {
                    Frame fr = readFrame(s.getInputStream());
                    assertTrue(fr.rsv1());
                    Inflater inf = new Inflater(true);
                    byte[] in = java.util.Arrays.copyOf(fr.payload(), fr.payload().length + 4);
                    in[in.length - 2] = (byte) 0xff;
                    in[in.length - 1] = (byte) 0xff;
                    inf.setInput(in);
                    byte[] outb = new byte[4096];
                    int n = inf.inflate(outb);
                    inf.end();
                    assertEquals(text, new String(outb, 0, n, StandardCharsets.UTF_8), "message " + i + " inflates without the earlier ones");
                }
            }
        }
    }

    /** Responses a client must refuse: parameters with bad values, a window above the one it asked for. */
    @Test
    void theClientRefusesBadDeflateResponses() throws Exception {
        String[] bad = {
                "permessage-deflate; client_max_window_bits",          // no value in a response
                "permessage-deflate; server_max_window_bits=16",
                "permessage-deflate; server_max_window_bits=7",
                "permessage-deflate; server_max_window_bits=10",      // above the 9 the client asked for
                "permessage-deflate; server_no_context_takeover=1",   // a value for a flag
                "permessage-deflate, permessage-deflate",
        };
        for (String ext : bad) {
            try (ServerSocket rawServer = new ServerSocket(0, 10, InetAddress.getLoopbackAddress())) {
                WebSocketClient c = WebSocketClient.create("ws://127.0.0.1:" + rawServer.getLocalPort() + "/ws")
                        .config(WebSocketConfig.builder().serverMaxWindowBits(9).build()).handler((w, m) -> { });
                closeLater.add(c);
                CompletableFuture<WebSocket> f = c.connect();
                try (Socket s = rawServer.accept()) {
                    answer101(s, ext);
                    ExecutionException e = assertThrows(ExecutionException.class, () -> f.get(10, TimeUnit.SECONDS), ext);
                    assertInstanceOf(WebSocketHandshakeException.class, e.getCause(), ext);
                }
            }
        }
    }

    /** Offers the server must decline (run uncompressed) rather than accept or refuse the upgrade. */
    @Test
    void theServerDeclinesBadDeflateOffers() throws Exception {
        Events ev = new Events(true);
        server = HttpServer.create("127.0.0.1", 0).threads(1).ws("/ws", ev).start();
        String[] bad = {
                "permessage-deflate; server_max_window_bits=7",
                "permessage-deflate; server_max_window_bits",
                "permessage-deflate; client_max_window_bits=16",
                "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
                "permessage-deflate; unknown_parameter",
                "permessage-deflate; server_no_context_takeover=yes",
        };
        for (String ext : bad) {
            try (Socket s = new Socket("127.0.0.1", server.port())) {
                s.setSoTimeout(10_000);
                RawWs raw = new RawWs(s);
                raw.out.write(("GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                        + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Extensions: " + ext + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
                String head = raw.readHead();
                assertTrue(head.startsWith("HTTP/1.1 101"), ext + ": " + head);
                assertFalse(head.toLowerCase().contains("sec-websocket-extensions"), ext + " must be declined: " + head);
            }
        }
    }

    // ================================================================ pipelining and hostile framing

    /** The first frame in the same write as the upgrade request is not lost. */
    @Test
    void aFrameInTheSameWriteAsTheUpgradeRequestIsRead() throws Exception {
        Events ev = new Events(true);
        server = HttpServer.create("127.0.0.1", 0).threads(1).ws("/ws", ev).start();
        try (Socket s = new Socket("127.0.0.1", server.port())) {
            s.setSoTimeout(10_000);
            RawWs raw = new RawWs(s);
            byte[] req = ("GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n").getBytes(StandardCharsets.US_ASCII);
            byte[] frame = RawWs.frame(1, "early".getBytes(StandardCharsets.UTF_8), 0, 5, true);
            byte[] all = new byte[req.length + frame.length];
            System.arraycopy(req, 0, all, 0, req.length);
            System.arraycopy(frame, 0, all, req.length, frame.length);
            raw.out.write(all);
            raw.out.flush();
            assertTrue(raw.readHead().startsWith("HTTP/1.1 101"));
            assertEquals("early", raw.read().text());
        }
    }

    /** A peer announcing a 16 MiB frame and sending a few bytes costs no 16 MiB buffer. */
    @Test
    void aBigFrameAnnouncedButNotSentCostsNoMemory() throws Exception {
        Events ev = new Events(true);
        server = HttpServer.create("127.0.0.1", 0).threads(1).ws("/ws", ev).start();
        try (RawWs raw = RawWs.open(server.port(), "/ws")) {
            WebSocket ws = ev.opened.poll(10, TimeUnit.SECONDS);
            byte[] head = {(byte) 0x82, (byte) (0x80 | 127), 0, 0, 0, 0, 0, (byte) 0xf0, 0, 0, 1, 2, 3, 4};
            raw.out.write(head);
            raw.out.write(new byte[1000]);
            raw.out.flush();
            // wait until the server has read them (ping round trip after the bytes is impossible mid-frame: poll the buffer)
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            Buffer m = null;
            while (System.nanoTime() < deadline) {
                CompletableFuture<Buffer> b = new CompletableFuture<>();
                ws.loop().runInLoop(() -> {
                    try {
                        b.complete((Buffer) field(ws, "msg"));
                    } catch (Exception e) {
                        b.completeExceptionally(e);
                    }
                });
                m = b.get(10, TimeUnit.SECONDS);
                if (m != null && m.readableBytes() == 1000) break;
                Thread.onSpinWait();
            }
            assertNotNull(m);
            assertEquals(1000, m.readableBytes());
            assertTrue(m.capacity() < 64 << 10, "buffer of " + m.capacity() + " for 1000 bytes received");
        }
    }

    /** A deflate stream that inflates slowly (a byte at a time) still works and stays within the limit. */
    @Test
    void aCompressedMessageFedByteByByteInflates() throws Exception {
        Events ev = new Events(true);
        server = HttpServer.create("127.0.0.1", 0).threads(1).ws("/ws", ev).start();
        try (RawWs raw = openRaw(server.port(), "/ws", "Sec-WebSocket-Extensions: permessage-deflate\r\n")) {
            String text = "héllo wörld, ".repeat(300);
            Deflater d = new Deflater(9, true);
            d.setInput(text.getBytes(StandardCharsets.UTF_8));
            byte[] z = new byte[8192];
            int n = d.deflate(z, 0, z.length, Deflater.SYNC_FLUSH);
            d.end();
            byte[] frame = RawWs.frame(1, z, 0, n - 4, true);
            frame[0] |= 0x40;
            for (byte b : frame) {
                raw.out.write(b);
                raw.out.flush();
            }
            Frame echo = readFrame(raw.in);
            Inflater inf = new Inflater(true);
            byte[] in = echo.rsv1() ? java.util.Arrays.copyOf(echo.payload(), echo.payload().length + 4) : echo.payload();
            if (echo.rsv1()) {
                in[in.length - 2] = (byte) 0xff;
                in[in.length - 1] = (byte) 0xff;
                inf.setInput(in);
                byte[] outb = new byte[16384];
                int k = inf.inflate(outb);
                assertEquals(text, new String(outb, 0, k, StandardCharsets.UTF_8));
            } else {
                assertEquals(text, echo.text());
            }
            inf.end();
        }
    }

    /**
     * Defect: frames sent from onMessage were all kept in the socket's own output buffer until the
     * read ended, so a handler sending a burst saw isWritable() true and queuedBytes() 0 throughout
     * and could not pace itself: the buffer grew with the whole burst (back-pressure blind).
     */
    @Test
    void aHandlerSendingABurstFromOnMessageSeesBackPressure() throws Exception {
        List<Boolean> writable = new CopyOnWriteArrayList<>();
        CountDownLatch done = new CountDownLatch(1);
        Events ev = new Events(false) {
            @Override public void onMessage(WebSocket ws, Message m) {
                byte[] chunk = new byte[256 << 10];
                for (int i = 0; i < 100 && ws.isWritable(); i++) {
                    ws.send(chunk);
                    writable.add(ws.isWritable());
                }
                done.countDown();
            }
        };
        server = HttpServer.create("127.0.0.1", 0).threads(1).ws("/ws", ev).start();
        try (RawWs raw = RawWs.open(server.port(), "/ws")) {
            raw.sendText("burst"); // and read nothing
            assertTrue(done.await(20, TimeUnit.SECONDS));
            assertTrue(writable.contains(false), "isWritable() never turned false during a " + writable.size() * 256 + " KiB burst to a peer that reads nothing");
            assertTrue(writable.size() < 100, "the burst went on although the socket was not writable");
        }
    }

    /**
     * Defect: client.close() called in the client's onOpen aborted the connection (it was still
     * seen as the handshake in progress) instead of a close handshake.
     */
    @Test
    void closingTheClientFromItsOnOpenSendsACloseFrame() throws Exception {
        try (ServerSocket rawServer = new ServerSocket(0, 10, InetAddress.getLoopbackAddress())) {
            WebSocketClient[] holder = new WebSocketClient[1];
            WebSocketClient c = WebSocketClient.create("ws://127.0.0.1:" + rawServer.getLocalPort() + "/ws")
                    .config(WebSocketConfig.builder().compression(false).build())
                    .handler(new WebSocketHandler() {
                        @Override public void onOpen(WebSocket ws, Handshake hs) { holder[0].close(); }
                        @Override public void onMessage(WebSocket ws, Message m) { }
                    });
            holder[0] = c;
            closeLater.add(c);
            c.connect();
            try (Socket s = rawServer.accept()) {
                s.setSoTimeout(10_000);
                answer101(s, "");
                Frame f;
                try {
                    f = readFrame(s.getInputStream());
                } catch (IOException e) {
                    throw new AssertionError("no close frame: the connection was dropped (" + e + ")", e);
                }
                assertEquals(8, f.opcode());
                s.getOutputStream().write(serverFrame(8, true, false, f.payload()));
                c.closeFuture().get(10, TimeUnit.SECONDS);
            }
        }
    }

    /** server_no_context_takeover agreed: each of the server's compressed messages inflates on its own. */
    @Test
    void serverNoContextTakeoverMakesEachServerMessageInflatableAlone() throws Exception {
        Events ev = new Events(true);
        server = HttpServer.create("127.0.0.1", 0).threads(1).ws("/ws", ev).start();
        try (RawWs raw = openRaw(server.port(), "/ws", "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover\r\n")) {
            String text = "the same words again and again ".repeat(10);
            for (int i = 0; i < 3; i++) {
                raw.sendText(text);
                Frame fr = readFrame(raw.in);
                assertTrue(fr.rsv1());
                Inflater inf = new Inflater(true);
                byte[] in = java.util.Arrays.copyOf(fr.payload(), fr.payload().length + 4);
                in[in.length - 2] = (byte) 0xff;
                in[in.length - 1] = (byte) 0xff;
                inf.setInput(in);
                byte[] outb = new byte[4096];
                int n = inf.inflate(outb);
                inf.end();
                assertEquals(text, new String(outb, 0, n, StandardCharsets.UTF_8), "message " + i);
            }
        }
    }

    /** Broadcasts from several threads while members close: no exception, every member leaves the group. */
    @Test
    void broadcastsRacingClosesThrowNothingAndTheGroupEmpties() throws Exception {
        WebSocketGroup room = new WebSocketGroup(1 << 20, WebSocketGroup.SlowPolicy.CLOSE);
        Events ev = new Events(false) {
            @Override public void onOpen(WebSocket ws, Handshake hs) { room.add(ws); opened.add(ws); }
        };
        server = HttpServer.create("127.0.0.1", 0).threads(2).ws("/ws", ev).start();
        List<RawWs> raws = new ArrayList<>();
        for (int i = 0; i < 20; i++) raws.add(RawWs.open(server.port(), "/ws"));
        List<WebSocket> members = new ArrayList<>();
        for (int i = 0; i < 20; i++) members.add(ev.opened.poll(10, TimeUnit.SECONDS));
        assertEquals(20, room.size());
        List<Throwable> thrown = new CopyOnWriteArrayList<>();
        CountDownLatch go = new CountDownLatch(1);
        List<Thread> senders = new ArrayList<>();
        for (int t = 0; t < 3; t++) {
            senders.add(Thread.ofPlatform().start(() -> {
                try {
                    go.await();
                    for (int i = 0; i < 500; i++) room.broadcast("tick " + i);
                } catch (Throwable e) {
                    thrown.add(e);
                }
            }));
        }
        go.countDown();
        for (int i = 0; i < 20; i++) {
            if (i % 2 == 0) members.get(i).close();
            else members.get(i).abort();
        }
        for (Thread t : senders) t.join(20_000);
        assertEquals(List.of(), thrown);
        for (RawWs r : raws) r.close();
        for (int i = 0; i < 20; i++) assertNotNull(ev.closes.poll(20, TimeUnit.SECONDS));
        for (WebSocket m : members) drainLoop(m);
        assertEquals(0, room.size());
    }

    /** close() during a fragmented send: the close frame may come between the fragments; later fragments are dropped (never after the close frame). */
    @Test
    void aCloseDuringAFragmentedSendIsAControlFrameBetweenFragments() throws Exception {
        Events ev = new Events(false);
        server = HttpServer.create("127.0.0.1", 0).threads(1).ws("/ws", ev).start();
        try (RawWs raw = RawWs.open(server.port(), "/ws")) {
            WebSocket ws = ev.opened.poll(10, TimeUnit.SECONDS);
            ws.sendFragment("part".getBytes(StandardCharsets.UTF_8), true, false);
            ws.close(CloseCodes.GOING_AWAY, "bye");
            ws.sendFragment("rest".getBytes(StandardCharsets.UTF_8), true, true); // dropped: the close has started
            assertFalse(ws.isOpen());
            RawWs.Frame f = raw.read();
            assertEquals(1, f.opcode());
            assertFalse(f.fin());
            RawWs.Frame c = raw.read();
            assertEquals(8, c.opcode());
            assertEquals(CloseCodes.GOING_AWAY, c.closeCode());
            raw.send(8, c.payload(), true);
            assertEquals(-1, raw.in.read());
        }
        assertEquals(CloseCodes.GOING_AWAY, ev.closes.poll(10, TimeUnit.SECONDS));
    }

    /**
     * Defect: with streaming, a text fragment that ended inside a UTF-8 sequence was delivered as
     * it was, so Message.text() of each fragment decoded the split character as two U+FFFD,
     * although "text has been checked to be valid UTF-8". A fragment now holds back the start of an
     * unfinished sequence for the next one.
     */
    @Test
    void streamedTextFragmentsNeverSplitACharacter() throws Exception {
        StringBuilder got = new StringBuilder();
        CountDownLatch last = new CountDownLatch(1);
        server = HttpServer.create("127.0.0.1", 0).threads(1)
                .ws("/ws", WebSocketConfig.builder().streaming(true).compression(false).build(), new WebSocketHandler() {
                    @Override public void onMessage(WebSocket ws, Message m) {
                        got.append(m.text());
                        if (m.isLast()) last.countDown();
                    }
                }).start();
        try (RawWs raw = RawWs.open(server.port(), "/ws")) {
            byte[] all = "aé€😀z".getBytes(StandardCharsets.UTF_8); // 1 + 2 + 3 + 4 + 1 bytes
            // one byte per frame: every multi-byte character is split across frames
            for (int i = 0; i < all.length; i++) raw.send(i == 0 ? 1 : 0, new byte[] {all[i]}, i == all.length - 1);
            assertTrue(last.await(10, TimeUnit.SECONDS));
        }
        assertEquals("aé€😀z", got.toString());
    }

    /**
     * Defect: an upgrade request answered while the server shuts down got a 503 that carried the
     * handshake's headers (Upgrade, Connection: Upgrade, Sec-WebSocket-Accept), since they were set
     * before the check.
     */
    @Test
    void anUpgradeRefusedDuringShutdownCarriesNoHandshakeHeaders() throws Exception {
        CountDownLatch inMiddleware = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        HttpServer srv = HttpServer.create("127.0.0.1", 0).threads(1)
                .use((req, res, chain) -> {
                    inMiddleware.countDown();
                    release.await(10, TimeUnit.SECONDS); // holds the request until the shutdown began
                    chain.next();
                })
                .ws("/ws", new Events(false)).start();
        try (Socket s = new Socket("127.0.0.1", srv.port())) {
            s.setSoTimeout(10_000);
            RawWs raw = new RawWs(s);
            raw.out.write(("GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            assertTrue(inMiddleware.await(10, TimeUnit.SECONDS));
            Thread closer = Thread.ofPlatform().start(() -> srv.close(Duration.ofSeconds(5)));
            Object cfg = field(srv, "cfg");
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (!(boolean) cfg.getClass().getField("draining").get(cfg) && System.nanoTime() < deadline) Thread.onSpinWait();
            release.countDown();
            String head = raw.readHead();
            assertTrue(head.startsWith("HTTP/1.1 503"), head);
            assertFalse(head.toLowerCase().contains("sec-websocket-accept"), head);
            assertFalse(head.toLowerCase().contains("upgrade: websocket"), head);
            closer.join(10_000);
        }
    }
}
