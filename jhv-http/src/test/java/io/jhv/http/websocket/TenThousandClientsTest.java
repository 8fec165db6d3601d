package io.jhv.http.websocket;

import io.jhv.http.server.HttpServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.*;

/**
 * 10,000 concurrent WebSocket connections on loopback against one server loop: every client (in a
 * child JVM, on two loops) gets its echo while all are open, and every one closes cleanly. The
 * server's descriptors: 10,000 sockets in this JVM (the limit here is 20,000; the clients' 10,000 are
 * the child's).
 */
@Timeout(300)
class TenThousandClientsTest {

    @Test
    void tenThousandConcurrentClientsOnOneServerLoop() throws Exception {
        int n = 10_000;
        long limit = openFilesLimit();
        assertTrue(limit < 0 || limit >= n + 500, "this JVM may open " + limit + " descriptors: 10,000 sockets and the"
                + " JVM's own need " + (n + 500) + " (raise the hard limit: ulimit -Hn)");
        AtomicInteger open = new AtomicInteger();
        AtomicInteger peak = new AtomicInteger();
        AtomicInteger closedNormally = new AtomicInteger();
        try (HttpServer server = HttpServer.create("127.0.0.1", 0).threads(1).maxConnections(n + 100)
                .ws("/echo", WebSocketConfig.builder().compression(false).build(), new WebSocketHandler() {
                    @Override public void onOpen(WebSocket ws, Handshake hs) { peak.accumulateAndGet(open.incrementAndGet(), Math::max); }
                    @Override public void onMessage(WebSocket ws, Message m) { ws.send(m); }
                    @Override public void onClose(WebSocket ws, int code, String reason) {
                        open.decrementAndGet();
                        if (code == CloseCodes.NORMAL) closedNormally.incrementAndGet();
                    }
                }).start()) {
            Process p = ManyWsClients.start("ws://127.0.0.1:" + server.port() + "/echo", n);
            StringBuilder log = new StringBuilder();
            try (BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
                 OutputStream in = p.getOutputStream()) {
                String line;
                while ((line = out.readLine()) != null && !line.startsWith("echoed")) log.append(line).append('\n');
                assertNotNull(line, "the clients' process ended early:\n" + log);
                assertTrue(line.startsWith("echoed " + n + " ") && line.endsWith("failures 0"), line + "\n" + log);
                assertEquals(n, open.get(), "open on the server while every client had its echo");
                in.write('\n');
                in.flush();
                while ((line = out.readLine()) != null && !line.startsWith("closed")) log.append(line).append('\n');
                assertEquals("closed " + n + " failures 0", line, log.toString());
            } finally {
                if (!p.waitFor(30, TimeUnit.SECONDS)) p.destroyForcibly();
            }
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (open.get() > 0 && System.nanoTime() < deadline) Thread.sleep(10);
            assertEquals(0, open.get());
            assertEquals(n, closedNormally.get(), "server-side closes with 1000");
            assertEquals(n, peak.get());
        }
    }

    /** The soft limit on open files of this process (which the JVM raised to the hard one), or -1. */
    static long openFilesLimit() throws java.io.IOException {
        for (String l : java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/self/limits"))) {
            if (l.startsWith("Max open files")) {
                String soft = l.substring("Max open files".length()).trim().split("\\s+")[0];
                return soft.equals("unlimited") ? Long.MAX_VALUE : Long.parseLong(soft);
            }
        }
        return -1;
    }
}
