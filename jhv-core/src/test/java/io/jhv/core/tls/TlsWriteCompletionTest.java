package io.jhv.core.tls;

import io.jhv.core.loop.EventLoop;
import io.jhv.core.loop.Probes;
import io.jhv.core.net.Connection;
import io.jhv.core.net.Connector;
import io.jhv.core.net.TcpClient;
import io.jhv.core.net.TcpServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import javax.net.ssl.SSLSocket;
import java.io.DataInputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Per-write completion through TLS: listeners wait for the encrypted records to reach the socket. */
@Timeout(60)
class TlsWriteCompletionTest {
    private static final int BIG = 16 << 20;

    @Test
    void writesMadeDuringTheHandshakeCompleteAfterItInOrder() throws Exception {
        TlsConfig serverConfig = TlsTestSupport.server().build();
        try (ServerSocket ss = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            TcpClient client = TcpClient.create("127.0.0.1", ss.getLocalPort()).tls(TlsTestSupport.client().build()).start();
            try (Socket raw = ss.accept()) {
                Connection c;
                while ((c = client.connection()) == null) Thread.onSpinWait();
                List<String> calls = new CopyOnWriteArrayList<>();
                CompletableFuture<Void> both = new CompletableFuture<>();
                c.write("1", (conn, f) -> calls.add("1:" + f));
                c.write("2", (conn, f) -> { calls.add("2:" + f); both.complete(null); });
                Connection cc = c;
                assertEquals(false, client.loop().submit(() -> TlsInfo.of(cc).isHandshakeComplete()).get(5, TimeUnit.SECONDS));
                assertEquals(List.of(), calls, "nothing reached the socket before the handshake");
                SSLSocket tls = (SSLSocket) serverConfig.sslContext().getSocketFactory().createSocket(raw, null, true);
                tls.setUseClientMode(false);
                tls.setSoTimeout(10_000);
                byte[] got = new byte[2];
                new DataInputStream(tls.getInputStream()).readFully(got);
                assertEquals("12", new String(got, StandardCharsets.US_ASCII));
                both.get(5, TimeUnit.SECONDS);
                assertEquals(List.of("1:null", "2:null"), calls);
            } finally {
                client.close();
            }
        }
    }

    @Test
    void aSlowTlsReaderGetsTheCompletionAfterDrainingAndAVanishedOneAFailure() throws Exception {
        EventLoop loop = EventLoop.create().start();
        CompletableFuture<Connection> serverSide = new CompletableFuture<>();
        try (TcpServer server = TcpServer.create("127.0.0.1", 0).threads(1).tls(TlsTestSupport.server().build())
                .waterMarks(BIG * 4, BIG)
                .onConnection(c -> { if (c.isConnected()) serverSide.complete(c); }).start()) {
            AtomicLong read = new AtomicLong();
            Connection client = Connector.create().tls(TlsTestSupport.client().build())
                    .onMessage((c, b) -> { read.addAndGet(b.readableBytes()); b.skip(b.readableBytes()); })
                    .connect(loop, "localhost", server.port()).get(10, TimeUnit.SECONDS);
            Connection s = serverSide.get(5, TimeUnit.SECONDS);
            loop.submit(() -> { client.pauseReading(); return null; }).get(); // a reader that stops reading
            AtomicLong readWhenDone = new AtomicLong(-1);
            CompletableFuture<Throwable> done = new CompletableFuture<>();
            s.write(new byte[BIG], (c, f) -> { readWhenDone.set(read.get()); done.complete(f); });
            assertTrue(Probes.await(() -> s.queuedBytes() > 0, Duration.ofSeconds(5)));
            assertFalse(done.isDone());
            client.resumeReading();
            assertNull(done.get(20, TimeUnit.SECONDS));
            assertTrue(readWhenDone.get() > 0, "completed before the reader read anything");
            assertTrue(Probes.await(() -> read.get() == BIG, Duration.ofSeconds(10)));

            // now the reader stops again and vanishes with records pending
            loop.submit(() -> { client.pauseReading(); return null; }).get();
            CompletableFuture<Throwable> lost = new CompletableFuture<>();
            s.write(new byte[BIG], (c, f) -> lost.complete(f));
            assertTrue(Probes.await(() -> s.queuedBytes() > 0, Duration.ofSeconds(5)));
            client.abort();
            assertInstanceOf(IOException.class, lost.get(10, TimeUnit.SECONDS));
        } finally {
            loop.close();
        }
    }
}
