package io.jhv.core.net;

import io.jhv.core.buffer.Buffer;
import io.jhv.core.loop.Timer;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;

/**
 * Reads a PROXY protocol header (v1 text or v2 binary) at the start of an accepted connection,
 * before its transport layer starts: the server side of {@link ProxyProtocol}, run as
 * {@link LayerLink}'s raw stage. It consumes exactly the header; the client's bytes behind it stay
 * for the layer. A connection that does not start with a header is passed on untouched (the first
 * byte usually decides: only 'P' and CR can begin one).
 *
 * <pre>
 *  v1: "PROXY TCP4 203.0.113.7 10.0.0.1 56324 443\r\n"      (at most 107 bytes)
 *  v2: \r\n\r\n\0\r\nQUIT\n | 0x21 (v2, PROXY) | 0x11 (TCP4) | len(2) | src(4) dst(4) sport(2) dport(2) | TLVs
 * </pre>
 * Loop thread only.
 */
final class ProxyHeaderReader extends ProxyTunnel {
    static final byte[] V2_SIGNATURE = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};
    private static final byte[] V1_PREFIX = "PROXY ".getBytes(StandardCharsets.US_ASCII);
    static final int V1_MAX = 107;

    private final ProxyProtocol config;
    private final boolean trusted;
    private final SocketAddress socketAddress;
    private Connection conn;
    private Timer timer;
    private boolean done;

    ProxyHeaderReader(ProxyProtocol config, boolean trusted, SocketAddress socketAddress) {
        super(null, null, 0);
        this.config = config;
        this.trusted = trusted;
        this.socketAddress = socketAddress;
    }

    /** The connection this reader belongs to (set before it registers). */
    void bind(Connection c) {
        this.conn = c;
    }

    @Override
    void start(Sender out) {
        if (trusted) {
            timer = conn.loop().setTimeout(config.headerTimeoutMs(), () -> {
                if (!done && !conn.isClosed()) {
                    conn.closeInLoop(CloseCause.error("no complete PROXY protocol header from " + socketAddress
                            + " within " + config.headerTimeoutMs() + " ms", null), true);
                }
            });
        }
    }

    @Override
    boolean onRead(Buffer in, Sender out) throws ProxyException {
        int n = in.readableBytes();
        if (n == 0) return false;
        int v1 = prefixMatch(in, V1_PREFIX);
        int v2 = prefixMatch(in, V2_SIGNATURE);
        if (v1 < 0 && v2 < 0) return finish(null); // not a header: the client's own bytes
        if (v1 == 0 || v2 == 0) return false; // could still be one: wait for more bytes
        if (!trusted) {
            throw refuse("a PROXY protocol header from " + socketAddress + ", which is not a trusted source (" + config.sources() + ")");
        }
        return v1 > 0 ? readV1(in) : readV2(in);
    }

    /**
     * 1: {@code in} starts with all of {@code prefix}; 0: with a part of it (all it has so far);
     * -1: it differs.
     */
    private static int prefixMatch(Buffer in, byte[] prefix) {
        int n = Math.min(in.readableBytes(), prefix.length);
        for (int i = 0; i < n; i++) if (in.peek(i) != prefix[i]) return -1;
        return n == prefix.length ? 1 : 0;
    }

    private boolean readV1(Buffer in) throws ProxyException {
        int n = Math.min(in.readableBytes(), V1_MAX);
        int lf = -1;
        for (int i = 0; i < n; i++) {
            if (in.peek(i) == '\n') {
                lf = i;
                break;
            }
        }
        if (lf < 0) {
            if (in.readableBytes() >= V1_MAX) throw malformed("a v1 header longer than " + V1_MAX + " bytes");
            return false;
        }
        if (lf == 0 || in.peek(lf - 1) != '\r') throw malformed("a v1 header not ended by CRLF");
        String line = in.readString(lf + 1, StandardCharsets.US_ASCII);
        String[] f = line.substring(0, line.length() - 2).split(" ", -1);
        if (f.length >= 2 && f[1].equals("UNKNOWN")) return finish(null);
        if (f.length != 6 || !(f[1].equals("TCP4") || f[1].equals("TCP6"))) throw malformed("a bad v1 header: " + printable(line));
        byte[] src = ProxyProtocol.literal(f[2]);
        byte[] dst = ProxyProtocol.literal(f[3]);
        int want = f[1].equals("TCP4") ? 4 : 16;
        if (src == null || dst == null || src.length != want || dst.length != want
                || (want == 16 && f[2].indexOf(':') < 0)) {
            throw malformed("bad addresses in a v1 header: " + printable(line));
        }
        int sport = port(f[4], line);
        port(f[5], line);
        return finish(address(src, sport));
    }

    private int port(String s, String line) throws ProxyException {
        if (s.isEmpty() || s.length() > 5 || (s.length() > 1 && s.charAt(0) == '0')) throw malformed("a bad port in a v1 header: " + printable(line));
        for (int i = 0; i < s.length(); i++) if (s.charAt(i) < '0' || s.charAt(i) > '9') throw malformed("a bad port in a v1 header: " + printable(line));
        int p = Integer.parseInt(s);
        if (p > 65535) throw malformed("a bad port in a v1 header: " + printable(line));
        return p;
    }

    private boolean readV2(Buffer in) throws ProxyException {
        if (in.readableBytes() < 16) return false;
        int verCmd = in.peekUnsignedByte(12);
        int fam = in.peekUnsignedByte(13);
        int len = in.peekShort(14) & 0xffff;
        if ((verCmd >> 4) != 2) throw malformed("a v2 header with version " + (verCmd >> 4));
        int cmd = verCmd & 0x0f;
        if (cmd > 1) throw malformed("a v2 header with command " + cmd);
        if (in.readableBytes() < 16 + len) return false; // at most 64 KiB + 16: bounded
        in.skip(16);
        int start = in.readerIndex();
        SocketAddress source = null;
        if (cmd == 1) { // PROXY: the addresses are the client's (LOCAL: the balancer's own connection)
            int af = fam >> 4;
            if (af == 1 || af == 2) {
                int alen = af == 1 ? 4 : 16;
                if (len < 2 * alen + 4) throw malformed("a v2 header too short for its addresses (" + len + " bytes)");
                byte[] src = new byte[alen];
                in.readBytes(src, 0, alen);
                in.skip(alen);
                int sport = in.readUnsignedShort();
                source = address(src, sport);
            } else if (af != 0 && af != 3) {
                throw malformed("a v2 header with address family " + af);
            }
        }
        in.readerIndex(start + len); // TLVs and UNIX addresses: skipped
        return finish(source);
    }

    private static SocketAddress address(byte[] ip, int port) throws ProxyException {
        try {
            return new InetSocketAddress(InetAddress.getByAddress(ip), port);
        } catch (UnknownHostException e) {
            throw new ProxyException(null, ProxyException.Reason.PROTOCOL, -1, "PROXY protocol: bad address");
        }
    }

    private boolean finish(SocketAddress source) {
        done = true;
        if (timer != null) timer.cancel();
        if (source != null) conn.proxied(source);
        return true;
    }

    private ProxyException malformed(String what) {
        return new ProxyException(null, ProxyException.Reason.PROTOCOL, -1,
                "PROXY protocol: " + what + " from " + socketAddress + "; connection closed");
    }

    private ProxyException refuse(String what) {
        return new ProxyException(null, ProxyException.Reason.REFUSED, -1, "PROXY protocol: " + what + "; connection refused");
    }

    @Override
    ProxyException closedEarly() {
        return new ProxyException(null, ProxyException.Reason.CLOSED, -1, "PROXY protocol: " + socketAddress + " closed before its header ended");
    }
}
