package io.jhv.examples;

import io.jhv.core.loop.EventLoop;
import io.jhv.core.net.TcpClient;
import io.jhv.core.net.TcpServer;
import io.jhv.core.net.UdpSocket;
import io.jhv.http.server.HttpServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Runs every example the README shows, over loopback. */
@Timeout(20)
class ExamplesTest {

    private static String roundTrip(int port, String line) throws Exception {
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(5000);
            s.getOutputStream().write((line + "\n").getBytes(StandardCharsets.UTF_8));
            return new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8)).readLine();
        }
    }

    @Test
    void echoServer() throws Exception {
        try (TcpServer server = EchoServer.start(0)) {
            assertEquals("hello echo", roundTrip(server.port(), "hello echo"));
        }
    }

    @Test
    void chatServerBroadcastsToOthers() throws Exception {
        try (TcpServer server = ChatServer.start(0);
             Socket a = new Socket("127.0.0.1", server.port());
             Socket b = new Socket("127.0.0.1", server.port())) {
            a.setSoTimeout(5000);
            b.setSoTimeout(5000);
            BufferedReader ra = new BufferedReader(new InputStreamReader(a.getInputStream(), StandardCharsets.UTF_8));
            BufferedReader rb = new BufferedReader(new InputStreamReader(b.getInputStream(), StandardCharsets.UTF_8));
            assertTrue(ra.readLine().startsWith("welcome"));
            assertTrue(rb.readLine().startsWith("welcome"));
            a.getOutputStream().write("hi all\n".getBytes(StandardCharsets.UTF_8));
            String got = rb.readLine();
            assertTrue(got.matches("c\\d+: hi all"), got);
            // the sender does not get its own line: the next thing a reads is b's message
            b.getOutputStream().write("hello a\n".getBytes(StandardCharsets.UTF_8));
            assertTrue(ra.readLine().endsWith(": hello a"));
        }
    }

    @Test
    void tcpProxyPipesToUpstream() throws Exception {
        try (TcpServer echo = EchoServer.start(0); TcpServer proxy = TcpProxy.start(0, "127.0.0.1", echo.port())) {
            assertEquals("through the proxy", roundTrip(proxy.port(), "through the proxy"));
        }
    }

    @Test
    void udpEcho() throws Exception {
        UdpSocket server = UdpEcho.start(0);
        try (DatagramSocket client = new DatagramSocket()) {
            client.setSoTimeout(5000);
            byte[] msg = "datagram".getBytes(StandardCharsets.UTF_8);
            client.send(new DatagramPacket(msg, msg.length, InetAddress.getLoopbackAddress(), server.port()));
            DatagramPacket in = new DatagramPacket(new byte[1024], 1024);
            client.receive(in);
            assertEquals("datagram", new String(in.getData(), 0, in.getLength(), StandardCharsets.UTF_8));
        } finally {
            server.close();
        }
    }

    @Test
    void reconnectingClientTalksAndHeartbeats() throws Exception {
        LinkedBlockingQueue<String> lines = new LinkedBlockingQueue<>();
        try (TcpServer echo = EchoServer.start(0)) {
            TcpClient client = ReconnectingClient.start("127.0.0.1", echo.port(), lines::add);
            try {
                assertEquals("hello\n", lines.poll(5, TimeUnit.SECONDS));
                assertEquals("ping\n", lines.poll(5, TimeUnit.SECONDS)); // the heartbeat, echoed
            } finally {
                client.close();
                assertTrue(client.awaitTermination(Duration.ofSeconds(5)));
            }
        }
    }

    @Test
    void timers() throws Exception {
        List<String> out = new CopyOnWriteArrayList<>();
        CountDownLatch done = new CountDownLatch(1);
        EventLoop loop = Timers.start(s -> {
            out.add(s);
            if (s.startsWith("timeout")) done.countDown();
        });
        try {
            assertTrue(done.await(5, TimeUnit.SECONDS));
            assertTrue(out.get(0).startsWith("posted task runs on"), out.toString());
            assertEquals(List.of("tick 1", "tick 2", "tick 3"), out.subList(1, 4));
            assertEquals("timeout after 200 ms", out.get(4));
        } finally {
            loop.close();
        }
    }

    @Test
    void helloHttp() throws Exception {
        HttpServer server = HelloHttp.start(0);
        try (HttpClient client = HttpClient.newHttpClient()) { // closed: its selector and pooled socket go with it
            String base = "http://127.0.0.1:" + server.port();
            assertEquals("hello", client.send(HttpRequest.newBuilder(URI.create(base + "/hello")).build(), HttpResponse.BodyHandlers.ofString()).body());
            assertEquals("{\"id\":\"7\"}", client.send(HttpRequest.newBuilder(URI.create(base + "/users/7")).build(), HttpResponse.BodyHandlers.ofString()).body());
            HttpResponse<String> echo = client.send(HttpRequest.newBuilder(URI.create(base + "/echo"))
                    .POST(HttpRequest.BodyPublishers.ofString("body")).build(), HttpResponse.BodyHandlers.ofString());
            assertEquals("body", echo.body());
        } finally {
            server.close();
        }
    }

    @Test
    void webSocketChatEchoesAndBroadcasts() throws Exception {
        HttpServer server = WebSocketChat.start(0);
        try {
            String base = "ws://127.0.0.1:" + server.port();
            java.util.concurrent.BlockingQueue<String> echo = new java.util.concurrent.LinkedBlockingQueue<>();
            io.jhv.http.websocket.WebSocket e = io.jhv.http.websocket.WebSocketClient.connect(base + "/echo", (ws, m) -> echo.add(m.text()))
                    .get(10, java.util.concurrent.TimeUnit.SECONDS);
            e.send("ping");
            assertEquals("ping", echo.poll(10, java.util.concurrent.TimeUnit.SECONDS));
            java.util.concurrent.BlockingQueue<String> ann = new java.util.concurrent.LinkedBlockingQueue<>();
            java.util.concurrent.BlockingQueue<String> bob = new java.util.concurrent.LinkedBlockingQueue<>();
            io.jhv.http.websocket.WebSocket a = io.jhv.http.websocket.WebSocketClient.connect(base + "/chat?name=ann", (ws, m) -> ann.add(m.text()))
                    .get(10, java.util.concurrent.TimeUnit.SECONDS);
            assertEquals("ann joined", ann.poll(10, java.util.concurrent.TimeUnit.SECONDS));
            io.jhv.http.websocket.WebSocket b = io.jhv.http.websocket.WebSocketClient.connect(base + "/chat?name=bob", (ws, m) -> bob.add(m.text()))
                    .get(10, java.util.concurrent.TimeUnit.SECONDS);
            assertEquals("bob joined", ann.poll(10, java.util.concurrent.TimeUnit.SECONDS));
            assertEquals("bob joined", bob.poll(10, java.util.concurrent.TimeUnit.SECONDS));
            a.send("hi bob");
            assertEquals("ann: hi bob", bob.poll(10, java.util.concurrent.TimeUnit.SECONDS));
            assertEquals("ann: hi bob", ann.poll(10, java.util.concurrent.TimeUnit.SECONDS), "the sender is in the room too");
            b.close();
            assertEquals("bob left", ann.poll(10, java.util.concurrent.TimeUnit.SECONDS));
            a.close();
            e.close();
        } finally {
            server.close();
        }
    }
}
