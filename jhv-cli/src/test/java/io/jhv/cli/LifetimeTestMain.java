package io.jhv.cli;

import io.jhv.core.loop.EventLoop;
import io.jhv.core.net.TcpServer;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;

/**
 * A child process for {@link SignalShutdownTest}: an echo server run through {@link Lifetime}.
 * {@code stuck}: its loop hangs in a task, so the graceful close cannot finish; {@code die}: its
 * loop ends abnormally right after start.
 */
public final class LifetimeTestMain {
    private LifetimeTestMain() {}

    public static void main(String[] args) throws Exception {
        TcpServer server = TcpServer.create("127.0.0.1", 0).threads(1).onMessage((c, b) -> c.write(b)).start();
        EventLoop loop = server.group().get(0);
        System.out.println("PORT " + server.port());
        System.out.flush();
        if (args[0].equals("stuck")) {
            CountDownLatch never = new CountDownLatch(1);
            CountDownLatch entered = new CountDownLatch(1);
            loop.post(() -> {
                entered.countDown();
                try {
                    never.await(); // a handler that blocks the loop for ever
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            entered.await();
            System.out.println("STUCK");
            System.out.flush();
        } else if (args[0].equals("die")) {
            loop.post(() -> io.jhv.core.internal.Internals.loops().poller(loop).close()); // the poller fails under the loop: it ends abnormally
        }
        Lifetime life = Lifetime.install("test", () -> server.close(Duration.ofSeconds(30)), 1_000, List.of(server.closeFuture()),
                System.out, System.err, "test: shutting down", "test: stopped");
        System.out.println("READY");
        System.out.flush();
        System.exit(life.awaitFailure());
    }
}
