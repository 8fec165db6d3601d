package io.jhv.core.net;

import io.jhv.core.buffer.Buffer;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.util.Base64;

/**
 * The handshake that opens a tunnel through a {@link Proxy}, run in plaintext on a client
 * connection right after the TCP connect to the proxy and before its transport layer (TLS)
 * starts: the raw pre-layer stage of {@link LayerLink}. One per connect attempt; loop thread only.
 *
 * <pre>
 *  HTTP:   -> CONNECT host:port HTTP/1.1 (+ Proxy-Authorization)   <- HTTP/1.1 2xx ... CRLF CRLF
 *  SOCKS5: -> 05 n methods  <- 05 m  [-> 01 user pass  <- 01 00]  -> 05 01 00 atyp addr port  <- 05 00 00 atyp addr port
 * </pre>
 * {@link #onRead} consumes exactly the proxy's reply: whatever follows it (the target's first
 * bytes, rare but legal) stays in the buffer for the layer or the protocol handler.
 */
abstract sealed class ProxyTunnel permits ProxyTunnel.HttpConnect, ProxyTunnel.Socks5, ProxyHeaderReader {
    /** Most bytes of a CONNECT reply head we read before calling it garbage. */
    static final int MAX_REPLY_HEAD = 16 * 1024;

    /** Where the handshake's requests go (the socket, ahead of anything else). */
    interface Sender {
        void send(byte[] bytes);
    }

    final Proxy proxy;
    final String host; // the target, as sent to the proxy (a name, or a literal)
    final int port;

    ProxyTunnel(Proxy proxy, String host, int port) {
        this.proxy = proxy;
        this.host = host;
        this.port = port;
    }

    static ProxyTunnel of(Proxy proxy, String host, int port) {
        return switch (proxy.type()) {
            case HTTP -> new HttpConnect(proxy, host, port);
            case SOCKS5 -> new Socks5(proxy, host, port);
            case DIRECT -> throw new IllegalArgumentException("no tunnel without a proxy");
        };
    }

    /** Sends the first request. */
    abstract void start(Sender out) throws ProxyException;

    /**
     * Proxy bytes in: consumes what it can of {@code in} (only the reply, never what follows it).
     * True when the tunnel is up; false when it needs more bytes.
     *
     * @throws ProxyException when the proxy refused, failed our credentials or spoke garbage
     */
    abstract boolean onRead(Buffer in, Sender out) throws ProxyException;

    /** What the proxy's closing the connection now means. */
    abstract ProxyException closedEarly();

    String target() {
        return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + port;
    }

    ProxyException error(ProxyException.Reason reason, int code, String what) {
        return new ProxyException(proxy, reason, code, "proxy " + proxy + " " + what);
    }

    // ------------------------------------------------------------------------------------ HTTP

    /** {@code CONNECT host:port HTTP/1.1}; a 2xx reply opens the tunnel. */
    static final class HttpConnect extends ProxyTunnel {
        private static final byte[] CRLF_CRLF = {'\r', '\n', '\r', '\n'};
        private int scanned; // bytes of the reply head searched already (no rescans on a slow proxy)

        HttpConnect(Proxy proxy, String host, int port) {
            super(proxy, host, port);
        }

        @Override
        void start(Sender out) {
            String t = target();
            StringBuilder sb = new StringBuilder(128)
                    .append("CONNECT ").append(t).append(" HTTP/1.1\r\n")
                    .append("Host: ").append(t).append("\r\n");
            if (proxy.user() != null) {
                String cred = proxy.user() + ":" + proxy.password();
                sb.append("Proxy-Authorization: Basic ")
                        .append(Base64.getEncoder().encodeToString(cred.getBytes(StandardCharsets.UTF_8))).append("\r\n");
            }
            sb.append("\r\n");
            out.send(sb.toString().getBytes(StandardCharsets.ISO_8859_1));
        }

        @Override
        boolean onRead(Buffer in, Sender out) throws ProxyException {
            for (;;) {
                checkLooksLikeHttp(in);
                int end = in.indexOf(CRLF_CRLF, Math.max(0, scanned - 3));
                if (end < 0) {
                    scanned = in.readableBytes();
                    if (scanned > MAX_REPLY_HEAD) {
                        throw error(ProxyException.Reason.PROTOCOL, -1, "sent a CONNECT reply head longer than " + MAX_REPLY_HEAD + " bytes");
                    }
                    return false;
                }
                scanned = 0;
                String head = in.readString(end + 4, StandardCharsets.ISO_8859_1);
                int eol = head.indexOf("\r\n");
                String statusLine = head.substring(0, eol);
                int status = status(statusLine);
                if (status >= 200 && status < 300) return true; // no body on a 2xx CONNECT reply (RFC 9110 9.3.6)
                if (status >= 100 && status < 200) continue;    // interim: the real reply follows
                // 407 asks for credentials; tinyproxy answers wrong ones with 401.
                boolean auth = status == 407 || status == 401;
                ProxyException.Reason r = auth ? ProxyException.Reason.AUTHENTICATION : ProxyException.Reason.REFUSED;
                throw error(r, status, "refused CONNECT " + target() + ": " + printable(statusLine)
                        + (auth ? (proxy.user() == null ? " (no credentials were sent)" : " (credentials for " + proxy.user() + " rejected)") : ""));
            }
        }

        /** Fails at once on bytes that cannot start an HTTP reply, rather than waiting for 16 KiB of them. */
        private void checkLooksLikeHttp(Buffer in) throws ProxyException {
            int n = Math.min(5, in.readableBytes());
            for (int i = 0; i < n; i++) {
                if (in.peek(i) != "HTTP/".charAt(i)) {
                    throw error(ProxyException.Reason.PROTOCOL, -1, "did not answer CONNECT " + target() + " with HTTP: "
                            + printable(new String(in.array(), in.readerIndex(), Math.min(40, in.readableBytes()), StandardCharsets.ISO_8859_1)));
                }
            }
        }

        private int status(String line) throws ProxyException {
            // HTTP/1.1 200 Connection established
            if (line.length() >= 12 && line.startsWith("HTTP/") && line.charAt(8) == ' ') {
                int code = 0;
                for (int i = 9; i < 12; i++) {
                    char ch = line.charAt(i);
                    if (ch < '0' || ch > '9') {
                        code = -1;
                        break;
                    }
                    code = code * 10 + (ch - '0');
                }
                if (code >= 100 && (line.length() == 12 || line.charAt(12) == ' ')) return code;
            }
            throw error(ProxyException.Reason.PROTOCOL, -1, "sent a malformed status line for CONNECT " + target() + ": " + printable(line));
        }

        @Override
        ProxyException closedEarly() {
            return error(ProxyException.Reason.CLOSED, -1, "closed the connection before answering CONNECT " + target());
        }
    }

    /** What a peer sent, safe to put in a message: printable ASCII, the rest escaped, at most 200 chars. */
    static String printable(String s) {
        StringBuilder sb = new StringBuilder(Math.min(s.length(), 200) + 8);
        for (int i = 0; i < s.length() && sb.length() < 200; i++) {
            char c = s.charAt(i);
            if (c >= 0x20 && c < 0x7f) sb.append(c);
            else sb.append(String.format("\\x%02x", (int) c));
        }
        if (sb.length() >= 200) sb.append("...");
        return sb.toString();
    }

    // ------------------------------------------------------------------------------------ SOCKS5

    /** RFC 1928 with RFC 1929 username/password. */
    static final class Socks5 extends ProxyTunnel {
        private static final int NO_AUTH = 0x00, USER_PASS = 0x02, NO_ACCEPTABLE = 0xff;
        private static final int ATYP_V4 = 1, ATYP_DOMAIN = 3, ATYP_V6 = 4;

        private enum Step { METHOD, AUTH, CONNECT }

        private Step step = Step.METHOD;

        Socks5(Proxy proxy, String host, int port) {
            super(proxy, host, port);
        }

        @Override
        void start(Sender out) {
            out.send(proxy.user() != null ? new byte[] {5, 2, NO_AUTH, USER_PASS} : new byte[] {5, 1, NO_AUTH});
        }

        @Override
        boolean onRead(Buffer in, Sender out) throws ProxyException {
            for (;;) {
                switch (step) {
                    case METHOD -> {
                        if (in.readableBytes() < 2) {
                            checkVersion(in, 5);
                            return false;
                        }
                        checkVersion(in, 5);
                        in.skip(1);
                        int m = in.readUnsignedByte();
                        if (m == NO_ACCEPTABLE) {
                            throw error(ProxyException.Reason.AUTHENTICATION, -1, "accepts none of the authentication methods offered ("
                                    + (proxy.user() != null ? "none, username/password" : "none: it may need credentials") + ")");
                        }
                        if (m == USER_PASS && proxy.user() != null) {
                            byte[] u = proxy.user().getBytes(StandardCharsets.UTF_8);
                            byte[] p = proxy.password().getBytes(StandardCharsets.UTF_8);
                            byte[] msg = new byte[3 + u.length + p.length];
                            msg[0] = 1;
                            msg[1] = (byte) u.length;
                            System.arraycopy(u, 0, msg, 2, u.length);
                            msg[2 + u.length] = (byte) p.length;
                            System.arraycopy(p, 0, msg, 3 + u.length, p.length);
                            out.send(msg);
                            step = Step.AUTH;
                        } else if (m == NO_AUTH) {
                            out.send(connectRequest());
                            step = Step.CONNECT;
                        } else {
                            throw error(ProxyException.Reason.PROTOCOL, -1, "chose authentication method " + m + ", which was not offered");
                        }
                    }
                    case AUTH -> {
                        if (in.readableBytes() < 2) return false;
                        in.skip(1); // the sub-negotiation version: 1 (some proxies say 5); only the status counts
                        int status = in.readUnsignedByte();
                        if (status != 0) {
                            throw error(ProxyException.Reason.AUTHENTICATION, status, "rejected the username/password of user " + proxy.user()
                                    + " (status " + status + ")");
                        }
                        out.send(connectRequest());
                        step = Step.CONNECT;
                    }
                    case CONNECT -> {
                        if (in.readableBytes() < 2) {
                            checkVersion(in, 5);
                            return false;
                        }
                        checkVersion(in, 5);
                        int rep = in.peekUnsignedByte(1);
                        if (rep != 0) {
                            in.skip(in.readableBytes() < 10 ? in.readableBytes() : 10); // nothing follows a failure: the proxy closes
                            throw error(ProxyException.Reason.REFUSED, rep,
                                    "refused CONNECT " + target() + ": SOCKS5 reply " + rep + " (" + replyText(rep) + ")");
                        }
                        if (in.readableBytes() < 5) return false;
                        int atyp = in.peekUnsignedByte(3);
                        int len = switch (atyp) {
                            case ATYP_V4 -> 4 + 4 + 2;
                            case ATYP_V6 -> 4 + 16 + 2;
                            case ATYP_DOMAIN -> 4 + 1 + in.peekUnsignedByte(4) + 2;
                            default -> throw error(ProxyException.Reason.PROTOCOL, -1, "sent a SOCKS5 reply with address type " + atyp);
                        };
                        if (in.readableBytes() < len) return false;
                        in.skip(len); // the bound address: of no use to a client
                        return true;
                    }
                    default -> throw new IllegalStateException(step.toString());
                }
            }
        }

        private void checkVersion(Buffer in, int version) throws ProxyException {
            if (in.readableBytes() > 0 && in.peekUnsignedByte(0) != version) {
                throw error(ProxyException.Reason.PROTOCOL, -1, "is not a SOCKS5 proxy: its reply starts with "
                        + printable(new String(in.array(), in.readerIndex(), Math.min(40, in.readableBytes()), StandardCharsets.ISO_8859_1)));
            }
        }

        /** VER CMD=CONNECT RSV ATYP DST.ADDR DST.PORT; an IP literal as its address, else the name (resolved by the proxy). */
        private byte[] connectRequest() throws ProxyException {
            byte[] addr = literal(host);
            byte[] msg;
            int i;
            if (addr != null) {
                msg = new byte[4 + addr.length + 2];
                msg[3] = (byte) (addr.length == 4 ? ATYP_V4 : ATYP_V6);
                System.arraycopy(addr, 0, msg, 4, addr.length);
                i = 4 + addr.length;
            } else {
                byte[] name = java.net.IDN.toASCII(host, java.net.IDN.ALLOW_UNASSIGNED).getBytes(StandardCharsets.US_ASCII);
                if (name.length == 0 || name.length > 255) {
                    throw error(ProxyException.Reason.PROTOCOL, -1, "cannot be sent host name " + host + ": SOCKS5 names have 1 to 255 bytes");
                }
                msg = new byte[4 + 1 + name.length + 2];
                msg[3] = ATYP_DOMAIN;
                msg[4] = (byte) name.length;
                System.arraycopy(name, 0, msg, 5, name.length);
                i = 5 + name.length;
            }
            msg[0] = 5;
            msg[1] = 1; // CONNECT
            msg[2] = 0;
            msg[i] = (byte) (port >>> 8);
            msg[i + 1] = (byte) port;
            return msg;
        }

        private static byte[] literal(String h) {
            if (!Connector.isLiteral(h)) return null;
            try {
                return InetAddress.getByName(h).getAddress(); // a literal: no lookup
            } catch (UnknownHostException e) {
                return null;
            }
        }

        static String replyText(int rep) {
            return switch (rep) {
                case 1 -> "general SOCKS server failure";
                case 2 -> "connection not allowed by ruleset";
                case 3 -> "network unreachable";
                case 4 -> "host unreachable";
                case 5 -> "connection refused";
                case 6 -> "TTL expired";
                case 7 -> "command not supported";
                case 8 -> "address type not supported";
                default -> "unassigned reply code";
            };
        }

        @Override
        ProxyException closedEarly() {
            String when = switch (step) {
                case METHOD -> "before choosing an authentication method";
                case AUTH -> "after our username/password (rejected?)";
                case CONNECT -> "before answering CONNECT " + target();
            };
            return error(ProxyException.Reason.CLOSED, -1, "closed the connection " + when);
        }
    }
}
