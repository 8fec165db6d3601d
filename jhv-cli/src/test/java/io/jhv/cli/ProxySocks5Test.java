package io.jhv.cli;

import io.jhv.core.net.TcpServer;
import io.jhv.core.net.UdpSocket;
import io.jhv.http.server.HttpServer;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.DataInputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code hv proxy socks5} with the real curl and with raw RFC 1928 exchanges. */
@Timeout(60)
class ProxySocks5Test {
    static HttpServer origin;
    final ProxyFixture fx = new ProxyFixture();

    @BeforeAll
    static void startOrigin() {
        origin = HttpServer.create("127.0.0.1", 0).threads(1)
                .get("/hello", (req, res) -> res.text("hello via socks"))
                .start();
    }

    @AfterAll
    static void stopOrigin() {
        if (origin != null) origin.close(Duration.ofSeconds(2));
    }

    @AfterEach
    void close() {
        fx.close();
    }

    @Test
    void curlThroughSocks5WithAndWithoutHostnameResolution() throws Exception {
        ProxyCommand.Running p = fx.proxy("socks5", "--listen", "127.0.0.1:0", "--threads", "1", "--verbose");
        String proxy = "127.0.0.1:" + p.port;
        // the proxy resolves the name (ATYP 3)
        Curl.Result r = Curl.run("--socks5-hostname", proxy, "http://localhost:" + origin.port() + "/hello");
        assertEquals(0, r.exit(), r.err());
        assertEquals("hello via socks", r.out());
        fx.awaitLog("CONNECT localhost:" + origin.port());
        // curl resolves the name, sends an IPv4 address (ATYP 1)
        r = Curl.run("--socks5", proxy, "http://127.0.0.1:" + origin.port() + "/hello");
        assertEquals(0, r.exit(), r.err());
        assertEquals("hello via socks", r.out());
        fx.awaitLog("CONNECT 127.0.0.1:" + origin.port());
    }

    @Test
    void credentialsAreCheckedAndWrongOnesFail() throws Exception {
        ProxyCommand.Running p = fx.proxy("socks5", "--listen", "127.0.0.1:0", "--threads", "1", "--user", "bob", "--password", "pw1");
        String proxy = "127.0.0.1:" + p.port;
        String url = "http://localhost:" + origin.port() + "/hello";
        Curl.Result r = Curl.run("--socks5-hostname", proxy, "--proxy-user", "bob:pw1", url);
        assertEquals(0, r.exit(), r.err());
        assertEquals("hello via socks", r.out());
        r = Curl.run("--socks5", proxy, "--proxy-user", "bob:pw1", "http://127.0.0.1:" + origin.port() + "/hello");
        assertEquals(0, r.exit(), r.err());

        r = Curl.run("--socks5-hostname", proxy, "--proxy-user", "bob:wrong", url);
        assertNotEquals(0, r.exit(), "a wrong password must fail");
        r = Curl.run("--socks5-hostname", proxy, url);
        assertNotEquals(0, r.exit(), "no credentials must fail");

        // raw: the reply to wrong credentials is status 1 (RFC 1929), then the connection closes
        try (Socket s = socket(p)) {
            OutputStream out = s.getOutputStream();
            DataInputStream in = new DataInputStream(s.getInputStream());
            out.write(new byte[] {5, 1, 0});
            assertArrayEquals(new byte[] {5, (byte) 0xFF}, read(in, 2), "no-auth is not acceptable");
            assertEquals(-1, in.read());
        }
        try (Socket s = socket(p)) {
            OutputStream out = s.getOutputStream();
            DataInputStream in = new DataInputStream(s.getInputStream());
            out.write(new byte[] {5, 2, 0, 2});
            assertArrayEquals(new byte[] {5, 2}, read(in, 2));
            out.write(new byte[] {1, 3, 'b', 'o', 'b', 3, 'p', 'w', '2'});
            assertArrayEquals(new byte[] {1, 1}, read(in, 2));
            assertEquals(-1, in.read());
        }
        fx.awaitLog("wrong SOCKS5 credentials for user 'bob'");
    }

    @Test
    void rawRequestsGetTheRightReplyCodes() throws Exception {
        int dead;
        try (ServerSocket ss = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            dead = ss.getLocalPort();
        }
        ProxyCommand.Running p = fx.proxy("socks5", "--listen", "127.0.0.1:0", "--threads", "1", "--deny", "forbidden.test");
        TcpServer echo = fx.add(TcpServer.create("127.0.0.1", 0).threads(1).onMessage((c, buf) -> c.write(buf)).start());

        // IPv6 address type: ::ffff:127.0.0.1 (an IPv4-mapped address, so the test stays on 127.0.0.1)
        byte[] v6 = new byte[16];
        v6[10] = (byte) 0xFF;
        v6[11] = (byte) 0xFF;
        v6[12] = 127;
        v6[15] = 1;
        try (Socket s = socket(p)) {
            byte[] reply = request(s, 4, v6, echo.port());
            assertEquals(0, reply[1], "succeeded");
            s.getOutputStream().write("ping".getBytes(StandardCharsets.US_ASCII));
            assertEquals("ping", new String(read(new DataInputStream(s.getInputStream()), 4), StandardCharsets.US_ASCII));
        }
        // data sent right behind the request (before the reply) is held and forwarded in order
        try (Socket s = socket(p)) {
            OutputStream out = s.getOutputStream();
            DataInputStream in = new DataInputStream(s.getInputStream());
            out.write(new byte[] {5, 1, 0, 5, 1, 0, 1, 127, 0, 0, 1, (byte) (echo.port() >> 8), (byte) echo.port(), 'e', 'a', 'r', 'l', 'y'});
            assertArrayEquals(new byte[] {5, 0}, read(in, 2));
            byte[] r = read(in, 10);
            assertEquals(0, r[1]);
            assertEquals(1, r[3], "bound address is IPv4");
            assertEquals("early", new String(read(in, 5), StandardCharsets.US_ASCII));
        }
        try (Socket s = socket(p)) {
            assertEquals(5, request(s, 1, new byte[] {127, 0, 0, 1}, dead)[1], "connection refused");
        }
        try (Socket s = socket(p)) {
            byte[] name = "no-such-host.invalid".getBytes(StandardCharsets.US_ASCII);
            assertEquals(4, request(s, 3, name, 80)[1], "host unreachable (unknown name)");
        }
        try (Socket s = socket(p)) {
            byte[] name = "forbidden.test".getBytes(StandardCharsets.US_ASCII);
            assertEquals(2, request(s, 3, name, 80)[1], "not allowed by the rules");
        }
        try (Socket s = socket(p)) {
            OutputStream out = s.getOutputStream();
            DataInputStream in = new DataInputStream(s.getInputStream());
            out.write(new byte[] {5, 1, 0});
            read(in, 2);
            out.write(new byte[] {5, 2, 0, 1, 127, 0, 0, 1, 0, 53}); // BIND
            assertEquals(7, read(in, 10)[1], "command not supported");
            assertEquals(-1, in.read());
        }
        try (Socket s = socket(p)) {
            OutputStream out = s.getOutputStream();
            DataInputStream in = new DataInputStream(s.getInputStream());
            out.write(new byte[] {5, 1, 0});
            read(in, 2);
            out.write(new byte[] {5, 1, 0, 9, 1, 2, 3, 4, 0, 80}); // address type 9
            assertEquals(8, read(in, 10)[1], "address type not supported");
        }
        try (Socket s = socket(p)) {
            s.getOutputStream().write("GET / HTTP/1.1\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            assertEquals(-1, s.getInputStream().read(), "not SOCKS5: closed");
        }
    }

    /** UDP ASSOCIATE: datagrams to an IPv4 address and to a name go through the relay, replies come back with a header. */
    @Test
    void udpAssociateRelaysDatagramsWhileTheControlConnectionLives() throws Exception {
        ProxyCommand.Running p = fx.proxy("socks5", "--listen", "127.0.0.1:0", "--threads", "1", "--verbose", "--deny", "127.0.0.1:9");
        UdpSocket echo = fx.add(UdpSocket.bind("127.0.0.1", 0).onMessage((s, from, dg) -> s.sendTo(from, "echo:" + dg.readString())).start());
        try (Socket control = socket(p); DatagramSocket udp = new DatagramSocket(0, InetAddress.getByName("127.0.0.1"))) {
            udp.setSoTimeout(5000);
            OutputStream out = control.getOutputStream();
            DataInputStream in = new DataInputStream(control.getInputStream());
            out.write(new byte[] {5, 1, 0});
            assertArrayEquals(new byte[] {5, 0}, read(in, 2));
            out.write(new byte[] {5, 3, 0, 1, 0, 0, 0, 0, 0, 0}); // UDP ASSOCIATE, client address not known
            byte[] r = read(in, 10);
            assertEquals(0, r[1], "succeeded");
            assertEquals(1, r[3]);
            InetAddress relayIp = InetAddress.getByAddress(java.util.Arrays.copyOfRange(r, 4, 8));
            int relayPort = ((r[8] & 0xff) << 8) | (r[9] & 0xff);
            assertEquals("127.0.0.1", relayIp.getHostAddress());

            // to an IPv4 address
            byte[] dg = udpRequest(new byte[] {1, 127, 0, 0, 1}, echo.port(), "one");
            udp.send(new DatagramPacket(dg, dg.length, relayIp, relayPort));
            assertEquals("echo:one", replyText(udp, echo.port()));
            // to a name, resolved by the proxy
            byte[] name = "localhost".getBytes(StandardCharsets.US_ASCII);
            byte[] addr = new byte[2 + name.length];
            addr[0] = 3;
            addr[1] = (byte) name.length;
            System.arraycopy(name, 0, addr, 2, name.length);
            dg = udpRequest(addr, echo.port(), "two");
            udp.send(new DatagramPacket(dg, dg.length, relayIp, relayPort));
            assertEquals("echo:two", replyText(udp, echo.port()));
            // a fragment and a denied destination are dropped; the next good one still goes through
            byte[] frag = udpRequest(new byte[] {1, 127, 0, 0, 1}, echo.port(), "frag");
            frag[2] = 1;
            udp.send(new DatagramPacket(frag, frag.length, relayIp, relayPort));
            byte[] denied = udpRequest(new byte[] {1, 127, 0, 0, 1}, 9, "nope");
            udp.send(new DatagramPacket(denied, denied.length, relayIp, relayPort));
            dg = udpRequest(new byte[] {1, 127, 0, 0, 1}, echo.port(), "three");
            udp.send(new DatagramPacket(dg, dg.length, relayIp, relayPort));
            assertEquals("echo:three", replyText(udp, echo.port()));
            // IPv4-mapped IPv6 (still 127.0.0.1), twice: parsed, then from the last-destination cache
            byte[] v6 = new byte[17];
            v6[0] = 4;
            v6[11] = (byte) 0xFF;
            v6[12] = (byte) 0xFF;
            v6[13] = 127;
            v6[16] = 1;
            for (String m : new String[] {"four", "five"}) {
                dg = udpRequest(v6, echo.port(), m);
                udp.send(new DatagramPacket(dg, dg.length, relayIp, relayPort));
                assertEquals("echo:" + m, replyText(udp, echo.port()));
            }

            // the control connection ends: so does the relay
            control.close();
            fx.awaitLog("UDP ASSOCIATE: relay on");
            long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(5);
            while (true) {
                try (DatagramSocket probe = new DatagramSocket(relayPort, relayIp)) {
                    break; // the relay's port is free again
                } catch (java.net.BindException stillBound) {
                    if (System.nanoTime() > deadline) throw new AssertionError("the relay outlived its control connection");
                    Thread.sleep(20);
                }
            }
        }
    }

    private static byte[] udpRequest(byte[] atypAndAddr, int port, String data) {
        byte[] d = data.getBytes(StandardCharsets.US_ASCII);
        byte[] b = new byte[3 + atypAndAddr.length + 2 + d.length];
        System.arraycopy(atypAndAddr, 0, b, 3, atypAndAddr.length);
        int i = 3 + atypAndAddr.length;
        b[i++] = (byte) (port >> 8);
        b[i++] = (byte) port;
        System.arraycopy(d, 0, b, i, d.length);
        return b;
    }

    /** Receives one relayed reply, checks its header names the echo server, returns its data. */
    private static String replyText(DatagramSocket udp, int fromPort) throws Exception {
        byte[] b = new byte[2048];
        DatagramPacket p = new DatagramPacket(b, b.length);
        udp.receive(p);
        assertEquals(0, b[0]);
        assertEquals(0, b[2]);
        assertEquals(1, b[3], "an IPv4 sender");
        assertEquals(127, b[4]);
        assertEquals(fromPort, ((b[8] & 0xff) << 8) | (b[9] & 0xff));
        return new String(b, 10, p.getLength() - 10, StandardCharsets.US_ASCII);
    }

    /** Every byte of the handshake in a segment of its own: the parser waits for whole messages. */
    @Test
    void aHandshakeSentByteByByteWorks() throws Exception {
        ProxyCommand.Running p = fx.proxy("socks5", "--listen", "127.0.0.1:0", "--threads", "1", "--user", "ab", "--password", "cd");
        TcpServer echo = fx.add(TcpServer.create("127.0.0.1", 0).threads(1).onMessage((c, buf) -> c.write(buf)).start());
        byte[] all = {5, 2, 0, 2, /* auth */ 1, 2, 'a', 'b', 2, 'c', 'd',
                /* request */ 5, 1, 0, 3, 9, 'l', 'o', 'c', 'a', 'l', 'h', 'o', 's', 't', (byte) (echo.port() >> 8), (byte) echo.port(),
                'h', 'i'};
        try (Socket s = socket(p)) {
            s.setTcpNoDelay(true);
            OutputStream out = s.getOutputStream();
            for (byte b : all) {
                out.write(b);
                out.flush();
            }
            DataInputStream in = new DataInputStream(s.getInputStream());
            assertArrayEquals(new byte[] {5, 2}, read(in, 2));
            assertArrayEquals(new byte[] {1, 0}, read(in, 2));
            byte[] r = read(in, 10);
            assertEquals(0, r[1]);
            assertEquals("hi", new String(read(in, 2), StandardCharsets.US_ASCII));
        }
    }

    @Test
    void aClientThatNeverFinishesItsHandshakeIsClosed() throws Exception {
        ProxyCommand.Running p = fx.proxy("socks5", "--listen", "127.0.0.1:0", "--threads", "1", "--handshake-timeout", "0.3");
        try (Socket s = socket(p)) {
            s.getOutputStream().write(new byte[] {5, 1}); // half a greeting, then nothing
            long t0 = System.nanoTime();
            assertEquals(-1, s.getInputStream().read());
            long ms = (System.nanoTime() - t0) / 1_000_000;
            assertTrue(ms >= 200 && ms < 5000, ms + " ms");
        }
        // a tunnel that is up is not limited by it
        TcpServer echo = fx.add(TcpServer.create("127.0.0.1", 0).threads(1).onMessage((c, buf) -> c.write(buf)).start());
        try (Socket s = socket(p)) {
            assertEquals(0, request(s, 1, new byte[] {127, 0, 0, 1}, echo.port())[1]);
            DataInputStream in = new DataInputStream(s.getInputStream());
            for (int i = 0; i < 2; i++) {
                Thread.sleep(400); // idle past the handshake timeout, not synchronisation
                s.getOutputStream().write('a' + i);
                assertEquals('a' + i, in.read());
            }
        }
    }

    private static Socket socket(ProxyCommand.Running p) throws Exception {
        Socket s = new Socket("127.0.0.1", p.port);
        s.setSoTimeout(10_000);
        return s;
    }

    /** No-auth greeting, then a CONNECT request; returns the reply's first 4 bytes (and reads its address). */
    private static byte[] request(Socket s, int atyp, byte[] addr, int port) throws Exception {
        OutputStream out = s.getOutputStream();
        DataInputStream in = new DataInputStream(s.getInputStream());
        out.write(new byte[] {5, 1, 0});
        assertArrayEquals(new byte[] {5, 0}, read(in, 2));
        byte[] req = new byte[4 + (atyp == 3 ? 1 : 0) + addr.length + 2];
        req[0] = 5;
        req[1] = 1;
        req[3] = (byte) atyp;
        int i = 4;
        if (atyp == 3) req[i++] = (byte) addr.length;
        System.arraycopy(addr, 0, req, i, addr.length);
        i += addr.length;
        req[i++] = (byte) (port >> 8);
        req[i] = (byte) port;
        out.write(req);
        byte[] head = read(in, 4);
        assertEquals(5, head[0]);
        int rest = head[3] == 4 ? 18 : 6;
        read(in, rest);
        return head;
    }

    private static byte[] read(InputStream in, int n) throws Exception {
        byte[] b = new byte[n];
        new DataInputStream(in).readFully(b);
        return b;
    }
}
