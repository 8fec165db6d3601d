package io.jhv.cli.proxy;

import io.jhv.core.buffer.Buffer;
import io.jhv.core.net.Connection;
import io.jhv.core.net.UdpSocket;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One SOCKS5 UDP ASSOCIATE (RFC 1928 section 7): a UDP relay socket bound beside the control
 * connection's local address, living as long as that connection. Datagrams from the client carry a
 * SOCKS header (RSV, FRAG, ATYP, DST.ADDR, DST.PORT) that the relay strips before sending the data
 * to the destination; datagrams from anyone else go back to the client with a header naming the
 * sender. Only the client's IP address may use the relay (and its port, once its first datagram
 * fixed it, or the port the request named); fragments (FRAG != 0) and destinations the
 * {@link Destinations} refuse are dropped. Names are resolved off the loop, and cached.
 *
 * <p>Thread contract: the loop thread of the control connection.
 */
final class Socks5Udp {
    private static final int MAX_NAMES = 256;

    private final Connection control;
    private final Destinations destinations;
    private final ProxyLog log;
    private final UdpSocket relay;
    private final InetAddress clientIp;
    private InetSocketAddress client; // fixed by the client's first datagram (or its request)
    private final Map<String, InetAddress> names = new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, InetAddress> e) {
            return size() > MAX_NAMES;
        }
    };
    long dropped; // for the log
    private final Buffer scratch = Buffer.allocate(2048);
    /** The last destination given as an address, and its header bytes: most datagrams of a flow repeat it. */
    private final byte[] lastHeader = new byte[16 + 2];
    private int lastHeaderLength = -1;
    private InetSocketAddress lastDestination;

    /**
     * Opens the relay on the control connection's loop, beside its local address.
     *
     * @param requested the address the client said it will send from (port 0 or address 0: unknown)
     */
    Socks5Udp(Connection control, InetSocketAddress requested, Destinations destinations, ProxyLog log) {
        this.control = control;
        this.destinations = destinations;
        this.log = log;
        this.clientIp = ((InetSocketAddress) control.remoteAddress()).getAddress();
        if (requested != null && requested.getPort() != 0 && !requested.getAddress().isAnyLocalAddress()) {
            client = requested;
        }
        InetAddress local = ((InetSocketAddress) control.localAddress()).getAddress();
        relay = UdpSocket.bind(local.getHostAddress(), 0).loop(control.loop()).onMessage(this::onDatagram).start();
        control.addCloseListener((c, cause) -> close());
    }

    /** Where the client sends its datagrams. */
    InetSocketAddress address() {
        return relay.localAddress();
    }

    void close() {
        relay.close();
    }

    private void onDatagram(UdpSocket sock, InetSocketAddress sender, Buffer d) {
        boolean fromClient = client != null ? client.equals(sender) : sender.getAddress().equals(clientIp);
        if (fromClient) {
            if (client == null) client = sender;
            fromClient(d);
        } else if (client != null) {
            toClient(sender, d);
        } else {
            d.skip(d.readableBytes()); // no client yet: nobody to send it to
        }
    }

    private void fromClient(Buffer d) {
        if (d.readableBytes() < 4 || d.peek(0) != 0 || d.peek(1) != 0 || d.peek(2) != 0) {
            drop(d, "a malformed or fragmented datagram"); // FRAG != 0: fragmentation is not supported
            return;
        }
        int atyp = d.peekUnsignedByte(3);
        int addrLen = switch (atyp) {
            case Socks5Proxy.ATYP_IPV4 -> 4;
            case Socks5Proxy.ATYP_IPV6 -> 16;
            case Socks5Proxy.ATYP_DOMAIN -> d.readableBytes() > 4 ? 1 + d.peekUnsignedByte(4) : 1;
            default -> -1;
        };
        if (addrLen < 0 || d.readableBytes() < 4 + addrLen + 2) {
            drop(d, "a datagram with a bad address");
            return;
        }
        if (atyp != Socks5Proxy.ATYP_DOMAIN && sameAsLast(d, addrLen)) {
            d.skip(4 + addrLen + 2);
            relay.sendTo(lastDestination, d);
            return;
        }
        d.skip(4);
        String host;
        InetAddress literal = null;
        byte[] raw = null;
        if (atyp == Socks5Proxy.ATYP_DOMAIN) {
            host = new String(d.readBytes(d.readUnsignedByte()), StandardCharsets.US_ASCII);
        } else {
            try {
                raw = d.readBytes(addrLen);
                literal = InetAddress.getByAddress(raw); // an IPv4-mapped IPv6 address comes back as IPv4
            } catch (UnknownHostException e) {
                throw new IllegalStateException(e); // the length is right
            }
            host = literal.getHostAddress();
        }
        int port = d.readUnsignedShort();
        if (port == 0 || !destinations.allows(host, port)) {
            drop(d, "a datagram to " + host + ":" + port + " (not allowed)");
            return;
        }
        if (literal != null) {
            lastDestination = new InetSocketAddress(literal, port);
            lastHeaderLength = addrLen + 2;
            System.arraycopy(raw, 0, lastHeader, 0, addrLen);
            lastHeader[addrLen] = (byte) (port >> 8);
            lastHeader[addrLen + 1] = (byte) port;
            relay.sendTo(lastDestination, d);
            return;
        }
        literal = names.get(host);
        if (literal != null) {
            relay.sendTo(new InetSocketAddress(literal, port), d);
            return;
        }
        byte[] data = d.readBytes(); // kept while the name is resolved
        Thread.ofVirtual().name("hv-socks5-resolve").start(() -> {
            InetAddress a;
            try {
                a = InetAddress.getByName(host);
            } catch (UnknownHostException e) {
                a = null;
            }
            InetAddress resolved = a;
            try {
                control.loop().post(() -> {
                    if (resolved == null) {
                        log.info(control, "UDP: cannot resolve " + host + "; datagram dropped");
                        return;
                    }
                    names.put(host, resolved);
                    if (!relay.isClosed()) relay.sendTo(new InetSocketAddress(resolved, port), data);
                });
            } catch (RuntimeException loopGone) {
                // the loop has stopped: so has the relay
            }
        });
    }

    private void toClient(InetSocketAddress sender, Buffer d) {
        byte[] addr = sender.getAddress().getAddress();
        Buffer out = scratch.clear(); // sendTo sends or copies before it returns: reused for every reply
        out.writeShort(0).writeByte(0)
                .writeByte(sender.getAddress() instanceof Inet6Address ? Socks5Proxy.ATYP_IPV6 : Socks5Proxy.ATYP_IPV4)
                .write(addr).writeShort(sender.getPort())
                .write(d);
        relay.sendTo(client, out);
    }

    /** Whether the datagram's address and port (after the 4 header bytes) are the last allowed destination's. */
    private boolean sameAsLast(Buffer d, int addrLen) {
        if (lastHeaderLength != addrLen + 2) return false;
        for (int i = 0; i < lastHeaderLength; i++) {
            if (d.peek(4 + i) != lastHeader[i]) return false;
        }
        return true;
    }

    private void drop(Buffer d, String what) {
        d.skip(d.readableBytes());
        if (dropped++ % 1000 == 0) log.info(control, "UDP: dropped " + what);
    }
}
