package io.jhv.core.net;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.BufferedReader;
import java.net.Socket;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A server choosing between two toy protocols by the first bytes. Real sockets. */
@Timeout(20)
class ProtocolSelectorTest {
    private final CompletableFuture<CloseCause> closed = new CompletableFuture<>();

    private TcpServer start(ProtocolSelector.Builder selector) {
        return TcpServer.create("127.0.0.1", 0).threads(1)
                .protocol(selector.build())
                .onClose((c, cause) -> closed.complete(cause))
                .start();
    }

    private static ProtocolSelector.Builder twoProtocols() {
        return ProtocolSelector.builder()
                .prefix("ALPHA ", () -> new LineProtocol("alpha"))
                .prefix("BETA ", () -> new LineProtocol("beta"));
    }

    @Test
    void choosesByTheFirstBytesAndDeliversThePeekedBytes() throws Exception {
        try (TcpServer server = start(twoProtocols());
             Socket a = new Socket("127.0.0.1", server.port());
             Socket b = new Socket("127.0.0.1", server.port())) {
            Wire.send(a, "ALPHA one\nALPHA two\n");
            Wire.send(b, "BETA x\n");
            BufferedReader ra = Wire.reader(a), rb = Wire.reader(b);
            assertEquals("alpha:ALPHA one", ra.readLine());
            assertEquals("alpha:ALPHA two", ra.readLine());
            assertEquals("beta:BETA x", rb.readLine());
        }
    }

    @Test
    void bytesDribbledOneAtATime() throws Exception {
        try (TcpServer server = start(twoProtocols());
             Socket s = new Socket("127.0.0.1", server.port())) {
            s.setTcpNoDelay(true);
            for (char c : "BETA slow\n".toCharArray()) {
                Wire.send(s, String.valueOf(c));
                Thread.sleep(5); // pace the peer: one byte per read
            }
            assertEquals("beta:BETA slow", Wire.reader(s).readLine());
        }
    }

    @Test
    void noRuleMatchesGoesToOtherwiseOrCloses() throws Exception {
        try (TcpServer server = start(twoProtocols().otherwise(() -> new LineProtocol("other")));
             Socket s = new Socket("127.0.0.1", server.port())) {
            Wire.send(s, "GAMMA\n");
            assertEquals("other:GAMMA", Wire.reader(s).readLine());
        }
        CompletableFuture<CloseCause> c2 = new CompletableFuture<>();
        try (TcpServer server = TcpServer.create("127.0.0.1", 0).threads(1).protocol(twoProtocols().build())
                .onClose((c, cause) -> c2.complete(cause)).start();
             Socket s = new Socket("127.0.0.1", server.port())) {
            Wire.send(s, "GAMMA\n");
            assertNull(Wire.reader(s).readLine());
            assertEquals(CloseCause.Kind.ERROR, c2.get(5, TimeUnit.SECONDS).kind());
        }
    }

    /** A client that sends nothing: the connection closes at the peek timeout. */
    @Test
    void silentClientIsClosedAtThePeekTimeout() throws Exception {
        try (TcpServer server = start(twoProtocols().peekTimeout(Duration.ofMillis(300)));
             Socket s = new Socket("127.0.0.1", server.port())) {
            long t0 = System.nanoTime();
            assertEquals(-1, Wire.reader(s).read());
            long ms = (System.nanoTime() - t0) / 1_000_000;
            assertTrue(ms >= 250, "closed after " + ms + " ms");
            CloseCause cause = closed.get(5, TimeUnit.SECONDS);
            assertEquals(CloseCause.Kind.TIMEOUT, cause.kind(), cause.toString());
        }
    }

    /** Hostile: never enough bytes to decide (a prefix of both rules), then silence: closed at the timeout. */
    @Test
    void neverEnoughBytesClosesAtTheTimeout() throws Exception {
        try (TcpServer server = start(ProtocolSelector.builder()
                .prefix("ALPHA-1 ", () -> new LineProtocol("a1"))
                .prefix("ALPHA-2 ", () -> new LineProtocol("a2"))
                .peekTimeout(Duration.ofMillis(300)));
             Socket s = new Socket("127.0.0.1", server.port())) {
            Wire.send(s, "ALPHA-");
            assertEquals(-1, Wire.reader(s).read());
            assertEquals(CloseCause.Kind.TIMEOUT, closed.get(5, TimeUnit.SECONDS).kind());
        }
    }

    /** Hostile: a rule that keeps asking for more: closed once maxPeek bytes arrived, without waiting for the timeout. */
    @Test
    void undecidedAtMaxPeekCloses() throws Exception {
        try (TcpServer server = start(ProtocolSelector.builder()
                .firstBytes(in -> ProtocolSelector.Match.MORE, () -> new LineProtocol("never"))
                .maxPeek(64).peekTimeout(Duration.ofSeconds(30)));
             Socket s = new Socket("127.0.0.1", server.port())) {
            Wire.send(s, "x".repeat(100));
            assertEquals(-1, Wire.reader(s).read());
            CloseCause cause = closed.get(5, TimeUnit.SECONDS);
            assertEquals(CloseCause.Kind.ERROR, cause.kind());
            assertTrue(cause.detail().contains("not recognised"), cause.toString());
        }
    }

    @Test
    void aPrefixLongerThanMaxPeekIsRefusedWhenBuilt() {
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> ProtocolSelector.builder()
                .prefix("PROTOCOL-WITH-A-LONG-GREETING ", () -> new LineProtocol("long")).maxPeek(8).build());
        assertTrue(e.getMessage().contains("maxPeek 8"), e.getMessage());
        assertThrows(NullPointerException.class, () -> ProtocolSelector.builder().peekTimeout(null));
    }
}
