package io.jhv.testing;

import io.jhv.core.net.CloseCause;
import io.jhv.core.net.TcpServer;
import io.jhv.core.net.Unpackers;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A {@code Connection} with an {@code Unpacker} over the in-memory transport: no socket, no
 * selector. It proves the transport SPI is all the connection needs (a native or an embedded
 * transport can replace NIO underneath), through {@link EmbeddedConnection}'s public API.
 */
@Timeout(10)
class InMemoryTransportTest {

    @Test
    void aConnectionWithAnUnpackerRunsOverTheInMemoryTransport() {
        TcpServer settings = TcpServer.create("127.0.0.1", 0)
                .unpacker(Unpackers.delimiter("\n", 1024))
                .onMessage((c, msg) -> c.write("echo:" + msg.readString())); // the frame keeps its delimiter
        try (EmbeddedConnection ec = EmbeddedConnection.open(settings)) {
            assertEquals("memory", ec.loop().pollerName());
            assertTrue(ec.isConnected());

            // Frames split across writes, two in one write, one byte at a time.
            ec.writeInbound("hel").writeInbound("lo\nwor").writeInbound("ld\nthree\n");
            for (char ch : "x\n".toCharArray()) ec.writeInbound(String.valueOf(ch));
            assertEquals("echo:hello\necho:world\necho:three\necho:x\n", ec.readOutboundString());

            // The peer half-closes: the connection closes, as after a FIN on a socket.
            ec.closeInbound();
            assertEquals(CloseCause.Kind.PEER_CLOSED, ec.awaitClose(Duration.ofSeconds(5)).kind());
            assertTrue(ec.isClosed());
            assertEquals(0, ec.readOutbound(1, Duration.ofSeconds(5)).length);
            assertTrue(ec.isOutboundClosed(), "the peer sees the close");
        }
    }
}
