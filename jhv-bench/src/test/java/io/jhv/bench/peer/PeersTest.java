package io.jhv.bench.peer;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
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

    /** A WebSocket echo peer of ws-compare.sh, started on a free port. */
    private record WsPeer(AutoCloseable server, int port) implements AutoCloseable {
        static WsPeer start(String kind, boolean deflate) throws Exception {
            return switch (kind) {
                case "jhv" -> {
                    JhvWsEchoServer s = JhvWsEchoServer.start("127.0.0.1", 0, deflate);
                    yield new WsPeer(s, s.port());
                }
                case "netty-epoll", "netty-nio" -> {
                    NettyWsEchoServer s = NettyWsEchoServer.start("127.0.0.1", 0,
                            kind.equals("netty-epoll") ? NettyTransport.EPOLL : NettyTransport.NIO, deflate);
                    yield new WsPeer(s, s.port());
                }
                default -> throw new IllegalArgumentException(kind);
            };
        }

        @Override
        public void close() throws Exception {
            server.close();
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"jhv", "netty-epoll", "netty-nio"})
    void wsEchoSendsTextAsTextAndBinaryAsBinaryWithoutDeflate(String kind) throws Exception {
        try (WsPeer peer = WsPeer.start(kind, false);
             WsBlockingClient c = WsBlockingClient.connect("127.0.0.1", peer.port(), "/", true)) {
            assertFalse(c.deflateAgreed(), "deflate is off by default, but agreed: " + c.handshakeResponse());
            byte[] text = "h\u00e9llo, \u4e16\u754c".getBytes(StandardCharsets.UTF_8);
            c.prepare(text, true);
            assertEquals(0x81, c.roundTrip());
            assertArrayEquals(text, c.lastPayload());
            byte[] bin = new byte[4096];
            for (int i = 0; i < bin.length; i++) bin[i] = (byte) (i * 31);
            c.prepare(bin, false);
            for (int i = 0; i < 3; i++) {
                assertEquals(0x82, c.roundTrip());
                assertArrayEquals(bin, c.lastPayload());
            }
            byte[] big = new byte[70_000]; // a 64-bit length field both ways
            big[69_999] = 7;
            c.prepare(big, false);
            assertEquals(0x82, c.roundTrip());
            assertArrayEquals(big, c.lastPayload());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"jhv", "netty-epoll"})
    void wsEchoWithDeflateFlagCompressesTheEcho(String kind) throws Exception {
        try (WsPeer peer = WsPeer.start(kind, true);
             WsBlockingClient c = WsBlockingClient.connect("127.0.0.1", peer.port(), "/", true)) {
            assertTrue(c.deflateAgreed(), c.handshakeResponse());
            byte[] msg = "socket frame message loop echo ".repeat(100).getBytes(StandardCharsets.US_ASCII);
            c.prepare(msg, false); // sent uncompressed (RSV1 = 0 is allowed per message)
            int first = c.roundTrip();
            assertEquals(0xC2, first, "a compressed final binary frame (RSV1) expected, got 0x" + Integer.toHexString(first));
            assertTrue(c.lastPayload().length < msg.length / 4, "compressed echo of " + c.lastPayload().length + " bytes");
            // the server compresses with context takeover: one inflater for all the echoes, in order
            java.util.zip.Inflater inf = new java.util.zip.Inflater(true);
            assertArrayEquals(msg, inflate(inf, c.lastPayload(), msg.length));
            // and a message sent compressed (as ws_client -Z and the JMH benchmark do), twice
            c.prepare(msg, true, true);
            for (int i = 0; i < 2; i++) {
                assertEquals(0xC1, c.roundTrip());
                assertArrayEquals(msg, inflate(inf, c.lastPayload(), msg.length));
            }
            inf.end();
        }
        // without the offer the same server answers uncompressed
        try (WsPeer peer = WsPeer.start(kind, true);
             WsBlockingClient c = WsBlockingClient.connect("127.0.0.1", peer.port(), "/", false)) {
            assertFalse(c.deflateAgreed());
            byte[] msg = new byte[200];
            c.prepare(msg, false);
            assertEquals(0x82, c.roundTrip());
            assertArrayEquals(msg, c.lastPayload());
        }
    }

    /** Inflates the next compressed message of a stream (RFC 7692: the 00 00 ff ff tail added back). */
    private static byte[] inflate(java.util.zip.Inflater inf, byte[] z, int expected) throws Exception {
        byte[] in = java.util.Arrays.copyOf(z, z.length + 4);
        in[z.length + 2] = (byte) 0xff;
        in[z.length + 3] = (byte) 0xff;
        inf.setInput(in);
        byte[] out = new byte[expected + 16];
        int n = inf.inflate(out);
        return java.util.Arrays.copyOf(out, n);
    }

    @Test
    void peerArgsRejectUnknownOptionsAndBadNumbers() {
        assertThrows(IllegalArgumentException.class, () -> PeerArgs.parse(new String[] {"--nope", "1"}, java.util.Set.of("port")));
        PeerArgs a = PeerArgs.parse(new String[] {"--port", "x"}, java.util.Set.of("port"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> a.getInt("port", 1, 0, 65535));
        assertTrue(e.getMessage().contains("--port"), e.getMessage());
        assertEquals(NettyTransport.EPOLL, NettyTransport.parse("EPOLL"));
        PeerArgs f = PeerArgs.parse(new String[] {"--deflate", "--port", "7"}, java.util.Set.of("port"), java.util.Set.of("deflate"));
        assertTrue(f.flag("deflate"));
        assertEquals(7, f.getInt("port", 1, 0, 65535));
        assertFalse(PeerArgs.parse(new String[] {"--port", "7"}, java.util.Set.of("port"), java.util.Set.of("deflate")).flag("deflate"));
        assertThrows(IllegalArgumentException.class,
                () -> PeerArgs.parse(new String[] {"--deflate=yes"}, java.util.Set.of(), java.util.Set.of("deflate")));
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
