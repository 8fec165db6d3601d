package io.jhv.mqtt;

import io.jhv.core.buffer.Buffer;
import io.jhv.mqtt.internal.Codec;
import io.jhv.mqtt.internal.Packet;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;

/**
 * A broker played by the test on a raw {@link ServerSocket}: it accepts, reads the client's packets
 * and writes whatever the test wants, well formed or not (a hostile or a silent broker).
 */
final class ScriptedBroker implements AutoCloseable {
    private final ServerSocket server;

    ScriptedBroker() throws IOException {
        server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        server.setSoTimeout(10_000);
    }

    int port() { return server.getLocalPort(); }

    String url() { return "mqtt://127.0.0.1:" + port(); }

    /** Waits for the next client connection. */
    Peer accept() throws IOException {
        Socket s = server.accept();
        s.setTcpNoDelay(true);
        return new Peer(s);
    }

    @Override
    public void close() throws IOException { server.close(); }

    static final class Peer implements AutoCloseable {
        final Socket socket;
        private final InputStream in;
        private final Buffer buf = Buffer.allocate(1024);
        private final Codec.Decoder decoder = new Codec.Decoder(5, 1 << 24);
        int level = 5;

        Peer(Socket s) throws IOException {
            socket = s;
            in = s.getInputStream();
        }

        /** The next packet from the client, or null if none comes within {@code millis} (or the client closed: see {@link #closedByClient}). */
        Packet read(int millis) throws IOException {
            long deadline = System.currentTimeMillis() + millis;
            byte[] chunk = new byte[4096];
            while (true) {
                Packet p = decoder.decode(buf);
                if (p != null) {
                    if (p instanceof Packet.Connect c) {
                        level = c.protocolLevel();
                        decoder.level(level);
                    }
                    return p;
                }
                long left = deadline - System.currentTimeMillis();
                if (left <= 0) return null;
                socket.setSoTimeout((int) left);
                int n;
                try {
                    n = in.read(chunk);
                } catch (SocketTimeoutException e) {
                    return null;
                } catch (IOException reset) {
                    eof = true;
                    return null;
                }
                if (n < 0) {
                    eof = true;
                    return null;
                }
                buf.write(chunk, 0, n);
            }
        }

        private boolean eof;

        /** True once a read saw the client close the connection. */
        boolean closedByClient() { return eof; }

        /** Reads until the client closes, up to {@code millis}; true if it did. */
        boolean awaitClose(int millis) throws IOException {
            long deadline = System.currentTimeMillis() + millis;
            while (!eof && System.currentTimeMillis() < deadline) read((int) Math.max(1, deadline - System.currentTimeMillis()));
            return eof;
        }

        @SuppressWarnings("unchecked")
        <P extends Packet> P expect(Class<P> type) throws IOException {
            Packet p = read(5000);
            if (!type.isInstance(p)) throw new AssertionError("expected " + type.getSimpleName() + ", got " + p + (eof ? " (client closed)" : ""));
            return (P) p;
        }

        void send(Packet p) throws IOException { write(Codec.encode(p, level)); }

        void write(byte... bytes) throws IOException {
            socket.getOutputStream().write(bytes);
            socket.getOutputStream().flush();
        }

        void writeInts(int... bytes) throws IOException {
            byte[] b = new byte[bytes.length];
            for (int i = 0; i < b.length; i++) b[i] = (byte) bytes[i];
            write(b);
        }

        /** Reads CONNECT and accepts it. */
        Packet.Connect handshake(io.jhv.mqtt.MqttProperties connAckProps) throws IOException {
            Packet.Connect c = expect(Packet.Connect.class);
            send(new Packet.ConnAck(false, 0, connAckProps));
            return c;
        }

        @Override
        public void close() throws IOException { socket.close(); }
    }
}
