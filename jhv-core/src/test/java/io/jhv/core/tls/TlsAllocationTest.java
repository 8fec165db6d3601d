package io.jhv.core.tls;

import io.jhv.testing.Allocations;
import io.jhv.core.net.TcpServer;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.InputStream;
import java.io.OutputStream;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLSocket;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * What a TLS echo allocates per message on the loop thread. The layer reuses its buffers (per loop)
 * and views; what is left is the JDK engine's own garbage: measured on JDK 25 with a bare
 * SSLEngine, one unwrap plus one wrap of a 64-byte record allocates about 2.7 KiB (results, record
 * and AES-GCM bookkeeping), and the whole jhv echo about the same. A buffer allocated per record by
 * the layer would cost at least 16 KiB more, so the bound below catches that.
 */
@Timeout(60)
class TlsAllocationTest {

    private static void roundTrips(OutputStream out, InputStream in, byte[] msg, byte[] back, int n) throws Exception {
        for (int i = 0; i < n; i++) {
            msg[0] = (byte) i;
            out.write(msg);
            out.flush();
            int got = 0;
            while (got < back.length) {
                int r = in.read(back, got, back.length - got);
                if (r < 0) throw new java.io.EOFException();
                got += r;
            }
            if (back[0] != (byte) i) throw new AssertionError("echo out of step at " + i);
        }
    }

    @Test
    void tlsEchoAllocatesOnlyTheEnginesGarbage() throws Exception {
        try (TcpServer server = TlsTestSupport.echoServer(TlsTestSupport.server().build());
             SSLSocket s = TlsTestSupport.jdkClient(server.port(), TlsTestSupport.client().build())) {
            s.setTcpNoDelay(true);
            CompletableFuture<Thread> loopThread = new CompletableFuture<>();
            server.group().get(0).post(() -> loopThread.complete(Thread.currentThread()));
            Thread loop = loopThread.get(5, TimeUnit.SECONDS);
            assumeTrue(Allocations.threadAllocatedBytes(loop) >= 0, "this JDK does not count allocated bytes per thread");
            OutputStream out = s.getOutputStream();
            InputStream in = s.getInputStream();
            byte[] msg = new byte[64], back = new byte[64];
            roundTrips(out, in, msg, back, 20_000); // warm up
            int n = 10_000;
            long before = Allocations.threadAllocatedBytes(loop);
            roundTrips(out, in, msg, back, n);
            long perMessage = (Allocations.threadAllocatedBytes(loop) - before) / n;
            System.out.println("TLS echo: " + perMessage + " bytes allocated per 64-byte message on the loop thread");
            assertTrue(perMessage < 4096, "the TLS echo path allocates " + perMessage + " bytes per message");
        }
    }
}
