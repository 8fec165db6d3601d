package io.jhv.testing;

import io.jhv.core.buffer.Buffer;
import io.jhv.core.net.CloseCause;
import io.jhv.core.net.Connection;
import io.jhv.core.net.ProtocolHandler;
import io.jhv.core.net.TcpServer;
import io.jhv.core.net.Unpackers;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Codec tests through {@link EmbeddedConnection}: bytes in, bytes out, no socket. */
@Timeout(20)
class EmbeddedConnectionTest {
    private static final Duration WAIT = Duration.ofSeconds(5);

    /**
     * A toy line protocol: answers {@code echo:<line>}; the line {@code BIN} switches the connection
     * to {@link Binary} (length-prefixed frames) with {@link Connection#handover}; {@code QUIT}
     * closes. A partial line waits for the next read (left unconsumed in {@code in}).
     */
    static final class Lines implements ProtocolHandler {
        final List<String> events;

        Lines(List<String> events) { this.events = events; }

        @Override public void onAttach(Connection conn) { events.add("lines:attach"); }

        @Override
        public void onData(Connection conn, Buffer in) {
            int eol;
            while ((eol = in.indexOf((byte) '\n')) >= 0) {
                String line = in.readString(eol);
                in.skip(1);
                switch (line) {
                    case "BIN" -> {
                        conn.write("ok binary\n");
                        conn.handover(new Binary(events)); // the rest of this read goes to Binary
                        return;
                    }
                    case "QUIT" -> {
                        conn.close();
                        return;
                    }
                    default -> conn.write("echo:" + line + "\n");
                }
            }
        }

        @Override public void onDetach(Connection conn) { events.add("lines:detach"); }

        @Override public void onClose(Connection conn, CloseCause cause) { events.add("lines:close"); }
    }

    /** Frames of a 1-byte length and that many bytes; answers each reversed. */
    static final class Binary implements ProtocolHandler {
        final List<String> events;

        Binary(List<String> events) { this.events = events; }

        @Override public void onAttach(Connection conn) { events.add("binary:attach"); }

        @Override
        public void onData(Connection conn, Buffer in) {
            while (in.readableBytes() >= 1) {
                int n = in.peekUnsignedByte(0);
                if (in.readableBytes() < 1 + n) return; // a partial frame: kept for the next read
                in.skip(1);
                byte[] body = in.readBytes(n);
                byte[] out = new byte[n + 1];
                out[0] = (byte) n;
                for (int i = 0; i < n; i++) out[1 + i] = body[n - 1 - i];
                conn.write(out);
            }
        }

        @Override public void onClose(Connection conn, CloseCause cause) { events.add("binary:close:" + cause.kind()); }
    }

    @Test
    void aLineProtocolAnswersLineByLineAndKeepsAPartialLine() {
        List<String> events = new CopyOnWriteArrayList<>();
        try (EmbeddedConnection ec = EmbeddedConnection.open(() -> new Lines(events))) {
            ec.writeInbound("one\ntw");
            assertEquals("echo:one\n", ec.readOutboundString(), "the partial line waits");
            ec.writeInbound("o\n");
            assertEquals("echo:two\n", ec.readOutboundString());
            assertEquals("", ec.readOutboundString(), "nothing more");
            ec.writeInbound("QUIT\nignored\n");
            assertEquals(CloseCause.Kind.NORMAL, ec.awaitClose(WAIT).kind());
            assertEquals(List.of("lines:attach", "lines:close"), events);
            assertEquals(0, ec.readOutbound(1, WAIT).length);
            assertTrue(ec.isOutboundClosed(), "the peer sees EOF after the close");
        }
    }

    @Test
    void handoverPassesTheUnconsumedBytesOfTheSameReadToTheNextProtocol() {
        List<String> events = new CopyOnWriteArrayList<>();
        try (EmbeddedConnection ec = EmbeddedConnection.open(() -> new Lines(events))) {
            // The switch and the first binary frames, and half of another, in one read.
            ec.writeInbound(concat("hi\nBIN\n".getBytes(StandardCharsets.US_ASCII), new byte[] {3, 'a', 'b', 'c', 2, 'x'}));
            assertEquals("echo:hi\nok binary\n", new String(ec.readOutbound(18, WAIT), StandardCharsets.US_ASCII));
            assertArrayEquals(new byte[] {3, 'c', 'b', 'a'}, ec.readOutbound());
            ec.writeInbound(new byte[] {'y'}); // the rest of the partial frame
            assertArrayEquals(new byte[] {2, 'y', 'x'}, ec.readOutbound());
            assertEquals(List.of("lines:attach", "lines:detach", "binary:attach"), events);
            ec.closeInbound();
            assertEquals(CloseCause.Kind.PEER_CLOSED, ec.awaitClose(WAIT).kind());
            assertEquals("binary:close:PEER_CLOSED", events.get(events.size() - 1), "only the current handler hears the close");
        }
    }

    @Test
    void aLengthFieldUnpackerReassemblesFramesSplitAnywhere() {
        List<String> got = new CopyOnWriteArrayList<>();
        try (EmbeddedConnection ec = EmbeddedConnection.open(
                Unpackers.lengthField().fieldSize(2).strip(2).maxPackageSize(64).build(),
                (c, msg) -> got.add(msg.readString()))) {
            byte[] stream = concat(frame("alpha"), frame("be"), frame(""), frame("gamma delta"));
            for (byte b : stream) ec.writeInbound(new byte[] {b}); // one byte per read: every split point
            assertEquals(List.of("alpha", "be", "", "gamma delta"), got);
            ec.writeInbound(concat(frame("x"), frame("y")));     // two frames in one read
            assertEquals(List.of("alpha", "be", "", "gamma delta", "x", "y"), got);
            assertTrue(ec.isConnected());

            // A frame longer than the maximum: a clear error, the connection closes, nothing else is hurt.
            ec.writeInbound(new byte[] {0, 100});
            CloseCause cause = ec.awaitClose(WAIT);
            assertEquals(CloseCause.Kind.ERROR, cause.kind(), cause.toString());
            assertEquals(6, got.size(), "nothing delivered after the bad header");
        }
    }

    @Test
    void timersAndCallbacksOfTheEndpointRunAsOnASocket() {
        List<String> events = new CopyOnWriteArrayList<>();
        TcpServer settings = TcpServer.create(0)
                .readTimeout(Duration.ofMillis(100))
                .onConnection(c -> events.add(c.isConnected() ? "up" : "down"))
                .onMessage((c, buf) -> c.write(buf))
                .onClose((c, cause) -> events.add("close:" + cause.kind()));
        try (EmbeddedConnection ec = EmbeddedConnection.open(settings)) {
            ec.writeInbound("ping");
            assertEquals("ping", ec.readOutboundString());
            // Silence: the read timeout closes the connection (a real timer on the loop).
            assertEquals(CloseCause.Kind.TIMEOUT, ec.awaitClose(WAIT).kind());
            assertEquals(List.of("up", "down", "close:TIMEOUT"), events);
        }
    }

    @Test
    @LeakCheck.Allow(errors = true, reason = "the handler throws on purpose; the loop reports it, unhandled")
    void aHandlerThatThrowsClosesItsConnectionWithTheError() {
        try (EmbeddedConnection ec = EmbeddedConnection.open(() -> (conn, in) -> {
            throw new IllegalStateException("bad codec");
        })) {
            ec.writeInbound("anything");
            CloseCause cause = ec.awaitClose(WAIT);
            assertEquals(CloseCause.Kind.ERROR, cause.kind());
            assertFalse(ec.isConnected());
        }
    }

    @Test
    void closeStopsTheLoopThread() {
        EmbeddedConnection ec = EmbeddedConnection.open(() -> (conn, in) -> in.skip(in.readableBytes()));
        ec.writeInbound("x");
        ec.close();
        assertTrue(ec.loop().isTerminated());
        assertEquals(CloseCause.Kind.NORMAL, ec.closeCause().kind());
        ec.close(); // idempotent
    }

    private static byte[] frame(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        return concat(new byte[] {(byte) (b.length >> 8), (byte) b.length}, b);
    }

    private static byte[] concat(byte[]... parts) {
        int n = 0;
        for (byte[] p : parts) n += p.length;
        byte[] out = new byte[n];
        int at = 0;
        for (byte[] p : parts) {
            System.arraycopy(p, 0, out, at, p.length);
            at += p.length;
        }
        return out;
    }
}
