package io.jhv.core.net;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** One API style: Duration timeouts, settings fixed at start, one error shape, onX replaces and addX adds. */
@Timeout(30)
class ApiStyleTest {

    @Test
    void settingsAreRefusedAfterStartWithAClearMessage() {
        try (TcpServer server = TcpServer.create("127.0.0.1", 0).threads(1).start()) {
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> server.readTimeout(Duration.ofSeconds(1)));
            assertTrue(e.getMessage().contains("after start()"), e.getMessage());
            assertThrows(IllegalStateException.class, () -> server.onMessage((c, b) -> {}));
            assertThrows(IllegalStateException.class, () -> server.maxConnections(3));
            assertThrows(IllegalStateException.class, () -> server.threads(2));
            assertThrows(IllegalStateException.class, () -> server.tls(null));
        }
        try (UdpSocket udp = UdpSocket.create().start()) {
            assertThrows(IllegalStateException.class, () -> udp.closeTimeout(Duration.ZERO));
        }
    }

    @Test
    void timeoutsTakeDurationsAndRefuseNegativeOnes() {
        TcpServer s = TcpServer.create("127.0.0.1", 0);
        assertThrows(IllegalArgumentException.class, () -> s.readTimeout(Duration.ofMillis(-1)));
        assertThrows(NullPointerException.class, () -> s.writeTimeout(null));
        assertThrows(IllegalArgumentException.class, () -> s.heartbeat(Duration.ZERO, () -> "x"));
        s.keepAliveTimeout(Duration.ZERO); // off
        assertEquals(1, TcpEndpoint.millis(Duration.ofNanos(10)), "a positive timeout below 1 ms is not 'off'");
        assertTrue(TcpEndpoint.millis(Duration.ofSeconds(Long.MAX_VALUE)) > 0, "a huge timeout is 'for ever', not an overflow");
        assertThrows(IllegalArgumentException.class, () -> UdpSocket.create().closeTimeout(Duration.ofSeconds(-1)));
    }

    @Test
    void onErrorGetsTheConnectionAndTheExceptionBeforeOnCloseButNotForACleanClose() throws Exception {
        List<String> order = new CopyOnWriteArrayList<>();
        CompletableFuture<Throwable> error = new CompletableFuture<>();
        CompletableFuture<Connection> errored = new CompletableFuture<>();
        CompletableFuture<CloseCause> timedOut = new CompletableFuture<>();
        CompletableFuture<CloseCause> clean = new CompletableFuture<>();
        try (TcpServer server = TcpServer.create("127.0.0.1", 0).threads(1)
                .readTimeout(Duration.ofMillis(300))
                .onMessage((c, b) -> { b.skip(b.readableBytes()); c.close(); })
                .onError((c, t) -> { order.add("error " + c.id()); errored.complete(c); error.complete(t); })
                .onClose((c, cause) -> {
                    order.add("close " + c.id());
                    (cause.kind() == CloseCause.Kind.TIMEOUT ? timedOut : clean).complete(cause);
                })
                .start();
             Socket talker = new Socket("127.0.0.1", server.port())) {
            talker.getOutputStream().write('x'); // answered by a clean close()
            assertEquals(CloseCause.Kind.NORMAL, clean.get(5, TimeUnit.SECONDS).kind());
            assertFalse(error.isDone(), "a clean close is not an error");
            try (Socket silent = new Socket()) {
                silent.connect(new InetSocketAddress("127.0.0.1", server.port()));
                CloseCause cause = timedOut.get(5, TimeUnit.SECONDS);
                assertEquals(CloseCause.Kind.TIMEOUT, cause.kind());
                Throwable t = error.get(5, TimeUnit.SECONDS);
                assertInstanceOf(SocketTimeoutException.class, t);
                assertTrue(t.getMessage().contains("read timeout"), t.getMessage());
                long id = errored.get().id();
                assertEquals(List.of("error " + id, "close " + id), order.stream().filter(s -> s.endsWith(" " + id)).toList());
            }
        }
    }

    @Test
    void udpErrorsHaveTheSameShape() throws Exception {
        CompletableFuture<Throwable> error = new CompletableFuture<>();
        CompletableFuture<InetSocketAddress> target = new CompletableFuture<>();
        ErrorHandler<InetSocketAddress> h = (to, t) -> { target.complete(to); error.complete(t); };
        try (UdpSocket udp = UdpSocket.create().maxQueuedBytes(0).closeTimeout(Duration.ZERO).onError(h).start()) {
            InetSocketAddress to = new InetSocketAddress("127.0.0.1", 9);
            udp.loop().post(() -> {
                udp.refuseSends = Integer.MAX_VALUE; // a send buffer that never drains: the queue bound drops it
                udp.sendTo(to, new byte[1_000]);
            });
            Throwable t = error.get(5, TimeUnit.SECONDS);
            assertInstanceOf(IOException.class, t);
            assertTrue(t.getMessage().contains("send queue full"), t.getMessage());
            assertEquals(to, target.get());
        }
    }

    @Test
    void addCloseListenerAddsWhileOnXReplaces() throws Exception {
        List<String> calls = new CopyOnWriteArrayList<>();
        CompletableFuture<Void> done = new CompletableFuture<>();
        try (TcpServer server = TcpServer.create("127.0.0.1", 0).threads(1)
                .onClose((c, cause) -> calls.add("first endpoint handler"))
                .onClose((c, cause) -> calls.add("endpoint"))
                .onConnection(c -> {
                    if (!c.isConnected()) return;
                    c.addCloseListener((x, cause) -> calls.add("a"));
                    c.addCloseListener((x, cause) -> { calls.add("b"); done.complete(null); });
                    c.onMessage((x, b) -> calls.add("replaced handler"));
                    c.onMessage((x, b) -> { b.skip(b.readableBytes()); x.close(); });
                })
                .start();
             Socket s = new Socket("127.0.0.1", server.port())) {
            s.getOutputStream().write('x');
            done.get(5, TimeUnit.SECONDS);
            assertEquals(List.of("endpoint", "a", "b"), calls);
        }
    }
}
