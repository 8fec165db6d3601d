package io.jhv.core.net;

import io.jhv.core.loop.EventLoop;
import io.jhv.core.loop.EventLoopGroup;
import io.jhv.core.loop.Probes;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Many TcpClients on one EventLoopGroup: no thread each, reconnect works, one closing leaves the rest. */
@Timeout(60)
class TcpClientSharedLoopTest {

    @Test
    void manyClientsOnOneGroupReconnectAndCloseIndependently() throws Exception {
        int n = 30;
        try (EventLoopGroup group = EventLoopGroup.create(2).start();
             TcpServer server = TcpServer.create("127.0.0.1", 0).threads(1).onMessage((c, b) -> c.write(b)).start()) {
            int threadsBefore = Probes.threads();
            ConcurrentHashMap<Integer, String> echoed = new ConcurrentHashMap<>();
            List<TcpClient> clients = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                int k = i;
                clients.add(TcpClient.create("127.0.0.1", server.port()).group(group)
                        .reconnect(ReconnectPolicy.fixed(Duration.ofMillis(20)))
                        .connectTimeout(Duration.ofSeconds(5))
                        .onConnection(c -> { if (c.isConnected()) c.write("hi" + k); })
                        .onMessage((c, b) -> echoed.merge(k, b.readString(), String::concat))
                        .start());
            }
            assertTrue(Probes.await(() -> echoed.size() == n, Duration.ofSeconds(10)), "all echoed: " + echoed.size());
            assertTrue(Probes.threads() <= threadsBefore, "no thread per client: " + threadsBefore + " -> " + Probes.threads());
            for (TcpClient c : clients) assertTrue(group.loops().contains(c.loop()));

            // the server drops everyone: every client reconnects on its loop and says hi again
            for (Connection c : server.connections()) c.close();
            assertTrue(Probes.await(() -> clients.stream().allMatch(c -> c.connectCount() >= 2 && c.isConnected()),
                    Duration.ofSeconds(10)), "all reconnected");
            for (int i = 0; i < n; i++) {
                int k = i;
                assertTrue(Probes.await(() -> ("hi" + k + "hi" + k).equals(echoed.get(k)), Duration.ofSeconds(5)), echoed.get(k));
            }

            // closing one client leaves its loop and the other clients alone
            TcpClient first = clients.get(0);
            EventLoop itsLoop = first.loop();
            first.close();
            assertTrue(first.awaitTermination(Duration.ofSeconds(5)));
            assertTrue(itsLoop.isRunning());
            assertTrue(Probes.await(() -> server.connectionCount() == n - 1, Duration.ofSeconds(5)));
            for (int i = 1; i < n; i++) {
                TcpClient c = clients.get(i);
                assertTrue(c.isConnected());
                c.write("!");
            }
            for (int i = 1; i < n; i++) {
                int k = i;
                assertTrue(Probes.await(() -> echoed.get(k).endsWith("!"), Duration.ofSeconds(5)));
            }
            for (TcpClient c : clients) c.close();
            for (TcpClient c : clients) assertTrue(c.awaitTermination(Duration.ofSeconds(5)));
            for (EventLoop l : group.loops()) assertTrue(l.isRunning(), "closing clients does not stop a shared loop");
        }
    }

    @Test
    void aClientOnAGivenLoopUsesIt() throws Exception {
        EventLoop loop = EventLoop.create().start();
        try (TcpServer server = TcpServer.create("127.0.0.1", 0).threads(1).start()) {
            CompletableFuture<Boolean> onLoop = new CompletableFuture<>();
            TcpClient client = TcpClient.create("127.0.0.1", server.port()).loop(loop)
                    .onConnection(c -> { if (c.isConnected()) onLoop.complete(loop.inLoop()); })
                    .start();
            assertTrue(onLoop.get(5, TimeUnit.SECONDS));
            assertSame(loop, client.loop());
            client.close();
            assertTrue(client.awaitTermination(Duration.ofSeconds(5)));
            assertTrue(loop.isRunning());
            assertEquals(0, Probes.threadsNamed("jhv-client-"));
        } finally {
            loop.close();
        }
    }
}
