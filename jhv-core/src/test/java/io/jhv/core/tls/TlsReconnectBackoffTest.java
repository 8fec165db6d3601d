package io.jhv.core.tls;

import io.jhv.core.net.CloseCause;
import io.jhv.core.net.ReconnectPolicy;
import io.jhv.core.net.TcpClient;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A TLS client whose handshakes fail must count each failure as a failed attempt: reported to
 * onConnectFailed, backed off, and given up after maxRetries. (It used to reset its retry counter at
 * the TCP connect, before the handshake, and so retried for ever without back-off.)
 */
@Timeout(30)
class TlsReconnectBackoffTest {

    /** A plain TCP server that answers every connection with garbage and closes it; records accept times. */
    private static final class GarbageServer implements AutoCloseable {
        final ServerSocket ss;
        final List<Long> accepts = new CopyOnWriteArrayList<>();
        final Thread thread;

        GarbageServer() throws IOException {
            ss = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
            thread = Thread.ofPlatform().daemon().name("garbage-server").start(() -> {
                while (!ss.isClosed()) {
                    try (Socket s = ss.accept()) {
                        accepts.add(System.nanoTime());
                        OutputStream out = s.getOutputStream();
                        out.write("HTTP/1.1 400 this is not TLS\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                        out.flush();
                    } catch (IOException e) {
                        // closed, or the client went away first
                    }
                }
            });
        }

        @Override
        public void close() throws IOException {
            ss.close();
        }
    }

    @Test
    void failedHandshakesAreFailedAttemptsWithBackoffAndMaxRetries() throws Exception {
        try (GarbageServer server = new GarbageServer()) {
            List<CloseCause> failures = new CopyOnWriteArrayList<>();
            CountDownLatch tooMany = new CountDownLatch(4);
            CountDownLatch three = new CountDownLatch(3);
            TcpClient client = TcpClient.create("127.0.0.1", server.ss.getLocalPort())
                    .tls(TlsTestSupport.client().build())
                    .reconnect(ReconnectPolicy.fixed(Duration.ofMillis(150)).maxRetries(2))
                    .onConnectFailed(cause -> {
                        failures.add(cause);
                        three.countDown();
                        tooMany.countDown();
                    })
                    .start();
            try {
                assertTrue(three.await(10, TimeUnit.SECONDS), "failed handshakes reported: " + failures);
                // With maxRetries(2) there are 3 attempts in all; a 4th would come 150 ms after the 3rd.
                assertFalse(tooMany.await(600, TimeUnit.MILLISECONDS), "kept retrying: " + failures.size() + " failures, "
                        + server.accepts.size() + " connects");
                assertEquals(3, server.accepts.size(), "TCP connects");
                assertEquals(0, client.connectCount(), "a connection whose handshake failed never came up");
                assertEquals(2, client.retries());
                for (int i = 1; i < server.accepts.size(); i++) {
                    long gapMs = (server.accepts.get(i) - server.accepts.get(i - 1)) / 1_000_000;
                    assertTrue(gapMs >= 140, "attempt " + i + " came " + gapMs + " ms after the previous: no back-off");
                }
                for (CloseCause c : failures) assertTrue(c.kind() == CloseCause.Kind.ERROR || c.kind() == CloseCause.Kind.RESET || c.kind() == CloseCause.Kind.PEER_CLOSED, "a failure, not a normal close: " + c);
            } finally {
                client.close();
                assertTrue(client.awaitTermination(Duration.ofSeconds(5)));
            }
        }
    }
}
