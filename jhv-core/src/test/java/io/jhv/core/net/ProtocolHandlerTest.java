package io.jhv.core.net;

import io.jhv.core.buffer.Buffer;
import io.jhv.core.loop.Timer;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.BufferedReader;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The protocol handler stage of a connection: per-connection handlers, handover, failures. Real sockets. */
@Timeout(20)
class ProtocolHandlerTest {

    @Test
    void eachConnectionGetsAFreshHandlerThatKeepsPartialInput() throws Exception {
        List<LineProtocol> made = new CopyOnWriteArrayList<>();
        try (TcpServer server = TcpServer.create("127.0.0.1", 0).threads(1)
                .protocol(() -> { LineProtocol p = new LineProtocol("p" + made.size()); made.add(p); return p; })
                .start();
             Socket a = new Socket("127.0.0.1", server.port());
             Socket b = new Socket("127.0.0.1", server.port())) {
            BufferedReader ra = Wire.reader(a), rb = Wire.reader(b);
            Wire.send(a, "he");            // a partial line stays with the connection
            Wire.send(b, "x\n");
            assertEquals("p1:x", rb.readLine());
            Wire.send(a, "llo\n");
            assertEquals("p0:hello", ra.readLine());
            assertEquals(2, made.size());
        }
    }

    /** The switch line and the first lines of the next protocol arrive in one TCP write: nothing lost or repeated. */
    @Test
    void handoverFromInsideOnDataMidReadDeliversTheRestOfTheRead() throws Exception {
        LineProtocol second = new LineProtocol("B");
        LineProtocol first = new LineProtocol("A", "SWITCH", (c, l) -> second);
        try (TcpServer server = TcpServer.create("127.0.0.1", 0).threads(1).protocol(() -> first).start();
             Socket s = new Socket("127.0.0.1", server.port())) {
            BufferedReader r = Wire.reader(s);
            Wire.send(s, "one\nSWITCH\ntwo\nthree\nfou");
            assertEquals("A:one", r.readLine());
            assertEquals("A:switching", r.readLine());
            assertEquals("B:two", r.readLine());
            assertEquals("B:three", r.readLine());
            Wire.send(s, "r\n");
            assertEquals("B:four", r.readLine());
            assertEquals(List.of("attach", "line one", "line SWITCH", "detach"), first.events);
            assertEquals(List.of("attach", "line two", "line three", "line four"), second.events);
        }
        assertEquals(CloseCause.Kind.PEER_CLOSED, second.closed.get(5, TimeUnit.SECONDS).kind()); // the attached handler learns of the close
        assertFalse(first.closed.isDone(), "a detached handler is not told of the close");
    }

    /** The default unpacker + onMessage path hands over from inside onMessage: the packages behind go to the next handler. */
    @Test
    void handoverFromTheUnpackerPathMidRead() throws Exception {
        LineProtocol next = new LineProtocol("N");
        try (TcpServer server = TcpServer.create("127.0.0.1", 0).threads(1)
                .unpacker(Unpackers.delimiter("\n", 1024))
                .onMessage((c, b) -> {
                    String msg = b.readString();
                    if (msg.equals("UPGRADE\n")) c.handover(next);
                    else c.write("old:" + msg);
                })
                .start();
             Socket s = new Socket("127.0.0.1", server.port())) {
            BufferedReader r = Wire.reader(s);
            Wire.send(s, "a\nUPGRADE\nb\nc\n");
            assertEquals("old:a", r.readLine());
            assertEquals("N:b", r.readLine());
            assertEquals("N:c", r.readLine());
        }
    }

    /** A handover outside any read (a timer) delivers what the connection kept at once. */
    @Test
    void handoverOutsideAReadDeliversKeptBytesAtOnce() throws Exception {
        LineProtocol next = new LineProtocol("N");
        ProtocolHandler waiting = new ProtocolHandler() {
            @Override public void onData(Connection conn, Buffer in) {
                if (in.readableBytes() >= 6) conn.loop().setTimeout(1, () -> conn.handover(next)); // consume nothing
            }
        };
        try (TcpServer server = TcpServer.create("127.0.0.1", 0).threads(1).protocol(() -> waiting).start();
             Socket s = new Socket("127.0.0.1", server.port())) {
            BufferedReader r = Wire.reader(s);
            Wire.send(s, "x\ny\nz\n");
            assertEquals("N:x", r.readLine());
            assertEquals("N:y", r.readLine());
            assertEquals("N:z", r.readLine());
        }
    }

    /** onDetach cancels the old protocol's timer: it must not fire after the handover. */
    @Test
    void oldHandlersTimerDoesNotFireAfterHandover() throws Exception {
        AtomicBoolean fired = new AtomicBoolean();
        CompletableFuture<Boolean> checkedAfterDeadline = new CompletableFuture<>();
        LineProtocol next = new LineProtocol("N") {
            @Override
            public void onAttach(Connection conn) {
                super.onAttach(conn);
                // well after the old timer's deadline: did it fire?
                conn.loop().setTimeout(600, () -> checkedAfterDeadline.complete(fired.get()));
            }
        };
        LineProtocol first = new LineProtocol("A", "SWITCH", (c, l) -> next) {
            Timer timer;

            @Override
            public void onAttach(Connection conn) {
                super.onAttach(conn);
                timer = conn.loop().setTimeout(300, () -> { fired.set(true); conn.close(); });
            }

            @Override
            public void onDetach(Connection conn) {
                timer.cancel();
                super.onDetach(conn);
            }
        };
        try (TcpServer server = TcpServer.create("127.0.0.1", 0).threads(1).protocol(() -> first).start();
             Socket s = new Socket("127.0.0.1", server.port())) {
            BufferedReader r = Wire.reader(s);
            Wire.send(s, "SWITCH\n");
            assertEquals("A:switching", r.readLine());
            assertFalse(checkedAfterDeadline.get(5, TimeUnit.SECONDS), "the old protocol's timer fired after the handover");
            Wire.send(s, "still\n");
            assertEquals("N:still", r.readLine());
        }
    }

    /** A throwing handler closes its connection with ERROR; the loop and the other connections go on. */
    @Test
    void handlerThatThrowsClosesThatConnectionWithErrorAndTheLoopGoesOn() throws Exception {
        CompletableFuture<CloseCause> badClosed = new CompletableFuture<>();
        try (TcpServer server = TcpServer.create("127.0.0.1", 0).threads(1)
                .protocol(() -> new LineProtocol("ok") {
                    @Override
                    protected void onLine(Connection conn, String line) {
                        if (line.equals("boom")) throw new IllegalStateException("boom from the handler");
                        super.onLine(conn, line);
                    }

                    @Override
                    public void onClose(Connection conn, CloseCause cause) {
                        super.onClose(conn, cause);
                        if (cause.kind() == CloseCause.Kind.ERROR) badClosed.complete(cause);
                    }
                })
                .start()) {
            try (Socket good = new Socket("127.0.0.1", server.port());
                 Socket bad = new Socket("127.0.0.1", server.port())) {
                BufferedReader rg = Wire.reader(good), rb = Wire.reader(bad);
                Wire.send(good, "first\n");
                assertEquals("ok:first", rg.readLine());
                Wire.send(bad, "boom\n");
                assertNull(rb.readLine(), "the failing connection is closed");
                CloseCause cause = badClosed.get(5, TimeUnit.SECONDS);
                assertTrue(cause.detail().contains("boom from the handler"), cause.toString());
                Wire.send(good, "second\n");
                assertEquals("ok:second", rg.readLine());
            }
            try (Socket again = new Socket("127.0.0.1", server.port())) {
                Wire.send(again, "new\n");
                assertEquals("ok:new", Wire.reader(again).readLine());
            }
        }
    }
}
