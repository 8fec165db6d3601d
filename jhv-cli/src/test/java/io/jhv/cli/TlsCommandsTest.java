package io.jhv.cli;

import io.jhv.core.net.TcpServer;
import io.jhv.core.tls.TlsConfig;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.SSLSocket;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code hv cert} and {@code hv echo --tls}. */
@Timeout(30)
class TlsCommandsTest {
    @TempDir
    Path dir;

    private static String captureOut(Runnable r) {
        PrintStream old = System.out;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        System.setOut(new PrintStream(buf, true, StandardCharsets.UTF_8));
        try {
            r.run();
        } finally {
            System.setOut(old);
        }
        return buf.toString(StandardCharsets.UTF_8);
    }

    private static Args echoArgs(String... argv) {
        return Args.parse(argv, 0, Set.of("port", "host", "threads", "poller", "cert", "key"), Set.of("help", "tls"));
    }

    /** Echoes one message over TLS, trusting {@code certFile}, and returns the server's certificate. */
    private static X509Certificate echoOnce(int port, Path certFile) throws Exception {
        TlsConfig client = TlsConfig.client().trust(certFile).build();
        try (SSLSocket s = (SSLSocket) client.sslContext().getSocketFactory().createSocket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 5000);
            s.setSoTimeout(10_000);
            s.getOutputStream().write("ping".getBytes(StandardCharsets.US_ASCII));
            byte[] b = new byte[4];
            new DataInputStream(s.getInputStream()).readFully(b);
            assertEquals("ping", new String(b, StandardCharsets.US_ASCII));
            return (X509Certificate) s.getSession().getPeerCertificates()[0];
        }
    }

    @Test
    void certWritesFilesThatEchoServes() throws Exception {
        Path out = dir.resolve("certs");
        String text = captureOut(() -> assertEquals(0, Main.run(new String[] {"cert", "--out", out.toString(),
                "--host", "localhost", "--host", "dev.test", "--days", "30"})));
        assertTrue(text.contains("wrote " + out.resolve("cert.pem")), text);
        assertTrue(text.contains("localhost, dev.test, 127.0.0.1"), text);
        assertTrue(Files.exists(out.resolve("key.pem")));
        // a second run refuses to overwrite without --force
        assertEquals(1, Main.run(new String[] {"cert", "--out", out.toString()}));
        captureOut(() -> assertEquals(0, Main.run(new String[] {"cert", "--out", out.toString(), "--force"})));

        TcpServer server = EchoCommand.start(echoArgs("--port", "0", "--host", "127.0.0.1", "--threads", "1", "--tls",
                "--cert", out.resolve("cert.pem").toString(), "--key", out.resolve("key.pem").toString()));
        try {
            X509Certificate c = echoOnce(server.port(), out.resolve("cert.pem"));
            assertEquals("CN=localhost", c.getSubjectX500Principal().getName());
        } finally {
            server.close();
        }
    }

    @Test
    void echoTlsWithoutFilesGeneratesADevelopmentCertificate() throws Exception {
        TcpServer[] server = new TcpServer[1];
        String text = captureOut(() -> server[0] = EchoCommand.start(echoArgs("--port", "0", "--host", "127.0.0.1", "--threads", "1", "--tls")));
        try {
            Matcher m = Pattern.compile("certificate: (\\S+)").matcher(text);
            assertTrue(m.find(), text);
            assertTrue(text.contains("(TLS)"), text);
            echoOnce(server[0].port(), Path.of(m.group(1)));
        } finally {
            server[0].close();
        }
    }

    @Test
    void badOptions() {
        assertThrows(Args.UsageException.class, () -> EchoCommand.tlsConfig(echoArgs("--tls", "--cert", "x.pem")));
        assertThrows(Args.UsageException.class, () -> EchoCommand.tlsConfig(echoArgs("--cert", "x.pem", "--key", "y.pem")));
        Path missing = dir.resolve("missing.pem");
        RuntimeException e = assertThrows(RuntimeException.class,
                () -> EchoCommand.tlsConfig(echoArgs("--tls", "--cert", missing.toString(), "--key", missing.toString())));
        assertTrue(e.getMessage().contains(missing.toString()), e.getMessage());
        assertEquals(2, Main.run(new String[] {"cert", "--host"}));
    }
}
