package io.jhv.bench.mqtt;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;

/**
 * A stand-in broker for allocation benchmarks: accepts one connection on loopback, answers its
 * CONNECT with an MQTT 5 CONNACK (success, no properties: no topic aliases, no limits) and then only
 * reads and counts bytes, on a thread of its own. {@link #bytes()} tells the publisher how far the
 * sink has read, so it can keep a bounded window of messages on the way.
 */
public final class MqttSink implements AutoCloseable {
    private final ServerSocket server;
    private final Thread thread;
    private volatile long bytes;
    private volatile Socket socket;

    private MqttSink() throws IOException {
        server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
        thread = new Thread(this::run, "mqtt-sink");
        thread.setDaemon(true);
        thread.start();
    }

    public static MqttSink start() throws IOException { return new MqttSink(); }

    public int port() { return server.getLocalPort(); }

    /** Bytes read so far (the CONNECT included). Any thread. */
    public long bytes() { return bytes; }

    private void run() {
        byte[] buf = new byte[256 * 1024];
        try (Socket s = server.accept()) {
            socket = s;
            s.setTcpNoDelay(true);
            InputStream in = s.getInputStream();
            OutputStream out = s.getOutputStream();
            boolean acked = false;
            long total = 0;
            int n;
            while ((n = in.read(buf)) > 0) {
                total += n;
                bytes = total;
                if (!acked) {
                    out.write(new byte[] {0x20, 0x03, 0x00, 0x00, 0x00}); // CONNACK, v5: success, no properties
                    out.flush();
                    acked = true;
                }
            }
        } catch (IOException e) {
            // closed
        }
    }

    @Override
    public void close() throws IOException {
        server.close();
        Socket s = socket;
        if (s != null) s.close();
    }
}
