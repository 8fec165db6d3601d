package io.jhv.cli;

import io.jhv.core.tls.SelfSignedCertificate;
import io.jhv.core.tls.TlsConfig;
import io.jhv.http.server.HttpServer;
import io.jhv.http.websocket.Handshake;
import io.jhv.http.websocket.WebSocket;
import io.jhv.http.websocket.WebSocketConfig;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Path;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code hv ws}, run in this JVM against a jhv {@link HttpServer} on loopback: the echo peer mode
 * (the server side sends, checks the echoes, and closes), the interactive mode with stdin fed line by
 * line, the options (headers, subprotocols, --no-deflate, --insecure, --connect-timeout), and the
 * ways a connection fails (refused, a 404 instead of an upgrade, a silent server, an untrusted
 * certificate, a server that vanishes).
 */
@Timeout(60)
class WsCommandTest {
    final List<HttpServer> servers = new ArrayList<>();
    final List<AutoCloseable> closeables = new ArrayList<>();

    @AfterEach
    void stop() throws Exception {
        for (AutoCloseable c : closeables) c.close();
        for (HttpServer s : servers) s.close();
    }

    /** A one-loop server on 127.0.0.1 with a WebSocket route at /peer. */
    private HttpServer server(WebSocketConfig config, WsPeer peer) {
        HttpServer s = HttpServer.create("127.0.0.1", 0).threads(1)
                .ws("/peer", config, peer)
                .get("/plain", (req, res) -> res.text("not a websocket"))
                .start();
        servers.add(s);
        return s;
    }

    private HttpServer server(WsPeer peer) {
        return server(WebSocketConfig.builder().maxMessageSize(16 << 20).build(), peer);
    }

    /** One run of hv ws on a thread of its own, with its stdin fed by the test. */
    static final class Run {
        final Lines stdin = new Lines();
        final ByteArrayOutputStream outBytes = new ByteArrayOutputStream();
        final ByteArrayOutputStream errBytes = new ByteArrayOutputStream();
        final CompletableFuture<Integer> exit = new CompletableFuture<>();

        Run(String... args) {
            String[] argv = new String[args.length + 1];
            argv[0] = "ws";
            System.arraycopy(args, 0, argv, 1, args.length);
            PrintStream out = new PrintStream(outBytes, true, StandardCharsets.UTF_8);
            PrintStream err = new PrintStream(errBytes, true, StandardCharsets.UTF_8);
            Thread t = new Thread(() -> {
                try {
                    exit.complete(WsCommand.run(argv, stdin, out, err, false));
                } catch (Throwable e) {
                    exit.completeExceptionally(e);
                }
            }, "hv-ws-under-test");
            t.setDaemon(true);
            t.start();
        }

        String out() { return outBytes.toString(StandardCharsets.UTF_8); }

        String err() { return errBytes.toString(StandardCharsets.UTF_8); }

        int awaitExit() throws Exception {
            try {
                return exit.get(30, TimeUnit.SECONDS);
            } catch (java.util.concurrent.TimeoutException e) {
                throw new AssertionError("hv ws did not exit; stdout:\n" + out() + "\nstderr:\n" + err());
            }
        }

        /** Waits until stdout has {@code lines} lines. */
        void awaitOutLines(int lines) throws InterruptedException {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (out().lines().count() < lines) {
                if (System.nanoTime() > deadline) throw new AssertionError("stdout has not " + lines + " lines:\n" + out() + "\nstderr:\n" + err());
                Thread.sleep(10); // polling with a deadline
            }
        }

        void awaitErr(String part) throws InterruptedException {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (!err().contains(part)) {
                if (System.nanoTime() > deadline) throw new AssertionError("stderr never said '" + part + "':\n" + err());
                Thread.sleep(10);
            }
        }
    }

    /** stdin for hv ws: lines the test adds, then the end. */
    static final class Lines extends InputStream {
        private static final byte[] END = new byte[0];
        private final BlockingQueue<byte[]> chunks = new LinkedBlockingQueue<>();
        private byte[] current = new byte[0];
        private int pos;
        private boolean ended;

        void line(String s) { chunks.add((s + "\n").getBytes(StandardCharsets.UTF_8)); }

        void end() { chunks.add(END); }

        @Override
        public synchronized int read() throws IOException {
            byte[] one = new byte[1];
            int n = read(one, 0, 1);
            return n < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public synchronized int read(byte[] b, int off, int len) throws IOException {
            if (len == 0) return 0;
            while (pos == current.length) {
                if (ended) return -1;
                try {
                    current = chunks.take();
                } catch (InterruptedException e) {
                    throw new java.io.InterruptedIOException();
                }
                pos = 0;
                if (current == END) {
                    ended = true;
                    return -1;
                }
            }
            int n = Math.min(len, current.length - pos);
            System.arraycopy(current, pos, b, off, n);
            pos += n;
            return n;
        }
    }

    private static String url(HttpServer s, String path) {
        return "ws://127.0.0.1:" + s.port() + path;
    }

    // --- echo mode -----------------------------------------------------------------------------

    @Test
    void echoModeSendsEveryMessageBackUnchangedAndExitsWhenTheServerCloses() throws Exception {
        WsPeer server = new WsPeer();
        HttpServer s = server(server);
        Run hv = new Run("--echo", url(s, "/peer"));
        WebSocket ws = server.socket();
        byte[] small = {0, 1, 2, (byte) 0xff, (byte) 0x80};
        byte[] big = new byte[3 << 20];
        new Random(7).nextBytes(big);
        String unicode = "héllo wörld ✓ 𝄞";
        ws.send("hello");
        ws.send(small.clone());
        ws.send(unicode);
        ws.send(big.clone());
        ws.send("");
        assertEquals("hello", server.nextText());
        WsPeer.assertBinary(small, server.next());
        assertEquals(unicode, server.nextText(), "text stays text, UTF-8 intact");
        WsPeer.assertBinary(big, server.next());
        assertEquals("", server.nextText());
        assertTrue(server.messages.isEmpty(), "nothing else came");
        ws.close(1000, "done");
        assertEquals(0, hv.awaitExit(), hv.err());
        assertEquals("1000", server.awaitClose(), "hv ws answered the close handshake (with the code; the reason is not echoed)");
        assertTrue(hv.err().contains("echoed 5 message(s), " + (5 + 5 + unicode.getBytes(StandardCharsets.UTF_8).length + big.length) + " bytes"), hv.err());
        assertTrue(hv.err().contains("closed by the server: 1000 done"), hv.err());
        assertEquals("", hv.out(), "echo mode prints nothing on stdout");
    }

    @Test
    void echoModeWithoutDeflateAndWithDeflate() throws Exception {
        WsPeer server = new WsPeer();
        HttpServer s = server(server);
        Run hv = new Run("--echo", "--no-deflate", url(s, "/peer"));
        WebSocket ws = server.socket();
        assertFalse(ws.isCompressed(), "--no-deflate offers no permessage-deflate");
        String text = "compressible ".repeat(1000);
        ws.send(text);
        assertEquals(text, server.nextText());
        ws.close();
        assertEquals(0, hv.awaitExit(), hv.err());

        WsPeer server2 = new WsPeer();
        HttpServer s2 = server(server2);
        Run hv2 = new Run("--echo", url(s2, "/peer"));
        WebSocket ws2 = server2.socket();
        assertTrue(ws2.isCompressed(), "permessage-deflate is offered by default");
        assertTrue(server2.handshake.get().extensions().contains("permessage-deflate"), server2.handshake.get().extensions());
        ws2.send(text);
        assertEquals(text, server2.nextText());
        ws2.close();
        assertEquals(0, hv2.awaitExit(), hv2.err());
        assertTrue(hv2.err().contains("with permessage-deflate"), hv2.err());
    }

    @Test
    void echoModeExitsNonZeroWhenTheServerVanishes() throws Exception {
        WsPeer server = new WsPeer();
        HttpServer s = server(server);
        Run hv = new Run("--echo", url(s, "/peer"));
        WebSocket ws = server.socket();
        ws.send("one");
        assertEquals("one", server.nextText());
        ws.abort(); // the TCP connection ends without a close frame
        assertEquals(1, hv.awaitExit(), hv.err());
        assertTrue(hv.err().contains("hv ws: the connection ended without a close handshake"), hv.err());
    }

    @Test
    void echoModeExitsNonZeroWhenTheServerClosesWithAnError() throws Exception {
        WsPeer server = new WsPeer();
        HttpServer s = server(server);
        Run hv = new Run("--echo", url(s, "/peer"));
        server.socket().close(1011, "server broke");
        assertEquals(1, hv.awaitExit(), hv.err());
        assertTrue(hv.err().contains("closed by the server: 1011 server broke"), hv.err());
    }

    // --- interactive mode ----------------------------------------------------------------------

    @Test
    void interactiveSendsLinesPrintsMessagesAndClosesAtEndOfInput() throws Exception {
        WsPeer server = new WsPeer();
        HttpServer s = server(server);
        Run hv = new Run(url(s, "/peer"));
        WebSocket ws = server.socket();
        hv.stdin.line("first line");
        hv.stdin.line("ünïcödé ✓");
        hv.stdin.line("//starts with a slash");
        hv.stdin.line("");
        assertEquals("first line", server.nextText());
        assertEquals("ünïcödé ✓", server.nextText());
        assertEquals("/starts with a slash", server.nextText(), "'//' escapes a leading slash");
        assertEquals("", server.nextText());

        ws.send("from the server ✓");
        ws.send(new byte[] {1, 2, 3, (byte) 0xab});
        byte[] longer = new byte[100];
        for (int i = 0; i < longer.length; i++) longer[i] = (byte) i;
        ws.send(longer);
        ws.send("two\nlines");
        hv.awaitOutLines(5);
        assertEquals("from the server ✓\n[binary 4 bytes] 01 02 03 ab\n"
                + "[binary 100 bytes] 00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f 10 11 12 13 14 15 16 17 18 19 1a 1b 1c 1d 1e 1f ...\n"
                + "two\nlines\n", hv.out());

        hv.stdin.line("/ping are you there");
        hv.awaitErr("hv ws: pong: are you there");
        hv.stdin.line("/nonsense");
        hv.awaitErr("unknown command /nonsense");
        hv.stdin.line("after the unknown command");
        assertEquals("after the unknown command", server.nextText(), "an unknown command is not sent");

        hv.stdin.end();
        assertEquals(0, hv.awaitExit(), hv.err());
        assertEquals("1000", server.awaitClose(), "end of input closes with 1000");
        assertTrue(hv.err().contains("closed (the server answered 1000)"), hv.err());
        assertTrue(server.messages.isEmpty(), "nothing else was sent: " + server.messages);
    }

    @Test
    void closeCommandSendsItsCodeAndReason() throws Exception {
        WsPeer server = new WsPeer();
        HttpServer s = server(server);
        Run hv = new Run(url(s, "/peer"));
        server.socket();
        hv.stdin.line("/close 99");
        hv.awaitErr("code 99 may not be sent (1000-1003"); // refused locally; the socket stays open
        hv.stdin.line("still open");
        assertEquals("still open", server.nextText());
        hv.stdin.line("/close 4001 see you later");
        assertEquals(0, hv.awaitExit(), hv.err());
        assertEquals("4001 see you later", server.awaitClose());
    }

    @Test
    void aMessageAboveMaxMessageClosesWith1009AndExitsOne() throws Exception {
        WsPeer server = new WsPeer();
        HttpServer s = server(server);
        Run hv = new Run("--max-message", "1K", "--no-deflate", url(s, "/peer"));
        WebSocket ws = server.socket();
        ws.send("x".repeat(1024));
        hv.awaitOutLines(1);
        ws.ping("are you alive".getBytes(StandardCharsets.UTF_8));
        hv.awaitErr("ping received (13 bytes), pong sent");
        assertEquals("are you alive", server.pongs.poll(10, TimeUnit.SECONDS));
        ws.send("y".repeat(1025));
        assertEquals(1, hv.awaitExit(), hv.err());
        assertEquals("1009", server.awaitClose().substring(0, 4), "hv ws refused the message as too big");
        assertTrue(hv.err().contains("hv ws: closed with 1009 after an error: "), hv.err());
        assertEquals(1, hv.out().lines().count(), "the big message was not printed: " + hv.out().length() + " chars");
    }

    @Test
    void serverCloseEndsAnInteractiveSessionWhileStdinIsOpen() throws Exception {
        WsPeer server = new WsPeer();
        HttpServer s = server(server);
        Run hv = new Run(url(s, "/peer"));
        server.socket().close(1001, "restarting");
        assertEquals(0, hv.awaitExit(), hv.err());
        assertTrue(hv.err().contains("closed by the server: 1001 restarting"), hv.err());
    }

    @Test
    void headersAndSubprotocolsReachTheServer() throws Exception {
        WsPeer server = new WsPeer();
        HttpServer s = server(WebSocketConfig.builder().subprotocols("chat.v2", "chat.v1").build(), server);
        Run hv = new Run(url(s, "/peer?room=lobby"), "--header", "X-Token: secret 1", "--header=Cookie: a=b",
                "--subprotocol", "chat.v1", "--subprotocol", "chat.v2", "--no-deflate");
        Handshake hs = server.handshake.get(10, TimeUnit.SECONDS);
        assertEquals("secret 1", hs.header("X-Token"));
        assertEquals("b", hs.cookie("a"));
        assertEquals("lobby", hs.queryParam("room"));
        assertEquals("chat.v2", hs.subprotocol(), "the server's first choice among those offered");
        assertEquals("chat.v1,chat.v2", String.join(",", hs.headers("Sec-WebSocket-Protocol")).replace(" ", ""),
                "offered in the order given");
        assertNull(hs.extensions(), "--no-deflate");
        hv.awaitErr("(subprotocol chat.v2)");
        hv.stdin.end();
        assertEquals(0, hv.awaitExit(), hv.err());
    }

    // --- failures ------------------------------------------------------------------------------

    @Test
    void refusedConnectionExitsOneWithAClearMessage() throws Exception {
        int port;
        try (ServerSocket free = new ServerSocket(0, 1, java.net.InetAddress.getByName("127.0.0.1"))) {
            port = free.getLocalPort();
        }
        Run hv = new Run("ws://127.0.0.1:" + port + "/nobody");
        assertEquals(1, hv.awaitExit(), hv.err());
        assertTrue(hv.err().contains("hv ws: cannot connect to ws://127.0.0.1:" + port + "/nobody: "), hv.err());
        assertTrue(hv.err().toLowerCase().contains("refused"), hv.err());
    }

    @Test
    void aRouteThatIsNotAWebSocketIsAFailedHandshake() throws Exception {
        HttpServer s = server(new WsPeer());
        Run hv = new Run(url(s, "/missing"));
        assertEquals(1, hv.awaitExit(), hv.err());
        assertTrue(hv.err().contains("handshake refused (HTTP 404)"), hv.err());
        Run hv2 = new Run(url(s, "/plain"));
        assertEquals(1, hv2.awaitExit(), hv2.err());
        assertTrue(hv2.err().contains("handshake refused (HTTP 200)"), hv2.err());
    }

    @Test
    void aSilentServerHitsTheConnectTimeout() throws Exception {
        try (ServerSocket silent = new ServerSocket()) {
            silent.bind(new InetSocketAddress("127.0.0.1", 0));
            List<Socket> accepted = new ArrayList<>();
            Thread acceptor = new Thread(() -> {
                try {
                    while (true) accepted.add(silent.accept()); // accept and never answer
                } catch (IOException closed) {
                    // test over
                }
            });
            acceptor.setDaemon(true);
            acceptor.start();
            long t0 = System.nanoTime();
            Run hv = new Run("ws://127.0.0.1:" + silent.getLocalPort() + "/", "--connect-timeout", "500ms");
            assertEquals(1, hv.awaitExit(), hv.err());
            long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
            assertTrue(ms >= 400 && ms < 8_000, "gave up after " + ms + " ms");
            assertTrue(hv.err().contains("cannot connect"), hv.err());
            silent.close();
            acceptor.join(5_000);
            for (Socket a : accepted) a.close();
        }
    }

    @Test
    void wssNeedsTrustOrInsecure() throws Exception {
        WsPeer server = new WsPeer();
        WsPeer server2 = new WsPeer();
        SelfSignedCertificate cert = SelfSignedCertificate.generate("localhost");
        HttpServer s = HttpServer.create("127.0.0.1", 0).threads(1)
                .https("127.0.0.1", 0, TlsConfig.server().certificate(cert).build())
                .ws("/peer", server)
                .ws("/peer2", server2)
                .start();
        servers.add(s);
        String wss = "wss://127.0.0.1:" + s.httpsPort() + "/peer";
        Run refused = new Run("--echo", wss);
        assertEquals(1, refused.awaitExit(), refused.err());
        assertTrue(refused.err().contains("cannot connect to " + wss), refused.err());
        assertTrue(refused.err().contains("--insecure"), "the message says how to get past it: " + refused.err());

        Run hv = new Run("--echo", "--insecure", wss);
        WebSocket ws = server.socket();
        ws.send("over tls");
        assertEquals("over tls", server.nextText());
        ws.close();
        assertEquals(0, hv.awaitExit(), hv.err());
        assertTrue(hv.err().contains("not checked"), hv.err());

        // --ca: the certificate is trusted, and checked for the host name connected to
        Path pem = cert.writeTo(java.nio.file.Files.createTempDirectory("hv-ws-test-ca")).certificate();
        try {
            Run trusted = new Run("--echo", "--ca", pem.toString(), "wss://localhost:" + s.httpsPort() + "/peer2");
            WebSocket ws2 = server2.socket();
            ws2.send("trusted");
            assertEquals("trusted", server2.nextText());
            ws2.close();
            assertEquals(0, trusted.awaitExit(), trusted.err());
            assertUsage("--ca and --insecure", "wss://localhost/", "--ca", pem.toString(), "--insecure");
            assertUsage("cannot read", "wss://localhost/", "--ca", pem + ".missing");
        } finally {
            HttpdCommand.deleteTree(pem.getParent());
        }
    }

    @Test
    void badCommandLinesAreUsageErrors() {
        assertUsage("needs a URL");
        assertUsage("not a ws:// or wss:// URL", "http://127.0.0.1/");
        assertUsage("'Name: value'", "ws://127.0.0.1/", "--header", "no colon");
        assertUsage("not a header name", "ws://127.0.0.1/", "--header", "bad name: x");
        assertUsage("token", "ws://127.0.0.1/", "--subprotocol", "a,b");
        assertUsage("duration", "ws://127.0.0.1/", "--connect-timeout", "soon");
        assertUsage("unexpected argument", "ws://127.0.0.1/", "ws://second/");
        assertUsage("unknown option", "ws://127.0.0.1/", "--nope");
        // and through Main: exit status 2
        assertEquals(2, Main.run(new String[] {"ws"}));
        assertEquals(0, Main.run(new String[] {"ws", "--help"}));
        assertTrue(Main.HELP.contains("hv ws URL"), Main.HELP);
    }

    private static void assertUsage(String part, String... args) {
        String[] argv = new String[args.length + 1];
        argv[0] = "ws";
        System.arraycopy(args, 0, argv, 1, args.length);
        Args.UsageException e = assertThrows(Args.UsageException.class, () -> WsCommand.parse(argv));
        assertTrue(e.getMessage().contains(part), e.getMessage());
    }

    @Test
    void durationsAndSummaries() {
        assertEquals(500, WsCommand.duration("500ms", "t").toMillis());
        assertEquals(2500, WsCommand.duration("2.5s", "t").toMillis());
        assertEquals(10_000, WsCommand.duration("10", "t").toMillis());
        assertEquals(60_000, WsCommand.duration("1m", "t").toMillis());
        assertEquals("[binary 0 bytes]", WsCommand.binarySummary(io.jhv.core.buffer.Buffer.allocate(0), 0));
    }
}
