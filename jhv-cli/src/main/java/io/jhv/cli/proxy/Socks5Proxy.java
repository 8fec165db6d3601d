package io.jhv.cli.proxy;

import io.jhv.core.buffer.Buffer;
import io.jhv.core.net.Connection;
import io.jhv.core.net.TcpServer;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.util.Objects;

/**
 * A SOCKS5 proxy ({@code hv proxy socks5}, RFC 1928, with the username/password method of RFC 1929;
 * libhv's {@code socks5_proxy_server}).
 *
 * <p>CONNECT to a domain name, an IPv4 or an IPv6 address; on success the reply carries the
 * address the proxy connected from, and the two connections are piped
 * ({@link io.jhv.core.net.Upstream}: back-pressure both ways, half-closes passed on). Reply codes:
 * 0 success, 1 general failure, 2 not allowed by the {@link Destinations}, 3 network unreachable, 4 host
 * unreachable (also an unknown name and a connect timeout), 5 connection refused, 7 command not
 * supported (BIND), 8 address type not supported. UDP ASSOCIATE opens a relay for the client
 * ({@link Socks5Udp}) that lives as long as the control connection. With {@link Credentials} only
 * the username/password method is offered (a client without it gets method 0xFF) and wrong
 * credentials get status 1, then the connection is closed.
 *
 * <p>Thread contract: {@link #install} configures a server before its {@code start()}; each client
 * connection is handled on its loop.
 */
public final class Socks5Proxy {
    static final int VERSION = 5;
    static final int NO_AUTH = 0, USER_PASS = 2, NO_METHOD = 0xFF;
    static final int CMD_CONNECT = 1, CMD_UDP_ASSOCIATE = 3;
    static final int ATYP_IPV4 = 1, ATYP_DOMAIN = 3, ATYP_IPV6 = 4;
    static final int SUCCEEDED = 0, GENERAL_FAILURE = 1, NOT_ALLOWED = 2, NETWORK_UNREACHABLE = 3, HOST_UNREACHABLE = 4,
            REFUSED = 5, COMMAND_NOT_SUPPORTED = 7, ADDRESS_TYPE_NOT_SUPPORTED = 8;

    private final Dialer dialer;
    private final Credentials credentials;
    private final Destinations destinations;
    private final ProxyLog log;
    private final long handshakeTimeoutMs;

    private Socks5Proxy(Dialer dialer, Credentials credentials, Destinations destinations, java.time.Duration handshakeTimeout, ProxyLog log) {
        this.handshakeTimeoutMs = Math.max(1, handshakeTimeout.toMillis());
        this.dialer = Objects.requireNonNull(dialer, "dialer");
        this.credentials = credentials;
        this.destinations = Objects.requireNonNull(destinations, "destinations");
        this.log = Objects.requireNonNull(log, "log");
    }

    /**
     * Makes {@code server} a SOCKS5 proxy; takes over its {@code onConnection}, {@code onMessage} and
     * {@code onPeerShutdown} and each connection's context. Before {@code start()}.
     *
     * @param credentials      required username/password, or null for none
     * @param handshakeTimeout how long a client may take to finish its handshake and request (then it is closed)
     * @return {@code server}
     */
    public static TcpServer install(TcpServer server, Dialer dialer, Credentials credentials, Destinations destinations,
                                    java.time.Duration handshakeTimeout, ProxyLog log) {
        Socks5Proxy p = new Socks5Proxy(dialer, credentials, destinations, handshakeTimeout, log);
        return server
                .onConnection(c -> {
                    if (c.isConnected() && c.context() == null) new SocksSession(p, c);
                })
                .onMessage((c, buf) -> buf.skip(buf.readableBytes())) // replaced per connection
                .onPeerShutdown(Dialer::peerShutdown);
    }

    private static final class SocksSession extends Session {
        private enum Stage { GREETING, AUTH, REQUEST, CONNECTING, UDP }

        private final Socks5Proxy proxy;
        private Stage stage = Stage.GREETING;

        SocksSession(Socks5Proxy proxy, Connection down) {
            super(down, proxy.log);
            this.proxy = proxy;
            greetingTimeout(proxy.handshakeTimeoutMs);
        }

        @Override
        boolean greetingDone() {
            return stage == Stage.UDP || stage == Stage.CONNECTING;
        }

        @Override
        void onInput(Buffer in) {
            if (stage == Stage.UDP) {
                in.skip(in.readableBytes()); // the control connection carries nothing
                return;
            }
            while (stage != Stage.CONNECTING && down.isConnected()) {
                boolean progressed = switch (stage) {
                    case GREETING -> greeting(in);
                    case AUTH -> auth(in);
                    case REQUEST -> request(in);
                    default -> false;
                };
                if (!progressed) return;
            }
        }

        private boolean greeting(Buffer in) {
            if (in.readableBytes() < 2) return false;
            if (in.peekUnsignedByte(0) != VERSION) {
                proxy.log.info(down, "not SOCKS5 (version byte " + in.peekUnsignedByte(0) + "); closing");
                in.skip(in.readableBytes());
                down.abort();
                return false;
            }
            int n = in.peekUnsignedByte(1);
            if (in.readableBytes() < 2 + n) return false;
            in.skip(2);
            boolean noAuth = false, userPass = false;
            for (int i = 0; i < n; i++) {
                int m = in.readUnsignedByte();
                noAuth |= m == NO_AUTH;
                userPass |= m == USER_PASS;
            }
            int method = proxy.credentials != null ? (userPass ? USER_PASS : NO_METHOD) : (noAuth ? NO_AUTH : NO_METHOD);
            down.write(new byte[] {VERSION, (byte) method});
            if (method == NO_METHOD) {
                proxy.log.warn(down, "no acceptable authentication method offered; closing");
                finish();
                return false;
            }
            stage = method == USER_PASS ? Stage.AUTH : Stage.REQUEST;
            return true;
        }

        private boolean auth(Buffer in) {
            if (in.readableBytes() < 2) return false;
            int ulen = in.peekUnsignedByte(1);
            if (in.readableBytes() < 3 + ulen) return false;
            int plen = in.peekUnsignedByte(2 + ulen);
            if (in.readableBytes() < 3 + ulen + plen) return false;
            int version = in.readUnsignedByte();
            in.skip(1);
            byte[] user = in.readBytes(ulen);
            in.skip(1);
            byte[] password = in.readBytes(plen);
            boolean ok = version == 1 && proxy.credentials.check(user, password);
            down.write(new byte[] {1, (byte) (ok ? 0 : 1)});
            if (!ok) {
                proxy.log.warn(down, "wrong SOCKS5 credentials for user '" + new String(user, StandardCharsets.UTF_8) + "'; closing");
                finish();
                return false;
            }
            stage = Stage.REQUEST;
            return true;
        }

        private boolean request(Buffer in) {
            if (in.readableBytes() < 5) return false;
            if (in.peekUnsignedByte(0) != VERSION) {
                reply(GENERAL_FAILURE, null);
                finish();
                return false;
            }
            int cmd = in.peekUnsignedByte(1);
            int atyp = in.peekUnsignedByte(3);
            int addrLen = switch (atyp) {
                case ATYP_IPV4 -> 4;
                case ATYP_IPV6 -> 16;
                case ATYP_DOMAIN -> 1 + in.peekUnsignedByte(4);
                default -> -1;
            };
            if (addrLen < 0) {
                in.skip(in.readableBytes());
                proxy.log.warn(down, "address type " + atyp + " not supported");
                reply(ADDRESS_TYPE_NOT_SUPPORTED, null);
                finish();
                return false;
            }
            if (in.readableBytes() < 4 + addrLen + 2) return false;
            in.skip(4);
            String host;
            InetAddress literal = null;
            if (atyp == ATYP_DOMAIN) {
                int len = in.readUnsignedByte();
                host = new String(in.readBytes(len), StandardCharsets.US_ASCII);
            } else {
                try {
                    literal = InetAddress.getByAddress(in.readBytes(addrLen));
                } catch (UnknownHostException e) {
                    throw new IllegalStateException(e); // cannot happen: the length is right
                }
                host = literal.getHostAddress();
            }
            int port = in.readUnsignedShort();
            if (cmd == CMD_UDP_ASSOCIATE) {
                udpAssociate(literal == null ? null : new InetSocketAddress(literal, port));
                return false;
            }
            if (cmd != CMD_CONNECT) {
                proxy.log.warn(down, "command " + cmd + (cmd == 2 ? " (BIND)" : "") + " not supported");
                reply(COMMAND_NOT_SUPPORTED, null);
                finish();
                return false;
            }
            if (host.isEmpty() || port == 0) {
                reply(GENERAL_FAILURE, null);
                finish();
                return false;
            }
            if (!proxy.destinations.allows(host, port)) {
                proxy.log.warn(down, "destination " + host + ":" + port + " is not allowed");
                reply(NOT_ALLOWED, null);
                finish();
                return false;
            }
            stage = Stage.CONNECTING;
            String where = host + ":" + port;
            dial(proxy.dialer, host, port, up -> {
                proxy.log.info(down, "CONNECT " + where);
                reply(SUCCEEDED, (InetSocketAddress) up.localAddress());
                pipe();
            }, e -> {
                int code = switch (Dialer.Failure.of(e)) {
                    case REFUSED -> REFUSED;
                    case UNKNOWN_HOST, TIMEOUT -> HOST_UNREACHABLE;
                    case UNREACHABLE -> NETWORK_UNREACHABLE;
                    default -> GENERAL_FAILURE;
                };
                proxy.log.warn(down, "cannot reach " + where + ": " + e.getMessage() + " (reply " + code + ")");
                reply(code, null);
                finish();
            });
            return false;
        }

        /**
         * UDP ASSOCIATE: a relay socket for this client, replied as BND.ADDR:BND.PORT; it lives as
         * long as this connection, which carries nothing else (what the client sends on it is dropped).
         */
        private void udpAssociate(InetSocketAddress requested) {
            stage = Stage.UDP;
            Socks5Udp udp;
            try {
                udp = new Socks5Udp(down, requested, proxy.destinations, proxy.log);
            } catch (RuntimeException e) {
                proxy.log.warn(down, "UDP ASSOCIATE: cannot open a relay socket: " + e.getMessage());
                reply(GENERAL_FAILURE, null);
                finish();
                return;
            }
            proxy.log.info(down, "UDP ASSOCIATE: relay on " + udp.address());
            reply(SUCCEEDED, udp.address());
            if (pending != null) pending.skip(pending.readableBytes());
        }

        /** A reply with the bound address (null: 0.0.0.0:0). */
        private void reply(int code, InetSocketAddress bound) {
            if (!down.isConnected()) return;
            byte[] addr = bound == null ? new byte[4] : bound.getAddress().getAddress();
            int port = bound == null ? 0 : bound.getPort();
            byte[] r = new byte[6 + addr.length];
            r[0] = VERSION;
            r[1] = (byte) code;
            r[3] = (byte) (bound != null && bound.getAddress() instanceof Inet6Address ? ATYP_IPV6 : ATYP_IPV4);
            System.arraycopy(addr, 0, r, 4, addr.length);
            r[4 + addr.length] = (byte) (port >> 8);
            r[5 + addr.length] = (byte) port;
            down.write(r);
        }

        /** Closes after the reply; nothing more is read. */
        private void finish() {
            if (pending != null) pending.skip(pending.readableBytes());
            down.pauseReading();
            down.close();
        }
    }
}
