package io.jhv.http.websocket.conformance;

import io.jhv.http.server.HttpServer;
import io.jhv.http.websocket.Handshake;
import io.jhv.http.websocket.Message;
import io.jhv.http.websocket.WebSocket;
import io.jhv.http.websocket.WebSocketConfig;
import io.jhv.http.websocket.WebSocketException;
import io.jhv.http.websocket.WebSocketHandler;
import io.jhv.http.websocket.conformance.RawEndpoint.Event;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

import static io.jhv.http.websocket.conformance.Wire.BINARY;
import static io.jhv.http.websocket.conformance.Wire.CLOSE;
import static io.jhv.http.websocket.conformance.Wire.CONT;
import static io.jhv.http.websocket.conformance.Wire.PING;
import static io.jhv.http.websocket.conformance.Wire.PONG;
import static io.jhv.http.websocket.conformance.Wire.RSV1;
import static io.jhv.http.websocket.conformance.Wire.TEXT;
import static io.jhv.http.websocket.conformance.Wire.concat;
import static io.jhv.http.websocket.conformance.Wire.frame;
import static io.jhv.http.websocket.conformance.Wire.hex;
import static io.jhv.http.websocket.conformance.Wire.utf8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A WebSocket conformance suite against the jhv <b>server</b> ({@code HttpServer.ws} echo routes),
 * organised like the Autobahn testsuite's sections and written from RFC 6455 and RFC 7692. The peer
 * is {@link RawWsClient}: a plain socket writing the handshake and masked frames byte for byte as
 * each case chooses (whole, in separate TCP writes, byte by byte), checking the echo, or the close
 * frame's code and that the server then closes TCP.
 *
 * <p>Case names are {@code case_<section>_<n>_<what>}; parameterized cases count once per argument.
 * <table>
 * <caption>Cases per section (all pass since the engine accepts BFINAL blocks and answers an empty close with 1000)</caption>
 * <tr><th>Section</th><th>What</th><th>Cases</th><th>Pass</th></tr>
 * <tr><td>0</td><td>opening handshake: 101 and accept, case-insensitive tokens, bad/missing key 400, version 426
 *     with {@code Sec-WebSocket-Version: 13}, plain GET 426, subprotocol choice, origin 403, upgrade after a
 *     keep-alive request, frames in the request's write, byte-by-byte request</td><td>19</td><td>19</td></tr>
 * <tr><td>1</td><td>framing: lengths 0..1 MiB (7/16/64-bit), non-minimal lengths, top bit, unmasked, byte by byte,
 *     header split across writes, 100 frames in one write</td><td>28</td><td>28</td></tr>
 * <tr><td>2</td><td>ping/pong: payloads, 126-byte ping, unsolicited pongs, many pings, byte by byte</td><td>8</td><td>8</td></tr>
 * <tr><td>3</td><td>reserved bits RSV1-3 on data and control frames, rest of input dropped</td><td>16</td><td>16</td></tr>
 * <tr><td>4</td><td>reserved opcodes 3-7 and 0xB-0xF</td><td>11</td><td>11</td></tr>
 * <tr><td>5</td><td>fragmentation: control frames between fragments, empty fragments, bad continuations,
 *     1000 fragments</td><td>17</td><td>17</td></tr>
 * <tr><td>6</td><td>UTF-8: valid (boundaries, split at every byte), invalid (overlong, surrogate, &gt; U+10FFFF,
 *     truncated, bad continuation), failing fast before the final fragment and inside a partly sent frame</td><td>124</td><td>124</td></tr>
 * <tr><td>7</td><td>close: codes valid/invalid, 1-byte payload, reasons (length, UTF-8), close after close,
 *     server-initiated close, close timeout, vanished client (1006)</td><td>50</td><td>50</td></tr>
 * <tr><td>9</td><td>limits: frame and message limits (1009), many small fragments, big messages</td><td>14</td><td>14</td></tr>
 * <tr><td>12</td><td>permessage-deflate messages: one frame, fragmented, context takeover, uncompressed on a
 *     deflate connection, BFINAL blocks, RSV1 misplaced, corrupt data, deflate bomb, window bits</td><td>40</td><td>40</td></tr>
 * <tr><td>13</td><td>permessage-deflate negotiation parameters</td><td>25</td><td>25</td></tr>
 * <tr><td>all</td><td></td><td>352</td><td>352</td></tr>
 * </table>
 */
@Timeout(60)
class ServerConformanceTest {
    static HttpServer server;
    static int port;
    static final Map<String, CompletableFuture<Closed>> closes = new ConcurrentHashMap<>();
    static final Map<String, List<Throwable>> errors = new ConcurrentHashMap<>();
    static final AtomicInteger ids = new AtomicInteger();
    String caseId;

    record Closed(int code, String reason) {
    }

    /** Echoes every message; "close:CODE" makes the server start the close handshake with CODE. Records onClose per case. */
    static final class Echo implements WebSocketHandler {
        @Override
        public void onOpen(WebSocket ws, Handshake h) {
            ws.context(h.header("X-Case"));
        }

        @Override
        public void onMessage(WebSocket ws, Message m) {
            if (m.isText() && m.length() < 32) {
                String t = m.text();
                if (t.startsWith("close:")) {
                    ws.close(Integer.parseInt(t.substring(6)), "server says bye");
                    return;
                }
            }
            if (ws.isOpen()) ws.send(m); // a send after a close started throws
        }

        @Override
        public void onError(WebSocket ws, Throwable error) {
            String id = ws.context();
            if (id != null) errors.computeIfAbsent(id, k -> new java.util.concurrent.CopyOnWriteArrayList<>()).add(error);
        }

        @Override
        public void onClose(WebSocket ws, int code, String reason) {
            String id = ws.context();
            if (id != null) closes.computeIfAbsent(id, k -> new CompletableFuture<>()).complete(new Closed(code, reason));
        }
    }

    static final int FRAME_LIMIT = 4096, MESSAGE_LIMIT = 16384;

    /**
     * {@code -Dconformance.external=PORT} points the cases at another server's echo endpoint on
     * 127.0.0.1 (every path echoes), to check the suite itself against a known implementation; the
     * server-side callbacks are then not checked.
     */
    static final String EXTERNAL = System.getProperty("conformance.external");

    @BeforeAll
    static void start() {
        if (EXTERNAL != null) {
            port = Integer.parseInt(EXTERNAL);
            return;
        }
        WebSocketConfig base = WebSocketConfig.builder().closeTimeout(Duration.ofSeconds(2)).build();
        Echo echo = new Echo();
        server = HttpServer.create("127.0.0.1", 0).threads(1)
                .ws("/echo", base, echo)
                .ws("/limits", base.toBuilder().maxFrameSize(FRAME_LIMIT).maxMessageSize(MESSAGE_LIMIT).build(), echo)
                .ws("/snct", base.toBuilder().serverNoContextTakeover(true).build(), echo)
                .ws("/cnct", base.toBuilder().clientNoContextTakeover(true).build(), echo)
                .ws("/cmwb", base.toBuilder().clientMaxWindowBits(10).build(), echo)
                .ws("/smwb", base.toBuilder().serverMaxWindowBits(10).build(), echo)
                .ws("/nocomp", base.toBuilder().compression(false).build(), echo)
                .ws("/everything", base.toBuilder().compressionThreshold(0).build(), echo)
                .ws("/proto", base.toBuilder().subprotocols("chat.v2", "chat.v1").build(), echo)
                .ws("/origin", base.toBuilder().originCheck("https://good.example"::equals).build(), echo)
                .get("/plain", (req, res) -> res.text("plain"))
                .start();
        port = server.port();
    }

    @AfterAll
    static void stop() {
        if (server != null) server.close(Duration.ofSeconds(2));
    }

    @BeforeEach
    void name(TestInfo info) {
        caseId = info.getTestMethod().map(java.lang.reflect.Method::getName).orElse("case") + "#" + ids.incrementAndGet();
    }

    RawWsClient open(String path, String... headers) throws IOException {
        String[] all = new String[headers.length + 1];
        all[0] = "X-Case: " + caseId;
        System.arraycopy(headers, 0, all, 1, headers.length);
        return RawWsClient.open(port, path, all);
    }

    RawWsClient open() throws IOException {
        return open("/echo");
    }

    RawWsClient openDeflate(String path, String offer) throws IOException {
        RawWsClient c = open(path, "Sec-WebSocket-Extensions: " + offer);
        assertNotNull(c.pmd, () -> "permessage-deflate not agreed on " + path + " for offer " + offer);
        return c;
    }

    /** The server's handler reported onClose with {@code code} (and {@code reason} unless null). */
    void assertServerClosed(int code, String reason) throws Exception {
        if (EXTERNAL != null) return;
        Closed c = serverClosed();
        assertEquals(code, c.code(), () -> "onClose on the server: " + c);
        if (reason != null) assertEquals(reason, c.reason(), "onClose reason on the server");
    }

    /** What the server's handler reported in onClose for this case. */
    Closed serverClosed() throws Exception {
        return closes.computeIfAbsent(caseId, k -> new CompletableFuture<>()).get(5, TimeUnit.SECONDS);
    }

    /** Sends {@code bytes} in one write and expects a close frame with {@code code}, then the TCP close. */
    void expectFailure(int code, byte[] bytes) throws Exception {
        try (RawWsClient c = open()) {
            c.send(bytes);
            c.expectClose(code);
        }
        if (EXTERNAL != null) return;
        serverClosed(); // onClose came; onError before it with the code sent
        List<Throwable> errs = errors.getOrDefault(caseId, List.of());
        assertTrue(errs.stream().anyMatch(t -> t instanceof WebSocketException w && w.closeCode() == code),
                () -> "onError with WebSocketException(" + code + ") expected, got " + errs);
    }

    static byte[] masked(boolean fin, int rsv, int op, byte[] payload) {
        return frame(fin, rsv, op, payload, true);
    }

    static byte[] text(String s) {
        return masked(true, 0, TEXT, utf8(s));
    }

    static byte[] ping(String s) {
        return masked(true, 0, PING, utf8(s));
    }

    // ================================================================== 0 opening handshake (RFC 6455 4.2)

    static String upgrade(String path, String... lines) {
        StringBuilder r = new StringBuilder("GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n");
        for (String l : lines) r.append(l).append("\r\n");
        return r.append("\r\n").toString();
    }

    static final String UPGRADE = "Upgrade: websocket", CONNECTION = "Connection: Upgrade", VERSION = "Sec-WebSocket-Version: 13";

    RawWsClient raw(String request) throws IOException {
        return RawWsClient.tcp(port).request(request);
    }

    @Test
    void case_0_1_validHandshakeAccepted() throws Exception {
        String key = Wire.newKey();
        try (RawWsClient c = raw(upgrade("/echo", UPGRADE, CONNECTION, VERSION, "Sec-WebSocket-Key: " + key))) {
            assertEquals(101, c.status);
            assertEquals("websocket", c.headers.get("upgrade").toLowerCase(java.util.Locale.ROOT));
            assertTrue(c.headers.get("connection").toLowerCase(java.util.Locale.ROOT).contains("upgrade"));
            assertEquals(Wire.acceptFor(key), c.headers.get("sec-websocket-accept"));
            assertNull(c.headers.get("sec-websocket-extensions"), "nothing offered, nothing agreed");
            assertNull(c.headers.get("sec-websocket-protocol"));
            c.send(text("after the handshake"));
            c.expectEcho("after the handshake");
        }
    }

    @Test
    void case_0_2_headerTokensCaseInsensitive() throws Exception {
        try (RawWsClient c = raw(upgrade("/echo", "upgrade: WebSocket", "connection: keep-alive, UPGRADE", VERSION,
                "sec-websocket-key: " + Wire.newKey()))) {
            assertEquals(101, c.status);
        }
    }

    @ParameterizedTest(name = "case_0_3: key {0} -> 400")
    @ValueSource(strings = {"", "not base64!", "AAAAAAAAAAAAAAAAAAAAAAAAAAAA", "AAECAwQFBgcICQoLDA0O"})
    void case_0_3_badKeyIs400(String key) throws Exception {
        try (RawWsClient c = raw(upgrade("/echo", UPGRADE, CONNECTION, VERSION, "Sec-WebSocket-Key: " + key))) {
            assertEquals(400, c.status);
        }
    }

    @Test
    void case_0_4_missingKeyIs400() throws Exception {
        try (RawWsClient c = raw(upgrade("/echo", UPGRADE, CONNECTION, VERSION))) {
            assertEquals(400, c.status);
        }
    }

    @Test
    void case_0_5_connectionWithoutUpgradeTokenIs400() throws Exception {
        try (RawWsClient c = raw(upgrade("/echo", UPGRADE, "Connection: keep-alive", VERSION, "Sec-WebSocket-Key: " + Wire.newKey()))) {
            assertEquals(400, c.status);
        }
    }

    @ParameterizedTest(name = "case_0_6: version {0} -> 426")
    @ValueSource(strings = {"8", "12", "14", "x"})
    void case_0_6_otherVersionIs426WithVersion13(String version) throws Exception {
        try (RawWsClient c = raw(upgrade("/echo", UPGRADE, CONNECTION, "Sec-WebSocket-Version: " + version, "Sec-WebSocket-Key: " + Wire.newKey()))) {
            assertEquals(426, c.status);
            assertEquals("13", c.headers.get("sec-websocket-version"));
        }
    }

    @Test
    void case_0_7_plainGetIs426WithUpgrade() throws Exception {
        try (RawWsClient c = raw(upgrade("/echo"))) {
            assertEquals(426, c.status);
            assertEquals("websocket", c.headers.get("upgrade").toLowerCase(java.util.Locale.ROOT));
        }
    }

    @Test
    void case_0_8_subprotocolServersPreferenceAmongOffered() throws Exception {
        try (RawWsClient c = open("/proto", "Sec-WebSocket-Protocol: chat.v1, chat.v2")) {
            assertEquals("chat.v2", c.headers.get("sec-websocket-protocol"));
        }
        try (RawWsClient c = open("/proto", "Sec-WebSocket-Protocol: other, chat.v1")) {
            assertEquals("chat.v1", c.headers.get("sec-websocket-protocol"));
        }
    }

    @Test
    void case_0_9_noCommonSubprotocolNoHeader() throws Exception {
        try (RawWsClient c = open("/proto", "Sec-WebSocket-Protocol: other")) {
            assertNull(c.headers.get("sec-websocket-protocol"));
            c.send(text("still open"));
            c.expectEcho("still open");
        }
    }

    @Test
    void case_0_10_originRefusedIs403() throws Exception {
        try (RawWsClient c = RawWsClient.tcp(port).handshake("/origin", "Origin: https://evil.example")) {
            assertEquals(403, c.status);
        }
        try (RawWsClient c = open("/origin", "Origin: https://good.example")) {
            assertEquals(101, c.status);
        }
    }

    @Test
    void case_0_11_upgradeAfterKeepAliveRequestOnSameConnection() throws Exception {
        try (RawWsClient c = RawWsClient.tcp(port)) {
            c.request("GET /plain HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
            assertEquals(200, c.status);
            assertEquals("plain", c.readBody());
            c.handshake("/echo");
            assertEquals(101, c.status);
            c.send(text("upgraded mid-stream"));
            c.expectEcho("upgraded mid-stream");
        }
    }

    @Test
    void case_0_12_framesInTheSameWriteAsTheRequest() throws Exception {
        String key = Wire.newKey();
        try (RawWsClient c = RawWsClient.tcp(port)) {
            c.send(concat(upgrade("/echo", UPGRADE, CONNECTION, VERSION, "Sec-WebSocket-Key: " + key).getBytes(java.nio.charset.StandardCharsets.ISO_8859_1),
                    text("pipelined"), ping("too")));
            c.readHead();
            assertEquals(101, c.status);
            c.expectEcho("pipelined");
            c.expectPong(utf8("too"));
        }
    }

    @Test
    void case_0_13_requestWrittenByteByByte() throws Exception {
        try (RawWsClient c = RawWsClient.tcp(port)) {
            c.sendByteByByte(upgrade("/echo", UPGRADE, CONNECTION, VERSION, "Sec-WebSocket-Key: " + Wire.newKey())
                    .getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
            c.readHead();
            assertEquals(101, c.status);
        }
    }

    // ================================================================== 1 framing

    @ParameterizedTest(name = "case_1_1: text of {0} bytes")
    @ValueSource(ints = {0, 1, 125, 126, 127, 128, 65535, 65536, 1 << 20})
    void case_1_1_textOfLength(int n) throws Exception {
        byte[] p = Wire.repeat("*", n);
        try (RawWsClient c = open()) {
            c.send(masked(true, 0, TEXT, p));
            c.expectEcho(TEXT, p);
        }
    }

    @ParameterizedTest(name = "case_1_2: binary of {0} bytes")
    @ValueSource(ints = {0, 1, 125, 126, 127, 128, 65535, 65536, 1 << 20})
    void case_1_2_binaryOfLength(int n) throws Exception {
        byte[] p = Wire.random(n, n);
        try (RawWsClient c = open()) {
            c.send(masked(true, 0, BINARY, p));
            c.expectEcho(BINARY, p);
        }
    }

    @Test
    void case_1_3_1_nonMinimal16BitLengthAccepted() throws Exception {
        try (RawWsClient c = open()) {
            c.send(frame(true, 0, TEXT, utf8("short"), Wire.randomMask(), 16));
            c.expectEcho("short");
        }
    }

    @Test
    void case_1_3_2_nonMinimal64BitLengthAccepted() throws Exception {
        try (RawWsClient c = open()) {
            c.send(frame(true, 0, BINARY, utf8("short"), Wire.randomMask(), 64));
            c.send(frame(true, 0, BINARY, Wire.repeat("x", 300), Wire.randomMask(), 64));
            c.expectEcho(BINARY, utf8("short"));
            c.expectEcho(BINARY, Wire.repeat("x", 300));
        }
    }

    @Test
    void case_1_3_3_lengthWithTopBitSetIs1002() throws Exception {
        expectFailure(1002, Wire.header64(true, 0, BINARY, 0x8000_0000_0000_0010L, true));
    }

    @Test
    void case_1_3_4_unmaskedFrameIs1002() throws Exception {
        expectFailure(1002, frame(true, 0, TEXT, utf8("not masked"), false));
    }

    @Test
    void case_1_3_5_frameWrittenByteByByte() throws Exception {
        try (RawWsClient c = open()) {
            c.sendByteByByte(masked(true, 0, TEXT, Wire.repeat("byte by byte ", 300)));
            c.expectEcho(TEXT, Wire.repeat("byte by byte ", 300));
        }
    }

    @Test
    void case_1_3_6_headerMaskAndPayloadInSeparateWrites() throws Exception {
        byte[] f = masked(true, 0, BINARY, Wire.random(70000, 6));
        try (RawWsClient c = open()) {
            c.send(Wire.slice(f, 0, 2)).send(Wire.slice(f, 2, 10)).send(Wire.slice(f, 10, 14));
            c.sendInChunks(Wire.slice(f, 14, f.length), 997);
            c.expectEcho(BINARY, Wire.random(70000, 6));
        }
    }

    @Test
    void case_1_3_7_hundredFramesInOneWrite() throws Exception {
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        for (int i = 0; i < 100; i++) all.writeBytes(text("message " + i));
        try (RawWsClient c = open()) {
            c.send(all.toByteArray());
            for (int i = 0; i < 100; i++) c.expectEcho("message " + i);
        }
    }

    @Test
    void case_1_3_8_zeroMaskKey() throws Exception {
        try (RawWsClient c = open()) {
            c.send(frame(true, 0, TEXT, utf8("zero key"), new byte[4], 0));
            c.expectEcho("zero key");
        }
    }

    @Test
    void case_1_3_9_frameSplitAcrossWritesMidHeader() throws Exception {
        byte[] f = masked(true, 0, TEXT, Wire.repeat("abc", 200)); // 16-bit length
        try (RawWsClient c = open()) {
            c.send(Wire.slice(f, 0, 3)).send(Wire.slice(f, 3, 5)).send(Wire.slice(f, 5, f.length));
            c.expectEcho(TEXT, Wire.repeat("abc", 200));
        }
    }

    @Test
    void case_1_3_10_unmaskedFrameAfterValidMessage() throws Exception {
        try (RawWsClient c = open()) {
            c.send(text("ok first"));
            c.expectEcho("ok first");
            c.send(frame(true, 0, BINARY, utf8("x"), false));
            c.expectClose(1002);
        }
    }

    // ================================================================== 2 ping/pong

    @Test
    void case_2_1_pingEmpty() throws Exception {
        try (RawWsClient c = open()) {
            c.send(masked(true, 0, PING, new byte[0]));
            c.expectPong(new byte[0]);
        }
    }

    @Test
    void case_2_2_pingTextPayload() throws Exception {
        try (RawWsClient c = open()) {
            c.send(ping("Hello, world!"));
            c.expectPong(utf8("Hello, world!"));
        }
    }

    @Test
    void case_2_3_pingBinaryPayload125() throws Exception {
        byte[] p = new byte[125];
        for (int i = 0; i < p.length; i++) p[i] = (byte) (255 - i);
        try (RawWsClient c = open()) {
            c.send(masked(true, 0, PING, p));
            c.expectPong(p);
        }
    }

    @Test
    void case_2_4_ping126BytesIs1002() throws Exception {
        expectFailure(1002, masked(true, 0, PING, new byte[126]));
    }

    @Test
    void case_2_5_unsolicitedPongIgnored() throws Exception {
        try (RawWsClient c = open()) {
            c.send(concat(masked(true, 0, PONG, utf8("unsolicited")), masked(true, 0, PONG, new byte[125]), text("after pongs")));
            c.expectEcho("after pongs");
        }
    }

    @Test
    void case_2_6_unsolicitedPongThenPing() throws Exception {
        try (RawWsClient c = open()) {
            c.send(concat(masked(true, 0, PONG, utf8("pong")), ping("ping")));
            c.expectPong(utf8("ping"));
        }
    }

    @Test
    void case_2_7_tenPingsInOneWriteAnsweredInOrder() throws Exception {
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        for (int i = 0; i < 10; i++) all.writeBytes(ping("p" + i));
        try (RawWsClient c = open()) {
            c.send(all.toByteArray());
            for (int i = 0; i < 10; i++) c.expectPong(utf8("p" + i));
        }
    }

    @Test
    void case_2_8_pingByteByByte() throws Exception {
        try (RawWsClient c = open()) {
            c.sendByteByByte(ping("slowly"));
            c.expectPong(utf8("slowly"));
        }
    }

    // ================================================================== 3 reserved bits

    @ParameterizedTest(name = "case_3_1: RSV {0} on text, no extension")
    @ValueSource(ints = {1, 2, 3, 4, 5, 6, 7})
    void case_3_1_reservedBitsOnTextWithoutExtension(int rsv) throws Exception {
        expectFailure(1002, masked(true, rsv, TEXT, utf8("reserved")));
    }

    @ParameterizedTest(name = "case_3_2: RSV {0} on ping")
    @ValueSource(ints = {1, 2, 3, 4, 5, 6, 7})
    void case_3_2_reservedBitsOnPing(int rsv) throws Exception {
        expectFailure(1002, masked(true, rsv, PING, utf8("reserved")));
    }

    @Test
    void case_3_3_rsv2AfterValidMessageDropsTheRest() throws Exception {
        try (RawWsClient c = open()) {
            c.send(text("valid"));
            c.expectEcho("valid");
            c.send(concat(masked(true, 2, TEXT, utf8("rsv2")), ping("no pong for me"), text("no echo")));
            c.expectClose(1002);
        }
    }

    @Test
    void case_3_4_rsv3ByteByByte() throws Exception {
        try (RawWsClient c = open()) {
            c.sendByteByByte(masked(true, 1, BINARY, utf8("rsv3")));
            c.expectClose(1002);
        }
    }

    // ================================================================== 4 opcodes

    @ParameterizedTest(name = "case_4_1: reserved data opcode {0}")
    @ValueSource(ints = {3, 4, 5, 6, 7})
    void case_4_1_reservedDataOpcode(int op) throws Exception {
        try (RawWsClient c = open()) {
            c.send(text("valid"));
            c.expectEcho("valid");
            c.send(concat(masked(true, 0, op, utf8("reserved")), ping("no pong")));
            c.expectClose(1002);
        }
    }

    @ParameterizedTest(name = "case_4_2: reserved control opcode {0}")
    @ValueSource(ints = {0xB, 0xC, 0xD, 0xE, 0xF})
    void case_4_2_reservedControlOpcode(int op) throws Exception {
        try (RawWsClient c = open()) {
            c.send(text("valid"));
            c.expectEcho("valid");
            c.send(concat(masked(true, 0, op, utf8("reserved")), ping("no pong")));
            c.expectClose(1002);
        }
    }

    @Test
    void case_4_3_reservedOpcodeByteByByte() throws Exception {
        try (RawWsClient c = open()) {
            c.sendByteByByte(masked(true, 0, 0xB, new byte[0]));
            c.expectClose(1002);
        }
    }

    // ================================================================== 5 fragmentation

    @Test
    void case_5_1_fragmentedPingIs1002() throws Exception {
        expectFailure(1002, concat(masked(false, 0, PING, utf8("frag")), masked(true, 0, CONT, utf8("ment"))));
    }

    @Test
    void case_5_2_fragmentedPongIs1002() throws Exception {
        expectFailure(1002, concat(masked(false, 0, PONG, utf8("frag")), masked(true, 0, CONT, utf8("ment"))));
    }

    @Test
    void case_5_3_fragmentedTextWithPingBetween() throws Exception {
        try (RawWsClient c = open()) {
            c.send(concat(masked(false, 0, TEXT, utf8("frag")), ping("between"), masked(true, 0, CONT, utf8("mented"))));
            c.expectPong(utf8("between"));
            c.expectEcho("fragmented");
        }
    }

    @Test
    void case_5_4_textInTwoFragmentsSeparateWrites() throws Exception {
        try (RawWsClient c = open()) {
            c.send(masked(false, 0, TEXT, utf8("Hello, ")));
            c.send(masked(true, 0, CONT, utf8("world")));
            c.expectEcho("Hello, world");
        }
    }

    @Test
    void case_5_5_oneByteFragmentsSeparateWrites() throws Exception {
        String s = "fragmented one byte at a time";
        try (RawWsClient c = open()) {
            for (int i = 0; i < s.length(); i++) {
                c.send(masked(i == s.length() - 1, 0, i == 0 ? TEXT : CONT, utf8(s.substring(i, i + 1))));
            }
            c.expectEcho(s);
        }
    }

    @Test
    void case_5_6_emptyFragments() throws Exception {
        try (RawWsClient c = open()) {
            c.send(concat(masked(false, 0, TEXT, new byte[0]), masked(false, 0, CONT, utf8("middle")),
                    masked(false, 0, CONT, new byte[0]), masked(true, 0, CONT, new byte[0])));
            c.expectEcho("middle");
            c.send(concat(masked(false, 0, BINARY, new byte[0]), masked(true, 0, CONT, new byte[0])));
            c.expectEcho(BINARY, new byte[0]);
        }
    }

    @Test
    void case_5_7_binaryInThreeFragmentsWithPongsBetween() throws Exception {
        byte[] a = Wire.random(1000, 1), b = Wire.random(70000, 2), d = Wire.random(10, 3);
        try (RawWsClient c = open()) {
            c.send(concat(masked(false, 0, BINARY, a), masked(true, 0, PONG, utf8("x")), masked(false, 0, CONT, b),
                    masked(true, 0, PONG, new byte[0]), masked(true, 0, CONT, d)));
            c.expectEcho(BINARY, concat(a, b, d));
        }
    }

    @Test
    void case_5_8_continuationFinWithoutMessageIs1002() throws Exception {
        expectFailure(1002, masked(true, 0, CONT, utf8("orphan")));
    }

    @Test
    void case_5_9_continuationWithoutMessageIs1002() throws Exception {
        expectFailure(1002, masked(false, 0, CONT, utf8("orphan")));
    }

    @Test
    void case_5_10_textFrameInsideFragmentedMessageIs1002() throws Exception {
        expectFailure(1002, concat(masked(false, 0, TEXT, utf8("one")), masked(true, 0, TEXT, utf8("two"))));
    }

    @Test
    void case_5_11_binaryFrameInsideFragmentedMessageIs1002() throws Exception {
        expectFailure(1002, concat(masked(false, 0, TEXT, utf8("one")), masked(false, 0, BINARY, utf8("two")),
                masked(true, 0, CONT, utf8("three"))));
    }

    @Test
    void case_5_12_continuationAfterFinishedMessageIs1002() throws Exception {
        try (RawWsClient c = open()) {
            c.send(concat(masked(false, 0, TEXT, utf8("a")), masked(true, 0, CONT, utf8("b"))));
            c.expectEcho("ab");
            c.send(masked(true, 0, CONT, utf8("c")));
            c.expectClose(1002);
        }
    }

    @Test
    void case_5_13_fragmentsAndPingsByteByByte() throws Exception {
        try (RawWsClient c = open()) {
            c.sendByteByByte(concat(masked(false, 0, TEXT, utf8("slow ")), ping("p1"), masked(false, 0, CONT, utf8("frag")),
                    ping("p2"), masked(true, 0, CONT, utf8("ments"))));
            c.expectPong(utf8("p1"));
            c.expectPong(utf8("p2"));
            c.expectEcho("slow fragments");
        }
    }

    @Test
    void case_5_14_closeBetweenFragments() throws Exception {
        try (RawWsClient c = open()) {
            c.send(concat(masked(false, 0, TEXT, utf8("never")), masked(true, 0, CLOSE, Wire.closePayload(1000, ""))));
            c.expectClose(1000);
        }
        assertServerClosed(1000, null);
    }

    @Test
    void case_5_15_twoFragmentedMessagesInARow() throws Exception {
        try (RawWsClient c = open()) {
            c.send(concat(masked(false, 0, TEXT, utf8("first ")), masked(true, 0, CONT, utf8("message")),
                    masked(false, 0, BINARY, utf8("second ")), masked(true, 0, CONT, utf8("message"))));
            c.expectEcho("first message");
            c.expectEcho(BINARY, utf8("second message"));
        }
    }

    @Test
    void case_5_16_fragmentedTextWithPingBetweenSeparateWrites() throws Exception {
        try (RawWsClient c = open()) {
            c.send(masked(false, 0, TEXT, utf8("frag")));
            c.send(ping("between"));
            c.expectPong(utf8("between"));
            c.send(masked(true, 0, CONT, utf8("mented")));
            c.expectEcho("fragmented");
        }
    }

    @Test
    void case_5_17_thousandFragments() throws Exception {
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        StringBuilder expect = new StringBuilder();
        for (int i = 0; i < 1000; i++) {
            String piece = String.format("%04d;", i);
            expect.append(piece);
            all.writeBytes(masked(i == 999, 0, i == 0 ? TEXT : CONT, utf8(piece)));
        }
        try (RawWsClient c = open()) {
            c.sendInChunks(all.toByteArray(), 1500);
            c.expectEcho(expect.toString());
        }
    }

    // ================================================================== 6 UTF-8

    static Stream<Arguments> validUtf8() {
        return Stream.of(
                Arguments.of("Hello-µ@ßöäüàá-UTF-8!!", Wire.hex(toHex(utf8("Hello-µ@ßöäüàá-UTF-8!!")))),
                Arguments.of("kosme (greek)", hex("ce ba e1 bd b9 cf 83 ce bc ce b5")),
                Arguments.of("U+0000", hex("00")),
                Arguments.of("U+007F", hex("7f")),
                Arguments.of("U+0080", hex("c2 80")),
                Arguments.of("U+07FF", hex("df bf")),
                Arguments.of("U+0800", hex("e0 a0 80")),
                Arguments.of("U+D7FF", hex("ed 9f bf")),
                Arguments.of("U+E000", hex("ee 80 80")),
                Arguments.of("U+FFFD", hex("ef bf bd")),
                Arguments.of("U+FFFE noncharacter", hex("ef bf be")),
                Arguments.of("U+FFFF noncharacter", hex("ef bf bf")),
                Arguments.of("U+10000", hex("f0 90 80 80")),
                Arguments.of("U+1F600", hex("f0 9f 98 80")),
                Arguments.of("U+10FFFF", hex("f4 8f bf bf")));
    }

    static String toHex(byte[] b) {
        StringBuilder s = new StringBuilder();
        for (byte x : b) s.append(String.format("%02x", x));
        return s.toString();
    }

    @ParameterizedTest(name = "case_6_1: valid {0}")
    @MethodSource("validUtf8")
    void case_6_1_validUtf8Echoed(String name, byte[] bytes) throws Exception {
        assertTrue(Wire.validUtf8(bytes));
        try (RawWsClient c = open()) {
            c.send(masked(true, 0, TEXT, bytes));
            c.expectEcho(TEXT, bytes);
        }
    }

    static final byte[] MIXED = hex("48 ce ba e1 bd b9 cf 83 ce bc ce b5 f4 8f bf bf e2 82 ac 21 c2 80");

    @Test
    void case_6_2_validUtf8SplitAtEveryByte() throws Exception {
        try (RawWsClient c = open()) {
            for (int i = 0; i <= MIXED.length; i++) {
                c.send(concat(masked(false, 0, TEXT, Wire.slice(MIXED, 0, i)), masked(true, 0, CONT, Wire.slice(MIXED, i, MIXED.length))));
                c.expectEcho(TEXT, MIXED);
            }
        }
    }

    @Test
    void case_6_3_validUtf8InOneByteFragmentsSeparateWrites() throws Exception {
        try (RawWsClient c = open()) {
            for (int i = 0; i < MIXED.length; i++) {
                c.send(masked(i == MIXED.length - 1, 0, i == 0 ? TEXT : CONT, new byte[] {MIXED[i]}));
            }
            c.expectEcho(TEXT, MIXED);
        }
    }

    /** Invalid sequences that are wrong by the time their last byte is seen (not merely cut short). */
    static Stream<Arguments> invalidUtf8() {
        return Stream.of(
                Arguments.of("overlong NUL c0 80", "c0 80"),
                Arguments.of("overlong c1 bf", "c1 bf"),
                Arguments.of("overlong 3-byte e0 80 af", "e0 80 af"),
                Arguments.of("overlong 3-byte max e0 9f bf", "e0 9f bf"),
                Arguments.of("overlong 4-byte f0 80 80 af", "f0 80 80 af"),
                Arguments.of("overlong 4-byte max f0 8f bf bf", "f0 8f bf bf"),
                Arguments.of("5-byte f8 88 80 80 80", "f8 88 80 80 80"),
                Arguments.of("6-byte fc 84 80 80 80 80", "fc 84 80 80 80 80"),
                Arguments.of("surrogate U+D800", "ed a0 80"),
                Arguments.of("surrogate U+DB7F", "ed ad bf"),
                Arguments.of("surrogate U+DB80", "ed ae 80"),
                Arguments.of("surrogate U+DBFF", "ed af bf"),
                Arguments.of("surrogate U+DC00", "ed b0 80"),
                Arguments.of("surrogate U+DFFF", "ed bf bf"),
                Arguments.of("surrogate pair D800 DC00", "ed a0 80 ed b0 80"),
                Arguments.of("surrogate pair DBFF DFFF", "ed af bf ed bf bf"),
                Arguments.of("U+110000 f4 90 80 80", "f4 90 80 80"),
                Arguments.of("U+1FFFFF f7 bf bf bf", "f7 bf bf bf"),
                Arguments.of("f5 lead", "f5 80 80 80"),
                Arguments.of("fe", "fe"),
                Arguments.of("ff", "ff"),
                Arguments.of("fe fe ff ff", "fe fe ff ff"),
                Arguments.of("lone continuation 80", "80"),
                Arguments.of("lone continuation bf", "bf"),
                Arguments.of("continuations 80 bf 80", "80 bf 80"),
                Arguments.of("2-byte bad continuation c3 28", "c3 28"),
                Arguments.of("3-byte bad 2nd e2 28 a1", "e2 28 a1"),
                Arguments.of("3-byte bad 3rd e2 82 28", "e2 82 28"),
                Arguments.of("4-byte bad 2nd f0 28 8c bc", "f0 28 8c bc"),
                Arguments.of("4-byte bad 3rd f0 90 28 bc", "f0 90 28 bc"),
                Arguments.of("in the middle of text", "48 65 6c 6c 6f ed a0 80 77 6f 72 6c 64"));
    }

    /** Sequences that are only wrong because the message ends inside them. */
    static Stream<Arguments> truncatedUtf8() {
        return Stream.of(
                Arguments.of("c3 at end", "c3"),
                Arguments.of("e2 82 at end", "e2 82"),
                Arguments.of("f0 9f 98 at end", "f0 9f 98"),
                Arguments.of("kosme cut short", "ce ba e1 bd b9 cf 83 ce bc ce"));
    }

    @ParameterizedTest(name = "case_6_4: invalid {0}")
    @MethodSource({"invalidUtf8", "truncatedUtf8"})
    void case_6_4_invalidUtf8InOneFrameIs1007(String name, String hexBytes) throws Exception {
        byte[] b = concat(utf8("κόσμε"), hex(hexBytes));
        assertFalse(Wire.validUtf8(b));
        expectFailure(1007, masked(true, 0, TEXT, b));
    }

    @ParameterizedTest(name = "case_6_5: {0} fails before the final fragment")
    @MethodSource("invalidUtf8")
    void case_6_5_invalidUtf8FailsFastBeforeFinalFragment(String name, String hexBytes) throws Exception {
        try (RawWsClient c = open()) {
            c.send(masked(false, 0, TEXT, concat(utf8("ab"), hex(hexBytes))));
            // the final fragment is never sent: the server must not wait for it
            c.expectClose(1007);
        }
    }

    @ParameterizedTest(name = "case_6_6: {0} in one-byte fragments")
    @MethodSource("invalidUtf8")
    void case_6_6_invalidUtf8InOneByteFragments(String name, String hexBytes) throws Exception {
        byte[] b = hex(hexBytes);
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        for (int i = 0; i < b.length; i++) all.writeBytes(masked(false, 0, i == 0 ? TEXT : CONT, new byte[] {b[i]}));
        try (RawWsClient c = open()) {
            c.send(all.toByteArray());
            c.expectClose(1007);
        }
    }

    @Test
    void case_6_7_truncatedSequenceCompletedByFinalFragmentIsValid() throws Exception {
        try (RawWsClient c = open()) {
            c.send(masked(false, 0, TEXT, hex("41 e2 82")));
            c.expectSilence(200); // a prefix of a valid sequence: no failure yet
            c.send(masked(true, 0, CONT, hex("ac")));
            c.expectEcho("A€");
        }
    }

    @Test
    void case_6_8_truncatedSequenceAtEndOfFragmentedMessageIs1007() throws Exception {
        try (RawWsClient c = open()) {
            c.send(masked(false, 0, TEXT, hex("41 f0 9f")));
            c.expectSilence(200);
            c.send(masked(true, 0, CONT, new byte[0]));
            c.expectClose(1007);
        }
    }

    @Test
    void case_6_9_sequenceSplitAcrossFragmentsThenBadContinuationFailsFast() throws Exception {
        try (RawWsClient c = open()) {
            c.send(masked(false, 0, TEXT, hex("41 e2 82")));
            c.send(masked(false, 0, CONT, hex("41")));
            c.expectClose(1007);
        }
    }

    @Test
    void case_6_10_surrogateSplitAcrossFragmentsFailsFast() throws Exception {
        try (RawWsClient c = open()) {
            c.send(masked(false, 0, TEXT, hex("ed")));
            c.expectSilence(200);
            c.send(masked(false, 0, CONT, hex("a0")));
            c.expectClose(1007);
        }
    }

    @Test
    void case_6_11_overlongSplitAcrossFragmentsFailsFast() throws Exception {
        try (RawWsClient c = open()) {
            c.send(masked(false, 0, TEXT, hex("e0")));
            c.send(masked(false, 0, CONT, hex("80")));
            c.expectClose(1007);
        }
    }

    @Test
    void case_6_12_above10FFFFSplitAcrossFragmentsFailsFast() throws Exception {
        try (RawWsClient c = open()) {
            c.send(masked(false, 0, TEXT, hex("f4")));
            c.send(masked(false, 0, CONT, hex("90")));
            c.expectClose(1007);
        }
    }

    /**
     * Strict: the bad byte arrives in the first part of a frame whose rest is never sent; the server
     * fails at the bad byte, not at the end of the frame (Autobahn 6.4.x would grade waiting for the
     * frame "non-strict"; the jhv brief says "as soon as the bad byte arrives").
     */
    @Test
    void case_6_13_invalidUtf8InsidePartlySentFrameFailsFast() throws Exception {
        byte[] payload = concat(utf8("κόσμε"), hex("ed a0 80"), Wire.repeat("x", 100));
        byte[] f = masked(true, 0, TEXT, payload);
        try (RawWsClient c = open()) {
            c.send(Wire.slice(f, 0, 2 + 4 + 14)); // header, mask, kosme and the surrogate
            c.expectClose(1007);
        }
    }

    @Test
    void case_6_14_invalidUtf8WrittenByteByByte() throws Exception {
        try (RawWsClient c = open()) {
            c.sendByteByByte(masked(true, 0, TEXT, hex("ce ba e1 bd b9 c0 80 ce b5")));
            c.expectClose(1007);
        }
    }

    @Test
    void case_6_15_invalidUtf8InBinaryIsFine() throws Exception {
        try (RawWsClient c = open()) {
            c.send(masked(true, 0, BINARY, hex("c0 80 ed a0 80 ff fe")));
            c.expectEcho(BINARY, hex("c0 80 ed a0 80 ff fe"));
        }
    }

    @Test
    void case_6_16_validMessageBeforeInvalidIsEchoed() throws Exception {
        try (RawWsClient c = open()) {
            c.send(masked(true, 0, TEXT, hex("e2 82 ac")));
            c.expectEcho("€");
            c.send(masked(true, 0, TEXT, hex("e2 82")));
            c.expectClose(1007);
        }
    }

    // ================================================================== 7 close

    @Test
    void case_7_1_1_closeNormal() throws Exception {
        try (RawWsClient c = open()) {
            c.send(text("Hello"));
            c.expectEcho("Hello");
            c.close(1000, "");
            c.expectClose(1000);
        }
        assertServerClosed(1000, "");
    }

    @Test
    void case_7_1_2_closeAfterClose() throws Exception {
        try (RawWsClient c = open()) {
            c.send(concat(masked(true, 0, CLOSE, Wire.closePayload(1000, "")), masked(true, 0, CLOSE, Wire.closePayload(1001, ""))));
            c.expectClose(1000);
        }
        assertServerClosed(1000, null);
    }

    @Test
    void case_7_1_3_pingAfterCloseIgnored() throws Exception {
        try (RawWsClient c = open()) {
            c.send(concat(masked(true, 0, CLOSE, Wire.closePayload(1000, "")), ping("too late")));
            c.expectClose(1000);
        }
    }

    @Test
    void case_7_1_4_textAfterCloseIgnored() throws Exception {
        try (RawWsClient c = open()) {
            c.send(concat(masked(true, 0, CLOSE, Wire.closePayload(1000, "")), text("too late")));
            c.expectClose(1000);
        }
    }

    @Test
    void case_7_1_5_closeInsideFragmentedMessage() throws Exception {
        try (RawWsClient c = open()) {
            c.send(concat(masked(false, 0, TEXT, utf8("half")), masked(true, 0, CLOSE, Wire.closePayload(1000, "")),
                    masked(true, 0, CONT, utf8(" never"))));
            c.expectClose(1000);
        }
    }

    /**
     * Beyond the RFC (Autobahn 7.1.6 is informational): jhv delivers the message before it reads
     * the close frame, so the echo goes out first.
     */
    @Test
    void case_7_1_6_bigMessageThenCloseInOneWrite() throws Exception {
        byte[] big = Wire.repeat("BAsd7&jh23", 256 * 1024);
        try (RawWsClient c = open()) {
            c.send(concat(masked(true, 0, TEXT, big), masked(true, 0, CLOSE, Wire.closePayload(1000, ""))));
            c.expectEcho(TEXT, big);
            c.expectClose(1000);
        }
    }

    @Test
    void case_7_3_1_emptyCloseAnsweredWith1000AndReported1005() throws Exception {
        Event reply;
        try (RawWsClient c = open()) {
            c.send(masked(true, 0, CLOSE, new byte[0]));
            reply = c.next();
            assertEquals(CLOSE, reply.opcode(), "expected a close frame in reply");
            c.send(masked(true, 0, CLOSE, new byte[0]));
            c.expectTcpClosed();
        }
        assertServerClosed(1005, "");
        // the brief: "the peer echoes the code (1000 for an empty close)"; RFC 6455 5.5.1 would allow an empty reply too
        assertEquals(1000, reply.closeCode(), "reply to an empty close");
    }

    @Test
    void case_7_3_2_closeWithOneBytePayloadIs1002() throws Exception {
        expectFailure(1002, masked(true, 0, CLOSE, new byte[] {0x03}));
    }

    @Test
    void case_7_3_3_closeWithReason() throws Exception {
        try (RawWsClient c = open()) {
            c.close(1000, "bye now");
            c.expectClose(1000);
        }
        assertServerClosed(1000, "bye now");
    }

    @Test
    void case_7_3_4_closeWith123ByteReason() throws Exception {
        String reason = "r".repeat(123);
        try (RawWsClient c = open()) {
            c.close(1000, reason);
            c.expectClose(1000);
        }
        assertServerClosed(1000, reason);
    }

    @Test
    void case_7_3_5_closeWith124ByteReasonIs1002() throws Exception {
        expectFailure(1002, masked(true, 0, CLOSE, Wire.closePayload(1000, "r".repeat(124))));
    }

    @Test
    void case_7_3_6_closeReasonInvalidUtf8Is1007() throws Exception {
        expectFailure(1007, masked(true, 0, CLOSE, Wire.closePayload(1000, hex("ce ba e1 bd ed a0 80 65 64"))));
    }

    @Test
    void case_7_3_7_closeReasonMultibyteUtf8() throws Exception {
        try (RawWsClient c = open()) {
            c.close(1000, "κόσμε ✓ \uD83D\uDE00");
            c.expectClose(1000);
        }
        assertServerClosed(1000, "κόσμε ✓ \uD83D\uDE00");
    }

    @Test
    void case_7_3_8_closeWrittenByteByByte() throws Exception {
        try (RawWsClient c = open()) {
            c.sendByteByByte(masked(true, 0, CLOSE, Wire.closePayload(1001, "going")));
            c.expectClose(1001);
        }
        assertServerClosed(1001, "going");
    }

    @Test
    void case_7_3_9_fragmentedCloseIs1002() throws Exception {
        expectFailure(1002, masked(false, 0, CLOSE, Wire.closePayload(1000, "")));
    }

    @Test
    void case_7_3_10_closeReasonTruncatedUtf8Is1007() throws Exception {
        expectFailure(1007, masked(true, 0, CLOSE, Wire.closePayload(1000, hex("41 e2 82"))));
    }

    @ParameterizedTest(name = "case_7_7: valid code {0} echoed")
    @ValueSource(ints = {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999})
    void case_7_7_validCloseCodeEchoed(int code) throws Exception {
        try (RawWsClient c = open()) {
            c.close(code, "code " + code);
            c.expectClose(code);
        }
        assertServerClosed(code, "code " + code);
    }

    @ParameterizedTest(name = "case_7_9: invalid code {0}")
    @ValueSource(ints = {0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535})
    void case_7_9_invalidCloseCodeIs1002(int code) throws Exception {
        expectFailure(1002, masked(true, 0, CLOSE, Wire.closePayload(code, "")));
    }

    @Test
    void case_7_13_1_clientVanishesWithoutCloseFrame() throws Exception {
        try (RawWsClient c = open()) {
            c.send(text("hi"));
            c.expectEcho("hi");
        }
        assertServerClosed(1006, null);
    }

    @Test
    void case_7_13_2_clientResetsConnection() throws Exception {
        RawWsClient c = open();
        c.send(masked(false, 0, TEXT, utf8("half a message")));
        c.socket.setSoLinger(true, 0);
        c.close();
        assertServerClosed(1006, null);
    }

    @Test
    void case_7_13_3_clientVanishesMidFrame() throws Exception {
        RawWsClient c = open();
        byte[] f = masked(true, 0, BINARY, new byte[1000]);
        c.send(Wire.slice(f, 0, 100));
        c.close();
        assertServerClosed(1006, null);
    }

    @Test
    void case_7_14_1_serverInitiatedCloseHandshake() throws Exception {
        try (RawWsClient c = open()) {
            c.text("close:4001");
            Event e = c.next();
            assertEquals(CLOSE, e.opcode());
            assertEquals(4001, e.closeCode());
            c.close(4001, "agreed");
            c.expectTcpClosed();
        }
        assertServerClosed(4001, "agreed");
    }

    @Test
    void case_7_14_2_serverInitiatedCloseStillAnswersNothingElse() throws Exception {
        try (RawWsClient c = open()) {
            c.text("close:1000");
            Event e = c.next();
            assertEquals(1000, e.closeCode());
            c.send(text("after the server's close")); // RFC 6455 5.5.1: the server sends no more data frames
            c.close(1000, "");
            c.expectTcpClosed();
        }
        assertServerClosed(1000, null);
    }

    @Test
    void case_7_14_3_serverCloseTimesOutWhenClientNeverAnswers() throws Exception {
        try (RawWsClient c = open()) {
            c.text("close:1001");
            Event e = c.next();
            assertEquals(1001, e.closeCode());
            c.expectTcpClosed(); // closeTimeout 2 s < read timeout 5 s
        }
        assertServerClosed(1006, null);
    }

    // ================================================================== 9 limits

    RawWsClient openLimits() throws IOException {
        return open("/limits");
    }

    @Test
    void case_9_1_frameAtFrameLimitPasses() throws Exception {
        try (RawWsClient c = openLimits()) {
            c.send(masked(true, 0, BINARY, Wire.random(FRAME_LIMIT, 1)));
            c.expectEcho(BINARY, Wire.random(FRAME_LIMIT, 1));
        }
    }

    @Test
    void case_9_2_frameOverLimitIs1009FromItsHeader() throws Exception {
        try (RawWsClient c = openLimits()) {
            byte[] f = masked(true, 0, BINARY, new byte[FRAME_LIMIT + 1]);
            c.send(Wire.slice(f, 0, 8)); // header and mask only
            c.expectClose(1009);
        }
    }

    @Test
    void case_9_3_messageAtLimitInFragmentsPasses() throws Exception {
        byte[] m = Wire.random(MESSAGE_LIMIT, 3);
        try (RawWsClient c = openLimits()) {
            for (int i = 0; i < 4; i++) {
                c.send(masked(i == 3, 0, i == 0 ? BINARY : CONT, Wire.slice(m, i * FRAME_LIMIT, (i + 1) * FRAME_LIMIT)));
            }
            c.expectEcho(BINARY, m);
        }
    }

    @Test
    void case_9_4_messageOneByteOverLimitIs1009() throws Exception {
        try (RawWsClient c = openLimits()) {
            for (int i = 0; i < 4; i++) c.send(masked(false, 0, i == 0 ? BINARY : CONT, new byte[FRAME_LIMIT]));
            c.send(masked(true, 0, CONT, new byte[1]));
            c.expectClose(1009);
        }
    }

    @Test
    void case_9_5_manySmallFragmentsAboveLimitFailBeforeFinal() throws Exception {
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        for (int i = 0; i < 200; i++) all.writeBytes(masked(false, 0, i == 0 ? TEXT : CONT, Wire.repeat("0123456789", 100)));
        try (RawWsClient c = openLimits()) {
            c.send(all.toByteArray()); // 20000 bytes > 16384, no final fragment
            c.expectClose(1009);
        }
    }

    @Test
    void case_9_6_textAtLimitPasses() throws Exception {
        byte[] m = Wire.repeat("ü", MESSAGE_LIMIT); // 2-byte chars: 8192 of them
        try (RawWsClient c = openLimits()) {
            for (int i = 0; i < 4; i++) {
                c.send(masked(i == 3, 0, i == 0 ? TEXT : CONT, Wire.slice(m, i * FRAME_LIMIT, (i + 1) * FRAME_LIMIT)));
            }
            c.expectEcho(TEXT, m);
        }
    }

    @Test
    void case_9_7_textOneByteOverLimitIs1009() throws Exception {
        try (RawWsClient c = openLimits()) {
            for (int i = 0; i < 4; i++) c.send(masked(false, 0, i == 0 ? TEXT : CONT, Wire.repeat("a", FRAME_LIMIT)));
            c.send(masked(true, 0, CONT, utf8("b")));
            c.expectClose(1009);
        }
    }

    @Test
    void case_9_8_controlFramesDoNotCountTowardsTheMessage() throws Exception {
        byte[] m = Wire.random(MESSAGE_LIMIT, 8);
        try (RawWsClient c = openLimits()) {
            for (int i = 0; i < 4; i++) {
                c.send(masked(i == 3, 0, i == 0 ? BINARY : CONT, Wire.slice(m, i * FRAME_LIMIT, (i + 1) * FRAME_LIMIT)));
                if (i < 3) c.send(masked(true, 0, PING, new byte[125]));
            }
            for (int i = 0; i < 3; i++) c.expectPong(new byte[125]);
            c.expectEcho(BINARY, m);
        }
    }

    @Test
    void case_9_9_limitAppliesPerMessage() throws Exception {
        try (RawWsClient c = openLimits()) {
            for (int k = 0; k < 5; k++) {
                c.send(masked(true, 0, BINARY, Wire.random(FRAME_LIMIT, k)));
                c.expectEcho(BINARY, Wire.random(FRAME_LIMIT, k));
            }
        }
    }

    static Stream<Arguments> bigMessages() {
        return Stream.of(
                Arguments.of(TEXT, 1 << 20, 0),
                Arguments.of(TEXT, 4 << 20, 0),
                Arguments.of(BINARY, 4 << 20, 65536),
                Arguments.of(TEXT, 4 << 20, 1000));
    }

    @ParameterizedTest(name = "case_9_10: opcode {0}, {1} bytes in fragments of {2} (0: one frame)")
    @MethodSource("bigMessages")
    void case_9_10_bigMessage(int opcode, int size, int fragment) throws Exception {
        int unit = utf8("big κόσμε message ").length;
        byte[] m = opcode == TEXT ? Wire.repeat("big κόσμε message ", size - size % unit) : Wire.random(size, size); // whole characters
        try (RawWsClient c = open()) {
            c.socket.setSoTimeout(20000);
            if (fragment == 0) {
                c.sendInChunks(masked(true, 0, opcode, m), 65536);
            } else {
                ByteArrayOutputStream all = new ByteArrayOutputStream();
                for (int i = 0; i < m.length; i += fragment) {
                    all.writeBytes(masked(i + fragment >= m.length, 0, i == 0 ? opcode : CONT, Wire.slice(m, i, Math.min(m.length, i + fragment))));
                }
                c.sendInChunks(all.toByteArray(), 65536);
            }
            c.expectEcho(opcode, m);
        }
    }

    @Test
    void case_9_11_defaultFrameLimitFromHeaderAlone() throws Exception {
        try (RawWsClient c = open()) {
            c.send(Wire.header64(true, 0, BINARY, WebSocketConfig.DEFAULT_MAX_MESSAGE_SIZE + 1L, true));
            c.expectClose(1009);
        }
    }

    // ================================================================== 12 permessage-deflate: messages

    static final String PMD = "permessage-deflate";

    @ParameterizedTest(name = "case_12_1: compressed text of {0} bytes in one frame")
    @ValueSource(ints = {1, 16, 127, 128, 1000, 65536, 1 << 20})
    void case_12_1_compressedTextOneFrame(int n) throws Exception {
        byte[] m = Wire.repeat("Hello, permessage-deflate! ", n);
        try (RawWsClient c = openDeflate("/echo", PMD)) {
            c.send(c.compressedFrame(TEXT, m));
            c.expectEcho(TEXT, m);
        }
    }

    @ParameterizedTest(name = "case_12_2: compressed random binary of {0} bytes")
    @ValueSource(ints = {0, 1000, 65536})
    void case_12_2_compressedBinaryOneFrame(int n) throws Exception {
        byte[] m = Wire.random(n, 12);
        try (RawWsClient c = openDeflate("/echo", PMD)) {
            c.send(c.compressedFrame(BINARY, m));
            c.expectEcho(BINARY, m);
        }
    }

    @ParameterizedTest(name = "case_12_3: compressed message in {0} fragments")
    @ValueSource(ints = {2, 10, 100})
    void case_12_3_compressedFragmented(int fragments) throws Exception {
        byte[] m = Wire.repeat("fragmented and compressed ", 50000);
        try (RawWsClient c = openDeflate("/echo", PMD)) {
            byte[] z = c.pmd.out.compress(m);
            int step = (z.length + fragments - 1) / fragments;
            ByteArrayOutputStream all = new ByteArrayOutputStream();
            for (int i = 0; i < fragments; i++) {
                byte[] part = Wire.slice(z, Math.min(z.length, i * step), Math.min(z.length, (i + 1) * step));
                all.writeBytes(masked(i == fragments - 1, i == 0 ? RSV1 : 0, i == 0 ? TEXT : CONT, part));
            }
            c.send(all.toByteArray());
            c.expectEcho(TEXT, m);
        }
    }

    @Test
    void case_12_4_compressedFragmentedWithPingBetween() throws Exception {
        byte[] m = Wire.repeat("ping in the middle ", 1000);
        try (RawWsClient c = openDeflate("/echo", PMD)) {
            byte[] z = c.pmd.out.compress(m);
            int half = z.length / 2;
            c.send(concat(masked(false, RSV1, BINARY, Wire.slice(z, 0, half)), ping("mid"), masked(true, 0, CONT, Wire.slice(z, half, z.length))));
            c.expectPong(utf8("mid"));
            c.expectEcho(BINARY, m);
        }
    }

    @Test
    void case_12_5_contextTakeoverAcrossMessages() throws Exception {
        byte[] m = Wire.random(3000, 125); // incompressible alone: only a reference to the earlier message shrinks it
        try (RawWsClient c = openDeflate("/echo", PMD)) {
            int first = 0;
            for (int i = 0; i < 10; i++) {
                byte[] z = c.pmd.out.compress(m);
                if (i == 0) first = z.length;
                else assertTrue(z.length < first / 2, "the test's own deflater should refer back to the earlier message");
                c.send(masked(true, RSV1, BINARY, z));
                c.expectEcho(BINARY, m);
            }
        }
    }

    @Test
    void case_12_6_clientNoContextTakeover() throws Exception {
        byte[] m = Wire.repeat("reset every message ", 1000);
        try (RawWsClient c = openDeflate("/echo", PMD + "; client_no_context_takeover")) {
            Wire.Compressor fresh = new Wire.Compressor(true);
            for (int i = 0; i < 5; i++) {
                c.send(masked(true, RSV1, TEXT, fresh.compress(m)));
                c.expectEcho(TEXT, m);
            }
            fresh.end();
        }
    }

    @Test
    void case_12_7_uncompressedMessagesOnDeflateConnection() throws Exception {
        try (RawWsClient c = openDeflate("/echo", PMD)) {
            c.send(text("plain text"));
            c.expectEcho("plain text");
            c.send(masked(true, 0, BINARY, Wire.repeat("plain binary", 5000)));
            c.expectEcho(BINARY, Wire.repeat("plain binary", 5000));
            c.send(concat(masked(false, 0, TEXT, utf8("plain ")), masked(true, 0, CONT, utf8("fragments"))));
            c.expectEcho("plain fragments");
        }
    }

    @Test
    void case_12_8_mixedCompressedAndUncompressedKeepTheContext() throws Exception {
        byte[] m = Wire.repeat("mixed messages share a context ", 200);
        try (RawWsClient c = openDeflate("/echo", PMD)) {
            for (int i = 0; i < 6; i++) {
                c.send(i % 2 == 0 ? c.compressedFrame(TEXT, m) : masked(true, 0, TEXT, m));
                c.expectEcho(TEXT, m);
            }
        }
    }

    @Test
    void case_12_9_compressedByteByByte() throws Exception {
        byte[] m = Wire.repeat("one byte at a time ", 100);
        try (RawWsClient c = openDeflate("/echo", PMD)) {
            c.sendByteByByte(c.compressedFrame(TEXT, m));
            c.expectEcho(TEXT, m);
            byte[] z = c.pmd.out.compress(m);
            c.sendByteByByte(concat(masked(false, RSV1, TEXT, Wire.slice(z, 0, 3)), masked(true, 0, CONT, Wire.slice(z, 3, z.length))));
            c.expectEcho(TEXT, m);
        }
    }

    @Test
    void case_12_10_compressedEmptyMessage() throws Exception {
        try (RawWsClient c = openDeflate("/echo", PMD)) {
            c.send(c.compressedFrame(TEXT, new byte[0]));
            c.expectEcho(TEXT, new byte[0]);
            c.send(masked(true, RSV1, BINARY, hex("00"))); // an empty stored block (RFC 7692 7.2.3.6)
            c.expectEcho(BINARY, new byte[0]);
        }
    }

    @Test
    void case_12_11_finalBlockInsteadOfSyncFlush() throws Exception {
        byte[] m = Wire.repeat("BFINAL set ", 300);
        try (RawWsClient c = openDeflate("/echo", PMD + "; client_no_context_takeover")) {
            Wire.Compressor fin = new Wire.Compressor(true);
            for (int i = 0; i < 3; i++) {
                c.send(masked(true, RSV1, TEXT, fin.compressFinal(m)));
                c.expectEcho(TEXT, m);
            }
            fin.end();
        }
    }

    /** RFC 7692 7.2.3.4's own example: "Hello" in a DEFLATE block with BFINAL set, then an empty stored block's 0x00. */
    @Test
    void case_12_11_2_rfcExampleFinalBlockHello() throws Exception {
        try (RawWsClient c = openDeflate("/echo", PMD + "; client_no_context_takeover")) {
            c.send(masked(true, RSV1, TEXT, hex("f3 48 cd c9 c9 07 00 00")));
            c.expectEcho("Hello");
        }
    }

    /** RFC 7692 7.2.3.1's example: "Hello" compressed with a sync flush, tail removed. */
    @Test
    void case_12_11_3_rfcExampleSyncFlushHello() throws Exception {
        try (RawWsClient c = openDeflate("/echo", PMD)) {
            c.send(masked(true, RSV1, TEXT, hex("f2 48 cd c9 c9 07 00")));
            c.expectEcho("Hello");
        }
    }

    @Test
    void case_12_12_rsv1OnContinuationIs1002() throws Exception {
        try (RawWsClient c = openDeflate("/echo", PMD)) {
            byte[] z = c.pmd.out.compress(Wire.repeat("abc", 100));
            c.send(concat(masked(false, RSV1, TEXT, Wire.slice(z, 0, 4)), masked(true, RSV1, CONT, Wire.slice(z, 4, z.length))));
            c.expectClose(1002);
        }
    }

    @ParameterizedTest(name = "case_12_13: RSV1 on control opcode {0}")
    @ValueSource(ints = {PING, PONG, CLOSE})
    void case_12_13_rsv1OnControlFrameIs1002(int op) throws Exception {
        try (RawWsClient c = openDeflate("/echo", PMD)) {
            c.send(masked(true, RSV1, op, op == CLOSE ? Wire.closePayload(1000, "") : utf8("control")));
            c.expectClose(1002);
        }
    }

    @Test
    void case_12_14_rsv1OnUncompressedContinuationOfPlainMessageIs1002() throws Exception {
        try (RawWsClient c = openDeflate("/echo", PMD)) {
            c.send(concat(masked(false, 0, TEXT, utf8("plain ")), masked(true, RSV1, CONT, utf8("then rsv1"))));
            c.expectClose(1002);
        }
    }

    @Test
    void case_12_15_corruptDeflateDataFails() throws Exception {
        try (RawWsClient c = openDeflate("/echo", PMD)) {
            c.send(masked(true, RSV1, BINARY, hex("ff ff ff ff ff ff")));
            Event e = c.next();
            assertEquals(CLOSE, e.opcode(), () -> "expected a close, got " + e);
            // RFC 7692 does not name the code; 1007 (invalid payload data) or 1002 are both fair
            assertTrue(e.closeCode() == 1007 || e.closeCode() == 1002, "close code " + e.closeCode());
            c.expectTcpClosed();
        }
    }

    @Test
    void case_12_16_compressedInvalidUtf8Is1007() throws Exception {
        try (RawWsClient c = openDeflate("/echo", PMD)) {
            c.send(c.compressedFrame(TEXT, concat(Wire.repeat("valid ", 100), hex("ed a0 80"))));
            c.expectClose(1007);
        }
    }

    @Test
    void case_12_17_serverCompressesLargeEchoes() throws Exception {
        byte[] m = Wire.repeat("compress me on the way back ", 1000);
        try (RawWsClient c = openDeflate("/echo", PMD)) {
            c.send(masked(true, 0, TEXT, m));
            Event e = c.expectEcho(TEXT, m);
            assertTrue(e.compressed(), "a 1000-byte echo over permessage-deflate comes back compressed");
            assertTrue(e.wireBytes() < m.length / 4, "compressed to " + e.wireBytes());
        }
    }

    @Test
    void case_12_18_serverSendsSmallMessagesUncompressed() throws Exception {
        try (RawWsClient c = openDeflate("/echo", PMD)) {
            c.send(c.compressedFrame(TEXT, utf8("tiny")));
            assertFalse(c.expectEcho("tiny").compressed(), "below the 128-byte threshold: sent plain");
        }
    }

    @Test
    void case_12_19_serverContextTakeoverShrinksRepeats() throws Exception {
        byte[] m = Wire.random(1000, 19); // incompressible on its own, but repeated
        try (RawWsClient c = openDeflate("/echo", PMD)) {
            c.send(masked(true, 0, BINARY, m));
            Event first = c.expectEcho(BINARY, m);
            c.send(masked(true, 0, BINARY, m));
            Event second = c.expectEcho(BINARY, m);
            assertTrue(second.compressed() && second.wireBytes() < first.wireBytes() / 4,
                    "with context takeover the repeat refers back: " + first.wireBytes() + " then " + second.wireBytes());
        }
    }

    @Test
    void case_12_20_serverNoContextTakeoverEachMessageStandsAlone() throws Exception {
        byte[] m = Wire.repeat("standalone ", 500);
        try (RawWsClient c = openDeflate("/echo", PMD + "; server_no_context_takeover")) {
            assertTrue(c.pmd.serverNoContextTakeover);
            for (int i = 0; i < 4; i++) {
                c.send(masked(true, 0, TEXT, m));
                assertTrue(c.expectEcho(TEXT, m).compressed()); // inflated with a reset inflater each time
            }
        }
    }

    @Test
    void case_12_21_compressedAtMessageLimitPasses() throws Exception {
        byte[] m = Wire.repeat("z", MESSAGE_LIMIT);
        try (RawWsClient c = openDeflate("/limits", PMD)) {
            c.send(c.compressedFrame(TEXT, m));
            c.expectEcho(TEXT, m);
        }
    }

    @Test
    void case_12_22_compressedOneByteOverMessageLimitIs1009() throws Exception {
        try (RawWsClient c = openDeflate("/limits", PMD)) {
            c.send(c.compressedFrame(TEXT, Wire.repeat("z", MESSAGE_LIMIT + 1)));
            c.expectClose(1009);
        }
    }

    @Test
    void case_12_23_deflateBombIs1009() throws Exception {
        byte[] bomb = Wire.deflateBomb(64L << 20); // 64 MiB of zeros in ~64 KiB
        try (RawWsClient c = openDeflate("/limits", PMD)) {
            // split into frames below the frame limit: only the inflated size may trip the limit
            ByteArrayOutputStream all = new ByteArrayOutputStream();
            int step = FRAME_LIMIT;
            for (int i = 0; i < bomb.length; i += step) {
                all.writeBytes(masked(i + step >= bomb.length, i == 0 ? RSV1 : 0, i == 0 ? BINARY : CONT,
                        Wire.slice(bomb, i, Math.min(bomb.length, i + step))));
            }
            try {
                c.send(all.toByteArray());
            } catch (IOException reset) {
                // the server may close before reading it all
            }
            c.expectClose(1009);
        }
    }

    @Test
    void case_12_24_thresholdZeroCompressesEverything() throws Exception {
        try (RawWsClient c = openDeflate("/everything", PMD)) {
            c.send(text("x"));
            assertTrue(c.expectEcho("x").compressed(), "compressionThreshold(0): even 1 byte is compressed");
        }
    }

    @Test
    void case_12_25_clientWindowBitsAgreedMessagesRoundTrip() throws Exception {
        try (RawWsClient c = openDeflate("/cmwb", PMD + "; client_max_window_bits")) {
            assertTrue(c.pmd.clientMaxWindowBits <= 10, c.pmd.header);
            byte[] m = Wire.repeat("window of 1 KiB ", 60); // shorter than the window: any deflater fits
            for (int i = 0; i < 3; i++) {
                c.send(c.compressedFrame(TEXT, m));
                c.expectEcho(TEXT, m);
            }
        }
    }

    /**
     * Checks that what the server compresses stays within its announced window (RFC 7692 7.1.2.1):
     * messages A, B, A of 600 random bytes each, so A's repeat is 1200 bytes back (beyond a 1 KiB
     * window), plus one message with a repeat 2600 bytes back inside it. Each compressed echo's
     * DEFLATE data is decoded by hand for its largest distance; at least one echo must be compressed,
     * or the check would prove nothing.
     */
    static void assertServerWindowHonoured(RawWsClient c) throws IOException {
        int window = 1 << c.pmd.serverMaxWindowBits;
        byte[] a = Wire.random(600, 26), b = Wire.random(600, 27);
        int compressed = 0;
        for (byte[] m : List.of(a, b, a, concat(a, Wire.random(2000, 28), a))) {
            c.lastCompressedPayload = null;
            c.send(masked(true, 0, BINARY, m));
            Event e = c.expectEcho(BINARY, m);
            if (e.compressed()) {
                compressed++;
                int d = DeflateDistances.maxDistance(c.lastCompressedPayload);
                assertTrue(d <= window, "server_max_window_bits=" + c.pmd.serverMaxWindowBits + " agreed but the server refers back "
                        + d + " bytes (RFC 7692 7.1.2.1)");
            }
        }
        assertTrue(compressed > 0, "no echo was compressed: the window check proved nothing");
    }

    @Test
    void case_12_26_serverWindowBitsHonoured() throws Exception {
        try (RawWsClient c = open("/echo", "Sec-WebSocket-Extensions: " + PMD + "; server_max_window_bits=10")) {
            if (c.pmd == null) return; // declining is allowed (RFC 7692 7.1.2.1); 13.1.5 checks the header
            assertTrue(c.pmd.serverMaxWindowBits <= 10, c.pmd.header);
            assertServerWindowHonoured(c);
        }
    }

    // ================================================================== 13 permessage-deflate: negotiation

    Map<String, String> agreed(String path, String offer) throws IOException {
        try (RawWsClient c = open(path, "Sec-WebSocket-Extensions: " + offer)) {
            String h = c.headers.get("sec-websocket-extensions");
            return h == null ? null : Negotiation.params(h);
        }
    }

    @Test
    void case_13_1_1_plainOfferAccepted() throws Exception {
        Map<String, String> p = agreed("/echo", PMD);
        assertNotNull(p);
        assertFalse(p.containsKey("client_max_window_bits"), "client_max_window_bits only when offered (RFC 7692 7.1.2.2)");
    }

    @Test
    void case_13_1_2_offerWithClientMaxWindowBitsAccepted() throws Exception {
        assertNotNull(agreed("/echo", PMD + "; client_max_window_bits"));
    }

    @Test
    void case_13_1_3_serverNoContextTakeoverOfferedIsAnswered() throws Exception {
        Map<String, String> p = agreed("/echo", PMD + "; server_no_context_takeover");
        assertNotNull(p);
        assertTrue(p.containsKey("server_no_context_takeover"), "RFC 7692 7.1.1.1: accepted with the parameter");
    }

    @Test
    void case_13_1_4_clientNoContextTakeoverOfferedAccepted() throws Exception {
        assertNotNull(agreed("/echo", PMD + "; client_no_context_takeover"));
    }

    @Test
    void case_13_1_5_serverMaxWindowBitsOfferedDeclinedOrHonoured() throws Exception {
        Map<String, String> p = agreed("/echo", PMD + "; server_max_window_bits=10");
        if (p != null) {
            assertTrue(p.containsKey("server_max_window_bits"), "RFC 7692 7.1.2.1: accepted with the parameter");
            assertTrue(Integer.parseInt(p.get("server_max_window_bits")) <= 10);
        }
    }

    @ParameterizedTest(name = "case_13_1_6: offer {0} declined")
    @ValueSource(strings = {
            PMD + "; foo", PMD + "; foo=bar", PMD + "; server_max_window_bits=7", PMD + "; server_max_window_bits=16",
            PMD + "; server_max_window_bits", PMD + "; client_max_window_bits=16", PMD + "; client_max_window_bits=abc",
            PMD + "; server_no_context_takeover=1", PMD + "; server_no_context_takeover; server_no_context_takeover",
            PMD + "; client_max_window_bits=10; client_max_window_bits=11"})
    void case_13_1_6_invalidOfferDeclined(String offer) throws Exception {
        try (RawWsClient c = open("/echo", "Sec-WebSocket-Extensions: " + offer)) {
            assertNull(c.headers.get("sec-websocket-extensions"), "RFC 7692 5: an offer with a bad parameter is declined");
            c.send(text("still works"));
            c.expectEcho("still works");
        }
    }

    @Test
    void case_13_1_7_secondOfferAcceptedWhenFirstIsBad() throws Exception {
        assertNotNull(agreed("/echo", PMD + "; foo=1, " + PMD + "; client_no_context_takeover"));
    }

    @Test
    void case_13_1_8_unknownExtensionIgnored() throws Exception {
        assertNotNull(agreed("/echo", "x-webkit-deflate-frame, " + PMD));
        assertNull(agreed("/echo", "x-unknown-extension"));
    }

    @Test
    void case_13_1_9_serverConfiguredNoContextTakeoverAnnounced() throws Exception {
        Map<String, String> p = agreed("/snct", PMD);
        assertNotNull(p);
        assertTrue(p.containsKey("server_no_context_takeover"), String.valueOf(p));
    }

    @Test
    void case_13_1_10_serverAsksClientNoContextTakeover() throws Exception {
        Map<String, String> p = agreed("/cnct", PMD);
        assertNotNull(p);
        assertTrue(p.containsKey("client_no_context_takeover"), String.valueOf(p));
    }

    @Test
    void case_13_1_11_serverAsksClientMaxWindowBitsWhenOffered() throws Exception {
        Map<String, String> p = agreed("/cmwb", PMD + "; client_max_window_bits");
        assertNotNull(p);
        assertEquals("10", p.get("client_max_window_bits"), String.valueOf(p));
    }

    @Test
    void case_13_1_12_clientMaxWindowBitsNotSentUnoffered() throws Exception {
        Map<String, String> p = agreed("/cmwb", PMD);
        if (p != null) assertFalse(p.containsKey("client_max_window_bits"), "RFC 7692 7.1.2.2: not offered, not in the response");
    }

    @Test
    void case_13_1_13_compressionOffDeclines() throws Exception {
        assertNull(agreed("/nocomp", PMD));
    }

    @Test
    void case_13_1_14_serverMaxWindowBitsConfiguredAnnouncedAndHonoured() throws Exception {
        try (RawWsClient c = openDeflate("/smwb", PMD)) {
            assertTrue(c.pmd.serverMaxWindowBits <= 10, c.pmd.header);
            assertServerWindowHonoured(c);
        }
    }

    @Test
    void case_13_1_15_clientMaxWindowBitsWithValueOffered() throws Exception {
        Map<String, String> p = agreed("/echo", PMD + "; client_max_window_bits=12");
        assertNotNull(p);
        if (p.containsKey("client_max_window_bits")) assertTrue(Integer.parseInt(p.get("client_max_window_bits")) <= 12);
    }

    @Test
    void case_13_1_16_noOfferNoExtension() throws Exception {
        try (RawWsClient c = open("/echo")) {
            assertNull(c.headers.get("sec-websocket-extensions"));
            c.send(masked(true, RSV1, TEXT, utf8("rsv1 without the extension")));
            c.expectClose(1002);
        }
    }
}
