package io.jhv.core.tls;

import io.jhv.core.net.CloseCause;
import io.jhv.core.net.LineProtocol;
import io.jhv.core.net.ProtocolSelector;
import io.jhv.core.net.TcpClient;
import io.jhv.core.net.TcpServer;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A server choosing a connection's protocol by the ALPN name its TLS handshake agreed on. */
@Timeout(30)
class AlpnSelectorTest {

    private static TcpServer server() {
        return TcpServer.create("127.0.0.1", 0).threads(1)
                .tls(TlsTestSupport.server().alpn("alpha", "beta").build())
                .protocol(ProtocolSelector.builder()
                        .alpn("alpha", () -> new LineProtocol("alpha"))
                        .alpn("beta", () -> new LineProtocol("beta"))
                        .otherwise(() -> new LineProtocol("none"))
                        .build())
                .start();
    }

    /** jhv's TLS client offering one name. */
    private static String ask(int port, String alpn, String line) throws Exception {
        CompletableFuture<String> answer = new CompletableFuture<>();
        StringBuilder got = new StringBuilder();
        TlsConfig.Builder cfg = TlsTestSupport.client();
        if (alpn != null) cfg.alpn(alpn);
        TcpClient client = TcpClient.create("127.0.0.1", port).tls(cfg.build())
                .onConnection(c -> { if (c.isConnected()) c.write(line + "\n"); })
                .onMessage((c, b) -> {
                    got.append(b.readString());
                    int eol = got.indexOf("\n");
                    if (eol >= 0) answer.complete(got.substring(0, eol));
                })
                .onClose((c, cause) -> answer.completeExceptionally(new AssertionError("closed: " + cause)))
                .start();
        try {
            return answer.get(10, TimeUnit.SECONDS);
        } finally {
            client.close();
            client.awaitTermination(Duration.ofSeconds(5));
        }
    }

    @Test
    void choosesTheProtocolByAlpnWithJhvsClient() throws Exception {
        try (TcpServer server = server()) {
            assertEquals("alpha:hi", ask(server.port(), "alpha", "hi"));
            assertEquals("beta:hi", ask(server.port(), "beta", "hi"));
            assertEquals("none:hi", ask(server.port(), null, "hi")); // no ALPN: otherwise
        }
    }

    @Test
    void choosesTheProtocolByAlpnWithOpensslSClient() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(OpenSslInteropTest.hasOpenssl(), "openssl not installed");
        Path ca = Files.createTempFile("jhv-ca", ".pem");
        Files.writeString(ca, TlsTestSupport.CA.certificatePem());
        try (TcpServer server = server()) {
            Process p = new ProcessBuilder("openssl", "s_client", "-connect", "127.0.0.1:" + server.port(),
                    "-CAfile", ca.toString(), "-servername", "localhost", "-verify_return_error", "-alpn", "beta", "-quiet")
                    .redirectError(ProcessBuilder.Redirect.DISCARD).start();
            try {
                OutputStream in = p.getOutputStream();
                in.write("over openssl\n".getBytes(StandardCharsets.UTF_8));
                in.flush(); // stdin stays open: s_client would close the connection at its end
                BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
                CompletableFuture<String> line = CompletableFuture.supplyAsync(() -> {
                    try {
                        return r.readLine();
                    } catch (Exception e) {
                        return "error " + e;
                    }
                });
                assertEquals("beta:over openssl", line.get(15, TimeUnit.SECONDS));
            } finally {
                p.destroy();
                p.waitFor(5, TimeUnit.SECONDS);
            }
        } finally {
            Files.deleteIfExists(ca);
        }
    }

    /** Without an otherwise, a name the selector does not list closes the connection with ERROR. */
    @Test
    void noProtocolForTheAgreedNameCloses() throws Exception {
        CompletableFuture<CloseCause> closed = new CompletableFuture<>();
        try (TcpServer server = TcpServer.create("127.0.0.1", 0).threads(1)
                .tls(TlsTestSupport.server().alpn("alpha", "beta").build())
                .protocol(ProtocolSelector.builder().alpn("alpha", () -> new LineProtocol("alpha")).build())
                .onClose((c, cause) -> closed.complete(cause))
                .start()) {
            try {
                ask(server.port(), "beta", "hi");
            } catch (java.util.concurrent.ExecutionException expected) {
                // closed
            }
            CloseCause cause = closed.get(10, TimeUnit.SECONDS);
            assertEquals(CloseCause.Kind.ERROR, cause.kind());
            assertTrue(cause.detail().contains("ALPN beta"), cause.toString());
        }
    }
}
