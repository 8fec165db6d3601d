package io.jhv.http.server;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Exhaustion of the heap by what clients send: unfinished heads on many connections, large
 * echoes, and buffers that must shrink again afterwards. The heavy cases run in a child JVM with a
 * small heap, so a failure cannot take the test runner down.
 */
@Timeout(120)
class HeapExhaustionTest {

    private static int readPort(Process p, StringBuilder log) throws IOException {
        BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        String line = out.readLine();
        if (line == null || !line.startsWith("port ")) fail("child server did not start: " + line);
        Thread.ofPlatform().daemon().start(() -> {
            try {
                for (String l; (l = out.readLine()) != null; ) synchronized (log) { log.append(l).append('\n'); }
            } catch (IOException ignored) {
                // the child ended
            }
        });
        return Integer.parseInt(line.substring(5).trim());
    }

    /**
     * 1,200 connections each holding a 56 KiB unfinished head against a 64 MiB heap: before the
     * budget, the heap ran out, timers stopped and no one was served again. Now the budget (a
     * half the heap by default) sheds with 503, and a new client is served throughout.
     */
    @Test
    void unfinishedHeadsOnManyConnectionsDoNotExhaustTheHeap() throws Exception {
        Process p = ForkedServer.start(List.of("-Xmx64m", "-XX:+ExitOnOutOfMemoryError"));
        StringBuilder log = new StringBuilder();
        List<Socket> hostile = new ArrayList<>();
        try {
            int port = readPort(p, log);
            byte[] pad = new byte[56 * 1024];
            Arrays.fill(pad, (byte) 'a');
            byte[] head = "GET /ping HTTP/1.1\r\nHost: x\r\nX-Pad: ".getBytes(StandardCharsets.ISO_8859_1);
            for (int i = 0; i < 1200; i++) {
                Socket s = new Socket();
                s.connect(new InetSocketAddress("127.0.0.1", port), 5000);
                hostile.add(s);
                OutputStream o = s.getOutputStream();
                try {
                    o.write(head);
                    o.write(pad);
                    o.flush();
                } catch (IOException shed) {
                    // answered 503 and closed already: that is the point
                }
                if (i % 200 == 199) assertEquals("pong", ping(port), "a new client is served with " + (i + 1) + " hostile connections");
            }
            assertTrue(p.isAlive(), "the server died:\n" + log);
            assertEquals("pong", ping(port));
            int shed = 0;
            for (Socket s : hostile) {
                s.setSoTimeout(1);
                try {
                    byte[] b = s.getInputStream().readNBytes(12);
                    if (new String(b, StandardCharsets.ISO_8859_1).equals("HTTP/1.1 503")) shed++;
                } catch (IOException notYet) {
                    // still held within the budget
                }
            }
            assertTrue(shed > 0, "some connections were shed with 503");
        } finally {
            for (Socket s : hostile) s.close();
            p.toHandle().destroy(); // SIGTERM
            if (!p.waitFor(20, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                fail("the server did not stop on SIGTERM");
            }
        }
    }

    /**
     * A 40 MiB echo in a 96 MiB heap: before, the body, a copy in the loop's batch buffer and a copy
     * of its unsent rest needed about 3x the body, and the client got a truncated 200. Repeated, to
     * show nothing is kept between echoes.
     */
    @Test
    void largeEchoIsNotCopiedAgain() throws Exception {
        Process p = ForkedServer.start(List.of("-Xmx96m", "-XX:+ExitOnOutOfMemoryError"));
        StringBuilder log = new StringBuilder();
        try {
            int port = readPort(p, log);
            byte[] body = new byte[40 << 20];
            new java.util.Random(7).nextBytes(body);
            for (int round = 0; round < 3; round++) {
                try (RawClient c = RawClient.connect(port)) {
                    c.socket.setSoTimeout(30_000);
                    c.send(("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: " + body.length + "\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
                    c.send(body);
                    RawClient.Resp r = c.read();
                    assertEquals(200, r.status(), "round " + round + "\n" + log);
                    assertArrayEquals(body, r.body(), "round " + round);
                }
            }
            assertTrue(p.isAlive(), "the server died:\n" + log);
            long used = Long.parseLong(ping(port, "/heap"));
            assertTrue(used < 24L << 20, "heap after three 40 MiB echoes and a GC: " + (used >> 20) + " MiB");
        } finally {
            p.destroyForcibly();
            p.waitFor(10, TimeUnit.SECONDS);
        }
    }

    /**
     * Two 32 MiB responses must not leave the loop holding 32 MiB of native memory: the JDK copies
     * a heap buffer into a temporary native buffer as large as the write it is given and keeps it
     * per thread for good (seen: +64 MiB resident after one 64 MiB write). Writes now hand the
     * socket at most 256 KiB at a time. The heap is fixed and pre-touched, so resident memory
     * moves only with native allocations.
     */
    @Test
    void aLargeResponseDoesNotGrowTheLoopsNativeMemory() throws Exception {
        Process p = ForkedServer.start(List.of("-Xms192m", "-Xmx192m", "-XX:+AlwaysPreTouch", "-XX:+ExitOnOutOfMemoryError"));
        StringBuilder log = new StringBuilder();
        try {
            int port = readPort(p, log);
            assumeTrue(Long.parseLong(ping(port, "/rss")) > 0, "needs /proc/self/status");
            echo(port, new byte[1 << 20]); // warm up: classes, JIT, the loop's own buffers
            long before = Long.parseLong(ping(port, "/rss"));
            byte[] body = new byte[32 << 20];
            new java.util.Random(3).nextBytes(body);
            for (int round = 0; round < 2; round++) assertArrayEquals(body, echo(port, body), "round " + round);
            long grown = Long.parseLong(ping(port, "/rss")) - before;
            assertTrue(grown < 16 * 1024, "resident memory grew by " + (grown >> 10) + " MiB after two 32 MiB responses");
            assertTrue(p.isAlive(), "the server died:\n" + log);
        } finally {
            p.destroyForcibly();
            p.waitFor(10, TimeUnit.SECONDS);
        }
    }

    private static byte[] echo(int port, byte[] body) throws IOException {
        try (RawClient c = RawClient.connect(port)) {
            c.socket.setSoTimeout(30_000);
            c.send(("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: " + body.length + "\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
            c.send(body);
            RawClient.Resp r = c.read();
            assertEquals(200, r.status());
            return r.body();
        }
    }

    /** After a 20 MiB echo, the loop keeps no heap buffer grown for it (the batch is dropped above 256 KiB). */
    @Test
    void buffersGrownForOneLargeMessageAreReleased() throws Exception {
        try (HttpServer server = HttpServer.create("127.0.0.1", 0).threads(1)
                .post("/echo", (req, res) -> res.bytes(req.body()))
                .post("/echo-copy", (req, res) -> res.bytes(req.body().clone())) // not the request's array
                .start()) {
            byte[] body = new byte[20 << 20];
            long before = usedAfterGc();
            for (String path : List.of("/echo", "/echo-copy", "/echo")) {
                try (RawClient c = RawClient.connect(server.port())) {
                    c.socket.setSoTimeout(30_000);
                    c.send(("POST " + path + " HTTP/1.1\r\nHost: x\r\nContent-Length: " + body.length + "\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
                    c.send(body);
                    assertEquals(body.length, c.read().body().length);
                }
            }
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            long after;
            while ((after = usedAfterGc()) - before > 12L << 20 && System.nanoTime() < deadline) Thread.sleep(50);
            assertTrue(after - before < 12L << 20, "heap grew by " + ((after - before) >> 20) + " MiB after the echoes");
            assertEquals(0, server.inputMemoryInUse(), "input budget given back");
        }
    }

    private static long usedAfterGc() {
        System.gc();
        return (Runtime.getRuntime().totalMemory() - Runtime.getRuntime().freeMemory());
    }

    private static String ping(int port) throws IOException {
        return ping(port, "/ping");
    }

    private static String ping(int port, String path) throws IOException {
        try (RawClient c = RawClient.connect(port)) {
            c.socket.setSoTimeout(10_000);
            RawClient.Resp r = c.exchange("GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n");
            assertEquals(200, r.status(), r.toString());
            return r.text();
        }
    }
}
