package io.jhv.core.net;

import io.jhv.core.buffer.Buffer;
import io.jhv.core.loop.EventLoop;
import io.jhv.core.loop.Probes;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * An Error escaping a callback used to end the loop (when even reporting it failed: out of memory,
 * no descriptor for the log), and a loop that ended took half the server with it unnoticed. Now
 * every callback failure is contained, and a loop that really ends makes its server close and say so.
 */
@Timeout(30)
class LoopDeathTest {

    /** An error whose message cannot be built: what reporting a failure looks like out of memory. */
    static final class Unreportable extends Error {
        Unreportable() {
            super(null, null, false, false);
        }

        @Override
        public String getMessage() {
            throw new OutOfMemoryError("no memory to build the message");
        }

        @Override
        public String toString() {
            throw new OutOfMemoryError("no memory to build the message");
        }
    }

    private static String echo(Socket s, String msg) throws IOException {
        s.getOutputStream().write(msg.getBytes(StandardCharsets.US_ASCII));
        byte[] b = s.getInputStream().readNBytes(msg.length());
        return new String(b, StandardCharsets.US_ASCII);
    }

    private static boolean closedByPeer(Socket s) {
        try {
            InputStream in = s.getInputStream();
            return in.read() == -1;
        } catch (IOException reset) {
            return !(reset instanceof java.net.SocketTimeoutException);
        }
    }

    /** Splits on newlines; a line "boom" makes the unpacker throw an Error (inside the IO callback). */
    static final Unpacker BOOM_LINES = new Unpacker() {
        @Override
        public int frameLength(Buffer in) {
            for (int i = in.readerIndex(); i < in.writerIndex(); i++) {
                if (in.array()[i] == '\n') {
                    if (i - in.readerIndex() == 4 && in.toString(StandardCharsets.US_ASCII).startsWith("boom")) throw new Unreportable();
                    return i - in.readerIndex() + 1;
                }
            }
            return -1;
        }
    };

    @Test
    void errorsFromTasksTimersAndIoCallbacksDoNotEndTheLoop() throws Exception {
        TcpServer server = TcpServer.create("127.0.0.1", 0).threads(1).unpacker(BOOM_LINES)
                .onMessage((c, b) -> c.write(b)).start();
        try (Socket good = new Socket("127.0.0.1", server.port()); Socket bad = new Socket("127.0.0.1", server.port())) {
            good.setSoTimeout(5_000);
            bad.setSoTimeout(5_000);
            assertEquals("hello\n", echo(good, "hello\n"));
            EventLoop loop = server.group().get(0);
            loop.post(() -> { throw new Unreportable(); });
            loop.setTimeout(1, () -> { throw new Unreportable(); });
            loop.post(() -> { throw new OutOfMemoryError("Java heap space (test)"); });
            CompletableFuture<Boolean> after = new CompletableFuture<>();
            loop.setTimeout(20, () -> after.complete(true));
            assertTrue(after.get(5, TimeUnit.SECONDS), "the loop goes on after errors in tasks and timers");

            // An Error from inside an IO callback: that connection closes, the others go on.
            bad.getOutputStream().write("boom\n".getBytes(StandardCharsets.US_ASCII));
            assertTrue(closedByPeer(bad), "the connection whose callback failed is closed");
            assertEquals("still here\n", echo(good, "still here\n"));
            assertTrue(loop.isRunning());
            assertTrue(Probes.await(() -> server.connectionCount() == 1, Duration.ofSeconds(5)));
        } finally {
            server.close();
        }
    }

    @Test
    void aLoopThatEndsAbnormallyClosesItsServer() throws Exception {
        TcpServer server = TcpServer.create("127.0.0.1", 0).threads(2).onMessage((c, b) -> c.write(b)).start();
        int port = server.port();
        EventLoop acceptorLoop = server.group().get(0);
        CompletableFuture<Throwable> heard = new CompletableFuture<>();
        acceptorLoop.onTerminated(heard::complete);
        try (Socket a = new Socket("127.0.0.1", port); Socket b = new Socket("127.0.0.1", port)) {
            a.setSoTimeout(5_000);
            b.setSoTimeout(5_000);
            assertEquals("a", echo(a, "a"));
            assertEquals("b", echo(b, "b")); // round robin: one connection on each loop
            // Break the loop's machinery (not a callback): its next poll fails and the loop ends.
            acceptorLoop.post(() -> io.jhv.core.internal.Internals.loops().poller(acceptorLoop).close());

            Throwable cause = heard.get(5, TimeUnit.SECONDS);
            assertNotNull(cause, "ended abnormally");
            assertSame(cause, acceptorLoop.terminationCause());
            ExecutionException reported = assertThrows(ExecutionException.class, () -> server.closeFuture().get(10, TimeUnit.SECONDS));
            assertInstanceOf(IllegalStateException.class, reported.getCause());
            assertSame(cause, reported.getCause().getCause());
            assertTrue(reported.getCause().getMessage().contains(acceptorLoop.name()), reported.getCause().getMessage());
            // The server closed: its listener and the connections on both loops.
            assertTrue(closedByPeer(a));
            assertTrue(closedByPeer(b));
            assertThrows(ConnectException.class, () -> new Socket("127.0.0.1", port).close());
            assertEquals(0, server.connectionCount());
            assertTrue(server.group().get(1).awaitTermination(Duration.ofSeconds(5)), "the server's own loops stopped");
        } finally {
            server.close();
        }
    }
}
