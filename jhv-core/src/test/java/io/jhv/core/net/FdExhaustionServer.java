package io.jhv.core.net;

/**
 * A one-loop echo server for {@link FdExhaustionTest}, run in a child JVM with a small descriptor
 * limit. Prints {@code PORT n} when it listens, then serves until killed.
 */
public final class FdExhaustionServer {
    private FdExhaustionServer() {}

    public static void main(String[] args) throws Exception {
        TcpServer server = TcpServer.create("127.0.0.1", 0).threads(1).onMessage((c, b) -> c.write(b)).start();
        System.out.println("PORT " + server.port());
        System.out.flush();
        Thread.currentThread().join();
    }
}
