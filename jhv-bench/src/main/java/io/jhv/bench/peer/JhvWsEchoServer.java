package io.jhv.bench.peer;

import io.jhv.http.server.HttpServer;
import io.jhv.http.websocket.WebSocketConfig;

import java.util.Set;

/**
 * jhv's side of the WebSocket echo comparison ({@code ws-compare.sh}): a WebSocket route at
 * {@code /} on one loop that sends every message back as it came ({@code ws.send(msg)}: text stays
 * text, binary stays binary).
 *
 * <p>permessage-deflate is off unless {@code --deflate} is given (then with jhv's defaults: level 6,
 * context takeover, messages under 128 bytes sent uncompressed). Everything else is jhv's default
 * configuration (16 MiB frames and messages), the same limits the Netty peer gets.
 *
 * <p>Thread contract: {@link #start} and {@link #close} are thread-safe; the handler runs on the
 * one loop thread.
 *
 * <pre>java -cp benchmarks.jar io.jhv.bench.peer.JhvWsEchoServer --port 7003 [--deflate]</pre>
 */
public final class JhvWsEchoServer implements AutoCloseable {
    static final String USAGE = "JhvWsEchoServer [--port 7003] [--host 127.0.0.1] [--deflate]";

    private final HttpServer server;

    private JhvWsEchoServer(HttpServer server) {
        this.server = server;
    }

    /** Binds {@code host:port} (port 0: any free port) and echoes at {@code /} on one loop. */
    public static JhvWsEchoServer start(String host, int port, boolean deflate) {
        WebSocketConfig cfg = WebSocketConfig.builder().compression(deflate).build();
        HttpServer s = HttpServer.create(host, port).threads(1)
                .ws("/", cfg, (ws, msg) -> ws.send(msg))
                .start();
        return new JhvWsEchoServer(s);
    }

    /** The bound port. */
    public int port() {
        return server.port();
    }

    @Override
    public void close() {
        server.close();
    }

    public static void main(String[] argv) throws InterruptedException {
        PeerArgs a;
        try {
            a = PeerArgs.parse(argv, Set.of("port", "host"), Set.of("deflate"));
        } catch (IllegalArgumentException e) {
            System.err.println("JhvWsEchoServer: " + e.getMessage() + "\nusage: " + USAGE);
            System.exit(2);
            return;
        }
        String host = a.get("host", "127.0.0.1");
        boolean deflate = a.flag("deflate");
        JhvWsEchoServer server = start(host, a.getInt("port", 7003, 0, 65535), deflate);
        System.out.println("jhv ws echo (1 loop, deflate " + (deflate ? "on" : "off") + ") listening on ws://" + host + ":" + server.port() + "/");
        PeerArgs.serveUntilShutdown(server, "jhv-ws-echo");
    }
}
