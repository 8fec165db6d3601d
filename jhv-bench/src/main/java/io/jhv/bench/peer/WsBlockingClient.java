package io.jhv.bench.peer;

import java.io.EOFException;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ProtocolException;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.Locale;

/**
 * A minimal blocking WebSocket client over a {@link SocketChannel}, for the JMH benchmark and the
 * peers' tests: the upgrade handshake with a fixed key (checks {@code 101} and
 * {@code Sec-WebSocket-Accept}), then one prepared, masked frame sent again and again and its echo
 * read whole. {@link #roundTrip()} allocates nothing (direct buffers, the frame built once), so in
 * a benchmark the allocation measured is the server's.
 *
 * <p>Not thread-safe: one thread uses it.
 */
public final class WsBlockingClient implements AutoCloseable {
    private static final String KEY = "dGhlIHNhbXBsZSBub25jZQ==";
    private static final String ACCEPT = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";
    private static final byte[] MASK = {0x37, (byte) 0xfa, 0x21, 0x3d};

    private final SocketChannel ch;
    private final boolean deflate;
    private final String response;
    private ByteBuffer out;
    private ByteBuffer in;

    private WsBlockingClient(SocketChannel ch, boolean deflate, String response) {
        this.ch = ch;
        this.deflate = deflate;
        this.response = response;
    }

    /**
     * Connects to {@code host:port}, upgrades at {@code path} (offering permessage-deflate if
     * {@code offerDeflate}) and returns the open client.
     *
     * @throws ProtocolException when the answer is not a valid 101
     */
    public static WsBlockingClient connect(String host, int port, String path, boolean offerDeflate) throws IOException {
        SocketChannel ch = SocketChannel.open(new InetSocketAddress(host, port));
        try {
            ch.setOption(StandardSocketOptions.TCP_NODELAY, true);
            String req = "GET " + path + " HTTP/1.1\r\nHost: " + host + ":" + port + "\r\nUpgrade: websocket\r\n"
                    + "Connection: Upgrade\r\nSec-WebSocket-Key: " + KEY + "\r\nSec-WebSocket-Version: 13\r\n"
                    + (offerDeflate ? "Sec-WebSocket-Extensions: permessage-deflate\r\n" : "") + "\r\n";
            ByteBuffer r = ByteBuffer.wrap(req.getBytes(StandardCharsets.US_ASCII));
            while (r.hasRemaining()) ch.write(r);
            // Byte by byte up to the blank line: the frames after it are not ours to take here.
            StringBuilder head = new StringBuilder();
            ByteBuffer one = ByteBuffer.allocate(1);
            while (head.length() < 4 || !head.substring(head.length() - 4).equals("\r\n\r\n")) {
                one.clear();
                if (ch.read(one) < 0) throw new EOFException("the server closed the connection during the handshake: " + head);
                head.append((char) (one.get(0) & 0xff));
                if (head.length() > 16384) throw new ProtocolException("handshake answer too long");
            }
            String resp = head.toString();
            if (!resp.startsWith("HTTP/1.1 101")) throw new ProtocolException("not upgraded: " + resp);
            String accept = header(resp, "sec-websocket-accept");
            if (!ACCEPT.equals(accept.substring(accept.indexOf(':') + 1).trim())) {
                throw new ProtocolException("bad Sec-WebSocket-Accept: " + resp);
            }
            boolean agreed = header(resp, "sec-websocket-extensions").toLowerCase(Locale.ROOT).contains("permessage-deflate");
            if (agreed && !offerDeflate) throw new ProtocolException("an extension agreed that was not offered: " + resp);
            return new WsBlockingClient(ch, agreed, resp);
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    /** The header line {@code name: value} as it came (name matched case-insensitively), or "". */
    private static String header(String resp, String name) {
        for (String line : resp.split("\r\n")) {
            if (line.toLowerCase(Locale.ROOT).startsWith(name + ":")) return line;
        }
        return "";
    }

    /** True if the server agreed to permessage-deflate. */
    public boolean deflateAgreed() {
        return deflate;
    }

    /** The server's 101 answer, headers included. */
    public String handshakeResponse() {
        return response;
    }

    /** Builds the one masked, final, uncompressed frame {@link #roundTrip()} sends. */
    public void prepare(byte[] payload, boolean text) {
        prepare(payload, text, false);
    }

    /**
     * Builds the one masked, final frame {@link #roundTrip()} sends; with {@code compress} (only
     * when permessage-deflate was agreed) its payload is deflated once, here, with a fresh context
     * (raw deflate, sync flush, the 00 00 ff ff tail removed) and RSV1 is set: a valid compressed
     * message for a server with or without context takeover, so it can be sent again and again.
     */
    public void prepare(byte[] payload, boolean text, boolean compress) {
        if (compress && !deflate) throw new IllegalStateException("permessage-deflate was not agreed");
        int rsv1 = 0;
        int plainLength = payload.length;
        if (compress) {
            java.util.zip.Deflater d = new java.util.zip.Deflater(6, true);
            d.setInput(payload);
            byte[] z = new byte[payload.length + 64];
            int k = d.deflate(z, 0, z.length, java.util.zip.Deflater.SYNC_FLUSH);
            d.end();
            if (k < 4 || k == z.length || z[k - 4] != 0 || z[k - 3] != 0 || z[k - 2] != -1 || z[k - 1] != -1) {
                throw new IllegalStateException("deflate did not end with a sync flush");
            }
            payload = java.util.Arrays.copyOf(z, k - 4);
            rsv1 = 0x40;
        }
        int n = payload.length;
        int ext = n < 126 ? 0 : n < 65536 ? 2 : 8;
        out = ByteBuffer.allocateDirect(2 + ext + 4 + n);
        out.put((byte) (0x80 | rsv1 | (text ? 1 : 2)));
        if (ext == 0) {
            out.put((byte) (0x80 | n));
        } else if (ext == 2) {
            out.put((byte) (0x80 | 126)).putShort((short) n);
        } else {
            out.put((byte) (0x80 | 127)).putLong(n);
        }
        out.put(MASK);
        for (int i = 0; i < n; i++) out.put((byte) (payload[i] ^ MASK[i & 3]));
        out.flip();
        in = ByteBuffer.allocateDirect(Math.max(2 + ext + Math.max(n, plainLength), 14) + 1024); // an echo may come back compressed or not
    }

    /**
     * Sends the prepared frame and reads one whole frame back; returns its first byte (FIN, RSV,
     * opcode). Allocates nothing.
     *
     * @throws ProtocolException on a masked or oversized reply
     */
    public int roundTrip() throws IOException {
        out.rewind();
        while (out.hasRemaining()) ch.write(out);
        in.clear();
        while (in.position() < 2) fill();
        int len7 = in.get(1) & 0x7f;
        if ((in.get(1) & 0x80) != 0) throw new ProtocolException("the server sent a masked frame");
        int hdr = 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0);
        while (in.position() < hdr) fill();
        long len = len7 == 126 ? in.getShort(2) & 0xffff : len7 == 127 ? in.getLong(2) : len7;
        if (hdr + len > in.capacity()) throw new ProtocolException("echo of " + len + " bytes is larger than sent");
        int end = (int) (hdr + len);
        in.limit(end); // one frame in flight: nothing follows it
        while (in.position() < end) fill();
        return in.get(0) & 0xff;
    }

    private void fill() throws IOException {
        if (ch.read(in) < 0) throw new EOFException("the server closed the connection");
    }

    /** A copy of the last echo's payload (allocates; for tests). */
    public byte[] lastPayload() {
        int len7 = in.get(1) & 0x7f;
        int hdr = 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0);
        byte[] b = new byte[in.limit() - hdr];
        in.get(hdr, b);
        return b;
    }

    @Override
    public void close() throws IOException {
        ch.close();
    }
}
