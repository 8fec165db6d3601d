package io.jhv.core.net;

import io.jhv.testing.Allocations;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The echo data path (poll, read, onMessage, write) allocates nothing per message on the loop
 * thread, measured with the JDK's per-thread allocation counter.
 */
@Timeout(60)
class EchoAllocationTest {

    private static void roundTrips(OutputStream out, InputStream in, byte[] msg, byte[] back, int n) throws Exception {
        for (int i = 0; i < n; i++) {
            msg[0] = (byte) i;
            out.write(msg);
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
    void echoAllocatesNothingPerMessageOnTheLoop() throws Exception {
        try (TcpServer server = TcpServer.create("127.0.0.1", 0).threads(1)
                .onMessage((c, buf) -> c.write(buf))
                .start();
             Socket s = new Socket("127.0.0.1", server.port())) {
            s.setTcpNoDelay(true);
            CompletableFuture<Thread> loopThread = new CompletableFuture<>();
            server.group().get(0).post(() -> loopThread.complete(Thread.currentThread()));
            Thread loop = loopThread.get(5, TimeUnit.SECONDS);
            assumeTrue(Allocations.threadAllocatedBytes(loop) >= 0, "this JDK does not count allocated bytes per thread");

            OutputStream out = s.getOutputStream();
            InputStream in = s.getInputStream();
            byte[] msg = new byte[64], back = new byte[64];
            roundTrips(out, in, msg, back, 30_000); // warm up: JIT-compile the path
            int n = 20_000;
            long before = Allocations.threadAllocatedBytes(loop);
            roundTrips(out, in, msg, back, n);
            long perMessage = (Allocations.threadAllocatedBytes(loop) - before) / n;
            // Zero in steady state; a few bytes of slack for a rare one-off (a deoptimization).
            assertTrue(perMessage <= 2, "the echo path allocates " + perMessage + " bytes per message on the loop");
            assertEquals(0, server.group().get(0).pendingTasks());
        }
    }
}
