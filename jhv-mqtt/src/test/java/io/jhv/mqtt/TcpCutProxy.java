package io.jhv.mqtt;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A TCP proxy for the tests, on plain java.net sockets (one platform thread per direction), that
 * cuts every connection at a chosen moment ({@link #cut()}) and can hold the broker's bytes back
 * ({@link #holdDownstream}) so that a PUBACK or PUBREC never reaches the client before the cut.
 */
final class TcpCutProxy implements AutoCloseable {
    private final ServerSocket server;
    private final int target;
    private final List<Socket> sockets = new CopyOnWriteArrayList<>();
    private final AtomicLong up = new AtomicLong(), down = new AtomicLong(), held = new AtomicLong();
    private volatile boolean holdDown;
    private volatile boolean closed;

    private TcpCutProxy(int target) throws IOException {
        this.target = target;
        this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        Thread t = new Thread(this::acceptLoop, "cut-proxy-accept");
        t.setDaemon(true);
        t.start();
    }

    static TcpCutProxy start(int target) throws IOException { return new TcpCutProxy(target); }

    int port() { return server.getLocalPort(); }

    long upstreamBytes() { return up.get(); }

    /** Broker bytes dropped while {@link #holdDownstream} was on (proof that the broker answered). */
    long heldBytes() { return held.get(); }

    /** While on, the broker's bytes are read and dropped (the connection is useless afterwards: cut it). */
    void holdDownstream(boolean on) { holdDown = on; }

    /** Closes every proxied connection now (both sides see a reset or EOF); new ones are accepted. */
    void cut() {
        for (Socket s : sockets) {
            try {
                s.setSoLinger(true, 0);
                s.close();
            } catch (IOException ignored) {
                // closed already
            }
        }
        sockets.clear();
        holdDown = false;
    }

    private void acceptLoop() {
        while (!closed) {
            try {
                Socket client = server.accept();
                Socket broker = new Socket();
                broker.connect(new InetSocketAddress("127.0.0.1", target), 2000);
                client.setTcpNoDelay(true);
                broker.setTcpNoDelay(true);
                sockets.add(client);
                sockets.add(broker);
                pump(client, broker, up, false);
                pump(broker, client, down, true);
            } catch (IOException e) {
                if (closed) return;
            }
        }
    }

    private void pump(Socket from, Socket to, AtomicLong count, boolean downstream) {
        Thread t = new Thread(() -> {
            byte[] buf = new byte[16384];
            try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
                int n;
                while ((n = in.read(buf)) > 0) {
                    if (downstream && holdDown) {
                        held.addAndGet(n);
                        continue;
                    }
                    count.addAndGet(n);
                    out.write(buf, 0, n);
                    out.flush();
                }
            } catch (IOException ignored) {
                // cut or closed
            } finally {
                try { from.close(); } catch (IOException ignored) { }
                try { to.close(); } catch (IOException ignored) { }
            }
        }, "cut-proxy-pump");
        t.setDaemon(true);
        t.start();
    }

    @Override
    public void close() throws IOException {
        closed = true;
        server.close();
        cut();
    }
}
