package io.jhv.http.server;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The reverse proxy route against real upstream servers (jhv's, and raw sockets that misbehave),
 * with the JDK client and curl in front.
 */
@Timeout(60)
class ReverseProxyTest {
    private final List<AutoCloseable> toClose = new ArrayList<>();
    private HttpClient jdk;

    @org.junit.jupiter.api.BeforeEach
    void client() {
        // the JDK client offers an h2c upgrade on plain HTTP by default: the proxy must drop it and serve HTTP/1.1
        jdk = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
        toClose.add(jdk::close);
    }

    @AfterEach
    void stop() throws Exception {
        for (AutoCloseable c : toClose) c.close();
    }

    private HttpServer started(HttpServer s) {
        s.start();
        toClose.add(0, s);
        return s;
    }

    /** An upstream that answers with its name and what it received. */
    private HttpServer upstream(String name, Map<String, Map<String, String>> seen) {
        return started(HttpServer.create("127.0.0.1", 0).threads(1)
                .any("/*", (req, res) -> {
                    Map<String, String> h = new ConcurrentHashMap<>();
                    for (Map.Entry<String, String> e : req.headers()) h.merge(e.getKey().toLowerCase(), e.getValue(), (a, b) -> a + "|" + b);
                    h.put(":target", req.target());
                    h.put(":method", req.method());
                    h.put(":body", new String(req.body(), StandardCharsets.UTF_8));
                    seen.put(name + " " + req.target(), h);
                    res.header("X-Upstream", name).header("Keep-Alive", "timeout=5").text(name + " " + req.method() + " " + req.target());
                }));
    }

    private HttpResponse<String> get(int port, String path, String... headers) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).timeout(Duration.ofSeconds(10));
        for (int i = 0; i < headers.length; i += 2) b.header(headers[i], headers[i + 1]);
        return jdk.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void requestsGoRoundRobinWithPathQueryBodyAndForwardingHeadersAndWithoutHopByHopHeaders() throws Exception {
        Map<String, Map<String, String>> seen = new ConcurrentHashMap<>();
        HttpServer a = upstream("a", seen), b = upstream("b", seen);
        HttpServer proxy = started(HttpServer.create("127.0.0.1", 0).threads(2)
                .proxy("/api", "http://127.0.0.1:" + a.port(), "http://127.0.0.1:" + b.port())
                .get("/local", (req, res) -> res.text("local")));
        List<String> bodies = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            HttpResponse<String> r = get(proxy.port(), "/api/items/" + i + "?q=x%20y", "X-Custom", "v" + i);
            assertEquals(200, r.statusCode());
            bodies.add(r.body());
            assertEquals(r.body().substring(0, 1), r.headers().firstValue("X-Upstream").orElse(null));
            assertTrue(r.headers().firstValue("Keep-Alive").isEmpty(), "hop-by-hop Keep-Alive came back");
        }
        assertEquals(2, bodies.stream().filter(s -> s.startsWith("a ")).count(), bodies.toString());
        assertEquals(2, bodies.stream().filter(s -> s.startsWith("b ")).count(), bodies.toString());
        assertTrue(bodies.contains("a GET /api/items/0?q=x%20y") || bodies.contains("b GET /api/items/0?q=x%20y"), bodies.toString());
        assertEquals("local", get(proxy.port(), "/local").body());
        // a target starting with "//" is a path at the upstream, never another host
        try (Socket s = new Socket("127.0.0.1", proxy.port())) {
            s.getOutputStream().write("GET //evil.example/x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            RawClient.Resp r = RawClient.read(s.getInputStream(), false);
            assertTrue(r.status() == 404 || r.text().endsWith("GET //evil.example/x"), r.toString());
        }
        assertEquals(200, get(proxy.port(), "/api").statusCode());

        // hop-by-hop headers (and those Connection names) stay here; forwarding headers are added
        try (Socket s = new Socket("127.0.0.1", proxy.port())) {
            s.getOutputStream().write(("POST /api/post?x=1 HTTP/1.1\r\nHost: front.example:8080\r\nConnection: keep-alive, X-Secret\r\n"
                    + "X-Secret: 1\r\nKeep-Alive: timeout=9\r\nX-Forwarded-For: 203.0.113.9\r\nForwarded: for=203.0.113.9\r\n"
                    + "Content-Length: 5\r\n\r\nhello").getBytes(StandardCharsets.US_ASCII));
            RawClient.Resp r = RawClient.read(s.getInputStream(), false);
            assertEquals(200, r.status(), r.toString());
        }
        Map<String, String> h = seen.entrySet().stream().filter(e -> e.getKey().endsWith("/api/post?x=1")).findFirst().orElseThrow().getValue();
        assertEquals("POST", h.get(":method"));
        assertEquals("hello", h.get(":body"));
        assertNull(h.get("x-secret"));
        assertNull(h.get("keep-alive"));
        assertEquals("203.0.113.9, 127.0.0.1", h.get("x-forwarded-for"));
        assertEquals("http", h.get("x-forwarded-proto"));
        assertEquals("front.example:8080", h.get("x-forwarded-host"));
        assertEquals("for=203.0.113.9, for=127.0.0.1;proto=http;host=\"front.example:8080\"", h.get("forwarded"));
        assertTrue(h.get("host").startsWith("127.0.0.1:"), h.get("host"));
    }

    @Test
    void aDeadUpstreamIsSkippedAndAllDeadGives502ThatSaysWhy() throws Exception {
        Map<String, Map<String, String>> seen = new ConcurrentHashMap<>();
        HttpServer a = upstream("a", seen);
        int dead;
        try (ServerSocket s = new ServerSocket(0)) {
            dead = s.getLocalPort();
        }
        ReverseProxy rp = ReverseProxy.builder().upstream("http://127.0.0.1:" + dead).upstream("http://127.0.0.1:" + a.port())
                .failTimeout(Duration.ofSeconds(30)).build();
        HttpServer proxy = started(HttpServer.create("127.0.0.1", 0).threads(1).proxy("/", rp));
        for (int i = 0; i < 6; i++) {
            HttpResponse<String> r = get(proxy.port(), "/x" + i);
            assertEquals(200, r.statusCode(), r.body());
            assertTrue(r.body().startsWith("a "));
        }
        assertTrue(rp.upstreamStates().get(0).endsWith(" down"), rp.upstreamStates().toString());

        HttpServer allDead = started(HttpServer.create("127.0.0.1", 0).threads(1).proxy("/", "http://127.0.0.1:" + dead));
        HttpResponse<String> r = get(allDead.port(), "/y");
        assertEquals(502, r.statusCode());
        assertTrue(r.body().contains("Bad Gateway") && r.body().contains("127.0.0.1:" + dead), r.body());
    }

    /** A raw upstream: runs {@code script} for each connection. */
    private int rawUpstream(SocketScript script) throws IOException {
        ServerSocket ss = new ServerSocket(0, 50, java.net.InetAddress.getByName("127.0.0.1"));
        toClose.add(ss);
        Thread.ofPlatform().daemon().start(() -> {
            while (!ss.isClosed()) {
                try {
                    Socket s = ss.accept();
                    Thread.ofPlatform().daemon().start(() -> {
                        try (s) {
                            script.run(s);
                        } catch (Exception ignored) {
                            // the test decides
                        }
                    });
                } catch (IOException closed) {
                    return;
                }
            }
        });
        return ss.getLocalPort();
    }

    interface SocketScript {
        void run(Socket s) throws Exception;
    }

    static void readHead(InputStream in) throws IOException {
        int state = 0;
        while (state < 4) {
            int b = in.read();
            if (b < 0) throw new IOException("eof");
            state = (b == '\r' && (state == 0 || state == 2)) || (b == '\n' && (state == 1 || state == 3)) ? state + 1 : 0;
        }
    }

    @Test
    void anUpstreamThatNeverAnswersGives504AndOneThatDiesMidResponseNeverHangs() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        toClose.add(release::countDown);
        int silent = rawUpstream(s -> {
            readHead(s.getInputStream());
            release.await(30, TimeUnit.SECONDS);
        });
        HttpServer p1 = started(HttpServer.create("127.0.0.1", 0).threads(1)
                .proxy("/", ReverseProxy.builder().upstream("http://127.0.0.1:" + silent).responseTimeout(Duration.ofMillis(300)).build()));
        HttpResponse<String> r = get(p1.port(), "/slow");
        assertEquals(504, r.statusCode());
        assertTrue(r.body().contains("Gateway Timeout") && r.body().contains("did not answer in time"), r.body());

        // dies in a small (buffered) body: 502; in a long (streamed) body: the client's connection is cut
        int diesSmall = rawUpstream(s -> {
            readHead(s.getInputStream());
            s.getOutputStream().write("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten..".getBytes(StandardCharsets.US_ASCII));
            s.getOutputStream().flush();
        });
        int diesLong = rawUpstream(s -> {
            readHead(s.getInputStream());
            s.getOutputStream().write("HTTP/1.1 200 OK\r\nContent-Length: 10000000\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            s.getOutputStream().write(new byte[200_000]);
            s.getOutputStream().flush();
        });
        HttpServer p2 = started(HttpServer.create("127.0.0.1", 0).threads(1)
                .proxy("/small", "http://127.0.0.1:" + diesSmall).proxy("/long", "http://127.0.0.1:" + diesLong)
                .get("/ok", (req, res) -> res.text("ok")));
        r = get(p2.port(), "/small");
        assertEquals(502, r.statusCode());
        assertTrue(r.body().contains("Bad Gateway"), r.body());
        try {
            HttpResponse<byte[]> cut = jdk.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + p2.port() + "/long"))
                    .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofByteArray());
            fail("a cut body was delivered as complete: " + cut.body().length + " bytes");
        } catch (IOException expected) {
            // the connection was closed before the body ended: what a client must see
        }
        assertEquals("ok", get(p2.port(), "/ok").body());
    }

    @Test
    void aLargeStreamedBodyReachesASlowReaderWithBoundedBuffers() throws Exception {
        byte[] block = new byte[64 * 1024];
        for (int i = 0; i < block.length; i++) block[i] = (byte) i;
        int blocks = 512; // 32 MiB
        HttpServer big = started(HttpServer.create("127.0.0.1", 0).threads(1)
                .get("/big", Handler.blocking((req, res) -> {
                    try (Response.ChunkedWriter w = res.stream()) {
                        for (int i = 0; i < blocks; i++) w.write(block);
                    }
                })));
        HttpServer proxy = started(HttpServer.create("127.0.0.1", 0).threads(1).proxy("/", "http://127.0.0.1:" + big.port()));
        try (Socket s = new Socket()) {
            s.setReceiveBufferSize(16 * 1024);
            s.connect(new InetSocketAddress("127.0.0.1", proxy.port()));
            s.getOutputStream().write("GET /big HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            InputStream in = s.getInputStream();
            readHead(in);
            byte[] buf = new byte[8192];
            long total = 0;
            int reads = 0;
            long maxQueued = 0;
            for (int n; (n = in.read(buf)) > 0; ) {
                total += n;
                if (++reads % 64 == 0) {
                    Thread.sleep(1); // paces the slow reader
                    for (io.jhv.core.net.Connection c : proxy.connections()) maxQueued = Math.max(maxQueued, c.queuedBytes());
                }
            }
            // the chunked framing adds a little; the payload is all there
            assertTrue(total >= (long) blocks * block.length, "got " + total);
            assertTrue(maxQueued < 8L << 20, "the proxy queued " + maxQueued + " bytes for a slow reader");
        }
    }

    @Test
    void curlThroughTheProxyGetsTheSameBytesAsFromTheUpstream() throws Exception {
        byte[] payload = new byte[300_000];
        new java.util.Random(7).nextBytes(payload);
        HttpServer up = started(HttpServer.create("127.0.0.1", 0).threads(1)
                .get("/blob", (req, res) -> res.contentType("application/octet-stream").bytes(payload)));
        AtomicInteger n = new AtomicInteger();
        HttpServer proxy = started(HttpServer.create("127.0.0.1", 0).threads(1)
                .use((req, res, chain) -> { n.incrementAndGet(); chain.next(); })
                .proxy("/", "http://127.0.0.1:" + up.port()));
        Process p = new ProcessBuilder("curl", "-sS", "--max-time", "10", "http://127.0.0.1:" + proxy.port() + "/blob").start();
        byte[] got = p.getInputStream().readAllBytes();
        assertTrue(p.waitFor(15, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8));
        assertTrue(java.util.Arrays.equals(payload, got), "curl got " + got.length + " bytes");
        assertEquals(1, n.get());
        assertFalse(proxy.connections().size() > 1);
    }

    @Test
    void aWebSocketPassesThroughBothWaysWithItsSubprotocolAndCloseCode() throws Exception {
        java.util.concurrent.BlockingQueue<Integer> upstreamCloses = new java.util.concurrent.LinkedBlockingQueue<>();
        java.util.concurrent.BlockingQueue<String> upstreamSawXff = new java.util.concurrent.LinkedBlockingQueue<>();
        HttpServer up = started(HttpServer.create("127.0.0.1", 0).threads(1)
                .use((req, res, chain) -> {
                    if (req.header("X-Forwarded-For") != null) upstreamSawXff.add(req.header("X-Forwarded-For"));
                    chain.next();
                })
                .ws("/ws", io.jhv.http.websocket.WebSocketConfig.builder().subprotocols("chat.v1").maxMessageSize(8 << 20).build(),
                        new io.jhv.http.websocket.WebSocketHandler() {
                            @Override public void onMessage(io.jhv.http.websocket.WebSocket ws, io.jhv.http.websocket.Message m) {
                                if (m.isText()) ws.send("echo:" + m.text());
                                else ws.send(m.bytes());
                            }
                            @Override public void onClose(io.jhv.http.websocket.WebSocket ws, int code, String reason) {
                                upstreamCloses.add(code);
                            }
                        })
                .get("/plain", (req, res) -> res.text("not a websocket")));
        HttpServer proxy = started(HttpServer.create("127.0.0.1", 0).threads(1).proxy("/", "http://127.0.0.1:" + up.port()));

        java.util.concurrent.BlockingQueue<Object> got = new java.util.concurrent.LinkedBlockingQueue<>();
        io.jhv.http.websocket.WebSocketClient client = io.jhv.http.websocket.WebSocketClient.create("ws://127.0.0.1:" + proxy.port() + "/ws")
                .subprotocols("chat.v1")
                .config(io.jhv.http.websocket.WebSocketConfig.builder().maxMessageSize(8 << 20).build())
                .handler((ws, m) -> got.add(m.isText() ? m.text() : m.bytes()));
        toClose.add(0, client);
        io.jhv.http.websocket.WebSocket ws = client.connect().get(10, TimeUnit.SECONDS);
        assertEquals("chat.v1", ws.subprotocol());
        assertEquals("127.0.0.1", upstreamSawXff.poll(5, TimeUnit.SECONDS));
        ws.send("hi");
        assertEquals("echo:hi", got.poll(10, TimeUnit.SECONDS));
        byte[] big = new byte[3 << 20];
        new java.util.Random(3).nextBytes(big);
        ws.send(big);
        Object back = got.poll(20, TimeUnit.SECONDS);
        assertTrue(back instanceof byte[] b && java.util.Arrays.equals(big, b), "the 3 MiB message did not come back whole");
        ws.close(1000, "bye");
        assertEquals(1000, upstreamCloses.poll(10, TimeUnit.SECONDS));

        // an upstream that refuses the upgrade: a 502 that quotes it
        java.util.concurrent.ExecutionException e = org.junit.jupiter.api.Assertions.assertThrows(java.util.concurrent.ExecutionException.class,
                () -> io.jhv.http.websocket.WebSocketClient.connect("ws://127.0.0.1:" + proxy.port() + "/plain", (w, m) -> { })
                        .get(10, TimeUnit.SECONDS));
        assertTrue(e.getCause() instanceof io.jhv.http.websocket.WebSocketHandshakeException h && h.status() == 502, String.valueOf(e.getCause()));
        // and the proxy still serves plain requests
        assertEquals("not a websocket", get(proxy.port(), "/plain").body());
    }

    /**
     * What the proxy reuses between requests (per connection: the client's forwarded strings and
     * the last Host; per proxy: the upstream URIs of recent targets, one slot per hash; per
     * exchange: the request tables once answered) never leaks one request's values into another:
     * on one keep-alive connection the Host changes and changes back, two targets share a cache
     * slot, an HTTP/1.0 request has no Host, and three requests come pipelined in one write.
     */
    @Test
    void reusedStringsUrisAndTablesNeverCarryOneRequestsValuesIntoAnother() throws Exception {
        Map<String, Map<String, String>> seen = new ConcurrentHashMap<>();
        HttpServer a = upstream("a", seen);
        HttpServer proxy = started(HttpServer.create("127.0.0.1", 0).threads(1).proxy("/api", "http://127.0.0.1:" + a.port()));
        String first = "/api/first?x=1";
        String collide = null; // another target in the same slot of the proxy's 256-slot target cache
        for (int i = 0; collide == null; i++) {
            String c = "/api/c" + i;
            if ((c.hashCode() & 255) == (first.hashCode() & 255)) collide = c;
        }
        try (RawClient c = RawClient.connect(proxy.port())) {
            String[][] steps = {
                {first, "one.example"}, {"/api/second", "two.example:81"}, {first, "one.example"},
                {collide, "two.example:81"}, {first, "three.example"}, {collide, "one.example"},
            };
            for (String[] st : steps) {
                RawClient.Resp r = c.exchange("GET " + st[0] + " HTTP/1.1\r\nHost: " + st[1] + "\r\nX-N: " + st[0] + "\r\n\r\n");
                assertEquals(200, r.status(), r.toString());
                assertEquals("a GET " + st[0], r.text());
                Map<String, String> h = seen.get("a " + st[0]);
                assertEquals(st[0], h.get(":target"));
                assertEquals(st[0], h.get("x-n"));
                assertEquals(st[1], h.get("x-forwarded-host"));
                assertEquals("for=127.0.0.1;proto=http;host=\"" + st[1] + "\"", h.get("forwarded"));
                assertEquals("127.0.0.1", h.get("x-forwarded-for"));
                seen.clear();
            }
            // HTTP/1.0 without Host: no X-Forwarded-Host, no host= (not the previous request's)
            c.send("GET /api/old HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
            RawClient.Resp r = c.read();
            assertEquals("a GET /api/old", r.text());
            Map<String, String> h = seen.get("a /api/old");
            assertNull(h.get("x-forwarded-host"), h.toString());
            assertEquals("for=127.0.0.1;proto=http", h.get("forwarded"));
            // pipelined: answered in order, each with its own target and headers
            StringBuilder three = new StringBuilder();
            for (int i = 0; i < 3; i++) three.append("GET /api/p").append(i).append(" HTTP/1.1\r\nHost: p").append(i).append("\r\nX-N: ").append(i).append("\r\n\r\n");
            c.send(three.toString());
            for (int i = 0; i < 3; i++) {
                RawClient.Resp p = c.read();
                assertEquals("a GET /api/p" + i, p.text(), p.toString());
            }
            for (int i = 0; i < 3; i++) {
                Map<String, String> hp = seen.get("a /api/p" + i);
                assertEquals(String.valueOf(i), hp.get("x-n"));
                assertEquals("p" + i, hp.get("x-forwarded-host"));
            }
        }
    }
}
