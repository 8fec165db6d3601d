package io.jhv.http.internal.http1;

import io.jhv.core.net.CloseCause;
import io.jhv.core.net.TcpServer;
import io.jhv.http.internal.ServerConfig;
import io.jhv.testing.EmbeddedConnection;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The HTTP/1.1 protocol handler on a real {@code Connection} over jhv-testing's in-memory transport:
 * the whole served path (connection, protocol stage, parser, router, response encoding, close)
 * without sockets, so every way of cutting the input can be tried in a second.
 */
@Timeout(60)
class Http1OverMemoryTest {
    private static final String PIPELINED = "GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
            + "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
            + "GET /b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";

    private static ServerConfig config() {
        ServerConfig cfg = new ServerConfig();
        cfg.router.add("GET", "/a", (req, res) -> res.text("A"));
        cfg.router.add("GET", "/b", (req, res) -> res.text("B"));
        cfg.router.add("POST", "/echo", (req, res) -> res.text(req.bodyString()));
        return cfg;
    }

    private static EmbeddedConnection open(ServerConfig cfg) {
        return EmbeddedConnection.open(TcpServer.create(0).protocol(() -> new Http1Protocol(cfg)));
    }

    /** The responses without their Date lines (the clock may tick between runs). */
    private static String undated(byte[] out) {
        return Arrays.stream(new String(out, StandardCharsets.ISO_8859_1).split("\r\n", -1))
                .filter(l -> !l.startsWith("Date: "))
                .collect(Collectors.joining("\r\n"));
    }

    private static String serve(byte[] in, int cut) {
        try (EmbeddedConnection ec = open(config())) {
            ec.writeInbound(Arrays.copyOfRange(in, 0, cut));
            if (cut < in.length) ec.writeInbound(Arrays.copyOfRange(in, cut, in.length));
            CloseCause cause = ec.awaitClose(Duration.ofSeconds(5)); // "Connection: close" on the last one
            assertEquals(CloseCause.Kind.NORMAL, cause.kind(), "cut at " + cut);
            return undated(ec.readOutbound());
        }
    }

    @Test
    void pipelinedRequestsCutAnywhereGetTheSameResponsesInOrder() {
        byte[] in = PIPELINED.getBytes(StandardCharsets.ISO_8859_1);
        String whole = serve(in, in.length);
        int a = whole.indexOf("\r\n\r\nA"), hello = whole.indexOf("\r\n\r\nhello"), b = whole.indexOf("\r\n\r\nB");
        assertTrue(a > 0 && hello > a && b > hello, whole);
        assertTrue(whole.endsWith("\r\n\r\nB"), "nothing after the last response: " + whole);
        for (int cut = 1; cut < in.length; cut++) assertEquals(whole, serve(in, cut), "cut at " + cut);
    }

    @Test
    void aHeadOverTheLimitGets431AndTheConnectionCloses() {
        ServerConfig cfg = config();
        cfg.maxHeaderSize = 256;
        try (EmbeddedConnection ec = open(cfg)) {
            ec.writeInbound("GET /a HTTP/1.1\r\nHost: x\r\nX-Big: " + "y".repeat(400) + "\r\n\r\n");
            ec.awaitClose(Duration.ofSeconds(5));
            String out = new String(ec.readOutbound(), StandardCharsets.ISO_8859_1);
            assertTrue(out.startsWith("HTTP/1.1 431 "), out);
        }
    }

    @Test
    void aPeerThatClosesMidRequestIsNotAnswered() {
        try (EmbeddedConnection ec = open(config())) {
            ec.writeInbound("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\nonly part");
            ec.closeInbound();
            CloseCause cause = ec.awaitClose(Duration.ofSeconds(5));
            assertEquals(CloseCause.Kind.PEER_CLOSED, cause.kind(), cause.toString());
            assertEquals(0, ec.readOutbound().length, "no response to a request that never finished");
        }
    }
}
