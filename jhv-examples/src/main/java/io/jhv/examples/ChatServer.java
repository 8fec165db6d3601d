package io.jhv.examples;

import io.jhv.core.net.Connection;
import io.jhv.core.net.TcpServer;
import io.jhv.core.net.Unpackers;

/**
 * A line-based chat: every line a client sends goes to all the other clients, prefixed with the
 * sender's id. {@code java io.jhv.examples.ChatServer [port]}
 */
public final class ChatServer {
    private ChatServer() {}

    public static TcpServer start(int port) {
        TcpServer[] self = new TcpServer[1];
        self[0] = TcpServer.create(port)
                .unpacker(Unpackers.delimiter(new byte[] {'\n'}, 4096))
                .onConnection(c -> {
                    if (c.isConnected()) c.write("welcome, you are c" + c.id() + "\n");
                })
                .onMessage((from, line) -> {
                    String text = "c" + from.id() + ": " + line.readString();
                    for (Connection c : self[0].connections()) {
                        if (c != from && c.isConnected()) c.write(text);
                    }
                })
                .start();
        return self[0];
    }

    public static void main(String[] args) {
        TcpServer server = start(args.length > 0 ? Integer.parseInt(args[0]) : 7001);
        System.out.println("chat server on port " + server.port());
    }
}
