package io.jhv.cli;

import io.jhv.cli.proxy.TcpProxy;
import io.jhv.core.buffer.Buffer;
import io.jhv.core.net.Connection;
import io.jhv.core.net.TcpServer;
import io.jhv.http.server.HttpServer;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Flow control and timing of {@code hv proxy http}: a big download to a slow reader, a slow upload, a broken origin. */
@Timeout(40)
class ProxyHttpFlowTest {
    final ProxyFixture fx = new ProxyFixture();

    @AfterEach
    void close() {
        fx.close();
    }

    private static byte pattern(long i) {
        return (byte) ((i * 7 + (i >>> 9)) % 253);
    }

    /** An origin that answers any request with {@code total} pattern bytes (Content-Length), as fast as its queue drains. */
    private TcpServer bigOrigin(long total) {
        return fx.add(TcpServer.create("127.0.0.1", 0).threads(1)
                .onMessage((c, buf) -> {
                    String in = buf.readString();
                    if (c.context() != null || !in.contains("\r\n\r\n")) return; // the test's requests come in one piece
                    c.context(new long[] {0});
                    c.write("HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: " + total + "\r\n\r\n");
                    more(c, total);
                })
                .onWriteComplete(c -> { if (c.context() != null) more(c, total); })
                .start());
    }

    private static void more(Connection c, long total) {
        long[] sent = c.context();
        long end = total;
        while (sent[0] < end && c.queuedBytes() == 0) {
            int n = (int) Math.min(64 * 1024, end - sent[0]);
            Buffer b = Buffer.allocate(n);
            for (int i = 0; i < n; i++) b.writeByte(pattern(sent[0] + i));
            c.write(b);
            sent[0] += n;
        }
        if (sent[0] >= end && c.queuedBytes() == 0) {
            c.close();
        }
    }

    private static String readHead(InputStream in) throws Exception {
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        while (!head.toString(StandardCharsets.ISO_8859_1).endsWith("\r\n\r\n")) {
            int b = in.read();
            if (b < 0) throw new AssertionError("no head: " + head);
            head.write(b);
        }
        return head.toString(StandardCharsets.ISO_8859_1);
    }

    @Test
    void aBigDownloadToASlowReaderStaysWithinTheWaterMarks() throws Exception {
        final long total = 48L << 20;
        TcpServer origin = bigOrigin(total);
        ProxyCommand.Running p = fx.proxy("http", "--listen", "127.0.0.1:0", "--threads", "1");
        try (Socket s = new Socket("127.0.0.1", p.port)) {
            s.setSoTimeout(10_000);
            s.getOutputStream().write(("GET http://127.0.0.1:" + origin.port() + "/big HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                    .getBytes(StandardCharsets.ISO_8859_1));
            InputStream in = s.getInputStream();
            String head = readHead(in);
            assertTrue(head.startsWith("HTTP/1.1 200 OK\r\n"), head);
            assertTrue(head.contains("Connection: close\r\n"), head);
            Connection down = ProxyFixture.connectionOf(p.server(), s); // before the proxy closes it
            byte[] buf = new byte[256 * 1024];
            long slowUntil = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(1500);
            long got = 0;
            while (true) {
                boolean slow = System.nanoTime() < slowUntil;
                int n = in.read(buf, 0, slow ? 2048 : buf.length);
                if (n < 0) break;
                for (int i = 0; i < n; i++) {
                    if (buf[i] != pattern(got + i)) throw new AssertionError("byte " + (got + i) + " is wrong");
                }
                got += n;
                if (slow) Thread.sleep(5); // a slow reader, not synchronisation
            }
            assertEquals(total, got, "the whole body, then the proxy closed");
            long[] q = ProxyFixture.onLoop(down, () -> new long[] {down.maxQueuedBytes(),
                    TcpProxy.upstreamOf(down) == null ? -1 : TcpProxy.upstreamOf(down).maxQueuedBytes()});
            long high = TcpServer.DEFAULT_HIGH_WATER_MARK, bound = high + 64 * 1024 + 1024;
            System.out.println("proxy http, 48 MiB to a slow reader: max queued to the client " + q[0] + " bytes (HWM " + high + ")");
            assertTrue(q[0] > high / 2, "the client's queue never filled, the test proves nothing: " + q[0]);
            assertTrue(q[0] <= bound, "the client's queue reached " + q[0] + " > " + bound);
        }
    }

    /** A 32 MiB upload to an origin that reads slowly: the proxy's queue towards the origin stays within the mark. */
    @Test
    void aBigUploadToASlowOriginStaysWithinTheWaterMarks() throws Exception {
        final long total = 32L << 20;
        try (java.net.ServerSocket ss = new java.net.ServerSocket(0, 5, java.net.InetAddress.getByName("127.0.0.1"))) {
            java.util.concurrent.CompletableFuture<Long> received = new java.util.concurrent.CompletableFuture<>();
            Thread origin = Thread.ofPlatform().daemon().start(() -> {
                try (Socket c = ss.accept()) {
                    c.setReceiveBufferSize(64 * 1024);
                    InputStream in = c.getInputStream();
                    readHead(in);
                    byte[] b = new byte[64 * 1024];
                    long got = 0, slowUntil = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(1500);
                    while (got < total) {
                        boolean slow = System.nanoTime() < slowUntil;
                        int n = in.read(b, 0, slow ? 2048 : b.length);
                        if (n < 0) break;
                        got += n;
                        if (slow) Thread.sleep(5); // a slow reader, not synchronisation
                    }
                    c.getOutputStream().write(("HTTP/1.1 200 OK\r\nContent-Length: " + Long.toString(got).length() + "\r\n\r\n" + got)
                            .getBytes(StandardCharsets.ISO_8859_1));
                    received.complete(got);
                } catch (Exception e) {
                    received.completeExceptionally(e);
                }
            });
            ProxyCommand.Running p = fx.proxy("http", "--listen", "127.0.0.1:0", "--threads", "1");
            try (Socket s = new Socket("127.0.0.1", p.port)) {
                s.setSoTimeout(20_000);
                OutputStream out = s.getOutputStream();
                out.write(("POST http://127.0.0.1:" + ss.getLocalPort() + "/up HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: "
                        + total + "\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
                Connection down = ProxyFixture.connectionOf(p.server(), s);
                byte[] chunk = new byte[256 * 1024];
                for (long sent = 0; sent < total; sent += chunk.length) out.write(chunk);
                assertEquals(total, received.get(20, TimeUnit.SECONDS));
                String reply = new String(s.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
                assertTrue(reply.endsWith("\r\n\r\n" + total), reply);
                long[] q = ProxyFixture.onLoop(down, () -> {
                    Connection up = TcpProxy.upstreamOf(down);
                    return new long[] {up == null ? -1 : up.maxQueuedBytes()};
                });
                long high = TcpServer.DEFAULT_HIGH_WATER_MARK, bound = high + 64 * 1024 + 1024;
                System.out.println("proxy http, 32 MiB upload to a slow origin: max queued towards the origin " + q[0] + " bytes (HWM " + high + ")");
                assertTrue(q[0] > high / 2, "the origin's queue never filled, the test proves nothing: " + q[0]);
                assertTrue(q[0] <= bound, "the origin's queue reached " + q[0] + " > " + bound);
            }
            origin.join(5000);
        }
    }

    /** An origin that resets the connection in the middle of its body: the client's connection is aborted, not closed cleanly. */
    @Test
    void anOriginThatResetsMidResponseIsNotPassedOffAsComplete() throws Exception {
        try (java.net.ServerSocket ss = new java.net.ServerSocket(0, 5, java.net.InetAddress.getByName("127.0.0.1"))) {
            Thread origin = Thread.ofPlatform().daemon().start(() -> {
                try (Socket c = ss.accept()) {
                    readHead(c.getInputStream());
                    c.getOutputStream().write("HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
                    c.getOutputStream().write(new byte[300_000]);
                    c.setSoLinger(true, 0); // close() sends RST
                } catch (Exception ignored) {
                    // the assertions below tell
                }
            });
            ProxyCommand.Running p = fx.proxy("http", "--listen", "127.0.0.1:0", "--threads", "1");
            Curl.Result r = Curl.run("-x", "http://127.0.0.1:" + p.port, "-o", "/dev/null", "http://127.0.0.1:" + ss.getLocalPort() + "/cut");
            assertTrue(r.exit() != 0, "curl must see the cut-off response as an error: " + r);
            fx.awaitLog("broke off the response");
            origin.join(5000);
        }
    }

    /** An origin whose accept queue is full drops SYNs: the connect times out and the client gets 504. */
    @Test
    void aConnectTimeoutIs504() throws Exception {
        try (java.net.ServerSocket full = new java.net.ServerSocket(0, 1, java.net.InetAddress.getByName("127.0.0.1"))) {
            java.util.List<Socket> fillers = new java.util.ArrayList<>();
            boolean queueFull = false;
            try {
                for (int i = 0; i < 8; i++) {
                    Socket f = new Socket();
                    try {
                        f.connect(new java.net.InetSocketAddress("127.0.0.1", full.getLocalPort()), 300);
                        fillers.add(f);
                    } catch (java.net.SocketTimeoutException e) {
                        f.close();
                        queueFull = true;
                        break; // the queue is full
                    }
                }
                org.junit.jupiter.api.Assumptions.assumeTrue(queueFull, "this kernel accepts connections beyond a full accept queue");
                ProxyCommand.Running p = fx.proxy("http", "--listen", "127.0.0.1:0", "--threads", "1", "--connect-timeout", "0.5");
                Curl.Result r = Curl.run("-x", "http://127.0.0.1:" + p.port, "-D", "-", "http://127.0.0.1:" + full.getLocalPort() + "/");
                assertTrue(r.out().startsWith("HTTP/1.1 504 "), r.out());
                assertTrue(r.out().contains("timed out after 500 ms"), r.out());
            } finally {
                for (Socket f : fillers) f.close();
            }
        }
    }

    /**
     * A scripted origin: a response delimited by the origin's close ends the client's connection
     * (the proxy says Connection: close); Transfer-Encoding beside Content-Length loses the
     * Content-Length; HEAD and 204 responses have no body and keep the connection.
     */
    @Test
    void responseFramingDecidesWhetherTheClientConnectionStays() throws Exception {
        try (java.net.ServerSocket ss = new java.net.ServerSocket(0, 50, java.net.InetAddress.getByName("127.0.0.1"))) {
            Thread origin = Thread.ofPlatform().daemon().start(() -> {
                while (!ss.isClosed()) {
                    try (Socket c = ss.accept()) {
                        String head = readHead(c.getInputStream());
                        String path = head.split(" ")[1];
                        String reply = switch (path) {
                            case "/both" -> "HTTP/1.1 200 OK\r\nContent-Length: 999\r\nTransfer-Encoding: chunked\r\n\r\n"
                                    + "4\r\nboth\r\n0\r\n\r\n";
                            case "/nocontent" -> "HTTP/1.1 204 No Content\r\n\r\n";
                            case "/head" -> "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n";
                            default -> "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil close";
                        };
                        c.getOutputStream().write(reply.getBytes(StandardCharsets.ISO_8859_1));
                    } catch (Exception ignored) {
                        // next
                    }
                }
            });
            ProxyCommand.Running p = fx.proxy("http", "--listen", "127.0.0.1:0", "--threads", "1");
            String base = "http://127.0.0.1:" + ss.getLocalPort();
            Curl.Result r = Curl.run("-v", "-x", "http://127.0.0.1:" + p.port, base + "/both", base + "/nocontent");
            assertEquals(0, r.exit(), r.err());
            assertEquals("both", r.out());
            assertTrue(r.err().contains("Re-using existing connection"), r.err());
            assertTrue(!r.err().toLowerCase().contains("< content-length: 999"), "Content-Length beside chunked is dropped: " + r.err());
            r = Curl.run("-v", "-I", "-x", "http://127.0.0.1:" + p.port, base + "/head", base + "/head");
            assertEquals(0, r.exit(), r.err());
            assertTrue(r.err().contains("Re-using existing connection"), r.err());
            assertTrue(r.out().contains("Content-Length: 1234"), r.out());
            r = Curl.run("-v", "-x", "http://127.0.0.1:" + p.port, base + "/until-close");
            assertEquals(0, r.exit(), r.err());
            assertEquals("until close", r.out());
            assertTrue(r.err().toLowerCase().contains("< connection: close"), r.err());
            assertEquals(3, p.server().acceptedCount());
            ss.close();
            origin.join(5000);
        }
    }

    /** A kept-alive connection that stays idle past --handshake-timeout is closed without an answer. */
    @Test
    void anIdleKeptAliveConnectionIsClosedQuietly() throws Exception {
        HttpServer origin = fx.add(HttpServer.create("127.0.0.1", 0).threads(1).get("/x", (req, res) -> res.text("x")).start());
        ProxyCommand.Running p = fx.proxy("http", "--listen", "127.0.0.1:0", "--threads", "1", "--handshake-timeout", "0.5", "--verbose");
        try (Socket s = new Socket("127.0.0.1", p.port)) {
            s.setSoTimeout(10_000);
            s.getOutputStream().write(("GET http://127.0.0.1:" + origin.port() + "/x HTTP/1.1\r\nHost: a\r\n\r\n")
                    .getBytes(StandardCharsets.ISO_8859_1));
            String all = new String(s.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
            assertTrue(all.startsWith("HTTP/1.1 200 "), all);
            assertTrue(all.endsWith("\r\n\r\nx"), "one response, then the close, no 408: " + all);
        }
        fx.awaitLog("after 1 request(s); closing");
    }

    /** An upload slower than --response-timeout is not a timeout: the clock starts when the request is complete. */
    @Test
    void aSlowUploadIsNotAResponseTimeout() throws Exception {
        HttpServer origin = fx.add(HttpServer.create("127.0.0.1", 0).threads(1)
                .post("/echo", (req, res) -> res.text("got " + req.body().length))
                .start());
        ProxyCommand.Running p = fx.proxy("http", "--listen", "127.0.0.1:0", "--threads", "1", "--response-timeout", "1");
        try (Socket s = new Socket("127.0.0.1", p.port)) {
            s.setSoTimeout(10_000);
            OutputStream out = s.getOutputStream();
            out.write(("POST http://127.0.0.1:" + origin.port() + "/echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 25\r\n\r\n")
                    .getBytes(StandardCharsets.ISO_8859_1));
            for (int i = 0; i < 25; i++) {
                out.write('a' + i);
                out.flush();
                Thread.sleep(100); // pacing the upload over 2.5 s, not synchronisation
            }
            String reply = new String(s.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
            assertTrue(reply.startsWith("HTTP/1.1 200 "), reply);
            assertTrue(reply.endsWith("got 25"), reply);
        }
    }
}
