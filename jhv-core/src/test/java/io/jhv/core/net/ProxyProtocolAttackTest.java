package io.jhv.core.net;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Disabled;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Review of the PROXY protocol reader (lead review): headers split at every byte, bytes behind the
 * header, untrusted sources, and what real balancers send.
 */
@Timeout(60)
class ProxyProtocolAttackTest {
    private TcpServer server;
    private final BlockingQueue<SocketAddress> seen = new LinkedBlockingQueue<>();

    @AfterEach
    void stop() {
        if (server != null) server.close();
    }

    private int echo(ProxyProtocol pp) {
        server = TcpServer.create("127.0.0.1", 0).threads(1).proxyProtocol(pp)
                .onConnection(c -> { if (c.isConnected()) seen.add(c.remoteAddress()); })
                .onMessage((c, b) -> c.write(b)).start();
        return server.port();
    }

    /** Writes {@code a} and {@code b} as two flushed writes (with TCP_NODELAY), reads the echo of {@code expect}; null if closed first. */
    private static String split(int port, byte[] a, byte[] b, String expect) throws IOException {
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setTcpNoDelay(true);
            s.setSoTimeout(5000);
            if (a.length > 0) {
                s.getOutputStream().write(a);
                s.getOutputStream().flush();
            }
            s.getOutputStream().write(b);
            s.getOutputStream().flush();
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            while (out.size() < expect.length()) {
                int x;
                try {
                    x = s.getInputStream().read();
                } catch (java.net.SocketException reset) {
                    return null;
                }
                if (x < 0) return out.size() == 0 ? null : out.toString(StandardCharsets.US_ASCII);
                out.write(x);
            }
            return out.toString(StandardCharsets.US_ASCII);
        }
    }

    private static byte[] cat(byte[] a, byte[] b) {
        byte[] r = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }

    /** A v1 and a v2 header, split at every byte, with the client's bytes right behind: the address and every byte arrive. */
    @Test
    void aHeaderSplitAtEveryByteKeepsTheAddressAndTheBytesBehindIt() throws Exception {
        int port = echo(ProxyProtocol.trusting("127.0.0.1"));
        byte[] payload = "hello behind the header".getBytes(StandardCharsets.US_ASCII);
        byte[] v1 = "PROXY TCP4 203.0.113.7 10.0.0.1 56324 443\r\n".getBytes(StandardCharsets.US_ASCII);
        byte[] v2 = ProxyProtocolTest.v2(0x21, 0x11, ProxyProtocolTest.tcp4("198.51.100.9", "10.0.0.1", 40000, 443, new byte[] {0x04, 0, 2, 'x', 'y'}));
        for (byte[] header : new byte[][] {v1, v2}) {
            byte[] all = cat(header, payload);
            String wantIp = header == v1 ? "203.0.113.7" : "198.51.100.9";
            for (int cut = 0; cut < all.length; cut++) {
                String got = split(port, Arrays.copyOf(all, cut), Arrays.copyOfRange(all, cut, all.length), "hello behind the header");
                assertEquals("hello behind the header", got, "cut at " + cut);
                SocketAddress a = seen.poll(5, TimeUnit.SECONDS);
                assertNotNull(a);
                assertEquals(wantIp, ((InetSocketAddress) a).getAddress().getHostAddress(), "cut at " + cut);
            }
        }
    }

    /** An untrusted source's header is refused however it is split (never believed, never echoed). */
    @Test
    void anUntrustedHeaderIsRefusedAtEverySplit() throws Exception {
        int port = echo(ProxyProtocol.trusting("192.0.2.1"));
        byte[] all = "PROXY TCP4 203.0.113.7 10.0.0.1 56324 443\r\nspoof".getBytes(StandardCharsets.US_ASCII);
        for (int cut = 0; cut < all.length; cut++) {
            String got = split(port, Arrays.copyOf(all, cut), Arrays.copyOfRange(all, cut, all.length), "x");
            assertEquals(null, got, "cut at " + cut + " was echoed: " + got);
        }
        assertTrue(seen.isEmpty(), "an untrusted connection came up: " + seen);
    }

    /**
     * HAProxy with a dual-stack frontend ({@code bind :::80 v4v6}) writes IPv4 clients as
     * IPv4-mapped IPv6 in a TCP6 line ("PROXY TCP6 ::ffff:203.0.113.7 ..."), a valid v1 header.
     * ProxyHeaderReader.readV1 takes the literal's 4 bytes (InetAddress maps it to IPv4) as a
     * mismatch and closes the connection as malformed: every IPv4 client is refused.
     */
    @Test
    void aTcp6LineWithIpv4MappedAddressesIsAccepted() throws Exception {
        int port = echo(ProxyProtocol.trusting("127.0.0.1"));
        String got = split(port, new byte[0],
                "PROXY TCP6 ::ffff:203.0.113.7 ::ffff:10.0.0.1 56324 443\r\nhi".getBytes(StandardCharsets.US_ASCII), "hi");
        assertEquals("hi", got, "the connection was closed");
        SocketAddress a = seen.poll(5, TimeUnit.SECONDS);
        assertEquals("203.0.113.7", ((InetSocketAddress) a).getAddress().getHostAddress());
    }
}
