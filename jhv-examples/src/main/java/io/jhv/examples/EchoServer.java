package io.jhv.examples;

import io.jhv.core.net.TcpServer;

/** A TCP echo server: every byte comes back. {@code java io.jhv.examples.EchoServer [port]} */
public final class EchoServer {
    private EchoServer() {}

    public static TcpServer start(int port) {
        return TcpServer.create(port)
                .onMessage((conn, buf) -> conn.write(buf))
                .start();
    }

    public static void main(String[] args) {
        TcpServer server = start(args.length > 0 ? Integer.parseInt(args[0]) : 7000);
        System.out.println("echo server on port " + server.port());
    }
}
