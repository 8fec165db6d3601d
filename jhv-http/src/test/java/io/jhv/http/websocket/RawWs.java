package io.jhv.http.websocket;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ThreadLocalRandom;

/**
 * A deliberately plain WebSocket client on a blocking socket, for tests that need to misbehave
 * (never answer pings, read slowly, vanish) or to talk HTTP first on the same connection.
 */
final class RawWs implements AutoCloseable {
    final Socket socket;
    final DataInputStream in;
    final OutputStream out;

    /** A frame as read: opcode, FIN and payload. */
    record Frame(int opcode, boolean fin, byte[] payload) {
        String text() { return new String(payload, StandardCharsets.UTF_8); }
        int closeCode() { return payload.length >= 2 ? ((payload[0] & 0xff) << 8) | (payload[1] & 0xff) : 1005; }
    }

    RawWs(Socket socket) throws IOException {
        this.socket = socket;
        this.in = new DataInputStream(socket.getInputStream());
        this.out = socket.getOutputStream();
    }

    /** Connects and upgrades {@code path}; fails unless the answer is 101. */
    static RawWs open(int port, String path) throws IOException {
        Socket s = new Socket("127.0.0.1", port);
        s.setSoTimeout(20_000);
        RawWs ws = new RawWs(s);
        ws.upgrade(path);
        return ws;
    }

    /** Sends the upgrade request for {@code path} and reads the 101 head. */
    void upgrade(String path) throws IOException {
        out.write(("GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        String head = readHead();
        if (!head.startsWith("HTTP/1.1 101")) throw new IOException("no 101: " + head);
    }

    /** Reads an HTTP response head (up to the blank line). */
    String readHead() throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        int state = 0;
        while (state < 4) {
            int c = in.read();
            if (c < 0) throw new IOException("EOF in the response head: " + b);
            b.write(c);
            state = (c == '\r' && (state == 0 || state == 2)) || (c == '\n' && (state == 1 || state == 3)) ? state + 1 : 0;
        }
        return b.toString(StandardCharsets.ISO_8859_1);
    }

    void sendText(String s) throws IOException {
        send(1, s.getBytes(StandardCharsets.UTF_8), true);
    }

    /** Sends one masked frame. */
    void send(int opcode, byte[] payload, boolean fin) throws IOException {
        out.write(frame(opcode, payload, 0, payload.length, fin));
        out.flush();
    }

    /** A masked frame's bytes. */
    static byte[] frame(int opcode, byte[] p, int off, int len, boolean fin) {
        int hl = 2 + (len < 126 ? 0 : len < 65536 ? 2 : 8) + 4;
        byte[] f = new byte[hl + len];
        f[0] = (byte) ((fin ? 0x80 : 0) | opcode);
        int i = 2;
        if (len < 126) {
            f[1] = (byte) (0x80 | len);
        } else if (len < 65536) {
            f[1] = (byte) (0x80 | 126);
            f[2] = (byte) (len >> 8);
            f[3] = (byte) len;
            i = 4;
        } else {
            f[1] = (byte) (0x80 | 127);
            for (int k = 0; k < 8; k++) f[2 + k] = (byte) ((long) len >>> (56 - 8 * k));
            i = 10;
        }
        byte[] key = new byte[4];
        ThreadLocalRandom.current().nextBytes(key);
        System.arraycopy(key, 0, f, i, 4);
        i += 4;
        for (int k = 0; k < len; k++) f[i + k] = (byte) (p[off + k] ^ key[k & 3]);
        return f;
    }

    /** Reads one frame (server frames are not masked). */
    Frame read() throws IOException {
        int b0 = in.readUnsignedByte();
        int b1 = in.readUnsignedByte();
        long len = b1 & 0x7f;
        if (len == 126) len = in.readUnsignedShort();
        else if (len == 127) len = in.readLong();
        if ((b1 & 0x80) != 0) throw new IOException("masked frame from the server");
        byte[] p = new byte[(int) len];
        in.readFully(p);
        return new Frame(b0 & 0x0f, (b0 & 0x80) != 0, p);
    }

    /** Reads {@code n} payload bytes of a big frame slowly: {@code chunk} bytes, then a pause. */
    static void readSlowly(InputStream in, byte[] into, int chunk, long pauseMillis) throws IOException, InterruptedException {
        int off = 0;
        while (off < into.length) {
            int n = in.read(into, off, Math.min(chunk, into.length - off));
            if (n < 0) throw new IOException("EOF after " + off + " of " + into.length + " bytes");
            off += n;
            if (pauseMillis > 0) Thread.sleep(pauseMillis); // paces a slow reader; nothing waits on it
        }
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
