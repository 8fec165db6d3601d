package io.jhv.examples;

import io.jhv.core.net.ReconnectPolicy;
import io.jhv.core.net.TcpClient;
import io.jhv.core.net.Unpackers;

import java.time.Duration;
import java.util.function.Consumer;

/**
 * A client that stays connected: it reconnects with exponential back-off, sends a heartbeat every
 * second, and treats a server silent for 3 s as dead (then reconnects).
 * {@code java io.jhv.examples.ReconnectingClient [host] [port]}
 */
public final class ReconnectingClient {
    private ReconnectingClient() {}

    public static TcpClient start(String host, int port, Consumer<String> onLine) {
        return TcpClient.create(host, port)
                .reconnect(ReconnectPolicy.exponential(Duration.ofMillis(100), Duration.ofSeconds(5)).jitter(0.2))
                .heartbeat(Duration.ofSeconds(1), () -> "ping\n")
                .readTimeout(Duration.ofSeconds(3))
                .unpacker(Unpackers.delimiter(new byte[] {'\n'}, 64 * 1024))
                .onConnection(c -> {
                    if (c.isConnected()) c.write("hello\n");
                })
                .onMessage((c, line) -> onLine.accept(line.readString()))
                .start();
    }

    public static void main(String[] args) {
        start(args.length > 0 ? args[0] : "127.0.0.1", args.length > 1 ? Integer.parseInt(args[1]) : 7000, System.out::print);
    }
}
