package io.jhv.http.websocket;

import io.jhv.core.net.ReconnectPolicy;
import io.jhv.core.tls.SelfSignedCertificate;
import io.jhv.core.tls.TlsConfig;
import io.jhv.http.server.HttpServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Hostile and broken peers: a client that never answers pings, a server that goes silent, a close
 * during the back-off, a 64 MiB message to a slow reader, slow receivers of a broadcast, sends from
 * many threads, reading paused, TLS, and an HTTP keep-alive connection upgraded mid-stream.
 */
@Timeout(120)
class WebSocketRobustnessTest extends WsServerClosedAfterEach {


    /** What a server socket went through. */
    static class Events implements WebSocketHandler {
        final BlockingQueue<WebSocket> opened = new LinkedBlockingQueue<>();
        final BlockingQueue<Integer> closes = new LinkedBlockingQueue<>();
        final List<Throwable> errors = new CopyOnWriteArrayList<>();
        final BlockingQueue<String> texts = new LinkedBlockingQueue<>();
        final boolean echo;

        Events(boolean echo) { this.echo = echo; }

        @Override public void onOpen(WebSocket ws, Handshake hs) { opened.add(ws); }
        @Override public void onMessage(WebSocket ws, Message m) {
            if (m.isText()) texts.add(m.text());
            if (echo) ws.send(m);
        }
        @Override public void onError(WebSocket ws, Throwable e) { errors.add(e); }
        @Override public void onClose(WebSocket ws, int code, String reason) { closes.add(code); }
    }

    @Test
    void aClientThatNeverAnswersPingsIsClosedByThePongTimeout() throws Exception {
        Events ev = new Events(true);
        server = HttpServer.create("127.0.0.1", 0).threads(1)
                .ws("/ws", WebSocketConfig.builder().pingInterval(Duration.ofMillis(100)).pongTimeout(Duration.ofMillis(300)).build(), ev)
                .start();
        try (RawWs raw = RawWs.open(server.port(), "/ws")) {
            RawWs.Frame ping = raw.read();
            assertEquals(9, ping.opcode(), "the server pings");
            // never answer: the server must give up on us
            assertEquals(CloseCodes.ABNORMAL, ev.closes.poll(10, TimeUnit.SECONDS));
            assertTrue(ev.errors.stream().anyMatch(e -> e.getMessage().contains("no pong")), ev.errors.toString());
            // and the connection is gone (EOF or reset after any further pings)
            assertThrows(IOException.class, () -> { while (true) raw.read(); });
        }
    }

    @Test
    void aClientThatAnswersPingsStaysOpen() throws Exception {
        Events ev = new Events(true);
        server = HttpServer.create("127.0.0.1", 0).threads(1)
                .ws("/ws", WebSocketConfig.builder().pingInterval(Duration.ofMillis(50)).pongTimeout(Duration.ofMillis(200)).build(), ev)
                .start();
        try (RawWs raw = RawWs.open(server.port(), "/ws")) {
            for (int i = 0; i < 10; i++) {
                RawWs.Frame ping = raw.read();
                assertEquals(9, ping.opcode());
                raw.send(10, ping.payload(), true);
            }
            raw.sendText("still here");
            RawWs.Frame f = raw.read();
            while (f.opcode() == 9) f = raw.read();
            assertEquals("still here", f.text());
            assertNull(ev.closes.poll(0, TimeUnit.SECONDS));
        }
    }

    @Test
    void aSilentServerIsDetectedByThePongTimeoutAndTheClientReconnects() throws Exception {
        AtomicInteger accepted = new AtomicInteger();
        CountDownLatch twoAccepted = new CountDownLatch(2);
        try (ServerSocket ss = new ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress())) {
            Thread t = Thread.ofPlatform().daemon().start(() -> {
                List<Socket> keep = new ArrayList<>();
                try {
                    while (true) {
                        Socket s = ss.accept();
                        keep.add(s);
                        accepted.incrementAndGet();
                        answerUpgrade(s); // then silence: frames are read by nobody
                        twoAccepted.countDown();
                    }
                } catch (IOException closed) {
                    for (Socket s : keep) try { s.close(); } catch (IOException ignored) { }
                }
            });
            List<Throwable> errors = new CopyOnWriteArrayList<>();
            WebSocketClient client = WebSocketClient.create("ws://127.0.0.1:" + ss.getLocalPort() + "/")
                    .config(WebSocketConfig.builder().pingInterval(Duration.ofMillis(100)).pongTimeout(Duration.ofMillis(200)).build())
                    .reconnect(ReconnectPolicy.fixed(Duration.ofMillis(50)))
                    .handler(new WebSocketHandler() {
                        @Override public void onMessage(WebSocket ws, Message m) { }
                        @Override public void onError(WebSocket ws, Throwable e) { errors.add(e); }
                    });
            client.connect().get(10, TimeUnit.SECONDS);
            assertTrue(twoAccepted.await(10, TimeUnit.SECONDS), "the client did not reconnect after the server went silent");
            assertTrue(errors.stream().anyMatch(e -> e.getMessage().contains("no pong")), errors.toString());
            client.close();
            client.closeFuture().get(10, TimeUnit.SECONDS);
            assertFalse(client.isOpen());
            ss.close();
            t.join(5000);
        }
    }

    /** Reads an upgrade request from {@code s} and answers 101. */
    static void answerUpgrade(Socket s) throws IOException {
        RawWs r = new RawWs(s);
        String head = r.readHead();
        String key = null;
        for (String line : head.split("\r\n")) {
            if (line.toLowerCase().startsWith("sec-websocket-key:")) key = line.substring(18).trim();
        }
        String accept;
        try {
            accept = java.util.Base64.getEncoder().encodeToString(MessageDigest.getInstance("SHA-1")
                    .digest((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").getBytes(StandardCharsets.US_ASCII)));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IOException(e);
        }
        s.getOutputStream().write(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                + "Sec-WebSocket-Accept: " + accept + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
    }

    @Test
    void closingTheClientDuringTheBackOffEndsItAtOnce() throws Exception {
        CountDownLatch firstRefused = new CountDownLatch(1);
        try (ServerSocket ss = new ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress())) {
            Thread.ofPlatform().daemon().start(() -> {
                try {
                    while (true) {
                        Socket s = ss.accept();
                        s.getOutputStream().write("HTTP/1.1 503 Busy\r\nContent-Length: 0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                        s.close();
                        firstRefused.countDown();
                    }
                } catch (IOException closed) {
                    // the test ended
                }
            });
            WebSocketClient client = WebSocketClient.create("ws://127.0.0.1:" + ss.getLocalPort() + "/")
                    .reconnect(ReconnectPolicy.fixed(Duration.ofSeconds(30)))
                    .handler((ws, m) -> { });
            CompletableFuture<WebSocket> f = client.connect();
            assertTrue(firstRefused.await(10, TimeUnit.SECONDS));
            long t0 = System.nanoTime();
            client.close();
            client.closeFuture().get(5, TimeUnit.SECONDS);
            assertTrue(System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(5), "close waited for the back-off");
            ExecutionException e = assertThrows(ExecutionException.class, () -> f.get(5, TimeUnit.SECONDS));
            assertNotNull(e.getCause());
        }
    }

    @Test
    void aFailedHandshakeIsRetriedWithBackOffUntilThePolicyGivesUp() throws Exception {
        AtomicInteger attempts = new AtomicInteger();
        try (ServerSocket ss = new ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress())) {
            Thread.ofPlatform().daemon().start(() -> {
                try {
                    while (true) {
                        Socket s = ss.accept();
                        attempts.incrementAndGet();
                        s.getOutputStream().write("HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                        s.close();
                    }
                } catch (IOException closed) {
                    // the test ended
                }
            });
            WebSocketClient client = WebSocketClient.create("ws://127.0.0.1:" + ss.getLocalPort() + "/")
                    .reconnect(ReconnectPolicy.exponential(Duration.ofMillis(10), Duration.ofMillis(40)).maxRetries(3))
                    .handler((ws, m) -> { });
            ExecutionException e = assertThrows(ExecutionException.class, () -> client.connect().get(10, TimeUnit.SECONDS));
            WebSocketHandshakeException h = assertInstanceOf(WebSocketHandshakeException.class, e.getCause());
            assertEquals(403, h.status());
            assertEquals(4, attempts.get(), "one attempt and three retries");
            client.closeFuture().get(5, TimeUnit.SECONDS);
        }
    }

    @Test
    void wssEchoWithTheServersCertificateTrusted() throws Exception {
        SelfSignedCertificate cert = SelfSignedCertificate.generate("localhost");
        Events ev = new Events(true);
        server = HttpServer.create("127.0.0.1", 0).threads(1)
                .https("127.0.0.1", 0, TlsConfig.server().certificate(cert).build())
                .ws("/ws", ev).start();
        BlockingQueue<String> got = new LinkedBlockingQueue<>();
        WebSocketClient client = WebSocketClient.create("wss://localhost:" + server.httpsPort() + "/ws")
                .tls(TlsConfig.client().trust(cert.certificate()).build())
                .handler((ws, m) -> got.add(m.text()));
        closeLater.add(client);
        WebSocket ws = client.connect().get(10, TimeUnit.SECONDS);
        assertTrue(ws.connection().isSecure());
        ws.send("over tls ✓");
        assertEquals("over tls ✓", got.poll(10, TimeUnit.SECONDS));

        // an untrusted certificate fails the connect with an SSL error, not a hang
        CompletableFuture<WebSocket> bad = WebSocketClient.create("wss://localhost:" + server.httpsPort() + "/ws")
                .handler((w, m) -> { }).connect();
        ExecutionException e = assertThrows(ExecutionException.class, () -> bad.get(10, TimeUnit.SECONDS));
        assertInstanceOf(javax.net.ssl.SSLException.class, e.getCause(), String.valueOf(e.getCause()));
    }

    @Test
    void aKeepAliveConnectionIsUpgradedAfterPlainRequests() throws Exception {
        Events ev = new Events(true);
        server = HttpServer.create("127.0.0.1", 0).threads(1)
                .get("/plain", (req, res) -> res.text("plain"))
                .ws("/ws", ev).start();
        try (Socket s = new Socket("127.0.0.1", server.port())) {
            s.setSoTimeout(10_000);
            RawWs raw = new RawWs(s);
            for (int i = 0; i < 2; i++) {
                raw.out.write("GET /plain HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                String head = raw.readHead();
                assertTrue(head.startsWith("HTTP/1.1 200"), head);
                assertEquals("plain", new String(raw.in.readNBytes(5), StandardCharsets.US_ASCII));
            }
            // a plain GET to the WebSocket route is refused with 426, and the connection goes on
            raw.out.write("GET /ws HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            String refused = raw.readHead();
            assertTrue(refused.startsWith("HTTP/1.1 426"), refused);
            int len = Integer.parseInt(refused.replaceAll("(?s).*[Cc]ontent-[Ll]ength: (\\d+).*", "$1"));
            raw.in.readNBytes(len);
            raw.upgrade("/ws");
            raw.sendText("upgraded mid-stream");
            assertEquals("upgraded mid-stream", raw.read().text());
            raw.send(8, new byte[] {0x03, (byte) 0xe8}, true);
            RawWs.Frame close = raw.read();
            assertEquals(8, close.opcode());
            assertEquals(1000, close.closeCode());
            assertEquals(-1, raw.in.read(), "the server closes TCP after the close handshake");
        }
        assertEquals(1000, ev.closes.poll(10, TimeUnit.SECONDS));
    }

    @Test
    void a64MiBMessageToASlowReaderStaysWithinTheBackPressureBound() throws Exception {
        int size = 64 << 20;
        Events ev = new Events(true);
        server = HttpServer.create("127.0.0.1", 0).threads(1)
                .ws("/big", WebSocketConfig.builder().maxMessageSize(size).build(), ev)
                .ws("/small", new Events(true)).start();
        byte[] data = new byte[size];
        new java.util.Random(7).nextBytes(data);
        byte[] frame = RawWs.frame(2, data, 0, data.length, true);
        try (RawWs raw = RawWs.open(server.port(), "/big")) {
            Thread writer = Thread.ofPlatform().daemon().start(() -> {
                try {
                    raw.out.write(frame);
                    raw.out.flush();
                } catch (IOException e) {
                    throw new RuntimeException(e);
                }
            });
            WebSocket serverSide = ev.opened.poll(10, TimeUnit.SECONDS);
            assertNotNull(serverSide);
            // the echo comes back while we read slowly
            int b0 = raw.in.readUnsignedByte();
            int b1 = raw.in.readUnsignedByte();
            assertEquals(0x82, b0);
            assertEquals(127, b1);
            assertEquals(size, raw.in.readLong());
            byte[] echo = new byte[size];
            Thread.ofPlatform().daemon().start(() -> {
                // the loop is not blocked by the slow reader: another socket is served meanwhile
                try (RawWs other = RawWs.open(server.port(), "/small")) {
                    other.sendText("meanwhile");
                    ev.texts.add("other:" + other.read().text());
                } catch (IOException e) {
                    ev.texts.add("other failed: " + e);
                }
            });
            RawWs.readSlowly(raw.in, echo, 1 << 20, 3);
            writer.join();
            assertArrayEquals(MessageDigest.getInstance("SHA-256").digest(data), MessageDigest.getInstance("SHA-256").digest(echo));
            long maxQueued = serverSide.connection().maxQueuedBytes();
            assertTrue(maxQueued <= size + (1 << 20), "the server queued " + maxQueued + " bytes for a " + size + "-byte echo");
            String other = ev.texts.poll(10, TimeUnit.SECONDS);
            assertEquals("other:meanwhile", other);
        }
    }

    @Test
    void aBroadcastSkipsASlowReceiverWithoutGrowingItsQueue() throws Exception {
        for (WebSocketGroup.SlowPolicy policy : WebSocketGroup.SlowPolicy.values()) {
            long bound = 256 << 10;
            WebSocketGroup room = new WebSocketGroup(bound, policy);
            Events ev = new Events(false) {
                @Override public void onOpen(WebSocket ws, Handshake hs) { room.add(ws); opened.add(ws); }
            };
            server = HttpServer.create("127.0.0.1", 0).threads(1).ws("/room", ev).start();
            Socket slowSocket = new Socket();
            slowSocket.setReceiveBufferSize(4096);
            slowSocket.connect(new java.net.InetSocketAddress("127.0.0.1", server.port()));
            RawWs slow = new RawWs(slowSocket);
            slow.upgrade("/room");
            WebSocket slowServerSide = ev.opened.poll(10, TimeUnit.SECONDS);
            BlockingQueue<Integer> fastGot = new LinkedBlockingQueue<>();
            WebSocketClient fast = WebSocketClient.create("ws://127.0.0.1:" + server.port() + "/room")
                    .config(WebSocketConfig.builder().compression(false).build())
                    .handler((ws, m) -> fastGot.add(m.length()));
            fast.connect().get(10, TimeUnit.SECONDS);
            assertNotNull(ev.opened.poll(10, TimeUnit.SECONDS));
            byte[] msg = new byte[64 << 10];
            int n = 200;
            for (int i = 0; i < n; i++) {
                room.broadcast(msg);
                assertEquals(msg.length, fastGot.poll(10, TimeUnit.SECONDS), "the fast receiver got message " + i);
            }
            long maxQueued = slowServerSide.connection().maxQueuedBytes();
            assertTrue(maxQueued <= bound + msg.length + 14, policy + ": the slow receiver's queue reached " + maxQueued);
            if (policy == WebSocketGroup.SlowPolicy.CLOSE) {
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                while (room.size() != 1 && System.nanoTime() < deadline) Thread.sleep(5);
                assertEquals(1, room.size(), "the slow socket was closed and left the group");
            } else {
                assertEquals(2, room.size());
            }
            fast.close();
            slow.close();
            server.close();
            server = null;
        }
    }

    @Test
    void sendsFromManyThreadsArriveWholeAndInOrderPerThread() throws Exception {
        Events ev = new Events(true);
        server = HttpServer.create("127.0.0.1", 0).threads(1).ws("/ws", ev).start();
        Map<Integer, List<Integer>> byThread = new ConcurrentHashMap<>();
        int threads = 4, per = 500;
        CountDownLatch all = new CountDownLatch(threads * per);
        WebSocketClient client = WebSocketClient.create("ws://127.0.0.1:" + server.port() + "/ws").handler((ws, m) -> {
            String[] p = m.text().split(":");
            byThread.computeIfAbsent(Integer.parseInt(p[0]), k -> Collections.synchronizedList(new ArrayList<>())).add(Integer.parseInt(p[1]));
            all.countDown();
        });
        closeLater.add(client);
        WebSocket ws = client.connect().get(10, TimeUnit.SECONDS);
        List<Thread> ts = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            int id = t;
            ts.add(Thread.ofPlatform().start(() -> {
                for (int i = 0; i < per; i++) ws.send(id + ":" + i + ":" + "x".repeat(i % 300));
            }));
        }
        for (Thread t : ts) t.join();
        assertTrue(all.await(20, TimeUnit.SECONDS), "missing echoes: " + all.getCount());
        for (int t = 0; t < threads; t++) {
            List<Integer> seq = byThread.get(t);
            Integer[] expected = new Integer[per];
            Arrays.setAll(expected, i -> i);
            assertArrayEquals(expected, seq.toArray(new Integer[0]), "thread " + t + "'s messages out of order");
        }
    }

    @Test
    void pausedReadingDeliversNothingUntilResumed() throws Exception {
        BlockingQueue<String> got = new LinkedBlockingQueue<>();
        CompletableFuture<WebSocket> paused = new CompletableFuture<>();
        server = HttpServer.create("127.0.0.1", 0).threads(1).ws("/ws", (ws, m) -> {
            got.add(m.text());
            if (m.text().equals("0")) {
                ws.pauseReading();
                paused.complete(ws);
            }
        }).start();
        try (RawWs raw = RawWs.open(server.port(), "/ws")) {
            // all ten in one write: the rest of the read must wait in the buffer, not be delivered
            java.io.ByteArrayOutputStream b = new java.io.ByteArrayOutputStream();
            for (int i = 0; i < 10; i++) b.write(RawWs.frame(1, Integer.toString(i).getBytes(), 0, 1, true));
            raw.out.write(b.toByteArray());
            WebSocket ws = paused.get(10, TimeUnit.SECONDS);
            assertEquals("0", got.poll(10, TimeUnit.SECONDS));
            assertNull(got.poll(200, TimeUnit.MILLISECONDS), "a message was delivered while reading was paused");
            ws.resumeReading();
            for (int i = 1; i < 10; i++) assertEquals(Integer.toString(i), got.poll(10, TimeUnit.SECONDS));
        }
    }

    @Test
    void aCallbackThatThrowsClosesThatSocketWith1011AndTheLoopGoesOn() throws Exception {
        Events other = new Events(true);
        server = HttpServer.create("127.0.0.1", 0).threads(1)
                .ws("/bad", (ws, m) -> { throw new IllegalStateException("handler bug"); })
                .ws("/ok", other).start();
        try (RawWs bad = RawWs.open(server.port(), "/bad"); RawWs ok = RawWs.open(server.port(), "/ok")) {
            bad.sendText("boom");
            RawWs.Frame f = bad.read();
            assertEquals(8, f.opcode());
            assertEquals(CloseCodes.INTERNAL_ERROR, f.closeCode());
            ok.sendText("fine");
            assertEquals("fine", ok.read().text());
        }
    }

    @Test
    void sendingAfterCloseIsDroppedAndAsyncSendsReportTheirFate() throws Exception {
        Events ev = new Events(true);
        server = HttpServer.create("127.0.0.1", 0).threads(1).ws("/ws", ev).start();
        BlockingQueue<String> got = new LinkedBlockingQueue<>();
        WebSocketClient client = WebSocketClient.create("ws://127.0.0.1:" + server.port() + "/ws").handler((w, m) -> got.add(m.text()));
        closeLater.add(client);
        WebSocket ws = client.connect().get(10, TimeUnit.SECONDS);
        ws.sendAsync("async").get(10, TimeUnit.SECONDS);
        assertEquals("async", got.poll(10, TimeUnit.SECONDS));
        ws.close(CloseCodes.GOING_AWAY, "leaving");
        ws.send("late"); // dropped, as in a browser: a send racing a close must not throw
        assertFalse(ws.isOpen());
        assertThrows(IllegalArgumentException.class, () -> ws.close(1005, "not sendable"));
        assertEquals(CloseCodes.GOING_AWAY, ev.closes.poll(10, TimeUnit.SECONDS));
        // the close handshake is over, so anything sent before the close frame has been read by the server
        assertEquals(List.of("async"), List.copyOf(ev.texts), "the dropped message never reached the server");
        ExecutionException e = assertThrows(ExecutionException.class, () -> ws.sendAsync("later").get(10, TimeUnit.SECONDS));
        assertInstanceOf(IllegalStateException.class, e.getCause());
    }

    @Test
    void aGracefulServerCloseSendsGoingAwayAndWaitsForTheCloseHandshake() throws Exception {
        Events ev = new Events(true);
        server = HttpServer.create("127.0.0.1", 0).threads(1).ws("/ws", ev).start();
        BlockingQueue<Integer> clientCloses = new LinkedBlockingQueue<>();
        List<WebSocketClient> clients = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            WebSocketClient c = WebSocketClient.create("ws://127.0.0.1:" + server.port() + "/ws").handler(new WebSocketHandler() {
                @Override public void onMessage(WebSocket ws, Message m) { }
                @Override public void onClose(WebSocket ws, int code, String reason) { clientCloses.add(code); }
            });
            closeLater.add(c);
            c.connect().get(10, TimeUnit.SECONDS);
            clients.add(c);
        }
        server.close(Duration.ofSeconds(10));
        server = null;
        for (int i = 0; i < 3; i++) assertEquals(CloseCodes.GOING_AWAY, clientCloses.poll(10, TimeUnit.SECONDS));
        for (int i = 0; i < 3; i++) assertEquals(CloseCodes.GOING_AWAY, ev.closes.poll(10, TimeUnit.SECONDS), "the server's sockets saw the clients' echo");
    }

    @Test
    void anIdleSocketIsClosedWithGoingAway() throws Exception {
        Events ev = new Events(true);
        server = HttpServer.create("127.0.0.1", 0).threads(1)
                .ws("/ws", WebSocketConfig.builder().idleTimeout(Duration.ofMillis(200)).build(), ev).start();
        try (RawWs raw = RawWs.open(server.port(), "/ws")) {
            long t0 = System.nanoTime();
            RawWs.Frame f = raw.read();
            assertEquals(8, f.opcode());
            assertEquals(CloseCodes.GOING_AWAY, f.closeCode());
            assertTrue(System.nanoTime() - t0 >= TimeUnit.MILLISECONDS.toNanos(150), "closed before the idle timeout");
            raw.send(8, f.payload(), true);
            assertEquals(-1, raw.in.read());
        }
        assertEquals(CloseCodes.GOING_AWAY, ev.closes.poll(10, TimeUnit.SECONDS));
    }

    @Test
    void streamingDeliversFragmentsAsTheyArriveWithinTheMessageLimit() throws Exception {
        List<String> parts = new CopyOnWriteArrayList<>();
        CountDownLatch last = new CountDownLatch(1);
        AtomicInteger offLoop = new AtomicInteger();
        server = HttpServer.create("127.0.0.1", 0).threads(1)
                .ws("/s", WebSocketConfig.builder().streaming(true).maxMessageSize(1 << 20).build(), (ws, m) -> {
                    if (!ws.loop().inLoop()) offLoop.incrementAndGet();
                    parts.add(m.length() + (m.isLast() ? "!" : ""));
                    if (m.isLast()) last.countDown();
                }).start();
        try (RawWs raw = RawWs.open(server.port(), "/s")) {
            byte[] chunk = new byte[300 << 10];
            raw.out.write(RawWs.frame(2, chunk, 0, chunk.length, false));
            raw.out.write(RawWs.frame(0, chunk, 0, chunk.length, false));
            raw.out.write(RawWs.frame(0, chunk, 0, 10, true));
            raw.out.flush();
            assertTrue(last.await(10, TimeUnit.SECONDS));
            assertEquals(List.of((300 << 10) + "", (300 << 10) + "", "10!"), parts);
            // the limit still bounds the whole message: four more fragments pass 1 MiB
            for (int i = 0; i < 4; i++) raw.out.write(RawWs.frame(i == 0 ? 2 : 0, chunk, 0, chunk.length, false));
            raw.out.flush();
            RawWs.Frame f = raw.read();
            assertEquals(8, f.opcode());
            assertEquals(CloseCodes.MESSAGE_TOO_BIG, f.closeCode());
        }
        assertEquals(0, offLoop.get(), "callbacks ran off the socket's loop");
    }

    @Test
    void aSenderPacedByOnWritableKeepsItsQueueNearTheHighWaterMark() throws Exception {
        int total = 64 << 20, chunk = 64 << 10;
        CompletableFuture<Long> maxSeen = new CompletableFuture<>();
        server = HttpServer.create("127.0.0.1", 0).threads(1).ws("/push", new WebSocketHandler() {
            long sent;
            long max;
            @Override public void onOpen(WebSocket ws, Handshake hs) {
                ws.onWritable(w -> push(w));
                push(ws);
            }
            void push(WebSocket ws) {
                while (sent < total && ws.isWritable()) {
                    ws.send(new byte[chunk]);
                    sent += chunk;
                    max = Math.max(max, ws.queuedBytes());
                }
                if (sent >= total) maxSeen.complete(max);
            }
            @Override public void onMessage(WebSocket ws, Message m) { }
        }).start();
        try (Socket s = new Socket()) {
            s.setReceiveBufferSize(64 << 10);
            s.connect(new java.net.InetSocketAddress("127.0.0.1", server.port()));
            s.setSoTimeout(30_000);
            RawWs raw = new RawWs(s);
            raw.upgrade("/push");
            long got = 0;
            while (got < total) {
                RawWs.Frame f = raw.read();
                got += f.payload().length;
                if ((got & ((4 << 20) - 1)) == 0) Thread.sleep(2); // a slow reader: paces only
            }
            assertEquals(total, got);
        }
        long max = maxSeen.get(30, TimeUnit.SECONDS);
        assertTrue(max <= io.jhv.core.net.TcpEndpoint.DEFAULT_HIGH_WATER_MARK + chunk + 14,
                "the queue reached " + max + " bytes with a sender that waits for onWritable");
    }

    @Test
    void aServerThatNeverAnswersTheUpgradeFailsTheConnectAtTheHandshakeTimeout() throws Exception {
        try (ServerSocket ss = new ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress())) {
            List<Socket> held = new CopyOnWriteArrayList<>();
            Thread.ofPlatform().daemon().start(() -> {
                try {
                    while (true) held.add(ss.accept()); // accepts, reads nothing, answers nothing
                } catch (IOException closed) {
                    for (Socket x : held) try { x.close(); } catch (IOException ignored) { }
                }
            });
            long t0 = System.nanoTime();
            CompletableFuture<WebSocket> f = WebSocketClient.create("ws://127.0.0.1:" + ss.getLocalPort() + "/")
                    .handshakeTimeout(Duration.ofMillis(300)).handler((ws, m) -> { }).connect();
            ExecutionException e = assertThrows(ExecutionException.class, () -> f.get(10, TimeUnit.SECONDS));
            WebSocketHandshakeException h = assertInstanceOf(WebSocketHandshakeException.class, e.getCause());
            assertEquals(0, h.status());
            assertTrue(h.getMessage().contains("within 300 ms"), h.getMessage());
            assertTrue(System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(5));
        }
    }

    @Test
    void wssRefusesACertificateForAnotherHost() throws Exception {
        SelfSignedCertificate other = SelfSignedCertificate.generate("other.test");
        server = HttpServer.create("127.0.0.1", 0).threads(1)
                .https("127.0.0.1", 0, TlsConfig.server().certificate(other).build())
                .ws("/ws", (ws, m) -> ws.send(m)).start();
        CompletableFuture<WebSocket> f = WebSocketClient.create("wss://localhost:" + server.httpsPort() + "/ws")
                .tls(TlsConfig.client().trust(other.certificate()).build())
                .handler((w, m) -> { }).connect();
        ExecutionException e = assertThrows(ExecutionException.class, () -> f.get(10, TimeUnit.SECONDS));
        assertInstanceOf(javax.net.ssl.SSLException.class, e.getCause(), String.valueOf(e.getCause()));
    }

    @Test
    void aClientSendingAMessageOverTheLimitHearsTheServers1009NotAReset() throws Exception {
        server = HttpServer.create("127.0.0.1", 0).threads(1)
                .ws("/small", WebSocketConfig.builder().maxMessageSize(1 << 20).build(), (ws, m) -> ws.send(m)).start();
        CompletableFuture<Integer> closed = new CompletableFuture<>();
        WebSocketClient client = WebSocketClient.create("ws://127.0.0.1:" + server.port() + "/small")
                .config(WebSocketConfig.builder().compression(false).build())
                .handler(new WebSocketHandler() {
                    @Override public void onMessage(WebSocket ws, Message m) { }
                    @Override public void onClose(WebSocket ws, int code, String reason) { closed.complete(code); }
                });
        closeLater.add(client);
        WebSocket ws = client.connect().get(10, TimeUnit.SECONDS);
        ws.send(new byte[20 << 20]); // the server fails it at the header, while most of it is still on its way
        assertEquals(CloseCodes.MESSAGE_TOO_BIG, closed.get(20, TimeUnit.SECONDS));
    }

    @Test
    void aSocketWhoseReadingIsPausedIsNotTakenForDeadByTheHeartbeat() throws Exception {
        Events ev = new Events(false);
        CompletableFuture<WebSocket> paused = new CompletableFuture<>();
        server = HttpServer.create("127.0.0.1", 0).threads(1)
                .ws("/ws", WebSocketConfig.builder().pingInterval(Duration.ofMillis(50)).pongTimeout(Duration.ofMillis(100))
                        .idleTimeout(Duration.ofMillis(150)).build(), new Events(false) {
                    @Override public void onMessage(WebSocket ws, Message m) {
                        if (m.text().equals("pause")) {
                            ws.pauseReading();
                            paused.complete(ws);
                        } else {
                            ws.send(m);
                        }
                    }
                    @Override public void onClose(WebSocket ws, int code, String reason) { ev.closes.add(code); }
                }).start();
        try (RawWs raw = RawWs.open(server.port(), "/ws")) {
            raw.sendText("pause");
            WebSocket ws = paused.get(10, TimeUnit.SECONDS);
            // answer the ping: the pong waits unread in the server's socket while reading is paused
            RawWs.Frame ping = raw.read();
            assertEquals(9, ping.opcode());
            raw.send(10, ping.payload(), true);
            assertNull(ev.closes.poll(600, TimeUnit.MILLISECONDS), "closed while the application had paused reading (well past the pong and idle timeouts)");
            ws.resumeReading();
            raw.sendText("after");
            RawWs.Frame f = raw.read();
            while (f.opcode() == 9) {
                raw.send(10, f.payload(), true);
                f = raw.read();
            }
            assertEquals("after", f.text());
        }
    }

    @Test
    void largeMessagesAtOnceShareTheServersInputBudgetAndTheOneOverIt_Gets1013() throws Exception {
        int size = 2 << 20;
        server = HttpServer.create("127.0.0.1", 0).threads(1).maxInputMemory(3 << 20)
                .ws("/big", WebSocketConfig.builder().maxMessageSize(8 << 20).compression(false).build(), (ws, m) -> ws.send(m))
                .start();
        byte[] data = new byte[size];
        new java.util.Random(3).nextBytes(data);
        byte[] frame = RawWs.frame(2, data, 0, size, true);
        int held = frame.length - (512 << 10);
        try (RawWs a = RawWs.open(server.port(), "/big"); RawWs b = RawWs.open(server.port(), "/big")) {
            a.out.write(frame, 0, held); // most of a 2 MiB message, the rest held back
            a.out.flush();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (server.inputMemoryInUse() < (3 << 19) && System.nanoTime() < deadline) Thread.sleep(5);
            assertTrue(server.inputMemoryInUse() >= (3 << 19), "the first message is not charged: " + server.inputMemoryInUse());
            // a second one at the same time does not fit the 3 MiB budget
            try {
                b.out.write(frame);
                b.out.flush();
            } catch (IOException refusedMidway) {
                // the server may have stopped reading it already; its close frame is still there to read
            }
            RawWs.Frame refused = b.read();
            assertEquals(8, refused.opcode());
            assertEquals(CloseCodes.TRY_AGAIN_LATER, refused.closeCode());
            // the first completes and is echoed whole
            a.out.write(frame, held, frame.length - held);
            a.out.flush();
            RawWs.Frame echo = a.read();
            assertArrayEquals(data, echo.payload());
        }
        // and the budget is given back: a new client's large message passes
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (server.inputMemoryInUse() > (256 << 10) && System.nanoTime() < deadline) Thread.sleep(5);
        assertTrue(server.inputMemoryInUse() <= (256 << 10), "still charged: " + server.inputMemoryInUse());
        try (RawWs c = RawWs.open(server.port(), "/big")) {
            c.out.write(frame);
            c.out.flush();
            assertArrayEquals(data, c.read().payload());
        }
    }

    @Test
    void aPingFloodFromAPeerThatNeverReadsCannotGrowThePongQueueWithoutBound() throws Exception {
        Events ev = new Events(true);
        server = HttpServer.create("127.0.0.1", 0).threads(1).ws("/ws", ev).start();
        byte[] ping = RawWs.frame(9, new byte[125], 0, 125, true);
        byte[] burst = new byte[ping.length * 512];
        for (int i = 0; i < 512; i++) System.arraycopy(ping, 0, burst, i * ping.length, ping.length);
        Socket s = new Socket();
        s.setReceiveBufferSize(4096);
        s.connect(new java.net.InetSocketAddress("127.0.0.1", server.port()));
        RawWs raw = new RawWs(s);
        raw.upgrade("/ws");
        WebSocket serverSide = ev.opened.poll(10, TimeUnit.SECONDS);
        assertNotNull(serverSide);
        // 64 MiB of pings (about 500,000) from a peer that reads none of the pongs: once the server's
        // queue passes its high-water mark it stops reading, and this writer blocks on TCP flow control
        java.util.concurrent.atomic.AtomicLong written = new java.util.concurrent.atomic.AtomicLong();
        Thread writer = Thread.ofPlatform().daemon().start(() -> {
            try {
                while (written.get() < (64L << 20)) {
                    raw.out.write(burst);
                    written.addAndGet(burst.length);
                }
            } catch (IOException closed) {
                // the test closed the socket
            }
        });
        long last = -1;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (System.nanoTime() < deadline) { // until the writer makes no progress for a while
            long now = written.get();
            if (now == last) break;
            last = now;
            Thread.sleep(300); // paces the progress check only
        }
        assertTrue(written.get() < (64L << 20), "the server kept reading pings whose pongs nobody read");
        long max = serverSide.connection().maxQueuedBytes();
        assertTrue(max <= io.jhv.core.net.TcpEndpoint.DEFAULT_HIGH_WATER_MARK + (256 << 10),
                "the pong queue reached " + max + " bytes");
        s.close();
        writer.join(5000);
        assertEquals(CloseCodes.ABNORMAL, ev.closes.poll(10, TimeUnit.SECONDS));
    }

    static void drain(InputStream in) throws IOException {
        in.transferTo(OutputStream.nullOutputStream());
    }
}
