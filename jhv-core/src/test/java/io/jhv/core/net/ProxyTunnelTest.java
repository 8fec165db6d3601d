package io.jhv.core.net;

import io.jhv.core.loop.EventLoop;
import io.jhv.core.tls.SelfSignedCertificate;
import io.jhv.core.tls.TlsConfig;
import io.jhv.core.tls.TlsInfo;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLHandshakeException;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Connector.proxy: tunnels through real proxies (tinyproxy for HTTP CONNECT, microsocks for
 * SOCKS5) to a jhv TLS server, checking that TLS (SNI, host name verification) is with the target;
 * and the failure modes, with the real proxies where they produce them and with hostile fake
 * proxies (a ServerSocket on a thread) for what real ones do not do: close mid-handshake, never
 * answer, speak garbage, send the target's bytes right behind their reply.
 */
@Timeout(60)
class ProxyTunnelTest {
    static final SelfSignedCertificate CA = SelfSignedCertificate.builder().subject("CN=jhv proxy test CA").ca(true).build();
    /** Valid for "localhost" only: not for 127.0.0.1, the proxy's address, so TLS must be checked against the target's name. */
    static final SelfSignedCertificate LOCALHOST = SelfSignedCertificate.builder()
            .subject("CN=localhost").hosts("localhost").issuer(CA).build();

    @TempDir Path dir;
    private EventLoop loop;
    private final List<AutoCloseable> closeAfter = new ArrayList<>();

    @BeforeEach
    void startLoop() {
        loop = EventLoop.builder().name("proxy-test").build().start();
    }

    @AfterEach
    void stop() throws Exception {
        for (AutoCloseable c : closeAfter) c.close();
        loop.stop();
        assertTrue(loop.awaitTermination(Duration.ofSeconds(5)));
    }

    private <T extends AutoCloseable> T closeLater(T c) {
        closeAfter.add(0, c);
        return c;
    }

    /** A TLS echo server on 127.0.0.1 that records the SNI name each connection asked for. */
    private TcpServer tlsEchoServer(List<String> sniSeen) {
        return closeLater(TcpServer.create("127.0.0.1", 0).threads(1)
                .tls(TlsConfig.server().certificate(LOCALHOST).build())
                .onConnection(c -> { if (c.isConnected()) sniSeen.add(String.valueOf(TlsInfo.of(c).sniHostName())); })
                .onMessage((c, b) -> c.write(b))
                .start());
    }

    private static TlsConfig trustingClient() {
        return TlsConfig.client().trust(CA.certificate()).build();
    }

    /** Connects through {@code connector}, sends {@code msg}, returns what came back (the echo). */
    private String echoThrough(Connector connector, String host, int port, String msg) throws Exception {
        CompletableFuture<String> back = new CompletableFuture<>();
        StringBuilder got = new StringBuilder();
        connector.onMessage((c, b) -> {
            got.append(b.readString());
            if (got.length() >= msg.length()) back.complete(got.toString());
        }).onClose((c, cause) -> back.completeExceptionally(new IOException("closed: " + cause)));
        Connection c = connector.connect(loop, host, port).get(15, TimeUnit.SECONDS);
        try {
            c.write(msg);
            return back.get(10, TimeUnit.SECONDS);
        } finally {
            c.close();
        }
    }

    private static Throwable failure(CompletableFuture<?> f) {
        ExecutionException e = assertThrows(ExecutionException.class, () -> f.get(20, TimeUnit.SECONDS));
        return e.getCause();
    }

    // ------------------------------------------------------------------------------------ tinyproxy

    @Test
    void httpsThroughTinyproxyIsTlsWithTheTargetNameNotTheProxy() throws Exception {
        ProxyPeers.Peer tp = closeLater(ProxyPeers.tinyproxy(dir, null, null, 0));
        List<String> sni = Collections.synchronizedList(new ArrayList<>());
        TcpServer server = tlsEchoServer(sni);
        Connector connector = Connector.create().proxy(Proxy.http("127.0.0.1", tp.port)).tls(trustingClient());
        assertEquals("hello through CONNECT", echoThrough(connector, "localhost", server.port(), "hello through CONNECT"), tp.log());
        assertEquals(List.of("localhost"), sni, "SNI is the target's name");
        assertTrue(tp.log().contains("localhost:" + server.port()), "tinyproxy was asked for the target by name:\n" + tp.log());
    }

    @Test
    void httpsThroughTinyproxyWithBasicAuth() throws Exception {
        ProxyPeers.Peer tp = closeLater(ProxyPeers.tinyproxy(dir, "alice", "s3cret", 0));
        List<String> sni = Collections.synchronizedList(new ArrayList<>());
        TcpServer server = tlsEchoServer(sni);
        Connector connector = Connector.create()
                .proxy(Proxy.http("127.0.0.1", tp.port).withCredentials("alice", "s3cret")).tls(trustingClient());
        assertEquals("authorised", echoThrough(connector, "localhost", server.port(), "authorised"), tp.log());
        assertEquals(List.of("localhost"), sni);
    }

    @Test
    void tinyproxyWithoutCredentialsAnswers407() throws Exception {
        ProxyPeers.Peer tp = closeLater(ProxyPeers.tinyproxy(dir, "alice", "s3cret", 0));
        TcpServer server = tlsEchoServer(new ArrayList<>());
        List<CloseCause> closes = Collections.synchronizedList(new ArrayList<>());
        Connector connector = Connector.create().proxy(Proxy.http("127.0.0.1", tp.port)).tls(trustingClient())
                .onClose((c, cause) -> closes.add(cause));
        ProxyException e = assertInstanceOf(ProxyException.class, failure(connector.connect(loop, "localhost", server.port())));
        assertEquals(407, e.replyCode());
        assertEquals(ProxyException.Reason.AUTHENTICATION, e.reason());
        assertTrue(e.getMessage().contains("407 Proxy Authentication Required"), e.getMessage());
        assertTrue(e.getMessage().contains("no credentials were sent"), e.getMessage());
        awaitSize(closes, 1);
        assertEquals(CloseCause.Kind.ERROR, closes.get(0).kind());
        // Wrong credentials: tinyproxy says 401; an authentication failure all the same, saying whose.
        Connector wrong = Connector.create().proxy(Proxy.http("127.0.0.1", tp.port).withCredentials("alice", "nope")).tls(trustingClient());
        e = assertInstanceOf(ProxyException.class, failure(wrong.connect(loop, "localhost", server.port())));
        assertEquals(ProxyException.Reason.AUTHENTICATION, e.reason(), e.getMessage());
        assertTrue(e.replyCode() == 401 || e.replyCode() == 407, e.getMessage());
        assertTrue(e.getMessage().contains("alice"), e.getMessage());
    }

    @Test
    void tinyproxyRefusingThePortIs403AndAnUnreachableTargetIs5xx() throws Exception {
        ProxyPeers.Peer tp = closeLater(ProxyPeers.tinyproxy(dir, null, null, 443)); // CONNECT to 443 only
        TcpServer server = tlsEchoServer(new ArrayList<>());
        Connector connector = Connector.create().proxy(Proxy.http("127.0.0.1", tp.port)).tls(trustingClient());
        ProxyException e = assertInstanceOf(ProxyException.class, failure(connector.connect(loop, "localhost", server.port())));
        assertEquals(403, e.replyCode(), e.getMessage());
        assertEquals(ProxyException.Reason.REFUSED, e.reason());
        assertTrue(e.getMessage().contains("HTTP/1.1 403"), e.getMessage());

        ProxyPeers.Peer open = closeLater(ProxyPeers.tinyproxy(dir, null, null, 0));
        int closed = ProxyPeers.freePort(); // nothing listens there
        Connector c2 = Connector.create().proxy(Proxy.http("127.0.0.1", open.port));
        e = assertInstanceOf(ProxyException.class, failure(c2.connect(loop, "127.0.0.1", closed)));
        assertTrue(e.replyCode() >= 500 && e.replyCode() < 600, e.getMessage());
        assertTrue(e.getMessage().contains("CONNECT 127.0.0.1:" + closed), e.getMessage());
    }

    @Test
    void theCertificateIsCheckedAgainstTheTargetName() throws Exception {
        // The target is named "127.0.0.1" this time: the certificate (localhost only) does not match.
        ProxyPeers.Peer tp = closeLater(ProxyPeers.tinyproxy(dir, null, null, 0));
        TcpServer server = tlsEchoServer(new ArrayList<>());
        Connector connector = Connector.create().proxy(Proxy.http("localhost", tp.port)).tls(trustingClient());
        Throwable t = failure(connector.connect(loop, "127.0.0.1", server.port()));
        assertInstanceOf(SSLHandshakeException.class, t, String.valueOf(t));
    }

    // ------------------------------------------------------------------------------------ microsocks

    @Test
    void httpsThroughMicrosocksWithUsernamePassword() throws Exception {
        ProxyPeers.Peer ms = closeLater(ProxyPeers.microsocks(dir, "bob", "pw"));
        List<String> sni = Collections.synchronizedList(new ArrayList<>());
        TcpServer server = tlsEchoServer(sni);
        Connector connector = Connector.create()
                .proxy(Proxy.socks5("127.0.0.1", ms.port).withCredentials("bob", "pw")).tls(trustingClient());
        assertEquals("socks hello", echoThrough(connector, "localhost", server.port(), "socks hello"), ms.log());
        assertEquals(List.of("localhost"), sni);
    }

    @Test
    void microsocksWithLocalResolutionAndAnIpLiteralTarget() throws Exception {
        ProxyPeers.Peer ms = closeLater(ProxyPeers.microsocks(dir, null, null));
        List<String> sni = Collections.synchronizedList(new ArrayList<>());
        TcpServer server = tlsEchoServer(sni);
        // socks5:// (local resolution): the proxy is given an address; TLS still checks "localhost".
        Connector local = Connector.create().proxy(Proxy.parse("socks5://127.0.0.1:" + ms.port)).tls(trustingClient());
        assertEquals("resolved here", echoThrough(local, "localhost", server.port(), "resolved here"), ms.log());
        assertEquals(List.of("localhost"), sni);
        // Plain TCP to an IPv4 literal through SOCKS5 (address type 1).
        TcpServer plain = closeLater(TcpServer.create("127.0.0.1", 0).threads(1).onMessage((c, b) -> c.write(b)).start());
        Connector direct = Connector.create().proxy(Proxy.socks5("127.0.0.1", ms.port));
        assertEquals("v4", echoThrough(direct, "127.0.0.1", plain.port(), "v4"));
    }

    @Test
    void microsocksRejectsAWrongPasswordAndMissingCredentials() throws Exception {
        ProxyPeers.Peer ms = closeLater(ProxyPeers.microsocks(dir, "bob", "pw"));
        TcpServer server = tlsEchoServer(new ArrayList<>());
        Connector wrong = Connector.create().proxy(Proxy.socks5("127.0.0.1", ms.port).withCredentials("bob", "wrong")).tls(trustingClient());
        ProxyException e = assertInstanceOf(ProxyException.class, failure(wrong.connect(loop, "localhost", server.port())));
        assertEquals(ProxyException.Reason.AUTHENTICATION, e.reason(), e.getMessage());
        assertTrue(e.getMessage().contains("bob"), e.getMessage());

        Connector none = Connector.create().proxy(Proxy.socks5("127.0.0.1", ms.port)).tls(trustingClient());
        e = assertInstanceOf(ProxyException.class, failure(none.connect(loop, "localhost", server.port())));
        assertEquals(ProxyException.Reason.AUTHENTICATION, e.reason(), e.getMessage());
        assertTrue(e.getMessage().contains("accepts none of the authentication methods"), e.getMessage());
    }

    @Test
    void microsocksReply5WhenTheTargetRefuses() throws Exception {
        ProxyPeers.Peer ms = closeLater(ProxyPeers.microsocks(dir, null, null));
        int closed = ProxyPeers.freePort();
        List<CloseCause> closes = Collections.synchronizedList(new ArrayList<>());
        Connector connector = Connector.create().proxy(Proxy.socks5("127.0.0.1", ms.port)).onClose((c, cause) -> closes.add(cause));
        ProxyException e = assertInstanceOf(ProxyException.class, failure(connector.connect(loop, "localhost", closed)));
        assertEquals(5, e.replyCode(), e.getMessage());
        assertEquals(ProxyException.Reason.REFUSED, e.reason());
        assertTrue(e.getMessage().contains("connection refused"), e.getMessage());
        awaitSize(closes, 1);
    }

    @Test
    void tcpClientThroughSocks5() throws Exception {
        ProxyPeers.Peer ms = closeLater(ProxyPeers.microsocks(dir, "bob", "pw"));
        TcpServer plain = closeLater(TcpServer.create("127.0.0.1", 0).threads(1).onMessage((c, b) -> c.write(b)).start());
        CompletableFuture<String> back = new CompletableFuture<>();
        TcpClient client = TcpClient.create("localhost", plain.port()).loop(loop)
                .proxy(Proxy.socks5("127.0.0.1", ms.port).withCredentials("bob", "pw"))
                .onConnection(c -> { if (c.isConnected()) c.write("via TcpClient"); })
                .onMessage((c, b) -> back.complete(b.readString()))
                .start();
        try {
            assertEquals("via TcpClient", back.get(15, TimeUnit.SECONDS));
        } finally {
            client.close();
        }
    }

    // ------------------------------------------------------------------------------------ hostile fake proxies

    /** A one-connection fake proxy: {@code script} runs on its own thread with the accepted socket. */
    private FakeProxy fake(FakeScript script) throws IOException {
        return closeLater(new FakeProxy(script));
    }

    @FunctionalInterface
    interface FakeScript {
        void run(Socket s, InputStream in, OutputStream out) throws Exception;
    }

    static final class FakeProxy implements AutoCloseable {
        final ServerSocket server = new ServerSocket(0, 10, InetAddress.getLoopbackAddress());
        final CompletableFuture<Void> done = new CompletableFuture<>();
        final Thread thread;

        FakeProxy(FakeScript script) throws IOException {
            thread = Thread.ofPlatform().daemon().name("fake-proxy").start(() -> {
                try (Socket s = server.accept()) {
                    script.run(s, s.getInputStream(), s.getOutputStream());
                    done.complete(null);
                } catch (Throwable t) {
                    done.completeExceptionally(t);
                }
            });
        }

        int port() { return server.getLocalPort(); }

        @Override
        public void close() throws Exception {
            server.close();
            thread.interrupt();
        }
    }

    /** Reads an HTTP request head (up to CRLF CRLF). */
    static String readHead(InputStream in) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        int state = 0;
        for (int ch; (ch = in.read()) >= 0; ) {
            b.write(ch);
            state = (ch == '\r' && (state == 0 || state == 2)) ? state + 1 : (ch == '\n' && (state == 1 || state == 3)) ? state + 1 : 0;
            if (state == 4) break;
        }
        return b.toString(StandardCharsets.ISO_8859_1);
    }

    static byte[] readN(InputStream in, int n) throws IOException {
        byte[] b = in.readNBytes(n);
        if (b.length < n) throw new IOException("EOF after " + b.length + " of " + n + " bytes");
        return b;
    }

    @Test
    void connectRequestCarriesProxyAuthorizationOnlyAndTheTargetsFirstBytesAreNotLost() throws Exception {
        CompletableFuture<String> request = new CompletableFuture<>();
        CompletableFuture<String> tunnelled = new CompletableFuture<>();
        FakeProxy p = fake((s, in, out) -> {
            request.complete(readHead(in));
            // The reply and the target's greeting in one segment: the greeting must reach the handler.
            out.write("HTTP/1.1 200 Connection established\r\nVia: fake\r\n\r\nWELCOME".getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
            tunnelled.complete(new String(readN(in, 4), StandardCharsets.ISO_8859_1));
        });
        List<String> events = Collections.synchronizedList(new ArrayList<>());
        CompletableFuture<Connection> up = new CompletableFuture<>();
        Connector connector = Connector.create()
                .proxy(Proxy.http("127.0.0.1", p.port()).withCredentials("alice", "pa:ss w0rd"))
                .onConnection(c -> { if (c.isConnected()) events.add("up"); })
                .onMessage((c, b) -> {
                    events.add("message:" + b.readString());
                    c.write("ping");
                });
        // Connect on the loop thread, so that whenComplete is registered before the loop can complete the future.
        CompletableFuture<Connection> f = new CompletableFuture<>();
        loop.post(() -> connector.connect(loop, "target.example", 8443).whenComplete((conn, e) -> {
            events.add("future");
            if (e != null) f.completeExceptionally(e);
            else f.complete(conn);
        }));
        Connection c = f.get(10, TimeUnit.SECONDS);
        assertEquals("ping", tunnelled.get(10, TimeUnit.SECONDS));
        String head = request.get();
        assertTrue(head.startsWith("CONNECT target.example:8443 HTTP/1.1\r\n"), head);
        assertTrue(head.contains("\r\nHost: target.example:8443\r\n"), head);
        String token = Base64.getEncoder().encodeToString("alice:pa:ss w0rd".getBytes(StandardCharsets.UTF_8));
        assertTrue(head.contains("\r\nProxy-Authorization: Basic " + token + "\r\n"), head);
        assertEquals(List.of("future", "up", "message:WELCOME"), events);
        assertFalse(c.isSecure());
        assertNull(c.tls());
        c.close();
    }

    @Test
    void socks5RequestUsesTheDomainAddressTypeAndTheTargetsFirstBytesAreNotLost() throws Exception {
        CompletableFuture<byte[]> connectRequest = new CompletableFuture<>();
        FakeProxy p = fake((s, in, out) -> {
            assertArrayEquals(new byte[] {5, 2, 0, 2}, readN(in, 4)); // no auth, user/pass
            out.write(new byte[] {5, 2});
            byte[] auth = readN(in, 2 + 3 + 1 + 2);
            assertArrayEquals(new byte[] {1, 3, 'b', 'o', 'b', 2, 'p', 'w'}, auth);
            out.write(new byte[] {1, 0});
            byte[] head = readN(in, 5);
            byte[] rest = readN(in, head[4] + 2);
            byte[] all = new byte[head.length + rest.length];
            System.arraycopy(head, 0, all, 0, head.length);
            System.arraycopy(rest, 0, all, head.length, rest.length);
            connectRequest.complete(all);
            // success, bound to a domain name (variable length), then the target's bytes at once
            byte[] reply = {5, 0, 0, 3, 4, 'h', 'o', 's', 't', 0x1f, (byte) 0x90, 'H', 'I'};
            out.write(reply);
            out.flush();
            readN(in, 1); // wait for the client to go away
        });
        CompletableFuture<String> got = new CompletableFuture<>();
        Connector connector = Connector.create()
                .proxy(Proxy.socks5("127.0.0.1", p.port()).withCredentials("bob", "pw"))
                .onMessage((c, b) -> got.complete(b.readString()));
        Connection c = connector.connect(loop, "target.example", 443).get(10, TimeUnit.SECONDS);
        assertEquals("HI", got.get(10, TimeUnit.SECONDS));
        byte[] name = "target.example".getBytes(StandardCharsets.US_ASCII);
        byte[] expected = new byte[5 + name.length + 2];
        expected[0] = 5;
        expected[1] = 1;
        expected[3] = 3;
        expected[4] = (byte) name.length;
        System.arraycopy(name, 0, expected, 5, name.length);
        expected[5 + name.length] = 0x01;
        expected[6 + name.length] = (byte) 0xbb;
        assertArrayEquals(expected, connectRequest.get());
        c.close();
    }

    @Test
    void aProxyThatClosesMidHandshakeFailsClearly() throws Exception {
        FakeProxy http = fake((s, in, out) -> readHead(in)); // reads CONNECT, closes
        Connector c1 = Connector.create().proxy(Proxy.http("127.0.0.1", http.port()));
        ProxyException e = assertInstanceOf(ProxyException.class, failure(c1.connect(loop, "localhost", 443)));
        assertEquals(ProxyException.Reason.CLOSED, e.reason());
        assertTrue(e.getMessage().contains("closed the connection before answering CONNECT localhost:443"), e.getMessage());

        FakeProxy socks = fake((s, in, out) -> {
            readN(in, 3);
            out.write(new byte[] {5, 0});
            readN(in, 4); // half the CONNECT request; then goes away
        });
        Connector c2 = Connector.create().proxy(Proxy.socks5("127.0.0.1", socks.port()));
        e = assertInstanceOf(ProxyException.class, failure(c2.connect(loop, "localhost", 443)));
        assertEquals(ProxyException.Reason.CLOSED, e.reason());
        assertTrue(e.getMessage().contains("before answering CONNECT localhost:443"), e.getMessage());
    }

    @Test
    void aProxyThatNeverAnswersTimesOutInThePhaseProxy() throws Exception {
        CompletableFuture<Integer> eof = new CompletableFuture<>();
        FakeProxy p = fake((s, in, out) -> {
            readHead(in);
            eof.complete(in.read()); // -1 once the client gave up and closed
        });
        List<CloseCause> closes = Collections.synchronizedList(new ArrayList<>());
        Connector connector = Connector.create().proxy(Proxy.http("127.0.0.1", p.port()))
                .handshakeTimeout(Duration.ofMillis(300)).onClose((c, cause) -> closes.add(cause));
        long t0 = System.nanoTime();
        ConnectTimeoutException e = assertInstanceOf(ConnectTimeoutException.class, failure(connector.connect(loop, "localhost", 443)));
        long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        assertEquals(ConnectTimeoutException.Phase.PROXY, e.phase());
        assertTrue(e.getMessage().contains("proxy tunnel handshake"), e.getMessage());
        assertTrue(ms >= 250 && ms < 5000, ms + " ms");
        assertEquals(-1, eof.get(5, TimeUnit.SECONDS));
        awaitSize(closes, 1);
        assertEquals(CloseCause.Kind.TIMEOUT, closes.get(0).kind());
    }

    @Test
    void cancellingTheFutureAbandonsTheHandshake() throws Exception {
        CompletableFuture<Void> requested = new CompletableFuture<>();
        CompletableFuture<Integer> eof = new CompletableFuture<>();
        FakeProxy p = fake((s, in, out) -> {
            readN(in, 3);
            requested.complete(null);
            eof.complete(in.read());
        });
        Connector connector = Connector.create().proxy(Proxy.socks5("127.0.0.1", p.port()));
        CompletableFuture<Connection> f = connector.connect(loop, "localhost", 443);
        requested.get(10, TimeUnit.SECONDS);
        assertTrue(f.cancel(true));
        assertEquals(-1, eof.get(5, TimeUnit.SECONDS), "the socket to the proxy is closed");
    }

    @Test
    void aProxyThatSpeaksGarbageFailsAtOnce() throws Exception {
        FakeProxy http = fake((s, in, out) -> {
            readHead(in);
            out.write("SSH-2.0-OpenSSH_9.2\r\n".getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
            in.read();
        });
        Connector c1 = Connector.create().proxy(Proxy.http("127.0.0.1", http.port())).handshakeTimeout(Duration.ofSeconds(20));
        ProxyException e = assertInstanceOf(ProxyException.class, failure(c1.connect(loop, "localhost", 443)));
        assertEquals(ProxyException.Reason.PROTOCOL, e.reason());
        assertTrue(e.getMessage().contains("SSH-2.0"), e.getMessage());

        FakeProxy badStatus = fake((s, in, out) -> {
            readHead(in);
            out.write("HTTP/1.1 2x0 Whatever\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
            in.read();
        });
        Connector c2 = Connector.create().proxy(Proxy.http("127.0.0.1", badStatus.port()));
        e = assertInstanceOf(ProxyException.class, failure(c2.connect(loop, "localhost", 443)));
        assertEquals(ProxyException.Reason.PROTOCOL, e.reason());
        assertTrue(e.getMessage().contains("malformed status line"), e.getMessage());

        FakeProxy endless = fake((s, in, out) -> {
            readHead(in);
            out.write("HTTP/1.1 200 OK\r\n".getBytes(StandardCharsets.ISO_8859_1));
            byte[] header = "X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n".getBytes(StandardCharsets.ISO_8859_1);
            try {
                for (int i = 0; i < 1000; i++) out.write(header);
            } catch (IOException closedByClient) {
                return;
            }
            in.read();
        });
        Connector c3 = Connector.create().proxy(Proxy.http("127.0.0.1", endless.port()));
        e = assertInstanceOf(ProxyException.class, failure(c3.connect(loop, "localhost", 443)));
        assertEquals(ProxyException.Reason.PROTOCOL, e.reason());
        assertTrue(e.getMessage().contains("longer than"), e.getMessage());

        FakeProxy notSocks = fake((s, in, out) -> {
            readN(in, 3);
            out.write("HTTP/1.1 400 Bad Request\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
            in.read();
        });
        Connector c4 = Connector.create().proxy(Proxy.socks5("127.0.0.1", notSocks.port()));
        e = assertInstanceOf(ProxyException.class, failure(c4.connect(loop, "localhost", 443)));
        assertEquals(ProxyException.Reason.PROTOCOL, e.reason());
        assertTrue(e.getMessage().contains("is not a SOCKS5 proxy"), e.getMessage());
        assertTrue(loop.isRunning());
    }

    @Test
    void anUnresolvableOrRefusingProxyFailsLikeAConnect() throws Exception {
        Connector unknown = Connector.create().proxy(Proxy.http("no-such-proxy.invalid", 3128));
        Throwable t = failure(unknown.connect(loop, "localhost", 443));
        assertInstanceOf(java.net.UnknownHostException.class, t);
        assertTrue(t.getMessage().contains("proxy host no-such-proxy.invalid"), t.getMessage());

        int closed = ProxyPeers.freePort();
        Connector refused = Connector.create().proxy(Proxy.socks5("127.0.0.1", closed));
        t = failure(refused.connect(loop, "localhost", 443));
        assertInstanceOf(java.net.ConnectException.class, t);
        assertFalse(t instanceof ProxyException);
        assertTrue(t.getMessage().contains("via proxy socks5h://127.0.0.1:" + closed), t.getMessage());
    }

    private static void awaitSize(List<?> list, int n) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (list.size() < n && System.nanoTime() < deadline) Thread.sleep(5); // polling with a deadline
        assertEquals(n, list.size(), String.valueOf(list));
    }
}
