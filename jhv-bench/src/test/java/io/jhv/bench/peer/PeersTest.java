package io.jhv.bench.peer;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The load-harness peers answer correctly: a wrong peer would make every comparison meaningless.
 * Functional checks only, on 127.0.0.1 and for well under a second each; no load.
 */
@Timeout(value = 20, unit = TimeUnit.SECONDS)
class PeersTest {
    private static final String GET = "GET /plaintext HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";

    @ParameterizedTest
    @EnumSource(NettyTransport.class)
    void nettyHttpAnswersPipelinedPlaintextInOrder(NettyTransport t) throws Exception {
        try (NettyHttpServer server = NettyHttpServer.start("127.0.0.1", 0, t);
             Socket s = new Socket("127.0.0.1", server.port())) {
            s.setSoTimeout(5000);
            OutputStream out = s.getOutputStream();
            // Three requests in one write, the last for an unknown path: answers must come in order.
            out.write((GET + GET + "GET /nope HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.flush();
            String got = readUntilCount(s.getInputStream(), "HTTP/1.1 ", 3, "content-length: 0\r\n\r\n");
            String[] parts = got.split("HTTP/1\\.1 ");
            assertEquals(4, parts.length, got);
            for (int i = 1; i <= 2; i++) {
                String r = parts[i].toLowerCase();
                assertTrue(r.startsWith("200 ok\r\n"), r);
                assertTrue(r.contains("content-type: text/plain\r\n"), r);
                assertTrue(r.contains("server: netty\r\n"), r);
                assertTrue(r.contains("date: "), r);
                assertTrue(r.contains("content-length: 13\r\n"), r);
                assertTrue(parts[i].endsWith("\r\n\r\nHello, World!"), parts[i]);
            }
            assertTrue(parts[3].startsWith("404 Not Found\r\n"), parts[3]);
        }
    }

    @ParameterizedTest
    @EnumSource(NettyTransport.class)
    void nettyEchoWithPingPongClient(NettyTransport t) throws Exception {
        try (NettyEchoServer server = NettyEchoServer.start("127.0.0.1", 0, t)) {
            PingPongClient.Result r = PingPongClient.run(new InetSocketAddress("127.0.0.1", server.port()),
                    2, 1024, 0, 300, ProcessHandle.current().pid());
            assertTrue(r.messages() > 0, "no message came back: " + r);
            assertTrue(r.megabytesPerSecond() > 0, r.toString());
            assertTrue(r.serverCpu() >= 0, "server CPU from /proc: " + r);
            assertTrue(r.machineLine().startsWith("RESULT msgs_per_sec="), r.machineLine());
        }
    }

    @Test
    void pingPongFailsClearlyWhenTheServerDoesNotEcho() throws Exception {
        // A server that accepts and closes at once: the client must fail, not hang or report zero.
        try (ServerSocket ss = new ServerSocket()) {
            ss.bind(new InetSocketAddress("127.0.0.1", 0));
            Thread closer = Thread.ofPlatform().daemon().start(() -> {
                try {
                    while (true) ss.accept().close();
                } catch (IOException ignored) {
                    // the test closed the listener
                }
            });
            // Depending on timing the client sees EOF ("the server closed a connection") or a reset.
            assertThrows(IOException.class, () -> PingPongClient.run(
                    new InetSocketAddress("127.0.0.1", ss.getLocalPort()), 1, 64, 0, 2000, 0));
            ss.close();
            closer.join(5000);
        }
    }

    @Test
    void peerArgsRejectUnknownOptionsAndBadNumbers() {
        assertThrows(IllegalArgumentException.class, () -> PeerArgs.parse(new String[] {"--nope", "1"}, java.util.Set.of("port")));
        PeerArgs a = PeerArgs.parse(new String[] {"--port", "x"}, java.util.Set.of("port"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> a.getInt("port", 1, 0, 65535));
        assertTrue(e.getMessage().contains("--port"), e.getMessage());
        assertEquals(NettyTransport.EPOLL, NettyTransport.parse("EPOLL"));
    }

    /** Reads until {@code marker} occurred {@code count} times and the input ends with {@code tail}. */
    private static String readUntilCount(InputStream in, String marker, int count, String tail) throws IOException {
        ByteArrayOutputStream acc = new ByteArrayOutputStream();
        byte[] b = new byte[4096];
        while (true) {
            String s = acc.toString(StandardCharsets.US_ASCII);
            if (countOf(s, marker) >= count && s.toLowerCase().endsWith(tail)) return s;
            int n = in.read(b);
            if (n < 0) return acc.toString(StandardCharsets.US_ASCII);
            acc.write(b, 0, n);
        }
    }

    private static int countOf(String s, String marker) {
        int n = 0;
        for (int i = s.indexOf(marker); i >= 0; i = s.indexOf(marker, i + 1)) n++;
        return n;
    }
}
