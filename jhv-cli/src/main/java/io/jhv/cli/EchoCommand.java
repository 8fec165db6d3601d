package io.jhv.cli;

import io.jhv.core.net.TcpServer;

import java.util.Set;
import java.util.concurrent.CountDownLatch;

/** {@code hv echo}: a TCP echo server until Ctrl-C. */
final class EchoCommand {
    static final String USAGE = "hv echo [--port 7000] [--host 0.0.0.0] [--threads N] [--poller default|epoll|poll]";

    private EchoCommand() {}

    static int run(String[] argv) throws InterruptedException {
        Args a = Args.parse(argv, 1, Set.of("port", "host", "threads", "poller"), Set.of("help"));
        if (a.has("help")) {
            System.out.println("usage: " + USAGE);
            return 0;
        }
        int port = a.getInt("port", 7000, 0, 65535);
        String host = a.get("host", "0.0.0.0");
        int threads = a.getInt("threads", Runtime.getRuntime().availableProcessors(), 1, 1024);
        TcpServer server = TcpServer.create(host, port)
                .threads(threads)
                .poller(a.get("poller", "default"))
                .onMessage((conn, buf) -> conn.write(buf))
                .start();
        System.out.println("hv echo listening on " + host + ":" + server.port() + " with " + threads + " loop(s)");
        CountDownLatch done = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            server.close();
            done.countDown();
        }, "hv-shutdown"));
        done.await();
        return 0;
    }
}
