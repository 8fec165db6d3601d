package io.jhv.core.net;

import io.jhv.core.tls.SelfSignedCertificate;
import io.jhv.core.tls.TlsConfig;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import javax.net.ssl.SSLSocket;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The server side of the PROXY protocol (v1 and v2) with a raw socket playing the load balancer:
 * the client address reaches {@code remoteAddress()}, untrusted sources and malformed headers are
 * refused with the other connections unaffected, the client's bytes behind the header are kept,
 * and TLS after the header works. HAProxy itself is the peer in jhv-http's test.
 */
@Timeout(30)
class ProxyProtocolTest {
    private TcpServer server;
    /** Each connection's remote and via address, in the order they came up. */
    private final BlockingQueue<SocketAddress[]> seen = new LinkedBlockingQueue<>();

    @AfterEach
    void stop() {
        if (server != null) server.close();
    }

    private TcpServer echo(ProxyProtocol pp, TlsConfig tls) {
        TcpServer s = TcpServer.create("127.0.0.1", 0).threads(1).proxyProtocol(pp)
                .onConnection(c -> { if (c.isConnected()) seen.add(new SocketAddress[] {c.remoteAddress(), c.viaAddress()}); })
                .onMessage((c, b) -> c.write(b));
        if (tls != null) s.tls(tls);
        return server = s.start();
    }

    static byte[] v1(String line) {
        return line.getBytes(StandardCharsets.US_ASCII);
    }

    static byte[] v2(int verCmd, int fam, byte[] addresses) {
        byte[] h = new byte[16 + addresses.length];
        System.arraycopy(ProxyHeaderReader.V2_SIGNATURE, 0, h, 0, 12);
        h[12] = (byte) verCmd;
        h[13] = (byte) fam;
        h[14] = (byte) (addresses.length >> 8);
        h[15] = (byte) addresses.length;
        System.arraycopy(addresses, 0, h, 16, addresses.length);
        return h;
    }

    static byte[] tcp4(String src, String dst, int sport, int dport, byte[] tlvs) throws IOException {
        byte[] a = new byte[12 + tlvs.length];
        System.arraycopy(InetAddress.getByName(src).getAddress(), 0, a, 0, 4);
        System.arraycopy(InetAddress.getByName(dst).getAddress(), 0, a, 4, 4);
        a[8] = (byte) (sport >> 8); a[9] = (byte) sport;
        a[10] = (byte) (dport >> 8); a[11] = (byte) dport;
        System.arraycopy(tlvs, 0, a, 12, tlvs.length);
        return a;
    }

    /** Sends {@code pieces} (one write each, flushed), then reads the echo of {@code expect}. */
    static String roundTrip(int port, String expect, byte[]... pieces) throws IOException {
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(5000);
            for (byte[] p : pieces) {
                s.getOutputStream().write(p);
                s.getOutputStream().flush();
            }
            return readN(s.getInputStream(), expect.length());
        }
    }

    static String readN(InputStream in, int n) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        while (out.size() < n) {
            int b = in.read();
            if (b < 0) break;
            out.write(b);
        }
        return out.toString(StandardCharsets.US_ASCII);
    }

    /** True if the server closed the connection without echoing anything. */
    static boolean refused(int port, byte[] bytes) throws IOException {
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(5000);
            s.getOutputStream().write(bytes);
            try {
                return s.getInputStream().read() == -1;
            } catch (java.net.SocketException reset) {
                return true;
            }
        }
    }

    @Test
    void aV1HeaderFromATrustedSourceNamesTheClientAndTheBytesBehindItAreEchoed() throws Exception {
        echo(ProxyProtocol.trusting("127.0.0.1"), null);
        String hdr = "PROXY TCP4 203.0.113.7 10.0.0.1 56324 443\r\n";
        // header and data in one write: nothing of the client's bytes is lost
        assertEquals("hello", roundTrip(server.port(), "hello", v1(hdr + "hello")));
        SocketAddress[] a = seen.poll(5, TimeUnit.SECONDS);
        assertEquals(new InetSocketAddress("203.0.113.7", 56324), a[0]);
        assertEquals(InetAddress.getByName("127.0.0.1"), ((InetSocketAddress) a[1]).getAddress());
        // an IPv6 client, the header split over three writes
        String hdr6 = "PROXY TCP6 2001:db8::1 2001:db8::2 40000 443\r\n";
        assertEquals("ok", roundTrip(server.port(), "ok", v1(hdr6.substring(0, 3)), v1(hdr6.substring(3, 20)), v1(hdr6.substring(20) + "ok")));
        assertEquals(new InetSocketAddress("2001:db8::1", 40000), seen.poll(5, TimeUnit.SECONDS)[0]);
    }

    @Test
    void aV2HeaderWithTlvsNamesTheClientAndLocalKeepsTheSocketAddress() throws Exception {
        echo(ProxyProtocol.trusting("127.0.0.0/8"), null);
        byte[] tlv = {0x04, 0x00, 0x03, 'a', 'b', 'c'}; // a NOOP TLV
        assertEquals("v2", roundTrip(server.port(), "v2", v2(0x21, 0x11, tcp4("198.51.100.9", "10.0.0.1", 1234, 80, tlv)), v1("v2")));
        assertEquals(new InetSocketAddress("198.51.100.9", 1234), seen.poll(5, TimeUnit.SECONDS)[0]);
        // LOCAL (a balancer's health check): the socket's own address
        assertEquals("hc", roundTrip(server.port(), "hc", v2(0x20, 0x00, new byte[0]), v1("hc")));
        SocketAddress[] a = seen.poll(5, TimeUnit.SECONDS);
        assertEquals(InetAddress.getByName("127.0.0.1"), ((InetSocketAddress) a[0]).getAddress());
        assertNull(a[1]);
        // v1 UNKNOWN: the same
        assertEquals("u", roundTrip(server.port(), "u", v1("PROXY UNKNOWN\r\nu")));
        assertNull(seen.poll(5, TimeUnit.SECONDS)[1]);
    }

    @Test
    void aTrustedSourceMayConnectWithoutAHeaderEvenWithDataThatStartsLikeOne() throws Exception {
        echo(ProxyProtocol.trusting("127.0.0.1"), null);
        assertEquals("POST /x", roundTrip(server.port(), "POST /x", v1("P"), v1("OST /x")));
        assertEquals("GET", roundTrip(server.port(), "GET", v1("GET")));
        assertNull(seen.poll(5, TimeUnit.SECONDS)[1]);
    }

    @Test
    void aHeaderFromAnUntrustedSourceIsRefusedAndOthersGoOn() throws Exception {
        echo(ProxyProtocol.trusting("10.9.9.9"), null);
        assertTrue(refused(server.port(), v1("PROXY TCP4 1.2.3.4 10.0.0.1 5 6\r\nspoofed")));
        assertTrue(refused(server.port(), v2(0x21, 0x11, tcp4("1.2.3.4", "10.0.0.1", 5, 6, new byte[0]))));
        // a plain client from the same untrusted source is served as it is
        assertEquals("plain", roundTrip(server.port(), "plain", v1("plain")));
        SocketAddress[] a = seen.poll(5, TimeUnit.SECONDS);
        assertEquals(InetAddress.getByName("127.0.0.1"), ((InetSocketAddress) a[0]).getAddress());
    }

    @Test
    void malformedHeadersCloseTheConnection() throws Exception {
        echo(ProxyProtocol.trusting("127.0.0.1"), null);
        int port = server.port();
        assertTrue(refused(port, v1("PROXY TCP4 not-an-ip 10.0.0.1 1 2\r\n")));
        assertTrue(refused(port, v1("PROXY TCP4 1.2.3.4 10.0.0.1 99999 2\r\n")));
        assertTrue(refused(port, v1("PROXY TCP4 1.2.3.4 10.0.0.1 1 2\n")));       // LF without CR
        assertTrue(refused(port, v1("PROXY TCP5 1.2.3.4 10.0.0.1 1 2\r\n")));
        assertTrue(refused(port, v1("PROXY TCP6 1.2.3.4 10.0.0.1 1 2\r\n")));     // v4 addresses in TCP6
        assertTrue(refused(port, v1("PROXY " + "x".repeat(200))));                  // no CRLF within 107 bytes
        assertTrue(refused(port, v2(0x31, 0x11, tcp4("1.2.3.4", "10.0.0.1", 1, 2, new byte[0])))); // version 3
        assertTrue(refused(port, v2(0x21, 0x11, new byte[6])));                      // too short for TCP4
        // still serving
        assertEquals("alive", roundTrip(port, "alive", v1("PROXY TCP4 1.2.3.4 10.0.0.1 1 2\r\nalive")));
    }

    @Test
    void aTrustedSourceThatStallsInsideTheHeaderIsClosedAtTheHeaderTimeout() throws Exception {
        echo(ProxyProtocol.trusting("127.0.0.1").headerTimeout(Duration.ofMillis(300)), null);
        try (Socket s = new Socket("127.0.0.1", server.port())) {
            s.setSoTimeout(5000);
            s.getOutputStream().write(v1("PROXY TCP4 1.2.3.4"));
            long t0 = System.nanoTime();
            assertEquals(-1, s.getInputStream().read());
            assertTrue(System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(4));
        }
    }

    @Test
    void tlsAfterTheHeaderWorks() throws Exception {
        SelfSignedCertificate cert = SelfSignedCertificate.generate("localhost");
        echo(ProxyProtocol.trusting("127.0.0.1"), TlsConfig.server().certificate(cert).build());
        TlsConfig client = TlsConfig.client().trust(cert.certificate()).build();
        try (Socket raw = new Socket("127.0.0.1", server.port())) {
            raw.getOutputStream().write(v2(0x21, 0x11, tcp4("192.0.2.44", "10.0.0.1", 4444, 443, new byte[0])));
            SSLSocket tls = (SSLSocket) client.sslContext().getSocketFactory().createSocket(raw, "localhost", server.port(), true);
            tls.setSoTimeout(5000);
            tls.getOutputStream().write("secure".getBytes(StandardCharsets.US_ASCII));
            assertEquals("secure", readN(tls.getInputStream(), 6));
        }
        assertEquals(new InetSocketAddress("192.0.2.44", 4444), seen.poll(5, TimeUnit.SECONDS)[0]);
    }

    @Test
    void trustedSourcesAreCheckedByNetwork() throws Exception {
        ProxyProtocol pp = ProxyProtocol.trusting("10.0.0.0/8", "::1", "fd00::/8");
        assertTrue(pp.trusts(InetAddress.getByName("10.200.1.1")));
        assertFalse(pp.trusts(InetAddress.getByName("11.0.0.1")));
        assertTrue(pp.trusts(InetAddress.getByName("::1")));
        assertTrue(pp.trusts(InetAddress.getByName("fd12::5")));
        assertFalse(pp.trusts(InetAddress.getByName("fe80::1")));
        assertThrows(IllegalArgumentException.class, () -> ProxyProtocol.trusting("example.com"));
        assertThrows(IllegalArgumentException.class, () -> ProxyProtocol.trusting("10.0.0.0/33"));
        assertThrows(IllegalArgumentException.class, () -> ProxyProtocol.trusting("300.1.1.1"));
    }
}
