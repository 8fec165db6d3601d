package io.jhv.core.net;

import io.jhv.core.loop.EventLoop;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link Connection#probeReadable()}: a non-blocking read on demand, while the loop is busy (so
 * the poller has not seen the socket yet): a quiet peer leaves the connection as it is, bytes
 * reach the handler, a FIN closes it. Real loopback sockets, a blocking peer.
 */
@Timeout(30)
class ProbeReadableTest {

    /** Runs {@code probe} on the loop until {@code done} or 5 s, all in one loop task (the poller never runs meanwhile). */
    interface Check {
        boolean done(boolean probed);
    }

    private static boolean probeUntil(EventLoop loop, Connection c, Check check) throws Exception {
        return loop.submit(() -> {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (System.nanoTime() < deadline) {
                if (check.done(c.probeReadable())) return true;
                Thread.onSpinWait();
            }
            return false;
        }).get(10, TimeUnit.SECONDS);
    }

    @Test
    void quietPeerBytesThenFin() throws Exception {
        EventLoop loop = EventLoop.create().start();
        try (ServerSocket ss = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            List<String> got = new ArrayList<>(); // loop thread only
            Connection c = Connector.create().onMessage((conn, b) -> got.add(b.readString()))
                    .connect(loop, "127.0.0.1", ss.getLocalPort()).get(5, TimeUnit.SECONDS);
            try (Socket peer = ss.accept()) {
                // quiet: open, nothing delivered
                assertTrue(loop.submit(c::probeReadable).get(5, TimeUnit.SECONDS));
                assertTrue(loop.submit(() -> got.isEmpty() && !c.isClosed()).get(5, TimeUnit.SECONDS));

                // bytes: the probe hands them to the handler, in the same loop task
                peer.getOutputStream().write("hi".getBytes(StandardCharsets.US_ASCII));
                assertTrue(probeUntil(loop, c, probed -> probed && String.join("", got).equals("hi")), "the probe did not deliver the bytes");

                // FIN: the probe reports it and the connection closes
                peer.shutdownOutput();
                assertTrue(probeUntil(loop, c, probed -> !probed), "the probe did not see the EOF");
                assertTrue(loop.submit(c::isClosed).get(5, TimeUnit.SECONDS));
                assertFalse(loop.submit(c::probeReadable).get(5, TimeUnit.SECONDS), "a closed connection probes false");
            }
        } finally {
            loop.close();
        }
    }

    @Test
    void offTheLoopThreadIsRefused() throws Exception {
        EventLoop loop = EventLoop.create().start();
        try (ServerSocket ss = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            Connection c = Connector.create().connect(loop, "127.0.0.1", ss.getLocalPort()).get(5, TimeUnit.SECONDS);
            try (Socket peer = ss.accept()) {
                assertThrows(IllegalStateException.class, c::probeReadable);
                c.close();
            }
        } finally {
            loop.close();
        }
    }
}
