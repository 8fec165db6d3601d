package io.jhv.http.client;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A hostile (or just hand-written) HTTP server for client tests: a blocking ServerSocket on
 * 127.0.0.1, one virtual thread per connection running a script. Counts connections and request
 * heads read through {@link Conn#readHead()}.
 */
final class RawServer implements AutoCloseable {
    interface Script {
        void run(Conn c) throws Exception;
    }

    final ServerSocket socket;
    final AtomicInteger connections = new AtomicInteger();
    final AtomicInteger requests = new AtomicInteger();
    final List<String> heads = new CopyOnWriteArrayList<>();
    private final List<Socket> open = new CopyOnWriteArrayList<>();
    private final Thread acceptor;

    RawServer(Script script) throws IOException {
        this(0, script);
    }

    /** With the accepted sockets' receive buffer set to {@code receiveBuffer} bytes (0: the default). */
    RawServer(int receiveBuffer, Script script) throws IOException {
        socket = new ServerSocket();
        if (receiveBuffer > 0) socket.setReceiveBufferSize(receiveBuffer);
        socket.bind(new java.net.InetSocketAddress(InetAddress.getByName("127.0.0.1"), 0), 100);
        acceptor = Thread.ofPlatform().daemon().name("raw-server").start(() -> {
            while (!socket.isClosed()) {
                Socket s;
                try {
                    s = socket.accept();
                } catch (IOException e) {
                    return;
                }
                open.add(s);
                int n = connections.incrementAndGet();
                Thread.ofPlatform().daemon().name("raw-server").start(() -> {
                    try (s) {
                        script.run(new Conn(this, s, n));
                    } catch (Exception ignored) {
                        // the client went away, or the script ended by failing on purpose
                    }
                });
            }
        });
    }

    int port() { return socket.getLocalPort(); }

    String url(String path) { return "http://127.0.0.1:" + port() + path; }

    @Override
    public void close() throws IOException {
        socket.close();
        for (Socket s : open) s.close();
    }

    static final class Conn {
        final RawServer server;
        final Socket s;
        final int index;
        final InputStream in;
        final OutputStream out;

        Conn(RawServer server, Socket s, int index) throws IOException {
            this.server = server;
            this.s = s;
            this.index = index;
            this.in = s.getInputStream();
            this.out = s.getOutputStream();
        }

        /** Reads a request head (through the blank line); null at EOF. Counts it. */
        String readHead() throws IOException {
            ByteArrayOutputStream b = new ByteArrayOutputStream();
            int state = 0;
            while (state < 4) {
                int c = in.read();
                if (c < 0) return null;
                b.write(c);
                state = (c == '\r' && (state == 0 || state == 2)) ? state + 1 : (c == '\n' && (state == 1 || state == 3)) ? state + 1 : 0;
            }
            String h = b.toString(StandardCharsets.ISO_8859_1);
            server.requests.incrementAndGet();
            server.heads.add(h);
            return h;
        }

        /** Reads a request with a Content-Length body; returns the body. */
        byte[] readBody(String head) throws IOException {
            int len = 0;
            for (String line : head.split("\r\n")) {
                if (line.toLowerCase().startsWith("content-length:")) len = Integer.parseInt(line.substring(15).trim());
            }
            return in.readNBytes(len);
        }

        void write(String s) throws IOException {
            out.write(s.getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
        }

        void write(byte[] b) throws IOException {
            out.write(b);
            out.flush();
        }
    }
}
