package io.jhv.core.tls;

import io.jhv.core.net.TcpServer;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Talks to a real peer: Debian's {@code openssl s_client}, TLS 1.2 and 1.3, with ALPN and SNI. */
@Timeout(30)
class OpenSslInteropTest {
    @TempDir
    static Path dir;

    @BeforeAll
    static void needOpenssl() {
        assumeTrue(hasOpenssl(), "openssl is not installed");
    }

    static boolean hasOpenssl() {
        try {
            return new ProcessBuilder("openssl", "version").redirectErrorStream(true).start().waitFor() == 0;
        } catch (Exception e) {
            return false;
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"-tls1_3", "-tls1_2"})
    void opensslClientEchoes(String versionFlag) throws Exception {
        Path caFile = dir.resolve("ca.pem");
        Files.writeString(caFile, TlsTestSupport.CA.certificatePem());
        CompletableFuture<String> sni = new CompletableFuture<>();
        try (TcpServer server = TcpServer.create("127.0.0.1", 0).threads(1)
                .tls(TlsTestSupport.server().alpn("echo/1", "http/1.1").build())
                .onConnection(c -> { if (c.isConnected()) sni.complete(TlsInfo.of(c).sniHostName()); })
                .onMessage((c, b) -> c.write(b))
                .start()) {
            String out = sClient(server.port(), caFile, versionFlag, "http/1.1,echo/1", "hello from openssl");
            String version = versionFlag.equals("-tls1_3") ? "TLSv1.3" : "TLSv1.2";
            assertTrue(out.contains("New, " + version + ", Cipher is"), out);
            assertTrue(out.contains("ALPN protocol: echo/1"), "the server's preference wins: " + out);
            assertTrue(out.contains("Verify return code: 0 (ok)"), out);
            assertTrue(out.contains("hello from openssl"), out);
            assertEquals("localhost", sni.get(5, TimeUnit.SECONDS));
        }
    }

    /** The development certificate verifies as its own CA in OpenSSL (a self-signed leaf). */
    @Test
    void opensslAcceptsTheDevelopmentCertificate() throws Exception {
        SelfSignedCertificate dev = SelfSignedCertificate.generate("localhost");
        SelfSignedCertificate.PemFiles files = dev.writeTo(dir.resolve("dev"));
        try (TcpServer server = TlsTestSupport.echoServer(TlsConfig.server().certificate(files.certificate(), files.privateKey()).build())) {
            String out = sClient(server.port(), files.certificate(), "-tls1_3", null, "dev cert echo");
            assertTrue(out.contains("Verify return code: 0 (ok)"), out);
            assertTrue(out.contains("dev cert echo"), out);
            Process verify = new ProcessBuilder("openssl", "verify", "-CAfile", files.certificate().toString(),
                    "-verify_hostname", "localhost", "-verify_ip", "127.0.0.1", files.certificate().toString())
                    .redirectErrorStream(true).start();
            String v = new String(verify.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertEquals(0, verify.waitFor(), v);
        }
    }

    /**
     * Runs {@code openssl s_client}, sends {@code message}, and returns its output once the echo came
     * back (or the process ended).
     */
    static String sClient(int port, Path caFile, String versionFlag, String alpn, String message) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("openssl", "s_client", "-connect", "127.0.0.1:" + port,
                "-CAfile", caFile.toString(), "-servername", "localhost", "-verify_return_error", versionFlag));
        if (alpn != null) cmd.addAll(List.of("-alpn", alpn));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        StringBuilder out = new StringBuilder();
        CompletableFuture<Void> echoed = new CompletableFuture<>();
        Thread reader = Thread.ofVirtual().start(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                    synchronized (out) {
                        out.append(line).append('\n');
                    }
                    if (line.equals(message)) echoed.complete(null);
                }
            } catch (Exception e) {
                // the process was destroyed
            }
            echoed.complete(null);
        });
        try {
            OutputStream in = p.getOutputStream();
            in.write((message + "\n").getBytes(StandardCharsets.UTF_8));
            in.flush(); // stdin stays open: s_client would close the connection at its end
            echoed.get(15, TimeUnit.SECONDS);
        } finally {
            p.destroy();
            p.waitFor(5, TimeUnit.SECONDS);
            reader.join(5000);
        }
        synchronized (out) {
            return out.toString();
        }
    }
}
