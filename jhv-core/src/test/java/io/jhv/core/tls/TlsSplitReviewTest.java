package io.jhv.core.tls;

import io.jhv.core.loop.Probes;
import io.jhv.core.net.CloseCause;
import io.jhv.core.net.Connection;
import io.jhv.core.net.TcpServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.Socket;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Hostile review of the Connection split (LayerLink, ConnectionTimers): a TLS connection closed
 * during its handshake, with and without plaintext written before the handshake finished.
 */
@Timeout(30)
class TlsSplitReviewTest {

    private static Connection only(TcpServer server) {
        assertTrue(Probes.await(() -> server.connectionCount() == 1, Duration.ofSeconds(5)));
        return server.connections().iterator().next();
    }

    /**
     * Written during the handshake, then close(): the bytes wait in the layer, the close waits for
     * the handshake within the close timeout, which fires (the peer never speaks TLS): ABORTED, the
     * peer sees the connection end, the application never heard the connection was up.
     */
    @Test
    void closeWithWritesDuringHandshakeTimesOut() throws Exception {
        AtomicInteger up = new AtomicInteger();
        try (TcpServer server = TcpServer.create("127.0.0.1", 0).threads(1).tls(TlsTestSupport.server().build())
                .onMessage((c, b) -> c.write(b)) // an echo, for assertServes
                .closeTimeout(Duration.ofMillis(200))
                .onConnection(c -> { if (c.isConnected()) up.incrementAndGet(); })
                .start();
             Socket raw = TlsTestSupport.raw(server.port())) {
            Connection c = only(server);
            CompletableFuture<CloseCause> cause = new CompletableFuture<>();
            long t0 = System.nanoTime();
            c.loop().execute(() -> {
                c.addCloseListener((cc, why) -> cause.complete(why));
                c.write("early plaintext");
                c.close();
            });
            CloseCause why = cause.get(5, TimeUnit.SECONDS);
            long ms = (System.nanoTime() - t0) / 1_000_000;
            assertEquals(CloseCause.Kind.ABORTED, why.kind(), "cause: " + why);
            assertTrue(ms >= 150, "closed before the close timeout: " + ms + " ms");
            assertEquals(-1, raw.getInputStream().read(), "no plaintext reaches the socket");
            assertEquals(0, up.get());
            assertTrue(Probes.await(() -> server.connectionCount() == 0, Duration.ofSeconds(5)));
            TlsTestSupport.assertServes(server.port());
        }
    }

    /** close() during the handshake with nothing written closes at once, NORMAL. */
    @Test
    void closeDuringHandshakeWithoutWritesIsImmediate() throws Exception {
        try (TcpServer server = TcpServer.create("127.0.0.1", 0).threads(1).tls(TlsTestSupport.server().build())
                .onMessage((c, b) -> c.write(b)) // an echo, for assertServes
                .closeTimeout(Duration.ofSeconds(20))
                .start();
             Socket raw = TlsTestSupport.raw(server.port())) {
            Connection c = only(server);
            CompletableFuture<CloseCause> cause = new CompletableFuture<>();
            c.loop().execute(() -> {
                c.addCloseListener((cc, why) -> cause.complete(why));
                c.close();
            });
            assertEquals(CloseCause.Kind.NORMAL, cause.get(5, TimeUnit.SECONDS).kind());
            assertEquals(-1, raw.getInputStream().read());
            TlsTestSupport.assertServes(server.port());
        }
    }

    /** The peer vanishes (FIN) in the middle of the handshake: the connection closes, the server goes on. */
    @Test
    void peerVanishesMidHandshake() throws Exception {
        CompletableFuture<CloseCause> cause = new CompletableFuture<>();
        try (TcpServer server = TcpServer.create("127.0.0.1", 0).threads(1).tls(TlsTestSupport.server().build())
                .onMessage((c, b) -> c.write(b)) // an echo, for assertServes
                .onClose((c, why) -> cause.complete(why))
                .start()) {
            try (Socket raw = TlsTestSupport.raw(server.port())) {
                // the first bytes of a TLS record header (handshake, TLS 1.2), then nothing
                raw.getOutputStream().write(new byte[] {0x16, 0x03, 0x03});
                raw.getOutputStream().flush();
                assertTrue(Probes.await(() -> server.acceptedCount() == 1, Duration.ofSeconds(5)));
            }
            CloseCause why = cause.get(5, TimeUnit.SECONDS);
            assertTrue(why.kind() == CloseCause.Kind.PEER_CLOSED || why.kind() == CloseCause.Kind.ERROR, "cause: " + why);
            assertTrue(Probes.await(() -> server.connectionCount() == 0, Duration.ofSeconds(5)));
            TlsTestSupport.assertServes(server.port());
        }
    }
}
