package io.jhv.cli;

import io.jhv.core.net.UdpSocket;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** {@code hv proxy udp} in front of a jhv UDP echo server. */
@Timeout(30)
class ProxyUdpTest {
    final ProxyFixture fx = new ProxyFixture();

    @AfterEach
    void close() {
        fx.close();
    }

    private static String exchange(DatagramSocket s, int port, String msg) throws Exception {
        byte[] b = msg.getBytes(StandardCharsets.UTF_8);
        s.send(new DatagramPacket(b, b.length, new InetSocketAddress("127.0.0.1", port)));
        byte[] r = new byte[2048];
        DatagramPacket p = new DatagramPacket(r, r.length);
        s.receive(p);
        assertEquals(port, p.getPort(), "the reply comes from the proxy's listening port");
        return new String(r, 0, p.getLength(), StandardCharsets.UTF_8);
    }

    @Test
    void echoThroughTheProxyPerClientAndIdleExpiry() throws Exception {
        // the echo server answers with the address it saw, so each client's own upstream socket shows
        UdpSocket echo = fx.add(UdpSocket.bind("127.0.0.1", 0)
                .onMessage((sock, sender, dg) -> sock.sendTo(sender, dg.readString() + " from " + sender.getPort()))
                .start());
        ProxyCommand.Running p = fx.proxy("udp", "--listen", "127.0.0.1:0", "--to", "127.0.0.1:" + echo.port(),
                "--idle-timeout", "0.3", "--verbose");
        try (DatagramSocket a = new DatagramSocket(0, java.net.InetAddress.getByName("127.0.0.1"));
             DatagramSocket b = new DatagramSocket(0, java.net.InetAddress.getByName("127.0.0.1"))) {
            a.setSoTimeout(5000);
            b.setSoTimeout(5000);
            String ra1 = exchange(a, p.port, "a1"), ra2 = exchange(a, p.port, "a2"), rb = exchange(b, p.port, "b1");
            String portA = ra1.substring(ra1.lastIndexOf(' ') + 1);
            assertEquals("a1 from " + portA, ra1);
            assertEquals("a2 from " + portA, ra2, "one upstream socket per client address");
            String portB = rb.substring(rb.lastIndexOf(' ') + 1);
            assertEquals(false, portA.equals(portB), "another client, another upstream socket");
            assertEquals(2, p.udp.clientCount());

            // idle for longer than 0.3 s: both sockets are closed
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (p.udp.clientCount() > 0) {
                if (System.nanoTime() > deadline) throw new AssertionError("clients never expired");
                Thread.sleep(20);
            }
            fx.awaitLog("idle for 300 ms");
            // and a new datagram makes a new one
            String again = exchange(a, p.port, "a3");
            assertEquals("a3", again.substring(0, 2));
        }
    }

    @Test
    void datagramsFromOthersThanTheTargetAreDropped() throws Exception {
        UdpSocket silent = fx.add(UdpSocket.bind("127.0.0.1", 0).start()); // never answers
        ProxyCommand.Running p = fx.proxy("udp", "--listen", "127.0.0.1:0", "--to", "127.0.0.1:" + silent.port(), "--verbose");
        try (DatagramSocket a = new DatagramSocket(0, java.net.InetAddress.getByName("127.0.0.1"));
             DatagramSocket intruder = new DatagramSocket(0, java.net.InetAddress.getByName("127.0.0.1"))) {
            a.setSoTimeout(500);
            a.send(new DatagramPacket(new byte[] {1}, 1, new InetSocketAddress("127.0.0.1", p.port)));
            fx.awaitLog("via local port ");
            String log = fx.log();
            int upPort = Integer.parseInt(log.substring(log.indexOf("via local port ") + 15).trim().split("\\s")[0]);
            intruder.send(new DatagramPacket(new byte[] {6, 6, 6}, 3, new InetSocketAddress("127.0.0.1", upPort)));
            assertThrows(SocketTimeoutException.class, () -> a.receive(new DatagramPacket(new byte[16], 16)));
        }
    }
}
