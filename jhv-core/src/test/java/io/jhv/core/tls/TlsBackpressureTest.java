package io.jhv.core.tls;

import io.jhv.core.net.Connection;
import io.jhv.core.net.TcpEndpoint;
import io.jhv.core.net.TcpServer;

import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.InputStream;
import java.io.OutputStream;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * 64 MiB through a TLS echo server to a client that reads nothing until the server's write queue
 * has crossed the high-water mark: every byte arrives intact, and the server's write queue
 * (ciphertext) stays within the high-water mark plus what one read can add.
 *
 * <p>The bound: the queue is at most the high-water mark before the write that crosses it; reading
 * then pauses, but the bytes of the read already taken are still decrypted and echoed. One read
 * hands the layer at most the loop's read buffer (64 KiB) plus the leftover of a partial record
 * from the read before (less than one record, {@code packetBufferSize} = 16709 bytes). Echoed,
 * that plaintext becomes at most as many bytes of ciphertext plus one record's overhead. So
 * {@code maxQueued <= HWM + 65536 + 16709 + 256}: about HWM + 81 KiB.
 */
@Timeout(60)
class TlsBackpressureTest {
    static final int READ_BUFFER = 64 * 1024;

    @ParameterizedTest
    @CsvSource({"TLSv1.3, 64", "TLSv1.2, 16"}) // MiB; TLS 1.2 with less to keep the suite short
    void bigTransferToASlowReaderStaysWithinTheBound(String protocol, int mib) throws Exception {
        final long total = (long) mib << 20;
        AtomicReference<Connection> serverConn = new AtomicReference<>();
        CompletableFuture<Void> aboveHighWater = new CompletableFuture<>();
        try (TcpServer server = TcpServer.create("127.0.0.1", 0).threads(1).tls(TlsTestSupport.server().build())
                .onConnection(c -> { if (c.isConnected()) serverConn.set(c); })
                .onWritable((c, writable) -> { if (!writable) aboveHighWater.complete(null); })
                .onMessage((c, b) -> c.write(b))
                .start();
             SSLSocket s = TlsTestSupport.jdkClient(server.port(), TlsTestSupport.client().build())) {
            SSLParameters p = s.getSSLParameters();
            p.setProtocols(new String[] {protocol});
            s.setSSLParameters(p);
            s.setSoTimeout(30_000);
            s.startHandshake();
            CompletableFuture<Void> writer = new CompletableFuture<>();
            Thread.ofPlatform().name("tls-bp-writer").start(() -> {
                try {
                    OutputStream out = s.getOutputStream();
                    byte[] chunk = new byte[32 * 1024];
                    for (int off = 0; off < total; off += chunk.length) {
                        for (int i = 0; i < chunk.length; i++) chunk[i] = pattern(off + i);
                        out.write(chunk);
                    }
                    out.flush();
                    writer.complete(null);
                } catch (Exception e) {
                    writer.completeExceptionally(e);
                }
            });
            // The slow reader: it reads nothing until the server's queue has crossed the high-water
            // mark (the kernel buffers are full by then), and a little longer.
            aboveHighWater.get(20, TimeUnit.SECONDS);
            Thread.sleep(300);
            InputStream in = s.getInputStream();
            byte[] buf = new byte[64 * 1024];
            long got = 0;
            while (got < total) {
                int n = in.read(buf);
                assertTrue(n > 0, "stream ended after " + got + " bytes");
                for (int i = 0; i < n; i++) {
                    if (buf[i] != pattern(got + i)) throw new AssertionError("byte " + (got + i) + " differs");
                }
                got += n;
            }
            writer.get(30, TimeUnit.SECONDS);
            assertEquals(total, got);
            Connection c = serverConn.get();
            long hwm = TcpEndpoint.DEFAULT_HIGH_WATER_MARK;
            int packet = TlsInfo.of(c).session().getPacketBufferSize();
            long bound = hwm + READ_BUFFER + packet + 256;
            System.out.println(protocol + ": max queued " + c.maxQueuedBytes() + " bytes, bound " + bound
                    + " (HWM + " + (c.maxQueuedBytes() - hwm) + ")");
            assertTrue(c.maxQueuedBytes() <= bound, "max queued " + c.maxQueuedBytes() + " > bound " + bound);
        }
    }

    static byte pattern(long i) {
        return (byte) (i * 7 + (i >>> 13));
    }
}
