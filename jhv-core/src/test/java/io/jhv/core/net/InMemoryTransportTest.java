package io.jhv.core.net;

import io.jhv.core.internal.MemoryTransport;
import io.jhv.core.internal.Transport;
import io.jhv.core.loop.EventLoop;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A {@link Connection} with an {@link Unpacker} over the in-memory transport: no socket, no
 * selector. It proves the transport SPI is all the connection needs (a native or an embedded
 * transport can replace NIO underneath), and shows how codec tests can drive a connection with
 * bytes and read what it writes.
 */
@Timeout(10)
class InMemoryTransportTest {
    private static final String KIND = "memory-test";

    @BeforeAll
    static void register() {
        Transport.register(KIND, new MemoryTransport());
    }

    @AfterAll
    static void unregister() {
        Transport.unregister(KIND);
    }

    @Test
    void aConnectionWithAnUnpackerRunsOverTheInMemoryTransport() throws Exception {
        CompletableFuture<CloseCause> closed = new CompletableFuture<>();
        TcpServer settings = TcpServer.create("127.0.0.1", 0)
                .unpacker(Unpackers.delimiter("\n", 1024))
                .onMessage((c, msg) -> c.write("echo:" + msg.readString())) // the frame keeps its delimiter
                .onClose((c, cause) -> closed.complete(cause));
        MemoryTransport.Endpoint[] pair = MemoryTransport.pair();
        MemoryTransport.Endpoint peer = pair[1];
        try (EventLoop loop = EventLoop.builder().poller(KIND).build().start()) {
            assertEquals("memory", loop.pollerName());
            Connection conn = new Connection(loop, pair[0], settings, false);
            CompletableFuture<Void> up = new CompletableFuture<>();
            loop.runInLoop(() -> {
                try {
                    conn.registerInLoop(false);
                    conn.establishInLoop();
                    up.complete(null);
                } catch (Throwable t) {
                    up.completeExceptionally(t);
                }
            });
            up.get(5, TimeUnit.SECONDS);
            assertTrue(conn.isConnected());

            // Frames split across writes, two in one write, one byte at a time.
            peer.send(bytes("hel"));
            peer.send(bytes("lo\nwor"));
            peer.send(bytes("ld\nthree\n"));
            for (byte b : bytes("x\n")) peer.send(new byte[] {b});
            String expected = "echo:hello\necho:world\necho:three\necho:x\n";
            assertEquals(expected, new String(peer.receive(expected.length(), 5_000), StandardCharsets.UTF_8));

            // The peer half-closes: the connection closes, as after a FIN on a socket.
            peer.shutdownOutput();
            assertEquals(CloseCause.Kind.PEER_CLOSED, closed.get(5, TimeUnit.SECONDS).kind());
            assertTrue(pair[0].isClosed(), "the connection closed its endpoint");
            assertTrue(peer.receive(1, 5_000).length == 0 && peer.atEof(), "the peer sees the close");
        }
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
