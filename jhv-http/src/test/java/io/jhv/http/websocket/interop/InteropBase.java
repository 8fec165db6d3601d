package io.jhv.http.websocket.interop;

import io.jhv.core.buffer.Buffer;
import io.jhv.http.server.HttpServer;
import io.jhv.http.websocket.Handshake;
import io.jhv.http.websocket.Message;
import io.jhv.http.websocket.WebSocket;
import io.jhv.http.websocket.WebSocketClient;
import io.jhv.http.websocket.WebSocketConfig;
import io.jhv.http.websocket.WebSocketHandler;
import io.jhv.http.websocket.interop.Messages.Msg;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Interoperability of jhv's WebSocket server and client with a real implementation (a subclass
 * picks Node's {@code ws} or python's {@code websockets}), on 127.0.0.1, each way, with and without
 * permessage-deflate:
 * <ul>
 * <li>the peer's client against jhv's echo route ({@code HttpServer.ws}): text and binary messages
 *     (empty, multi-byte UTF-8, the frame length boundaries, 1 MiB of text and 1 MiB of random bytes)
 *     come back unchanged; the peer's ping gets a pong with its payload; jhv's ping gets the peer's
 *     pong; close codes are reported both ways; permessage-deflate is agreed exactly when both sides
 *     want it, and both sides say so;</li>
 * <li>{@link WebSocketClient} against the peer's echo server, the same checks mirrored.</li>
 * </ul>
 * Each peer is a process started for the test, synchronised on the lines it prints; its output is
 * in every failure message, and it is ended in a {@code finally}/{@code @AfterAll}. A missing peer
 * fails the class with how to install it ({@code ./test} does).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(180)
abstract class InteropBase {
    static final Duration WAIT = Duration.ofSeconds(60);
    static final int ROUNDS = 2;

    /**
     * Who wants permessage-deflate: it is agreed only when both do. TUNED: jhv asks for (client) or
     * announces (server) no context takeover both ways and 10-bit windows both ways, so the peer must
     * parse and keep to those parameters, and jhv must keep to its own 10-bit window (it compresses
     * only messages of up to 1 KiB then).
     */
    enum Deflate {
        BOTH(true, true, false), PEER_OFF(true, false, false), JHV_OFF(false, true, false), TUNED(true, true, true);

        final boolean jhv;
        final boolean peer;
        final boolean tuned;

        Deflate(boolean jhv, boolean peer, boolean tuned) {
            this.jhv = jhv;
            this.peer = peer;
            this.tuned = tuned;
        }

        boolean agreed() {
            return jhv && peer;
        }

        /** The jhv server's route for this case. */
        String route() {
            return tuned ? "/tuned" : jhv ? "/echo" : "/plain";
        }

        WebSocketConfig config() {
            WebSocketConfig.Builder b = WebSocketConfig.builder().maxMessageSize(64 << 20).compression(jhv);
            if (tuned) {
                b.serverNoContextTakeover(true).clientNoContextTakeover(true).serverMaxWindowBits(10).clientMaxWindowBits(10);
            }
            return b.build();
        }

        String label() {
            return "jhv " + (jhv ? tuned ? "on, no context takeover, 10-bit windows" : "on" : "off") + " / peer " + (peer ? "on" : "off")
                    + " -> " + (agreed() ? "deflate" : "none");
        }
    }

    private final Peers.Kind kind;
    private String version;
    private HttpServer server;
    private final ServerEcho echo = new ServerEcho();
    /** Results by peer, role and deflate; static, so that surefire's rerun of a failed test updates it. */
    private static final Map<String, String> MATRIX = new ConcurrentHashMap<>();
    private final List<PeerProcess> started = new CopyOnWriteArrayList<>();

    InteropBase(Peers.Kind kind) {
        this.kind = kind;
    }

    @BeforeAll
    void start() throws Exception {
        version = Peers.require(kind); // fails (not skips) with how to install it
        server = HttpServer.create("127.0.0.1", 0).threads(1)
                .ws(Deflate.BOTH.route(), Deflate.BOTH.config(), echo)
                .ws(Deflate.JHV_OFF.route(), Deflate.JHV_OFF.config(), echo)
                .ws(Deflate.TUNED.route(), Deflate.TUNED.config(), echo)
                .ws("/proto", WebSocketConfig.builder().subprotocols("chat.v1", "chat.v2").build(), echo)
                .start();
    }

    @AfterAll
    void stop() throws IOException {
        for (PeerProcess p : started) p.close();
        if (server != null) server.close(Duration.ofSeconds(2));
        writeMatrix();
    }

    private PeerProcess track(PeerProcess p) {
        started.add(p);
        return p;
    }

    private static String hex() {
        return Long.toHexString(ThreadLocalRandom.current().nextLong() >>> 8);
    }

    // ---------------------------------------------------------------- the peer's client, jhv's server

    @ParameterizedTest(name = "{0}")
    @EnumSource(Deflate.class)
    void peerClientAgainstJhvServer(Deflate d) throws Exception {
        String key = "server|" + d;
        MATRIX.put(kind + "|" + key, "FAIL");
        String id = UUID.randomUUID().toString();
        String url = "ws://127.0.0.1:" + server.port() + d.route() + "?id=" + id;
        try (PeerProcess peer = track(Peers.client(kind, url, d.peer, ROUNDS, "client-close", 4001, "bye-from-peer"))) {
            peer.check(() -> {
                String open = peer.awaitLine("OPEN ", WAIT);
                System.out.println(kind.label + " client -> jhv server, " + d + ": " + open);
                assertEquals(d.agreed(), open.contains("ext=permessage-deflate"), "the peer's view of permessage-deflate: " + open);
                String echoed = peer.awaitLine("ECHO-OK ", WAIT);
                assertTrue(echoed.startsWith("ECHO-OK count=" + Messages.PER_ROUND * ROUNDS + " "), echoed);
                peer.awaitLine("FRAG-OK ", WAIT); // fragmented text and binary, a ping between fragments
                String pingPayload = peer.awaitLine("PONG-OK ", WAIT).substring("PONG-OK ".length());
                peer.awaitLine("SERVER-PING-OK ", WAIT);
                // jhv answers with the peer's close code (RFC 6455 5.5.1: "typically echoes the status
                // code"); echoing the reason is not asked for, so it may be empty
                String closed = peer.awaitLine("CLOSED code=", WAIT);
                assertTrue(closed.equals("CLOSED code=4001 reason=") || closed.equals("CLOSED code=4001 reason=bye-from-peer"),
                        "the close code the peer got back from jhv: " + closed);
                String bytes = kind == Peers.Kind.NODE ? peer.awaitLine("BYTES ", WAIT) : null;
                peer.awaitLine("DONE", WAIT);
                assertEquals(0, peer.awaitExit(WAIT), "the peer client's exit code");

                ServerEcho.Rec r = echo.awaitClosed(id);
                assertEquals(d.agreed(), r.compressed, "jhv server ws.isCompressed()");
                assertEquals(d.agreed(), r.extensions != null && r.extensions.startsWith("permessage-deflate"),
                        "jhv server Handshake.extensions(): " + r.extensions);
                if (d.tuned) {
                    checkTuned("the jhv server's answer, Handshake.extensions()", r.extensions, true);
                    checkTuned("the answer the peer client saw", agreedParam(open), true);
                }
                assertEquals(Messages.PER_ROUND * ROUNDS + 2, r.echoed.get(), "messages the jhv server echoed");
                assertTrue(r.pings.contains(pingPayload), "jhv's onPing saw the peer's ping " + pingPayload + ": " + r.pings);
                assertTrue(r.pings.contains("between-fragments"), "jhv's onPing saw the ping between fragments: " + r.pings);
                assertEquals(List.of(), r.pongsBad, "pongs to jhv's ping with another payload");
                assertEquals(4001, r.code, "the close code jhv reports");
                assertEquals("bye-from-peer", r.reason, "the close reason jhv reports");
                assertEquals(List.of(), r.errors, "onError on the jhv server");
                if (bytes != null && !d.tuned) checkWireBytes(bytes, "read", d.agreed(), "the jhv server's echoes");
            });
        }
        MATRIX.put(kind + "|" + key, "pass");
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(Deflate.class)
    void jhvServerClosesPeerClient(Deflate d) throws Exception {
        String key = "server-close|" + d;
        MATRIX.put(kind + "|" + key, "FAIL");
        String id = UUID.randomUUID().toString();
        String url = "ws://127.0.0.1:" + server.port() + d.route() + "?id=" + id;
        try (PeerProcess peer = track(Peers.client(kind, url, d.peer, ROUNDS, "server-close", 4002, "bye-from-jhv"))) {
            peer.check(() -> {
                String open = peer.awaitLine("OPEN ", WAIT);
                assertEquals(d.agreed(), open.contains("ext=permessage-deflate"), "the peer's view of permessage-deflate: " + open);
                // the peer reports the code and reason jhv's close frame carried
                peer.awaitLine("CLOSED code=4002 reason=bye-from-jhv", WAIT);
                peer.awaitLine("DONE", WAIT);
                assertEquals(0, peer.awaitExit(WAIT), "the peer client's exit code");
                ServerEcho.Rec r = echo.awaitClosed(id);
                assertEquals(4002, r.code, "the close code the peer echoed, as jhv reports it");
                assertEquals("bye-from-jhv", r.reason, "the close reason the peer echoed");
                assertEquals(List.of(), r.errors, "onError on the jhv server");
            });
        }
        MATRIX.put(kind + "|" + key, "pass");
    }

    // ---------------------------------------------------------------- jhv's client, the peer's server

    @ParameterizedTest(name = "{0}")
    @EnumSource(Deflate.class)
    void jhvClientAgainstPeerServer(Deflate d) throws Exception {
        String key = "client|" + d;
        MATRIX.put(kind + "|" + key, "FAIL");
        try (PeerProcess srv = track(Peers.server(kind, d.peer))) {
            int port = Peers.awaitPort(srv);
            ClientSide h = new ClientSide();
            WebSocketClient client = WebSocketClient.create("ws://127.0.0.1:" + port + "/echo").config(d.config()).handler(h);
            withClient(client, srv, () -> {
                WebSocket ws = client.connect().get(WAIT.toSeconds(), TimeUnit.SECONDS);
                assertEquals(d.agreed(), ws.isCompressed(), "jhv client ws.isCompressed()");
                String ext = ws.handshake().extensions();
                assertEquals(d.agreed(), ext != null && ext.startsWith("permessage-deflate"), "jhv client Handshake.extensions(): " + ext);
                String open = srv.awaitLine("OPEN ", WAIT);
                System.out.println("jhv client -> " + kind.label + " server, " + d + ": " + open + " / jhv: " + ext);
                assertEquals(d.agreed(), open.contains("ext=permessage-deflate"), "the peer's view of permessage-deflate: " + open);
                if (d.tuned) {
                    checkTuned("the peer server's answer, Handshake.extensions()", ext, false);
                    checkTuned("the peer server's answer as it says", agreedParam(open), false);
                }

                List<Msg> sent = Messages.set(ROUNDS, 42);
                for (Msg m : sent) {
                    if (m.text()) ws.send(new String(m.data(), StandardCharsets.UTF_8));
                    else ws.send(m.data().clone());
                }
                for (int i = 0; i < sent.size(); i++) {
                    Msg got = h.messages.poll(WAIT.toSeconds(), TimeUnit.SECONDS);
                    assertNotNull(got, "echo #" + i + " (" + sent.get(i).describe() + ") did not come back; errors " + h.errors);
                    assertTrue(sent.get(i).same(got), "echo #" + i + ": sent " + sent.get(i).describe() + ", got " + got.describe());
                }

                // Fragmented messages from jhv (one compressed message each with permessage-deflate): text
                // cut inside multi-byte characters with a ping between two fragments, binary cut at the
                // 16-bit length edge. The peer echoes each whole.
                byte[] ft = Messages.fragmentedText();
                int cut1 = Messages.indexOf(ft, "\u65e5".getBytes(StandardCharsets.UTF_8)) + 1;
                int cut2 = ft.length - 2;
                ws.sendFragment(Arrays.copyOfRange(ft, 0, cut1), true, false);
                ws.ping("between-fragments".getBytes(StandardCharsets.UTF_8));
                ws.sendFragment(Arrays.copyOfRange(ft, cut1, cut2), true, false);
                ws.sendFragment(Arrays.copyOfRange(ft, cut2, ft.length), true, true);
                byte[] fb = new byte[70_000];
                ThreadLocalRandom.current().nextBytes(fb);
                ws.sendFragment(Arrays.copyOfRange(fb, 0, 1), false, false);
                ws.sendFragment(Arrays.copyOfRange(fb, 1, 65_537), false, false);
                ws.sendFragment(Arrays.copyOfRange(fb, 65_537, fb.length), false, true);
                Msg gotText = h.messages.poll(WAIT.toSeconds(), TimeUnit.SECONDS);
                assertNotNull(gotText, "the echo of the fragmented text did not come back; errors " + h.errors);
                assertTrue(new Msg(true, ft).same(gotText), "the echo of the fragmented text: " + gotText.describe() + " for " + ft.length + " bytes");
                Msg gotBin = h.messages.poll(WAIT.toSeconds(), TimeUnit.SECONDS);
                assertNotNull(gotBin, "the echo of the fragmented binary did not come back; errors " + h.errors);
                assertTrue(new Msg(false, fb).same(gotBin), "the echo of the fragmented binary: " + gotBin.describe());
                assertEquals("between-fragments", h.pongs.poll(WAIT.toSeconds(), TimeUnit.SECONDS), "the pong to the ping between fragments");

                String p = "jhv-ping-" + hex();
                ws.ping(p.getBytes(StandardCharsets.UTF_8));
                assertEquals(p, h.pongs.poll(WAIT.toSeconds(), TimeUnit.SECONDS), "the peer's pong to jhv's ping");

                String sp = "srv-ping-" + hex();
                ws.send("cmd:ping:" + sp);
                Msg answer = h.messages.poll(WAIT.toSeconds(), TimeUnit.SECONDS);
                assertNotNull(answer, "no answer to cmd:ping");
                // the peer says so only once the pong with its ping's payload came back
                assertEquals("pong-ok:" + sp, new String(answer.data(), StandardCharsets.UTF_8), "the peer's verdict on jhv's pong");
                assertTrue(h.pings.contains(sp), "jhv's onPing saw " + sp + ": " + h.pings);

                ws.close(4001, "bye-from-jhv");
                assertTrue(h.closed.await(WAIT.toSeconds(), TimeUnit.SECONDS), "onClose on the jhv client");
                assertEquals(4001, h.code, "the close code the peer echoed, as jhv reports it");
                assertEquals("bye-from-jhv", h.reason, "the close reason the peer echoed");
                srv.awaitLine("CLOSE code=4001 reason=bye-from-jhv", WAIT);
                assertTrue(srv.output().lines().anyMatch(l -> l.equals("PING " + p)), "the peer saw jhv's ping " + p);
                if (kind == Peers.Kind.NODE && !d.tuned) checkWireBytes(srv.awaitLine("BYTES ", WAIT) + " payload=" + Messages.payload(sent),
                        "read", d.agreed(), "the jhv client's messages");
                assertEquals(List.of(), h.errors, "onError on the jhv client");
            });
        }
        MATRIX.put(kind + "|" + key, "pass");
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(Deflate.class)
    void peerServerClosesJhvClient(Deflate d) throws Exception {
        String key = "client-close|" + d;
        MATRIX.put(kind + "|" + key, "FAIL");
        try (PeerProcess srv = track(Peers.server(kind, d.peer))) {
            int port = Peers.awaitPort(srv);
            ClientSide h = new ClientSide();
            WebSocketClient client = WebSocketClient.create("ws://127.0.0.1:" + port + "/echo").config(d.config()).handler(h);
            withClient(client, srv, () -> {
                WebSocket ws = client.connect().get(WAIT.toSeconds(), TimeUnit.SECONDS);
                assertEquals(d.agreed(), ws.isCompressed(), "jhv client ws.isCompressed()");
                ws.send("cmd:close:4002:bye-from-peer");
                assertTrue(h.closed.await(WAIT.toSeconds(), TimeUnit.SECONDS), "onClose on the jhv client");
                assertEquals(4002, h.code, "the close code the peer sent, as jhv reports it");
                assertEquals("bye-from-peer", h.reason, "the close reason the peer sent");
                // the peer reports the code of jhv's answering close frame: the same (the reason need not be echoed)
                String closed = srv.awaitLine("CLOSE code=", WAIT);
                assertTrue(closed.equals("CLOSE code=4002 reason=") || closed.equals("CLOSE code=4002 reason=bye-from-peer"),
                        "the close code the peer got back from jhv: " + closed);
                assertEquals(List.of(), h.errors, "onError on the jhv client");
            });
        }
        MATRIX.put(kind + "|" + key, "pass");
    }

    /**
     * Runs {@code body} (its failure carries the peer's output), then ends the client and waits for
     * it to end; a failure to end is reported too, but does not hide the body's.
     */
    // ---------------------------------------------------------------- subprotocols

    /**
     * The peer's client offers {@code offered} to a jhv route speaking chat.v1 then chat.v2: jhv
     * agrees on the first of its own list the client offered, or on none (no header, RFC 6455 4.2.2).
     */
    @ParameterizedTest(name = "offered {0}")
    @ValueSource(strings = {"chat.v2,chat.v1", "chat.v3"})
    void subprotocolWithPeerClient(String offered) throws Exception {
        String key = "proto-server|" + offered;
        MATRIX.put(kind + "|" + key, "FAIL");
        String expected = offered.contains("chat.v1") ? "chat.v1" : null;
        String id = UUID.randomUUID().toString();
        String url = "ws://127.0.0.1:" + server.port() + "/proto?id=" + id;
        try (PeerProcess peer = track(Peers.client(kind, url, true, 1, "server-close", 4003, "proto", offered))) {
            peer.check(() -> {
                if (expected == null && kind == Peers.Kind.NODE) {
                    // ws fails a connection whose offer got no subprotocol back (stricter than RFC 6455
                    // 4.1, which fails only an unoffered one): that still shows jhv sent none
                    peer.awaitLine("its failure", l -> l.equals("FAIL error: Server sent no subprotocol"), WAIT);
                    assertEquals(1, peer.awaitExit(WAIT), "the peer client's exit code");
                    ServerEcho.Rec r = echo.byId.get(id);
                    if (r != null) assertEquals(null, r.subprotocol, "jhv server ws.subprotocol()");
                    return;
                }
                String open = peer.awaitLine("OPEN ", WAIT);
                assertTrue(open.startsWith("OPEN proto=" + (expected == null ? "-" : expected) + " "), "the peer's subprotocol: " + open);
                peer.awaitLine("CLOSED code=4003 reason=proto", WAIT);
                assertEquals(0, peer.awaitExit(WAIT), "the peer client's exit code");
                ServerEcho.Rec r = echo.awaitClosed(id);
                assertEquals(expected, r.subprotocol, "jhv server ws.subprotocol()");
                assertEquals(expected, r.handshakeSubprotocol, "jhv server Handshake.subprotocol()");
                assertEquals(List.of(), r.errors, "onError on the jhv server");
            });
        }
        MATRIX.put(kind + "|" + key, "pass");
    }

    /** The jhv client offers {@code offered} to the peer's server speaking chat.v1 only. */
    @ParameterizedTest(name = "offered {0}")
    @ValueSource(strings = {"chat.v2,chat.v1", "chat.v3"})
    void subprotocolWithPeerServer(String offered) throws Exception {
        String key = "proto-client|" + offered;
        MATRIX.put(kind + "|" + key, "FAIL");
        String expected = offered.contains("chat.v1") ? "chat.v1" : null;
        try (PeerProcess srv = track(Peers.server(kind, true, "chat.v1"))) {
            int port = Peers.awaitPort(srv);
            ClientSide h = new ClientSide();
            WebSocketClient client = WebSocketClient.create("ws://127.0.0.1:" + port + "/echo").subprotocols(offered.split(",")).handler(h);
            withClient(client, srv, () -> {
                WebSocket ws = client.connect().get(WAIT.toSeconds(), TimeUnit.SECONDS);
                assertEquals(expected, ws.subprotocol(), "jhv client ws.subprotocol()");
                assertEquals(expected, ws.handshake().subprotocol(), "jhv client Handshake.subprotocol()");
                String open = srv.awaitLine("OPEN ", WAIT);
                assertTrue(open.contains(" proto=" + (expected == null ? "-" : expected) + " "), "the peer's subprotocol: " + open);
                ws.send("hello " + offered);
                Msg echoed = h.messages.poll(WAIT.toSeconds(), TimeUnit.SECONDS);
                assertNotNull(echoed, "no echo; errors " + h.errors);
                ws.close(4003, "proto");
                assertTrue(h.closed.await(WAIT.toSeconds(), TimeUnit.SECONDS), "onClose on the jhv client");
                assertEquals(4003, h.code, "the close code the peer echoed");
                assertEquals(List.of(), h.errors, "onError on the jhv client");
            });
        }
        MATRIX.put(kind + "|" + key, "pass");
    }

    private static void withClient(WebSocketClient client, PeerProcess srv, PeerProcess.ThrowingRunnable body) throws Exception {
        AssertionError failed = null;
        try {
            srv.check(body);
        } catch (AssertionError e) {
            failed = e;
        }
        try {
            client.close();
            client.closeFuture().get(10, TimeUnit.SECONDS);
        } catch (Exception | AssertionError e) {
            if (failed == null) throw new AssertionError("the jhv client did not end within 10 s after close()" + srv.describe(), e);
            failed.addSuppressed(e);
        }
        if (failed != null) throw failed;
    }

    /**
     * Checks the socket byte count a Node peer reported ({@code BYTES ... read=<n> ... payload=<n>}):
     * with permessage-deflate the jhv side must really have compressed (about half of the payload
     * is compressible text), without it the bytes are at least the payload.
     */
    private static void checkWireBytes(String line, String field, boolean compressed, String what) {
        long wire = number(line, field);
        long payload = number(line, "payload");
        if (compressed) {
            assertTrue(wire < payload * 3 / 4, what + " were not compressed on the wire: " + wire + " socket bytes for "
                    + payload + " payload bytes (" + line + ")");
        } else {
            assertTrue(wire >= payload, what + ": " + wire + " socket bytes for " + payload + " payload bytes without compression (" + line + ")");
        }
    }

    /**
     * The parameters TUNED asks for, in an agreed {@code Sec-WebSocket-Extensions} value: the
     * server keeps no context and a window of at most 10 bits (RFC 7692 7.1.1.1, 7.1.2.1: a server
     * accepting an offer with them must answer with them); a jhv server also asks the client for
     * no context takeover (7.1.1.2).
     */
    private static void checkTuned(String what, String ext, boolean jhvServer) {
        assertNotNull(ext, what + ": none agreed");
        String e = ext.replace(" ", "");
        assertTrue(e.startsWith("permessage-deflate"), what + ": " + ext);
        assertTrue(e.contains(";server_no_context_takeover"), what + " lacks server_no_context_takeover: " + ext);
        Matcher m = Pattern.compile(";server_max_window_bits=(\\d+)").matcher(e);
        assertTrue(m.find() && Integer.parseInt(m.group(1)) <= 10, what + " lacks server_max_window_bits <= 10: " + ext);
        if (jhvServer) assertTrue(e.contains(";client_no_context_takeover"), what + " lacks client_no_context_takeover: " + ext);
    }

    /** The {@code agreed=} field of a peer's OPEN line (the response's Sec-WebSocket-Extensions). */
    private static String agreedParam(String openLine) {
        Matcher m = Pattern.compile("\\bagreed=(\\S+)").matcher(openLine);
        if (!m.find()) throw new AssertionError("no agreed= in " + openLine);
        return m.group(1);
    }

    private static long number(String line, String field) {
        Matcher m = Pattern.compile("\\b" + field + "=(\\d+)").matcher(line);
        if (!m.find()) throw new AssertionError("no " + field + "= in " + line);
        return Long.parseLong(m.group(1));
    }

    private void writeMatrix() throws IOException {
        StringBuilder sb = new StringBuilder();
        sb.append("| peer | jhv role | deflate (jhv / peer -> agreed) | echo+ping+close | close by jhv side's peer |\n");
        sb.append("|---|---|---|---|---|\n");
        for (Deflate d : Deflate.values()) {
            sb.append("| ").append(kind.label).append(" (").append(version == null ? "not installed" : version).append(") | server | ").append(d.label()).append(" | ")
                    .append(MATRIX.getOrDefault(kind + "|server|" + d, "not run")).append(" | ")
                    .append(MATRIX.getOrDefault(kind + "|server-close|" + d, "not run")).append(" |\n");
        }
        for (Deflate d : Deflate.values()) {
            sb.append("| ").append(kind.label).append(" (").append(version == null ? "not installed" : version).append(") | client | ").append(d.label()).append(" | ")
                    .append(MATRIX.getOrDefault(kind + "|client|" + d, "not run")).append(" | ")
                    .append(MATRIX.getOrDefault(kind + "|client-close|" + d, "not run")).append(" |\n");
        }
        for (String offered : List.of("chat.v2,chat.v1", "chat.v3")) {
            sb.append("| ").append(kind.label).append(" | server | subprotocol: peer offers ").append(offered).append(", jhv speaks chat.v1,chat.v2 | ")
                    .append(MATRIX.getOrDefault(kind + "|proto-server|" + offered, "not run")).append(" | |\n");
            sb.append("| ").append(kind.label).append(" | client | subprotocol: jhv offers ").append(offered).append(", peer speaks chat.v1 | ")
                    .append(MATRIX.getOrDefault(kind + "|proto-client|" + offered, "not run")).append(" | |\n");
        }
        Path dir = Path.of("target", "ws-interop");
        Files.createDirectories(dir);
        Files.writeString(dir.resolve(kind.name().toLowerCase() + "-matrix.md"), sb.toString());
        System.out.println(sb);
    }

    // ---------------------------------------------------------------- the jhv sides

    /**
     * The jhv server's echo route: echoes every message as it came, except the text commands of the
     * peer scripts: {@code cmd:ping:<p>} (jhv pings with {@code <p>} and answers {@code pong-ok:<p>}
     * when the pong carries it) and {@code cmd:close:<code>:<reason>}. What each socket saw is kept
     * by the {@code id} query parameter.
     */
    static final class ServerEcho implements WebSocketHandler {
        static final class Rec {
            final CountDownLatch closed = new CountDownLatch(1);
            volatile String extensions;
            volatile boolean compressed;
            volatile String subprotocol;
            volatile String handshakeSubprotocol;
            volatile String expectedPong;
            final java.util.concurrent.atomic.AtomicInteger echoed = new java.util.concurrent.atomic.AtomicInteger();
            final List<String> pings = new CopyOnWriteArrayList<>();
            final List<String> pongsBad = new CopyOnWriteArrayList<>();
            final List<Throwable> errors = new CopyOnWriteArrayList<>();
            volatile int code;
            volatile String reason;
        }

        final Map<String, Rec> byId = new ConcurrentHashMap<>();

        Rec awaitClosed(String id) throws InterruptedException {
            Rec r = byId.get(id);
            assertNotNull(r, "the jhv server never opened the socket " + id);
            assertTrue(r.closed.await(WAIT.toSeconds(), TimeUnit.SECONDS), "onClose on the jhv server");
            return r;
        }

        @Override
        public void onOpen(WebSocket ws, Handshake handshake) {
            Rec r = byId.computeIfAbsent(String.valueOf(handshake.queryParam("id")), k -> new Rec());
            r.extensions = handshake.extensions();
            r.compressed = ws.isCompressed();
            r.subprotocol = ws.subprotocol();
            r.handshakeSubprotocol = handshake.subprotocol();
            ws.context(r);
        }

        @Override
        public void onMessage(WebSocket ws, Message message) {
            Rec r = ws.context();
            if (message.isText() && message.length() < 200) {
                String s = message.buffer().toString(StandardCharsets.UTF_8);
                if (s.startsWith("cmd:ping:")) {
                    r.expectedPong = s.substring("cmd:ping:".length());
                    ws.ping(r.expectedPong.getBytes(StandardCharsets.UTF_8));
                    return;
                }
                if (s.startsWith("cmd:close:")) {
                    String[] parts = s.split(":", 4);
                    ws.close(Integer.parseInt(parts[2]), parts[3]);
                    return;
                }
            }
            r.echoed.incrementAndGet();
            ws.send(message);
        }

        @Override
        public void onPing(WebSocket ws, Buffer payload) {
            ((Rec) ws.context()).pings.add(payload.toString(StandardCharsets.UTF_8));
        }

        @Override
        public void onPong(WebSocket ws, Buffer payload) {
            Rec r = ws.context();
            String got = payload.toString(StandardCharsets.UTF_8);
            if (got.equals(r.expectedPong)) {
                r.expectedPong = null;
                ws.send("pong-ok:" + got);
            } else {
                r.pongsBad.add(got);
                ws.send("pong-bad:" + got);
            }
        }

        @Override
        public void onError(WebSocket ws, Throwable error) {
            Rec r = ws.context();
            if (r != null) r.errors.add(error);
        }

        @Override
        public void onClose(WebSocket ws, int code, String reason) {
            Rec r = ws.context();
            if (r == null) return;
            r.code = code;
            r.reason = reason;
            r.closed.countDown();
        }
    }

    /** The jhv client's handler: keeps copies of what arrives, in order. */
    static final class ClientSide implements WebSocketHandler {
        final BlockingQueue<Msg> messages = new LinkedBlockingQueue<>();
        final BlockingQueue<String> pongs = new LinkedBlockingQueue<>();
        final List<String> pings = new CopyOnWriteArrayList<>();
        final List<Throwable> errors = new CopyOnWriteArrayList<>();
        final CountDownLatch closed = new CountDownLatch(1);
        volatile int code;
        volatile String reason;

        @Override
        public void onMessage(WebSocket ws, Message message) {
            messages.add(new Msg(message.isText(), message.bytes()));
        }

        @Override
        public void onPing(WebSocket ws, Buffer payload) {
            pings.add(payload.toString(StandardCharsets.UTF_8));
        }

        @Override
        public void onPong(WebSocket ws, Buffer payload) {
            pongs.add(payload.toString(StandardCharsets.UTF_8));
        }

        @Override
        public void onError(WebSocket ws, Throwable error) {
            errors.add(error);
        }

        @Override
        public void onClose(WebSocket ws, int code, String reason) {
            this.code = code;
            this.reason = reason;
            closed.countDown();
        }
    }
}
