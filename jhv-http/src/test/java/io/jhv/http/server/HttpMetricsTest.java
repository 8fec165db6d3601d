package io.jhv.http.server;

import io.jhv.core.loop.EventLoop;
import io.jhv.core.net.Connection;
import io.jhv.http.websocket.WebSocket;
import io.jhv.http.websocket.WebSocketClient;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The /metrics output, parsed as Prometheus text, checked against the traffic the test sent
 * (curl as the client), plus the listener interface's contract.
 */
class HttpMetricsTest {
    private HttpServer server;

    @AfterEach
    void stop() {
        if (server != null) server.close();
    }

    /** Parses the Prometheus text format: sample name with labels -> value; checks every sample has a TYPE. */
    static Map<String, Double> parse(String text) {
        Map<String, Double> samples = new HashMap<>();
        Map<String, String> types = new HashMap<>();
        for (String line : text.split("\n")) {
            if (line.isEmpty()) continue;
            if (line.startsWith("# TYPE ")) {
                String[] p = line.split(" ");
                types.put(p[2], p[3]);
                continue;
            }
            if (line.startsWith("#")) continue;
            int sp = line.lastIndexOf(' ');
            String name = line.substring(0, sp);
            double v = Double.parseDouble(line.substring(sp + 1));
            String base = name.contains("{") ? name.substring(0, name.indexOf('{')) : name;
            String family = base.replaceAll("_(bucket|sum|count)$", "");
            assertTrue(types.containsKey(base) || types.containsKey(family), "no # TYPE before " + name);
            assertTrue(samples.put(name, v) == null, "sample twice: " + name);
        }
        return samples;
    }

    static String scrape(int port) throws Exception {
        Process p = new ProcessBuilder("curl", "-sS", "--max-time", "10", "http://127.0.0.1:" + port + "/metrics")
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(15, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), out);
        return out;
    }

    static int curl(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("curl", "-s", "-o", "/dev/null", "--max-time", "10"));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        p.getInputStream().readAllBytes();
        assertTrue(p.waitFor(15, TimeUnit.SECONDS));
        return p.exitValue();
    }

    static void await(BooleanSupplier cond, String what) throws InterruptedException {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!cond.getAsBoolean()) {
            if (System.nanoTime() > end) fail("timed out waiting for " + what);
            Thread.sleep(10);
        }
    }

    @Test
    void theScrapeCountsTheRequestsByStatusClassAndTheBytesCurlSent() throws Exception {
        HttpMetrics metrics = HttpMetrics.create();
        server = HttpServer.create("127.0.0.1", 0).threads(2).metrics(metrics)
                .get("/metrics", metrics.handler())
                .get("/ok", (req, res) -> res.text("fine"))
                .get("/fail", (req, res) -> res.status(500).text("broken"))
                .post("/echo", (req, res) -> res.bytes(req.body()))
                .start();
        int port = server.port();
        String base = "http://127.0.0.1:" + port;
        // one curl, keep-alive: 3 x 200, 2 x 404 (no route), 1 x 500; then a 100 KiB POST
        assertEquals(0, curl(base + "/ok", base + "/ok", base + "/ok", base + "/nope", base + "/nope", base + "/fail"));
        byte[] upload = new byte[100 * 1024];
        java.nio.file.Path f = java.nio.file.Files.createTempFile("metrics", ".bin");
        java.nio.file.Files.write(f, upload);
        assertEquals(0, curl("--data-binary", "@" + f, base + "/echo"));
        java.nio.file.Files.delete(f);
        await(() -> metrics.requests() >= 7, "7 requests counted");

        Map<String, Double> m = parse(scrape(port));
        assertEquals(4.0, m.get("jhv_http_requests_total{code=\"2xx\"}"), m.toString()); // 3 ok + echo
        assertEquals(2.0, m.get("jhv_http_requests_total{code=\"4xx\"}"));
        assertEquals(1.0, m.get("jhv_http_requests_total{code=\"5xx\"}"));
        assertEquals(0.0, m.get("jhv_http_requests_total{code=\"3xx\"}"));
        // the scrape itself is in flight while it is written: it is not counted yet
        assertEquals(7.0, m.get("jhv_http_request_duration_seconds_count"));
        assertEquals(7.0, m.get("jhv_http_request_duration_seconds_bucket{le=\"+Inf\"}"));
        assertTrue(m.get("jhv_http_request_duration_seconds_bucket{le=\"0.0005\"}") <= m.get("jhv_http_request_duration_seconds_bucket{le=\"10\"}"));
        assertTrue(m.get("jhv_http_request_duration_seconds_sum") > 0);
        // three connections: the first curl, the POST, the scrape (open now)
        assertEquals(3.0, m.get("jhv_http_connections_accepted_total"));
        assertEquals(0.0, m.get("jhv_http_connections_refused_total"));
        assertTrue(m.get("jhv_http_connections_open") >= 1, m.toString());
        double in = m.get("jhv_http_received_bytes_total");
        double out = m.get("jhv_http_sent_bytes_total");
        assertTrue(in >= upload.length && in < upload.length + 4096, "received " + in);
        assertTrue(out >= upload.length && out < upload.length + 4096, "sent " + out);
        assertTrue(m.containsKey("jhv_loop_lag_seconds{loop=\"0\"}") && m.containsKey("jhv_loop_lag_seconds{loop=\"1\"}"), m.toString());
        assertEquals(0.0, m.get("jhv_http_write_queue_bytes"));

        // counters only grow: a second scrape sees the first scrape counted
        Map<String, Double> m2 = parse(scrape(port));
        assertEquals(5.0, m2.get("jhv_http_requests_total{code=\"2xx\"}"));
        assertTrue(m2.get("jhv_http_sent_bytes_total") > out);
    }

    @Test
    void refusedConnectionsAndASlowReadersQueueShowUp() throws Exception {
        HttpMetrics metrics = HttpMetrics.create();
        byte[] big = new byte[8 << 20];
        server = HttpServer.create("127.0.0.1", 0).threads(1).maxConnections(2).metrics(metrics)
                .get("/metrics", metrics.handler())
                .get("/big", (req, res) -> res.bytes(big))
                .start();
        // a reader that never reads: 8 MiB wait in the server's write queue
        Socket slow = new Socket();
        slow.setReceiveBufferSize(4096);
        slow.connect(new InetSocketAddress("127.0.0.1", server.port()));
        slow.getOutputStream().write("GET /big HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        await(() -> server.connections().stream().mapToLong(Connection::queuedBytes).sum() > (1 << 20), "a queue");
        // a second connection fills the limit of 2; a third is refused
        Socket second = new Socket("127.0.0.1", server.port());
        await(() -> server.connections().size() == 2, "two connections");
        Socket third = new Socket("127.0.0.1", server.port());
        assertEquals(-1, third.getInputStream().read(), "the third connection is closed at once");
        await(() -> server.refusedConnections() == 1, "one refused");
        second.close();
        await(() -> server.connections().size() == 1, "the second one gone");

        Map<String, Double> m = parse(scrape(server.port()));
        assertEquals(1.0, m.get("jhv_http_connections_refused_total"));
        assertTrue(m.get("jhv_http_write_queue_bytes") > (1 << 20), m.toString());
        slow.close();
        third.close();
    }

    @Test
    void aListenerHearsEachConnectionRequestAndLoopAndAWebSocketClose() throws Exception {
        AtomicInteger opened = new AtomicInteger(), closed = new AtomicInteger(), lags = new AtomicInteger();
        List<String> requests = java.util.Collections.synchronizedList(new ArrayList<>());
        long[] closedBytes = new long[2];
        ServerMetrics listener = new ServerMetrics() {
            @Override public void connectionOpened(Connection conn) { opened.incrementAndGet(); }
            @Override public void connectionClosed(Connection conn, long read, long written) {
                synchronized (closedBytes) { closedBytes[0] += read; closedBytes[1] += written; }
                closed.incrementAndGet();
            }
            @Override public void requestCompleted(String method, int status, long nanos) {
                assertTrue(nanos >= 0);
                requests.add(method + " " + status);
            }
            @Override public void loopLag(EventLoop loop, long lagNanos) { lags.incrementAndGet(); }
        };
        server = HttpServer.create("127.0.0.1", 0).threads(1).metrics(listener)
                .get("/a", (req, res) -> res.text("a"))
                .ws("/ws", (ws, msg) -> ws.send(msg))
                .start();
        assertEquals(0, curl("-X", "GET", "http://127.0.0.1:" + server.port() + "/a"));
        WebSocket ws = WebSocketClient.connect("ws://127.0.0.1:" + server.port() + "/ws", (w, msg) -> { })
                .get(10, TimeUnit.SECONDS);
        ws.close(1000, "bye");
        await(() -> closed.get() == 2, "both connections closed");
        assertEquals(2, opened.get());
        assertEquals(List.of("GET 200", "GET 101"), requests);
        synchronized (closedBytes) {
            assertTrue(closedBytes[0] > 0 && closedBytes[1] > 0);
        }
        await(() -> lags.get() >= 1, "a loop lag sample"); // sampled every 500 ms
    }

    @Test
    void aThrowingListenerLosesNoResponse() throws Exception {
        server = HttpServer.create("127.0.0.1", 0).threads(1).metrics(new ServerMetrics() {
                    @Override public void requestCompleted(String method, int status, long nanos) {
                        throw new IllegalStateException("broken metrics binding");
                    }
                })
                .get("/a", (req, res) -> res.text("a"))
                .start();
        try (Socket s = new Socket("127.0.0.1", server.port())) {
            for (int i = 0; i < 3; i++) { // keep-alive: the connection survives each failure
                s.getOutputStream().write("GET /a HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                RawClient.Resp r = RawClient.read(s.getInputStream(), false);
                assertEquals(200, r.status());
                assertEquals("a", r.text());
            }
        }
    }

    @Test
    void oneCollectorServesOneServer() throws Exception {
        HttpMetrics metrics = HttpMetrics.create();
        server = HttpServer.create("127.0.0.1", 0).metrics(metrics);
        IllegalStateException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalStateException.class,
                () -> HttpServer.create("127.0.0.1", 0).metrics(metrics));
        assertNotNull(e.getMessage());
    }
}
