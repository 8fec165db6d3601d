package io.jhv.http.websocket.conformance;

import io.jhv.core.buffer.Buffer;
import io.jhv.http.websocket.Handshake;
import io.jhv.http.websocket.Message;
import io.jhv.http.websocket.WebSocket;
import io.jhv.http.websocket.WebSocketClient;
import io.jhv.http.websocket.WebSocketConfig;
import io.jhv.http.websocket.WebSocketException;
import io.jhv.http.websocket.WebSocketHandler;
import io.jhv.http.websocket.WebSocketHandshakeException;
import io.jhv.http.websocket.conformance.RawEndpoint.Event;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static io.jhv.http.websocket.conformance.Wire.BINARY;
import static io.jhv.http.websocket.conformance.Wire.CLOSE;
import static io.jhv.http.websocket.conformance.Wire.CONT;
import static io.jhv.http.websocket.conformance.Wire.PING;
import static io.jhv.http.websocket.conformance.Wire.PONG;
import static io.jhv.http.websocket.conformance.Wire.RSV1;
import static io.jhv.http.websocket.conformance.Wire.TEXT;
import static io.jhv.http.websocket.conformance.Wire.concat;
import static io.jhv.http.websocket.conformance.Wire.hex;
import static io.jhv.http.websocket.conformance.Wire.utf8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The conformance suite mirrored against the jhv <b>client</b> ({@link WebSocketClient}): the peer is
 * {@link RawWsServer}, a {@link java.net.ServerSocket} on 127.0.0.1 that reads the client's upgrade
 * request, answers with a correct or a broken handshake, then writes unmasked frames as each case
 * chooses. The client's handler echoes every message ({@code ws.send(msg)}), so the raw server
 * checks round trips, that every client frame is masked, and the close codes the client sends.
 *
 * <table>
 * <caption>Cases per section (all pass since the engine accepts BFINAL blocks)</caption>
 * <tr><th>Section</th><th>What</th><th>Cases</th><th>Pass</th></tr>
 * <tr><td>0</td><td>opening handshake: request validity, Sec-WebSocket-Accept wrong/missing, non-101 statuses
 *     ({@code WebSocketHandshakeException.status()}), Upgrade/Connection, unoffered extension or subprotocol,
 *     data right after the 101, byte-by-byte response, server gone mid-handshake</td><td>25</td><td>25</td></tr>
 * <tr><td>1</td><td>framing: lengths, non-minimal length, masked frame from the server (1002), top bit, byte by byte,
 *     client masks vary</td><td>16</td><td>16</td></tr>
 * <tr><td>2</td><td>ping/pong, the client's own ping</td><td>7</td><td>7</td></tr>
 * <tr><td>3</td><td>reserved bits</td><td>8</td><td>8</td></tr>
 * <tr><td>4</td><td>reserved opcodes</td><td>10</td><td>10</td></tr>
 * <tr><td>5</td><td>fragmentation</td><td>7</td><td>7</td></tr>
 * <tr><td>6</td><td>UTF-8 valid / invalid / fail fast</td><td>84</td><td>84</td></tr>
 * <tr><td>7</td><td>close handshake both ways, codes valid/invalid, reasons, dropped TCP, close timeout</td><td>39</td><td>39</td></tr>
 * <tr><td>9</td><td>limits</td><td>5</td><td>5</td></tr>
 * <tr><td>12</td><td>permessage-deflate messages, bomb, window bits</td><td>18</td><td>18</td></tr>
 * <tr><td>13</td><td>permessage-deflate offer and response parameters</td><td>8</td><td>8</td></tr>
 * <tr><td>all</td><td></td><td>227</td><td>227</td></tr>
 * </table>
 */
@Timeout(60)
class ClientConformanceTest {
    RawWsServer srv;
    WebSocketClient client;
    RawWsServer.Peer peer;
    WebSocket ws;
    final Rec rec = new Rec();

    record Closed(int code, String reason) {
    }

    /** The client's handler: echoes every message, records the rest. */
    static final class Rec implements WebSocketHandler {
        final CompletableFuture<Closed> closed = new CompletableFuture<>();
        final List<Throwable> errors = new CopyOnWriteArrayList<>();
        final BlockingQueue<byte[]> pongs = new LinkedBlockingQueue<>();
        final BlockingQueue<byte[]> pings = new LinkedBlockingQueue<>();
        volatile Handshake handshake;

        @Override
        public void onOpen(WebSocket ws, Handshake h) {
            handshake = h;
        }

        @Override
        public void onMessage(WebSocket ws, Message m) {
            if (ws.isOpen()) ws.send(m); // a send after a close started throws
        }

        @Override
        public void onPing(WebSocket ws, Buffer payload) {
            pings.add(bytes(payload));
        }

        @Override
        public void onPong(WebSocket ws, Buffer payload) {
            pongs.add(bytes(payload));
        }

        @Override
        public void onError(WebSocket ws, Throwable error) {
            errors.add(error);
        }

        @Override
        public void onClose(WebSocket ws, int code, String reason) {
            closed.complete(new Closed(code, reason));
        }

        static byte[] bytes(Buffer b) {
            byte[] a = new byte[b.readableBytes()];
            System.arraycopy(b.array(), b.readerIndex(), a, 0, a.length);
            return a;
        }

        Closed awaitClosed() throws Exception {
            return closed.get(10, TimeUnit.SECONDS);
        }
    }

    static final WebSocketConfig DEFAULT = WebSocketConfig.builder().closeTimeout(Duration.ofSeconds(2)).build();

    @AfterEach
    void tearDown() throws IOException {
        if (client != null) client.close();
        if (peer != null) peer.close();
        if (srv != null) srv.close();
    }

    /** Starts the client's connect; returns its future with {@link #peer} accepted and its request read. */
    CompletableFuture<WebSocket> connect(WebSocketConfig cfg, String... subprotocols) throws IOException {
        srv = new RawWsServer();
        client = WebSocketClient.create(srv.url("/conformance?x=1")).config(cfg).handler(rec);
        if (subprotocols.length > 0) client.subprotocols(subprotocols);
        CompletableFuture<WebSocket> f = client.connect();
        peer = srv.accept();
        return f;
    }

    /** Connects, answers 101 with {@code responseHeaders}, and waits for the socket to open. */
    WebSocket open(WebSocketConfig cfg, String... responseHeaders) throws Exception {
        CompletableFuture<WebSocket> f = connect(cfg);
        peer.assertValidRequest("/conformance?x=1");
        peer.switching(responseHeaders);
        ws = f.get(10, TimeUnit.SECONDS);
        return ws;
    }

    WebSocket open() throws Exception {
        return open(DEFAULT);
    }

    WebSocket openDeflate(WebSocketConfig cfg, String agreed) throws Exception {
        return open(cfg, "Sec-WebSocket-Extensions: " + agreed);
    }

    static byte[] frame(boolean fin, int rsv, int op, byte[] payload) {
        return Wire.frame(fin, rsv, op, payload, false);
    }

    static byte[] text(String s) {
        return frame(true, 0, TEXT, utf8(s));
    }

    /** The client must close with {@code code} (and say so in onError), then its TCP goes. */
    void expectClientFails(int code) throws Exception {
        peer.expectClose(code);
        rec.awaitClosed();
        assertTrue(rec.errors.stream().anyMatch(t -> t instanceof WebSocketException w && w.closeCode() == code),
                () -> "onError with WebSocketException(" + code + ") expected, got " + rec.errors);
    }

    void failsWith(int code, byte[] bytes) throws Exception {
        open();
        peer.send(bytes);
        expectClientFails(code);
    }

    /** The connect future fails with a WebSocketHandshakeException; returns it. */
    static WebSocketHandshakeException handshakeFails(CompletableFuture<WebSocket> f) throws Exception {
        ExecutionException e = assertThrows(ExecutionException.class, () -> f.get(10, TimeUnit.SECONDS));
        return assertInstanceOf(WebSocketHandshakeException.class, e.getCause());
    }

    String respHead(String accept, String... extra) {
        StringBuilder s = new StringBuilder("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade");
        if (accept != null) s.append("\r\nSec-WebSocket-Accept: ").append(accept);
        for (String h : extra) s.append("\r\n").append(h);
        return s.toString();
    }

    // ================================================================== 0 opening handshake

    @Test
    void case_0_1_requestIsAValidOpeningHandshake() throws Exception {
        open();
        String ext = peer.header("sec-websocket-extensions");
        assertNotNull(ext, "permessage-deflate offered by default");
        assertTrue(ext.startsWith("permessage-deflate"), ext);
        assertEquals("websocket", rec.handshake.header("Upgrade").toLowerCase(java.util.Locale.ROOT));
        peer.send(text("open"));
        peer.expectEcho("open");
    }

    @Test
    void case_0_2_wrongAcceptFails() throws Exception {
        CompletableFuture<WebSocket> f = connect(DEFAULT);
        peer.respondRaw(respHead(Wire.acceptFor(Wire.newKey())));
        handshakeFails(f);
    }

    @Test
    void case_0_3_missingAcceptFails() throws Exception {
        CompletableFuture<WebSocket> f = connect(DEFAULT);
        peer.respondRaw(respHead(null));
        handshakeFails(f);
    }

    @ParameterizedTest(name = "case_0_4: status {0}")
    @ValueSource(ints = {200, 204, 302, 400, 401, 403, 404, 426, 500, 503})
    void case_0_4_non101StatusFailsWithStatus(int status) throws Exception {
        CompletableFuture<WebSocket> f = connect(DEFAULT);
        peer.respondRaw("HTTP/1.1 " + status + " Nope", "Content-Length: 4", "Connection: close", "", "nope");
        assertEquals(status, handshakeFails(f).status());
    }

    @Test
    void case_0_5_missingUpgradeHeaderFails() throws Exception {
        CompletableFuture<WebSocket> f = connect(DEFAULT);
        peer.respondRaw("HTTP/1.1 101 Switching Protocols", "Connection: Upgrade", "Sec-WebSocket-Accept: " + peer.accept());
        handshakeFails(f);
    }

    @Test
    void case_0_6_connectionWithoutUpgradeFails() throws Exception {
        CompletableFuture<WebSocket> f = connect(DEFAULT);
        peer.respondRaw("HTTP/1.1 101 Switching Protocols", "Upgrade: websocket", "Connection: keep-alive",
                "Sec-WebSocket-Accept: " + peer.accept());
        handshakeFails(f);
    }

    @Test
    void case_0_7_unofferedExtensionFails() throws Exception {
        CompletableFuture<WebSocket> f = connect(DEFAULT.toBuilder().compression(false).build());
        assertEquals(null, peer.header("sec-websocket-extensions"), "compression(false): nothing offered");
        peer.respondRaw(respHead(peer.accept(), "Sec-WebSocket-Extensions: permessage-deflate"));
        handshakeFails(f);
    }

    @Test
    void case_0_8_unknownExtensionFails() throws Exception {
        CompletableFuture<WebSocket> f = connect(DEFAULT);
        peer.respondRaw(respHead(peer.accept(), "Sec-WebSocket-Extensions: x-never-offered"));
        handshakeFails(f);
    }

    @Test
    void case_0_9_subprotocolWhenNoneOfferedFails() throws Exception {
        CompletableFuture<WebSocket> f = connect(DEFAULT);
        assertEquals(null, peer.header("sec-websocket-protocol"));
        peer.respondRaw(respHead(peer.accept(), "Sec-WebSocket-Protocol: chat"));
        handshakeFails(f);
    }

    @Test
    void case_0_10_subprotocolNotAmongOfferedFails() throws Exception {
        CompletableFuture<WebSocket> f = connect(DEFAULT, "a.v1", "b.v2");
        peer.respondRaw(respHead(peer.accept(), "Sec-WebSocket-Protocol: c.v3"));
        handshakeFails(f);
    }

    @Test
    void case_0_11_subprotocolAgreed() throws Exception {
        CompletableFuture<WebSocket> f = connect(DEFAULT, "a.v1", "b.v2");
        String offered = peer.header("sec-websocket-protocol");
        assertTrue(offered.contains("a.v1") && offered.contains("b.v2"), offered);
        peer.switching("Sec-WebSocket-Protocol: b.v2");
        ws = f.get(10, TimeUnit.SECONDS);
        assertEquals("b.v2", ws.subprotocol());
    }

    @Test
    void case_0_12_firstFrameInTheSameWriteAsThe101() throws Exception {
        CompletableFuture<WebSocket> f = connect(DEFAULT);
        peer.send(concat((respHead(peer.accept()) + "\r\n\r\n").getBytes(java.nio.charset.StandardCharsets.ISO_8859_1),
                text("right behind the 101"), frame(true, 0, PING, utf8("and a ping"))));
        ws = f.get(10, TimeUnit.SECONDS);
        Event first = peer.next();
        Event second = peer.next();
        // the pong may overtake the echo; both must come
        Set<Integer> ops = Set.of(first.opcode(), second.opcode());
        assertEquals(Set.of(TEXT, PONG), ops);
    }

    @Test
    void case_0_13_responseWrittenByteByByte() throws Exception {
        CompletableFuture<WebSocket> f = connect(DEFAULT);
        peer.sendByteByByte((respHead(peer.accept(), "X-Extra: 1") + "\r\n\r\n").getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
        ws = f.get(10, TimeUnit.SECONDS);
        peer.send(text("after"));
        peer.expectEcho("after");
    }

    @Test
    void case_0_14_upgradeTokensCaseInsensitive() throws Exception {
        CompletableFuture<WebSocket> f = connect(DEFAULT);
        peer.respondRaw("HTTP/1.1 101 Switching Protocols", "upgrade: WebSocket", "connection: keep-alive, UPGRADE",
                "sec-websocket-accept: " + peer.accept());
        ws = f.get(10, TimeUnit.SECONDS);
        peer.send(text("ok"));
        peer.expectEcho("ok");
    }

    @Test
    void case_0_15_extensionWithUnknownParameterFails() throws Exception {
        CompletableFuture<WebSocket> f = connect(DEFAULT);
        peer.respondRaw(respHead(peer.accept(), "Sec-WebSocket-Extensions: permessage-deflate; foo=1"));
        handshakeFails(f);
    }

    @Test
    void case_0_16_serverClosesDuringHandshake() throws Exception {
        CompletableFuture<WebSocket> f = connect(DEFAULT);
        peer.send("HTTP/1.1 101 Swi".getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
        peer.close();
        ExecutionException e = assertThrows(ExecutionException.class, () -> f.get(10, TimeUnit.SECONDS));
        assertInstanceOf(IOException.class, e.getCause());
    }

    // ================================================================== 1 framing

    @ParameterizedTest(name = "case_1_1: text of {0} bytes from the server")
    @ValueSource(ints = {0, 125, 126, 65535, 65536, 1 << 20})
    void case_1_1_textOfLength(int n) throws Exception {
        open();
        byte[] p = Wire.repeat("t", n);
        peer.send(frame(true, 0, TEXT, p));
        peer.expectEcho(TEXT, p);
    }

    @ParameterizedTest(name = "case_1_2: binary of {0} bytes from the server")
    @ValueSource(ints = {0, 125, 126, 65535, 65536})
    void case_1_2_binaryOfLength(int n) throws Exception {
        open();
        byte[] p = Wire.random(n, n);
        peer.send(frame(true, 0, BINARY, p));
        peer.expectEcho(BINARY, p);
    }

    @Test
    void case_1_3_1_nonMinimalLengthAccepted() throws Exception {
        open();
        peer.send(Wire.frame(true, 0, TEXT, utf8("short"), null, 64));
        peer.expectEcho("short");
    }

    @Test
    void case_1_3_2_maskedFrameFromServerIs1002() throws Exception {
        failsWith(1002, Wire.frame(true, 0, TEXT, utf8("masked"), true));
    }

    @Test
    void case_1_3_3_lengthWithTopBitSetIs1002() throws Exception {
        failsWith(1002, Wire.header64(true, 0, BINARY, Long.MIN_VALUE | 5, false));
    }

    @Test
    void case_1_3_4_frameByteByByte() throws Exception {
        open();
        peer.sendByteByByte(frame(true, 0, BINARY, Wire.random(300, 4)));
        peer.expectEcho(BINARY, Wire.random(300, 4));
    }

    @Test
    void case_1_3_5_hundredFramesInOneWriteAndMasksVary() throws Exception {
        open();
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        for (int i = 0; i < 100; i++) all.writeBytes(text("m" + i));
        peer.send(all.toByteArray());
        for (int i = 0; i < 100; i++) peer.expectEcho("m" + i);
        Set<String> keys = new HashSet<>();
        for (byte[] k : peer.maskKeys) keys.add(java.util.Arrays.toString(k));
        assertTrue(keys.size() >= 90, "RFC 6455 5.3: a fresh unpredictable mask per frame; distinct keys: " + keys.size());
    }

    // ================================================================== 2 ping/pong

    @ParameterizedTest(name = "case_2_1: ping of {0} bytes")
    @ValueSource(ints = {0, 1, 125})
    void case_2_1_pingAnsweredWithSamePayload(int n) throws Exception {
        open();
        byte[] p = Wire.random(n, 21);
        peer.send(frame(true, 0, PING, p));
        peer.expectPong(p);
        assertTrue(java.util.Arrays.equals(p, rec.pings.poll(5, TimeUnit.SECONDS)), "onPing");
    }

    @Test
    void case_2_2_ping126BytesIs1002() throws Exception {
        failsWith(1002, frame(true, 0, PING, new byte[126]));
    }

    @Test
    void case_2_3_unsolicitedPongReachesOnPong() throws Exception {
        open();
        peer.send(concat(frame(true, 0, PONG, utf8("beat")), text("after")));
        peer.expectEcho("after");
        assertTrue(java.util.Arrays.equals(utf8("beat"), rec.pongs.poll(5, TimeUnit.SECONDS)));
    }

    @Test
    void case_2_4_tenPingsByteByByte() throws Exception {
        open();
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        for (int i = 0; i < 10; i++) all.writeBytes(frame(true, 0, PING, utf8("p" + i)));
        peer.sendByteByByte(all.toByteArray());
        for (int i = 0; i < 10; i++) peer.expectPong(utf8("p" + i));
    }

    @Test
    void case_2_5_clientPingIsMaskedAndItsPongReported() throws Exception {
        open();
        ws.ping(utf8("from client"));
        Event e = peer.next();
        assertEquals(PING, e.opcode());
        assertTrue(java.util.Arrays.equals(utf8("from client"), e.payload()));
        peer.send(frame(true, 0, PONG, e.payload()));
        assertTrue(java.util.Arrays.equals(utf8("from client"), rec.pongs.poll(5, TimeUnit.SECONDS)));
    }

    // ================================================================== 3 reserved bits

    @ParameterizedTest(name = "case_3_1: RSV {0} on text, no extension")
    @ValueSource(ints = {1, 2, 3, 4, 5, 6, 7})
    void case_3_1_reservedBitsOnText(int rsv) throws Exception {
        failsWith(1002, frame(true, rsv, TEXT, utf8("reserved")));
    }

    @Test
    void case_3_2_reservedBitOnPingAfterValidMessage() throws Exception {
        open();
        peer.send(concat(text("valid"), frame(true, 2, PING, utf8("rsv2")), frame(true, 0, PING, utf8("no pong"))));
        peer.expectEcho("valid");
        expectClientFails(1002);
    }

    // ================================================================== 4 opcodes

    @ParameterizedTest(name = "case_4_1: reserved opcode {0}")
    @ValueSource(ints = {3, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF})
    void case_4_1_reservedOpcode(int op) throws Exception {
        open();
        peer.send(concat(text("valid"), frame(true, 0, op, utf8("reserved")), frame(true, 0, PING, utf8("no pong"))));
        peer.expectEcho("valid");
        expectClientFails(1002);
    }

    // ================================================================== 5 fragmentation

    @Test
    void case_5_1_fragmentedPingIs1002() throws Exception {
        failsWith(1002, concat(frame(false, 0, PING, utf8("a")), frame(true, 0, CONT, utf8("b"))));
    }

    @Test
    void case_5_2_fragmentedTextWithPingBetween() throws Exception {
        open();
        peer.send(concat(frame(false, 0, TEXT, utf8("frag")), frame(true, 0, PING, utf8("mid")), frame(true, 0, CONT, utf8("mented"))));
        peer.expectPong(utf8("mid"));
        peer.expectEcho("fragmented");
    }

    @Test
    void case_5_3_fragmentsInSeparateWritesWithEmptyOnes() throws Exception {
        open();
        peer.send(frame(false, 0, BINARY, new byte[0]));
        peer.send(frame(false, 0, CONT, utf8("x")));
        peer.send(frame(false, 0, CONT, new byte[0]));
        peer.send(frame(true, 0, CONT, utf8("y")));
        peer.expectEcho(BINARY, utf8("xy"));
    }

    @Test
    void case_5_4_continuationWithoutMessageIs1002() throws Exception {
        failsWith(1002, frame(true, 0, CONT, utf8("orphan")));
    }

    @Test
    void case_5_5_newMessageInsideFragmentedIs1002() throws Exception {
        failsWith(1002, concat(frame(false, 0, TEXT, utf8("a")), frame(true, 0, BINARY, utf8("b"))));
    }

    @Test
    void case_5_6_thousandFragments() throws Exception {
        open();
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        StringBuilder expect = new StringBuilder();
        for (int i = 0; i < 1000; i++) {
            String piece = String.format("%04d;", i);
            expect.append(piece);
            all.writeBytes(frame(i == 999, 0, i == 0 ? TEXT : CONT, utf8(piece)));
        }
        peer.sendInChunks(all.toByteArray(), 1400);
        peer.expectEcho(expect.toString());
    }

    @Test
    void case_5_7_continuationAfterFinishedMessageIs1002() throws Exception {
        open();
        peer.send(concat(text("done"), frame(true, 0, CONT, utf8("more"))));
        peer.expectEcho("done");
        expectClientFails(1002);
    }

    // ================================================================== 6 UTF-8

    @ParameterizedTest(name = "case_6_1: valid {0}")
    @MethodSource("io.jhv.http.websocket.conformance.ServerConformanceTest#validUtf8")
    void case_6_1_validUtf8Echoed(String name, byte[] bytes) throws Exception {
        open();
        peer.send(frame(true, 0, TEXT, bytes));
        peer.expectEcho(TEXT, bytes);
    }

    @Test
    void case_6_2_validUtf8SplitAtEveryByte() throws Exception {
        open();
        byte[] m = ServerConformanceTest.MIXED;
        for (int i = 0; i <= m.length; i++) {
            peer.send(concat(frame(false, 0, TEXT, Wire.slice(m, 0, i)), frame(true, 0, CONT, Wire.slice(m, i, m.length))));
            peer.expectEcho(TEXT, m);
        }
    }

    @ParameterizedTest(name = "case_6_3: invalid {0}")
    @MethodSource({"io.jhv.http.websocket.conformance.ServerConformanceTest#invalidUtf8",
        "io.jhv.http.websocket.conformance.ServerConformanceTest#truncatedUtf8"})
    void case_6_3_invalidUtf8Is1007(String name, String hexBytes) throws Exception {
        failsWith(1007, frame(true, 0, TEXT, concat(utf8("κόσμε"), hex(hexBytes))));
    }

    @ParameterizedTest(name = "case_6_4: {0} fails before the final fragment")
    @MethodSource("io.jhv.http.websocket.conformance.ServerConformanceTest#invalidUtf8")
    void case_6_4_invalidUtf8FailsFastBeforeFinalFragment(String name, String hexBytes) throws Exception {
        failsWith(1007, frame(false, 0, TEXT, concat(utf8("ab"), hex(hexBytes))));
    }

    @Test
    void case_6_5_sequenceSplitAcrossFragmentsThenBadContinuation() throws Exception {
        open();
        peer.send(frame(false, 0, TEXT, hex("41 e2 82")));
        peer.expectSilence(200);
        peer.send(frame(false, 0, CONT, hex("41")));
        expectClientFails(1007);
    }

    @Test
    void case_6_6_truncatedAtEndOfFragmentedMessage() throws Exception {
        open();
        peer.send(concat(frame(false, 0, TEXT, hex("41 f0 9f")), frame(true, 0, CONT, new byte[0])));
        expectClientFails(1007);
    }

    // ================================================================== 7 close

    @Test
    void case_7_1_1_serverClosesNormally() throws Exception {
        open();
        peer.send(frame(true, 0, CLOSE, Wire.closePayload(1000, "bye")));
        Event e = peer.next();
        assertEquals(CLOSE, e.opcode());
        assertEquals(1000, e.closeCode());
        peer.close(); // the server closes TCP first
        assertEquals(new Closed(1000, "bye"), rec.awaitClosed());
        assertTrue(rec.errors.isEmpty(), () -> "no error for a normal close: " + rec.errors);
    }

    @Test
    void case_7_1_2_clientClosesNormally() throws Exception {
        open();
        ws.close(4000, "client done");
        Event e = peer.next();
        assertEquals(CLOSE, e.opcode());
        assertEquals(4000, e.closeCode());
        assertEquals("client done", new String(e.payload(), 2, e.payload().length - 2, java.nio.charset.StandardCharsets.UTF_8));
        peer.send(frame(true, 0, CLOSE, Wire.closePayload(4000, "ok")));
        peer.socket.shutdownOutput();
        peer.expectTcpClosed();
        assertEquals(new Closed(4000, "ok"), rec.awaitClosed());
    }

    @Test
    void case_7_1_3_closeAfterCloseAnsweredOnce() throws Exception {
        open();
        peer.send(concat(frame(true, 0, CLOSE, Wire.closePayload(1000, "")), frame(true, 0, CLOSE, Wire.closePayload(1001, ""))));
        peer.expectClose(1000);
        assertEquals(1000, rec.awaitClosed().code());
    }

    @Test
    void case_7_1_4_emptyCloseAnsweredAndReported1005() throws Exception {
        open();
        peer.send(frame(true, 0, CLOSE, new byte[0]));
        Event e = peer.next();
        assertEquals(CLOSE, e.opcode());
        assertTrue(e.payload().length == 0 || e.closeCode() == 1000, "empty close answered empty or with 1000: " + e);
        peer.close();
        assertEquals(1005, rec.awaitClosed().code());
    }

    @Test
    void case_7_1_5_serverDropsTcpWithoutClose() throws Exception {
        open();
        peer.send(text("x"));
        peer.expectEcho("x");
        peer.close();
        assertEquals(1006, rec.awaitClosed().code());
    }

    @Test
    void case_7_1_6_textAfterServerCloseNotEchoed() throws Exception {
        open();
        peer.send(concat(frame(true, 0, CLOSE, Wire.closePayload(1000, "")), text("too late")));
        peer.expectClose(1000);
    }

    @Test
    void case_7_3_1_closeWithOneBytePayloadIs1002() throws Exception {
        failsWith(1002, frame(true, 0, CLOSE, new byte[] {3}));
    }

    @Test
    void case_7_3_2_closeWith124ByteReasonIs1002() throws Exception {
        failsWith(1002, frame(true, 0, CLOSE, Wire.closePayload(1000, "r".repeat(124))));
    }

    @Test
    void case_7_3_3_closeReasonInvalidUtf8Is1007() throws Exception {
        failsWith(1007, frame(true, 0, CLOSE, Wire.closePayload(1000, hex("ed a0 80"))));
    }

    @Test
    void case_7_3_4_closeReasonUtf8Reported() throws Exception {
        open();
        peer.send(frame(true, 0, CLOSE, Wire.closePayload(1001, "κόσμε")));
        peer.expectClose(1001);
        assertEquals(new Closed(1001, "κόσμε"), rec.awaitClosed());
    }

    @ParameterizedTest(name = "case_7_7: valid code {0} echoed")
    @ValueSource(ints = {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999})
    void case_7_7_validCloseCodeEchoed(int code) throws Exception {
        open();
        peer.send(frame(true, 0, CLOSE, Wire.closePayload(code, "c")));
        peer.expectClose(code);
        assertEquals(new Closed(code, "c"), rec.awaitClosed());
    }

    @ParameterizedTest(name = "case_7_9: invalid code {0}")
    @ValueSource(ints = {0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535})
    void case_7_9_invalidCloseCodeIs1002(int code) throws Exception {
        failsWith(1002, frame(true, 0, CLOSE, Wire.closePayload(code, "")));
    }

    @Test
    void case_7_13_clientCloseTimesOutWhenServerNeverAnswers() throws Exception {
        open();
        ws.close(1000, "");
        assertEquals(CLOSE, peer.next().opcode());
        peer.expectTcpClosed(); // the client gives up after its 2 s close timeout
        assertEquals(1006, rec.awaitClosed().code());
    }

    // ================================================================== 9 limits

    static final WebSocketConfig LIMITS = DEFAULT.toBuilder().maxFrameSize(4096).maxMessageSize(16384).build();

    @Test
    void case_9_1_frameAtLimitPasses() throws Exception {
        open(LIMITS);
        peer.send(frame(true, 0, BINARY, Wire.random(4096, 1)));
        peer.expectEcho(BINARY, Wire.random(4096, 1));
    }

    @Test
    void case_9_2_frameOverLimitIs1009FromItsHeader() throws Exception {
        open(LIMITS);
        peer.send(Wire.slice(frame(true, 0, BINARY, new byte[4097]), 0, 4));
        expectClientFails(1009);
    }

    @Test
    void case_9_3_messageAtLimitPasses() throws Exception {
        open(LIMITS);
        byte[] m = Wire.random(16384, 3);
        for (int i = 0; i < 4; i++) peer.send(frame(i == 3, 0, i == 0 ? BINARY : CONT, Wire.slice(m, i * 4096, (i + 1) * 4096)));
        peer.expectEcho(BINARY, m);
    }

    @Test
    void case_9_4_messageOneByteOverLimitIs1009() throws Exception {
        open(LIMITS);
        for (int i = 0; i < 4; i++) peer.send(frame(false, 0, i == 0 ? BINARY : CONT, new byte[4096]));
        peer.send(frame(true, 0, CONT, new byte[1]));
        expectClientFails(1009);
    }

    @Test
    void case_9_5_manySmallFragmentsAboveLimitFailBeforeFinal() throws Exception {
        open(LIMITS);
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        for (int i = 0; i < 200; i++) all.writeBytes(frame(false, 0, i == 0 ? TEXT : CONT, Wire.repeat("0123456789", 100)));
        peer.send(all.toByteArray());
        expectClientFails(1009);
    }

    // ================================================================== 12 permessage-deflate messages

    static final String PMD = "permessage-deflate";

    @ParameterizedTest(name = "case_12_1: compressed text of {0} bytes from the server")
    @ValueSource(ints = {1, 200, 65536, 1 << 20})
    void case_12_1_compressedTextOneFrame(int n) throws Exception {
        openDeflate(DEFAULT, PMD);
        byte[] m = Wire.repeat("compressed from the server ", n);
        peer.send(peer.compressedFrame(TEXT, m));
        peer.expectEcho(TEXT, m);
    }

    @Test
    void case_12_2_compressedFragmentedWithPingBetween() throws Exception {
        openDeflate(DEFAULT, PMD);
        byte[] m = Wire.repeat("fragments ", 5000);
        byte[] z = peer.pmd.out.compress(m);
        int third = z.length / 3;
        peer.send(concat(frame(false, RSV1, BINARY, Wire.slice(z, 0, third)), frame(false, 0, CONT, Wire.slice(z, third, 2 * third)),
                frame(true, 0, PING, utf8("mid")), frame(true, 0, CONT, Wire.slice(z, 2 * third, z.length))));
        peer.expectPong(utf8("mid"));
        peer.expectEcho(BINARY, m);
    }

    @Test
    void case_12_3_contextTakeoverAcrossServerMessages() throws Exception {
        openDeflate(DEFAULT, PMD);
        byte[] m = Wire.repeat("again and again ", 2000);
        for (int i = 0; i < 5; i++) {
            peer.send(peer.compressedFrame(TEXT, m));
            peer.expectEcho(TEXT, m);
        }
    }

    @Test
    void case_12_4_clientCompressesItsLargeMessages() throws Exception {
        openDeflate(DEFAULT, PMD);
        byte[] m = Wire.repeat("echo me compressed ", 1000);
        peer.send(frame(true, 0, TEXT, m));
        Event e = peer.expectEcho(TEXT, m);
        assertTrue(e.compressed() && e.wireBytes() < m.length / 4, "client's echo compressed: " + e);
    }

    @Test
    void case_12_5_clientNoContextTakeoverHonoured() throws Exception {
        openDeflate(DEFAULT, PMD + "; client_no_context_takeover");
        byte[] m = Wire.repeat("stand alone please ", 500);
        for (int i = 0; i < 4; i++) {
            peer.send(frame(true, 0, TEXT, m));
            // the raw server inflates each client message with a reset inflater (Pmd): a reference
            // into an earlier message would not inflate
            assertTrue(peer.expectEcho(TEXT, m).compressed());
        }
    }

    @Test
    void case_12_6_serverNoContextTakeoverAgreed() throws Exception {
        openDeflate(DEFAULT, PMD + "; server_no_context_takeover");
        byte[] m = Wire.repeat("reset each time ", 500);
        for (int i = 0; i < 3; i++) {
            peer.send(peer.compressedFrame(TEXT, m));
            peer.expectEcho(TEXT, m);
        }
    }

    @Test
    void case_12_7_uncompressedOnDeflateConnection() throws Exception {
        openDeflate(DEFAULT, PMD);
        peer.send(concat(text("plain"), frame(false, 0, BINARY, utf8("plain ")), frame(true, 0, CONT, utf8("fragments"))));
        peer.expectEcho("plain");
        peer.expectEcho(BINARY, utf8("plain fragments"));
    }

    @Test
    void case_12_8_rsv1OnContinuationIs1002() throws Exception {
        openDeflate(DEFAULT, PMD);
        byte[] z = peer.pmd.out.compress(Wire.repeat("abc", 100));
        peer.send(concat(frame(false, RSV1, TEXT, Wire.slice(z, 0, 3)), frame(true, RSV1, CONT, Wire.slice(z, 3, z.length))));
        expectClientFails(1002);
    }

    @Test
    void case_12_9_rsv1OnPingIs1002() throws Exception {
        openDeflate(DEFAULT, PMD);
        peer.send(frame(true, RSV1, PING, utf8("p")));
        expectClientFails(1002);
    }

    @Test
    void case_12_10_compressedInvalidUtf8Is1007() throws Exception {
        openDeflate(DEFAULT, PMD);
        peer.send(peer.compressedFrame(TEXT, concat(Wire.repeat("ok ", 50), hex("c0 80"))));
        expectClientFails(1007);
    }

    @Test
    void case_12_11_deflateBombIs1009() throws Exception {
        openDeflate(DEFAULT.toBuilder().maxMessageSize(1 << 20).build(), PMD);
        byte[] bomb = Wire.deflateBomb(256L << 20); // 256 MiB of zeros in ~256 KiB
        try {
            peer.send(frame(true, RSV1, BINARY, bomb));
        } catch (IOException closedEarly) {
            // the client may stop reading at the limit
        }
        expectClientFails(1009);
    }

    @Test
    void case_12_12_finalBlockFromServer() throws Exception {
        openDeflate(DEFAULT, PMD + "; server_no_context_takeover");
        Wire.Compressor fin = new Wire.Compressor(true);
        byte[] m = Wire.repeat("BFINAL ", 300);
        peer.send(frame(true, RSV1, TEXT, fin.compressFinal(m)));
        peer.expectEcho(TEXT, m);
        fin.end();
    }

    /** RFC 7692 7.2.3.4's own example payload from the server: "Hello" in a BFINAL block. */
    @Test
    void case_12_12_2_rfcExampleFinalBlockHello() throws Exception {
        openDeflate(DEFAULT, PMD + "; server_no_context_takeover");
        peer.send(frame(true, RSV1, TEXT, hex("f3 48 cd c9 c9 07 00 00")));
        peer.expectEcho("Hello");
    }

    @Test
    void case_12_13_clientMaxWindowBitsHonoured() throws Exception {
        CompletableFuture<WebSocket> f = connect(DEFAULT);
        Map<String, String> offer = Negotiation.parse(peer.header("sec-websocket-extensions")).get(0).params();
        boolean offered = offer.containsKey("client_max_window_bits");
        peer.switching("Sec-WebSocket-Extensions: " + PMD + "; client_max_window_bits=9");
        if (!offered) { // RFC 7692 7.1.2.2: a response with it when not offered must fail the connection
            handshakeFails(f);
            return;
        }
        ws = f.get(10, TimeUnit.SECONDS);
        // A, B, A of 300 random bytes: A's repeat is 600 bytes back, beyond a 512-byte window
        byte[] a = Wire.random(300, 1), b = Wire.random(300, 2);
        int compressed = 0;
        for (byte[] m : List.of(a, b, a, concat(a, Wire.random(1000, 3), a))) {
            peer.lastCompressedPayload = null;
            peer.send(frame(true, 0, BINARY, m));
            if (peer.expectEcho(BINARY, m).compressed()) {
                compressed++;
                int d = DeflateDistances.maxDistance(peer.lastCompressedPayload);
                assertTrue(d <= 512, "client_max_window_bits=9 agreed but the client refers back " + d + " bytes (RFC 7692 7.1.2.2)");
            }
        }
        assertTrue(compressed > 0, "no echo was compressed: the window check proved nothing");
    }

    @Test
    void case_12_14_corruptDeflateDataFails() throws Exception {
        openDeflate(DEFAULT, PMD);
        peer.send(frame(true, RSV1, BINARY, hex("ff ff ff ff ff")));
        Event e = peer.next();
        assertEquals(CLOSE, e.opcode());
        assertTrue(e.closeCode() == 1007 || e.closeCode() == 1002, "close code " + e.closeCode());
    }

    // ================================================================== 13 permessage-deflate offers

    Map<String, String> offerOf(WebSocketConfig cfg) throws Exception {
        connect(cfg);
        String h = peer.header("sec-websocket-extensions");
        assertNotNull(h, "permessage-deflate offered");
        List<Negotiation.Ext> exts = Negotiation.parse(h);
        assertEquals(PMD, exts.get(0).name(), h);
        for (String k : exts.get(0).params().keySet()) {
            assertTrue(Set.of("server_no_context_takeover", "client_no_context_takeover", "server_max_window_bits", "client_max_window_bits")
                    .contains(k), "unknown or duplicate parameter in the offer: " + h);
        }
        return exts.get(0).params();
    }

    @Test
    void case_13_1_defaultOfferIsValid() throws Exception {
        Map<String, String> p = offerOf(DEFAULT);
        assertFalse(p.containsKey("server_no_context_takeover"));
    }

    @Test
    void case_13_2_offerAsksServerNoContextTakeover() throws Exception {
        assertTrue(offerOf(DEFAULT.toBuilder().serverNoContextTakeover(true).build()).containsKey("server_no_context_takeover"));
    }

    @Test
    void case_13_3_offerAnnouncesClientNoContextTakeover() throws Exception {
        assertTrue(offerOf(DEFAULT.toBuilder().clientNoContextTakeover(true).build()).containsKey("client_no_context_takeover"));
    }

    @Test
    void case_13_4_offerAsksServerMaxWindowBits() throws Exception {
        assertEquals("10", offerOf(DEFAULT.toBuilder().serverMaxWindowBits(10).build()).get("server_max_window_bits"));
    }

    @Test
    void case_13_5_noOfferWithoutCompression() throws Exception {
        connect(DEFAULT.toBuilder().compression(false).build());
        assertEquals(null, peer.header("sec-websocket-extensions"));
    }

    @Test
    void case_13_6_serverDeclinesAndClientGoesOnPlain() throws Exception {
        open(DEFAULT); // no extension in the response
        assertFalse(ws.isCompressed());
        byte[] m = Wire.repeat("plain ", 1000);
        peer.send(frame(true, 0, TEXT, m));
        assertFalse(peer.expectEcho(TEXT, m).compressed());
    }

    @Test
    void case_13_7_serverMaxWindowBitsInResponseAccepted() throws Exception {
        openDeflate(DEFAULT, PMD + "; server_max_window_bits=10");
        assertTrue(ws.isCompressed());
        byte[] m = Wire.repeat("window ", 100);
        peer.send(peer.compressedFrame(TEXT, m));
        peer.expectEcho(TEXT, m);
    }

    @Test
    void case_13_8_duplicateParameterInResponseFails() throws Exception {
        CompletableFuture<WebSocket> f = connect(DEFAULT);
        peer.respondRaw(respHead(peer.accept(), "Sec-WebSocket-Extensions: " + PMD + "; server_no_context_takeover; server_no_context_takeover"));
        handshakeFails(f);
    }
}
