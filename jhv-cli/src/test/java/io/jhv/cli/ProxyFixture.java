package io.jhv.cli;

import io.jhv.core.net.Connection;
import io.jhv.core.net.TcpServer;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/** Starts {@code hv proxy} in-process and collects what it prints; closes everything at the end. */
final class ProxyFixture implements AutoCloseable {
    final ByteArrayOutputStream outBytes = new ByteArrayOutputStream();
    final ByteArrayOutputStream errBytes = new ByteArrayOutputStream();
    final PrintStream out = new PrintStream(outBytes, true, StandardCharsets.UTF_8);
    final PrintStream err = new PrintStream(errBytes, true, StandardCharsets.UTF_8);
    final List<AutoCloseable> closeables = new ArrayList<>();

    /** {@code hv proxy KIND OPTIONS...}, listening on 127.0.0.1 on a free port, one loop. */
    ProxyCommand.Running proxy(String kind, String... options) {
        String[] argv = new String[options.length + 2];
        argv[0] = "proxy";
        argv[1] = kind;
        System.arraycopy(options, 0, argv, 2, options.length);
        Args a = Args.parse(argv, 2, ProxyCommand.VALUE_FLAGS, ProxyCommand.SWITCHES);
        ProxyCommand.Running r = ProxyCommand.start(kind, a, out, err);
        closeables.add(r);
        return r;
    }

    <T extends AutoCloseable> T add(T c) {
        closeables.add(c);
        return c;
    }

    String log() { return errBytes.toString(StandardCharsets.UTF_8); }

    /** Waits until the proxy's log contains {@code text}. */
    void awaitLog(String text) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!log().contains(text)) {
            if (System.nanoTime() > deadline) throw new AssertionError("the log never said '" + text + "': " + log());
            Thread.sleep(10);
        }
    }

    /** The proxy server's connection whose peer is {@code s}. */
    static Connection connectionOf(TcpServer server, Socket s) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (System.nanoTime() < deadline) {
            for (Connection c : server.connections()) {
                if (s.getLocalSocketAddress().equals(c.remoteAddress())) return c;
            }
            Thread.sleep(5);
        }
        throw new AssertionError("no server connection for " + s);
    }

    /** Runs {@code task} on {@code c}'s loop and returns its result. */
    static <T> T onLoop(Connection c, java.util.function.Supplier<T> task) throws Exception {
        CompletableFuture<T> f = new CompletableFuture<>();
        c.loop().post(() -> {
            try {
                f.complete(task.get());
            } catch (Throwable t) {
                f.completeExceptionally(t);
            }
        });
        return f.get(5, TimeUnit.SECONDS);
    }

    static byte[] readAll(InputStream in) throws IOException {
        return in.readAllBytes();
    }

    @Override
    public void close() {
        for (int i = closeables.size() - 1; i >= 0; i--) {
            try {
                closeables.get(i).close();
            } catch (Exception ignored) {
                // closing anyway
            }
        }
    }
}
