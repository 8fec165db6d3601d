package io.jhv.core.net;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * The PROXY protocol (HAProxy's, versions 1 and 2) on a listener: a load balancer in front sends a
 * header with the client's real address ahead of the client's bytes, and
 * {@link Connection#remoteAddress()} (and so access logs and {@code Request.remoteAddress()}) shows
 * the client instead of the balancer; {@link Connection#viaAddress()} keeps the balancer's.
 *
 * <p>Only the sources you trust may send one: a connection from elsewhere that starts with a PROXY
 * header is refused (closed), since anyone could claim any address. A trusted source may also
 * connect without a header (a direct client on the same host, a health check): its connection is
 * then taken as it is. A v2 {@code LOCAL} header (a balancer's own health check) and v1
 * {@code UNKNOWN} keep the socket's address. A malformed header, or a trusted source that sends
 * part of a header and then nothing for {@link #headerTimeout}, gets the connection closed. The
 * header is read before TLS (as balancers send it), so it works on TLS listeners too.
 *
 * {@snippet :
 * TcpServer.create(8080)
 *     .proxyProtocol(ProxyProtocol.trusting("127.0.0.1", "10.0.0.0/8"))
 *     .onConnection(c -> System.out.println("client " + c.remoteAddress() + " via " + c.viaAddress()));
 * }
 *
 * <p>Immutable; thread-safe.
 */
public final class ProxyProtocol {
    /** Default time a trusted source has to finish a header it started: 5 s. */
    public static final Duration DEFAULT_HEADER_TIMEOUT = Duration.ofSeconds(5);

    private final byte[][] networks; // address bytes, masked
    private final int[] prefixes;
    private final List<String> sources;
    private final long headerTimeoutMs;

    private ProxyProtocol(byte[][] networks, int[] prefixes, List<String> sources, long headerTimeoutMs) {
        this.networks = networks;
        this.prefixes = prefixes;
        this.sources = sources;
        this.headerTimeoutMs = headerTimeoutMs;
    }

    /**
     * Accepts PROXY headers from these sources only: IP addresses ({@code "127.0.0.1"},
     * {@code "::1"}) or networks in CIDR form ({@code "10.0.0.0/8"}, {@code "fd00::/8"}).
     *
     * @throws IllegalArgumentException for a source that is not an address literal or CIDR
     */
    public static ProxyProtocol trusting(String... sources) {
        if (sources.length == 0) throw new IllegalArgumentException("trust at least one source address");
        byte[][] nets = new byte[sources.length][];
        int[] prefixes = new int[sources.length];
        List<String> names = new ArrayList<>();
        for (int i = 0; i < sources.length; i++) {
            String s = Objects.requireNonNull(sources[i], "source").trim();
            int slash = s.indexOf('/');
            byte[] a = literal(slash < 0 ? s : s.substring(0, slash));
            if (a == null) throw new IllegalArgumentException("not an IP address or CIDR network: " + s);
            int prefix = a.length * 8;
            if (slash >= 0) {
                try {
                    prefix = Integer.parseInt(s.substring(slash + 1));
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException("bad prefix length in " + s);
                }
                if (prefix < 0 || prefix > a.length * 8) throw new IllegalArgumentException("bad prefix length in " + s);
            }
            nets[i] = mask(a, prefix);
            prefixes[i] = prefix;
            names.add(s);
        }
        return new ProxyProtocol(nets, prefixes, List.copyOf(names), DEFAULT_HEADER_TIMEOUT.toMillis());
    }

    /** This configuration with another header timeout (default 5 s). */
    public ProxyProtocol headerTimeout(Duration timeout) {
        return new ProxyProtocol(networks, prefixes, sources, Connector.positiveMillis(timeout, "header timeout"));
    }

    /** How long a trusted source has to finish a header it started. */
    public Duration headerTimeout() {
        return Duration.ofMillis(headerTimeoutMs);
    }

    long headerTimeoutMs() {
        return headerTimeoutMs;
    }

    /** The trusted sources, as given. */
    public List<String> sources() {
        return sources;
    }

    /** True if a header from {@code address} is believed. */
    public boolean trusts(InetAddress address) {
        if (address == null) return false;
        byte[] a = address.getAddress();
        for (int i = 0; i < networks.length; i++) {
            if (networks[i].length != a.length) continue;
            if (java.util.Arrays.equals(networks[i], mask(a, prefixes[i]))) return true;
        }
        return false;
    }

    /** The bytes of an IPv4 or IPv6 literal, or null (never a name lookup). */
    static byte[] literal(String s) {
        if (s.isEmpty()) return null;
        boolean v6 = s.indexOf(':') >= 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            boolean ok = (c >= '0' && c <= '9') || c == '.' || (v6 && (c == ':' || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')));
            if (!ok) return null;
        }
        if (!v6) {
            String[] parts = s.split("\\.", -1);
            if (parts.length != 4) return null;
            byte[] b = new byte[4];
            for (int i = 0; i < 4; i++) {
                if (parts[i].isEmpty() || parts[i].length() > 3) return null;
                int v = Integer.parseInt(parts[i]);
                if (v > 255) return null;
                b[i] = (byte) v;
            }
            return b;
        }
        try {
            return InetAddress.getByName(s).getAddress(); // a literal: no lookup
        } catch (UnknownHostException e) {
            return null;
        }
    }

    private static byte[] mask(byte[] a, int prefix) {
        byte[] m = a.clone();
        for (int bit = prefix; bit < m.length * 8; bit++) m[bit >> 3] &= (byte) ~(0x80 >> (bit & 7));
        return m;
    }

    @Override
    public String toString() {
        return "ProxyProtocol[trusting " + String.join(", ", sources) + "]";
    }
}
