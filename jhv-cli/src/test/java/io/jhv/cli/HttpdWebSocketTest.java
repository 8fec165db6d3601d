package io.jhv.cli;

import io.jhv.core.tls.TlsConfig;
import io.jhv.http.JsonCodec;
import io.jhv.http.websocket.WebSocket;
import io.jhv.http.websocket.WebSocketClient;
import io.jhv.http.websocket.WebSocketConfig;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The WebSocket endpoints of {@code hv httpd}: /ws/echo (text and binary back unchanged, messages
 * bigger than the library's default limit, over ws and wss) and /ws/chat (broadcast between two jhv
 * clients, join and leave notices, nicknames), and the chat page the demo site serves.
 */
@Timeout(120)
class HttpdWebSocketTest {
    @TempDir
    Path tmp;

    final List<HttpdCommand.Running> running = new ArrayList<>();
    final List<WebSocketClient> clients = new ArrayList<>();
    final JsonCodec json = JsonCodec.builtIn();

    @AfterEach
    void stop() throws Exception {
        for (WebSocketClient c : clients) c.close();
        for (WebSocketClient c : clients) c.closeFuture().get(10, TimeUnit.SECONDS);
        for (HttpdCommand.Running r : running) r.close();
    }

    HttpdCommand.Running start(String... flags) throws Exception {
        String[] argv = new String[flags.length + 1];
        argv[0] = "httpd";
        System.arraycopy(flags, 0, argv, 1, flags.length);
        Args a = Args.parse(argv, 1, HttpdCommand.VALUE_FLAGS, HttpdCommand.SWITCHES);
        HttpdConfig c = HttpdCommand.configure(a);
        c.uploadDir = Files.createDirectories(tmp.resolve("uploads"));
        HttpdCommand.Running r = HttpdCommand.start(c, new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
        running.add(r);
        return r;
    }

    HttpdCommand.Running start() throws Exception {
        return start("--port", "0", "--host", "127.0.0.1", "--threads", "1");
    }

    WsPeer connect(String url, WebSocketClient client) throws Exception {
        WsPeer peer = new WsPeer();
        clients.add(client);
        client.handler(peer).connect().get(10, TimeUnit.SECONDS);
        return peer;
    }

    WsPeer connect(String url) throws Exception {
        return connect(url, WebSocketClient.create(url));
    }

    @SuppressWarnings("unchecked")
    Map<String, Object> event(WsPeer peer) throws InterruptedException {
        return (Map<String, Object>) json.parse(peer.nextText());
    }

    @Test
    void echoSendsTextAndBinaryBackUnchanged() throws Exception {
        HttpdCommand.Running r = start();
        WsPeer peer = connect("ws://127.0.0.1:" + r.port() + "/ws/echo");
        WebSocket ws = peer.socket();
        assertTrue(ws.isCompressed(), "permessage-deflate agreed");
        byte[] bin = new byte[256];
        for (int i = 0; i < bin.length; i++) bin[i] = (byte) i;
        ws.send("hello ✓");
        ws.send(bin.clone());
        ws.send("");
        ws.send(new byte[0]);
        assertEquals("hello ✓", peer.nextText());
        WsPeer.assertBinary(bin, peer.next());
        assertEquals("", peer.nextText());
        WsPeer.assertBinary(new byte[0], peer.next());
        ws.close();
        assertEquals("1000", peer.awaitClose());
    }

    /** Bigger than the library's 16 MiB default: the route's own limit (64 MiB) is in effect. */
    @Test
    void echoTakesMessagesBeyondTheDefaultLimit() throws Exception {
        HttpdCommand.Running r = start();
        String url = "ws://127.0.0.1:" + r.port() + "/ws/echo";
        int size = (16 << 20) + 4096;
        WsPeer peer = connect(url, WebSocketClient.create(url).config(WebSocketConfig.builder()
                .compression(false).maxMessageSize(32 << 20).maxFrameSize(32 << 20).build()));
        byte[] big = new byte[size];
        new Random(1).nextBytes(big);
        peer.socket().send(big.clone());
        WsPeer.assertBinary(big, peer.next());
        // a text message of a few MiB, compressed this time
        WsPeer peer2 = connect(url, WebSocketClient.create(url).config(WebSocketConfig.builder().maxMessageSize(32 << 20).build()));
        String text = "0123456789abcdef✓".repeat(200_000);
        peer2.socket().send(text);
        assertEquals(text, peer2.nextText());
        assertTrue(peer2.socket().isCompressed());
    }

    /**
     * A frame announcing more than 64 MiB is refused with 1009 as soon as its header arrives (the
     * payload is never sent), on a raw socket, so the test does not need 64 MiB of data.
     */
    @Test
    void echoRefusesAFrameAbove64MiBFromItsHeader() throws Exception {
        HttpdCommand.Running r = start();
        try (java.net.Socket sock = new java.net.Socket("127.0.0.1", r.port())) {
            sock.setSoTimeout(10_000);
            java.io.OutputStream out = sock.getOutputStream();
            java.io.InputStream in = sock.getInputStream();
            out.write(("GET /ws/echo HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.flush();
            StringBuilder head = new StringBuilder();
            while (!head.toString().endsWith("\r\n\r\n")) {
                int b = in.read();
                assertTrue(b >= 0, "connection closed during the handshake: " + head);
                head.append((char) b);
            }
            assertTrue(head.toString().startsWith("HTTP/1.1 101"), head.toString());
            assertTrue(head.toString().contains("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="), head.toString());
            // exactly 64 MiB would be accepted: announce one byte more (masked binary frame, 64-bit length)
            long length = DemoWebSockets.ECHO_MAX_MESSAGE + 1L;
            java.nio.ByteBuffer frame = java.nio.ByteBuffer.allocate(14);
            frame.put((byte) 0x82).put((byte) (0x80 | 127)).putLong(length).putInt(0x01020304);
            out.write(frame.array());
            out.flush();
            int b0 = in.read(), b1 = in.read();
            assertEquals(0x88, b0, "a close frame");
            assertTrue(b1 >= 2 && b1 <= 125, "close payload length " + b1);
            int code = (in.read() << 8) | in.read();
            assertEquals(1009, code, "message too big");
        }
        // the route still serves normal sockets
        WsPeer peer = connect("ws://127.0.0.1:" + r.port() + "/ws/echo");
        peer.socket().send("after the refusal");
        assertEquals("after the refusal", peer.nextText());
    }

    @Test
    void echoAndChatOverWss() throws Exception {
        io.jhv.core.tls.SelfSignedCertificate.PemFiles files =
                io.jhv.core.tls.SelfSignedCertificate.generate("localhost").writeTo(tmp.resolve("certs"));
        HttpdCommand.Running r = start("--port", "0", "--host", "127.0.0.1", "--threads", "1", "--https-port", "0",
                "--cert", files.certificate().toString(), "--key", files.privateKey().toString());
        String wss = "wss://127.0.0.1:" + r.server.httpsPort();
        TlsConfig insecure = TlsConfig.client().trustAll().build(); // a throw-away certificate
        WsPeer echo = connect(wss + "/ws/echo", WebSocketClient.create(wss + "/ws/echo").tls(insecure));
        echo.socket().send("secure echo");
        assertEquals("secure echo", echo.nextText());
        WsPeer chat = connect(wss + "/ws/chat?name=tls", WebSocketClient.create(wss + "/ws/chat?name=tls").tls(insecure));
        assertEquals("welcome", event(chat).get("type"));
        chat.socket().send("over wss");
        Map<String, Object> m = event(chat);
        assertEquals("message", m.get("type"));
        assertEquals("over wss", m.get("text"));
    }

    @Test
    void chatBroadcastsToEveryMemberWithJoinAndLeaveNotices() throws Exception {
        HttpdCommand.Running r = start();
        String base = "ws://127.0.0.1:" + r.port() + "/ws/chat";
        WsPeer ann = connect(base + "?name=ann");
        Map<String, Object> welcome = event(ann);
        assertEquals("welcome", welcome.get("type"));
        assertEquals("ann", welcome.get("name"));
        assertEquals(1L, ((Number) welcome.get("online")).longValue());

        WsPeer bob = connect(base + "?name=" + java.net.URLEncoder.encode("Bob ✓", StandardCharsets.UTF_8));
        Map<String, Object> bobWelcome = event(bob);
        assertEquals("Bob ✓", bobWelcome.get("name"));
        assertEquals(2L, ((Number) bobWelcome.get("online")).longValue());
        Map<String, Object> join = event(ann);
        assertEquals("join", join.get("type"));
        assertEquals("Bob ✓", join.get("name"));
        assertEquals(2L, ((Number) join.get("online")).longValue());

        bob.socket().send("hi \"ann\" <b>");
        for (WsPeer p : List.of(ann, bob)) {
            Map<String, Object> m = event(p);
            assertEquals("message", m.get("type"));
            assertEquals("Bob ✓", m.get("name"));
            assertEquals("hi \"ann\" <b>", m.get("text"), "the text arrives as it was typed (JSON-escaped on the way)");
        }
        ann.socket().send("hello bob");
        assertEquals("hello bob", event(bob).get("text"));
        assertEquals("hello bob", event(ann).get("text"));

        bob.socket().close();
        assertEquals("1000", bob.awaitClose());
        Map<String, Object> leave = event(ann);
        assertEquals("leave", leave.get("type"));
        assertEquals("Bob ✓", leave.get("name"));
        assertEquals(1L, ((Number) leave.get("online")).longValue());
        assertTrue(ann.messages.isEmpty(), "nothing else: " + ann.messages);
    }

    @Test
    void chatNamesGuestsAndRefusesBinary() throws Exception {
        HttpdCommand.Running r = start();
        String base = "ws://127.0.0.1:" + r.port() + "/ws/chat";
        WsPeer guest = connect(base);
        String name = (String) event(guest).get("name");
        assertTrue(name.startsWith("guest-"), name);
        WsPeer odd = connect(base + "?name=" + "%0Aevil%07" + "x".repeat(50));
        String oddName = (String) event(odd).get("name");
        assertEquals("evil" + "x".repeat(28), oddName, "control characters dropped, at most 32 characters");
        assertEquals("join", event(guest).get("type"));
        odd.socket().send(new byte[] {1, 2, 3});
        assertEquals("1003 the chat takes text messages", odd.awaitClose());
        Map<String, Object> leave = event(guest);
        assertEquals("leave", leave.get("type"));
        assertEquals(oddName, leave.get("name"));
    }

    @Test
    void theDemoSiteServesTheChatPage() throws Exception {
        HttpdCommand.Running r = start();
        try (HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build()) {
            HttpResponse<String> index = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + r.port() + "/")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertTrue(index.body().contains("href=\"chat.html\""), "the index links to the chat page");
            HttpResponse<String> page = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + r.port() + "/chat.html")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(200, page.statusCode());
            assertTrue(page.body().contains("<script src=\"chat.js\">"), page.body());
            HttpResponse<String> js = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + r.port() + "/chat.js")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(200, js.statusCode());
            assertTrue(js.body().contains("new WebSocket("), "plain browser WebSocket, no library");
            assertTrue(js.headers().firstValue("Content-Type").orElse("").contains("javascript"), js.headers().toString());
            // a plain GET on a WebSocket route is told to upgrade
            HttpResponse<String> plain = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + r.port() + "/ws/echo")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(426, plain.statusCode());
        }
    }

    /** hv ws against hv httpd: what is typed comes back from /ws/echo on stdout. */
    @Test
    void hvWsAgainstTheEchoRoute() throws Exception {
        HttpdCommand.Running r = start();
        WsCommandTest.Run hv = new WsCommandTest.Run("ws://127.0.0.1:" + r.port() + "/ws/echo");
        hv.stdin.line("one");
        hv.stdin.line("two ✓");
        hv.awaitOutLines(2);
        hv.stdin.end();
        assertEquals(0, hv.awaitExit(), hv.err());
        assertEquals("one\ntwo ✓\n", hv.out());
    }
}
