package io.jhv.cli;

import io.jhv.core.tls.SelfSignedCertificate;
import io.jhv.core.tls.TlsConfig;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code hv httpd --https-port}: HTTPS beside HTTP with a given certificate (flags and config file),
 * with a generated development certificate, and the option combinations that are refused.
 */
@Timeout(60)
class HttpdHttpsTest {
    @TempDir
    Path tmp;

    final List<HttpdCommand.Running> running = new ArrayList<>();
    final List<Path> devCertDirs = new ArrayList<>();
    String lastOutput;

    @AfterEach
    void stop() {
        for (HttpdCommand.Running r : running) r.close();
        for (Path d : devCertDirs) HttpdCommand.deleteTree(d); // start() leaves the development certificate for the user
    }

    private HttpdCommand.Running start(String... flags) throws IOException {
        String[] argv = new String[flags.length + 1];
        argv[0] = "httpd";
        System.arraycopy(flags, 0, argv, 1, flags.length);
        Args a = Args.parse(argv, 1, HttpdCommand.VALUE_FLAGS, HttpdCommand.SWITCHES);
        HttpdConfig c = HttpdCommand.configure(a);
        if (c.uploadDir == null) c.uploadDir = Files.createDirectories(tmp.resolve("uploads"));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        HttpdCommand.Running r = HttpdCommand.start(c, new PrintStream(out, true, StandardCharsets.UTF_8));
        running.add(r);
        lastOutput = out.toString(StandardCharsets.UTF_8);
        return r;
    }

    /** A JDK HTTP/1.1 client trusting only {@code certFile} (host names are verified). */
    private static HttpClient client(Path certFile) {
        return HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .sslContext(TlsConfig.client().trust(certFile).build().sslContext())
                .connectTimeout(Duration.ofSeconds(5)).build();
    }

    private static HttpResponse<String> get(HttpClient c, String url) throws Exception {
        return c.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    /** /plaintext over HTTPS (by the name localhost, so the host name check runs) and over HTTP. */
    private static X509Certificate assertServesPlaintext(HttpdCommand.Running r, Path trusted) throws Exception {
        try (HttpClient c = client(trusted)) {
            HttpResponse<String> res = get(c, "https://localhost:" + r.server.httpsPort() + "/plaintext");
            assertEquals(200, res.statusCode());
            assertEquals("Hello, World!", res.body());
            assertEquals("text/plain; charset=utf-8", res.headers().firstValue("Content-Type").orElse(null));
            assertTrue(res.uri().getScheme().equals("https"));
            X509Certificate leaf = (X509Certificate) res.sslSession().orElseThrow().getPeerCertificates()[0];
            // same routes on the HTTP port
            assertEquals("Hello, World!", get(c, "http://127.0.0.1:" + r.port() + "/plaintext").body());
            assertEquals("pong", get(c, "https://localhost:" + r.server.httpsPort() + "/ping").body());
            return leaf;
        }
    }

    @Test
    void httpsWithCertAndKeyFlags() throws Exception {
        SelfSignedCertificate cert = SelfSignedCertificate.builder().subject("CN=localhost").hosts("localhost").rsa().build();
        SelfSignedCertificate.PemFiles files = cert.writeTo(tmp.resolve("certs"));
        HttpdCommand.Running r = start("--port", "0", "--host", "127.0.0.1", "--threads", "1", "--https-port", "0",
                "--cert", files.certificate().toString(), "--key", files.privateKey().toString());
        int httpsPort = r.server.httpsPort();
        assertTrue(httpsPort > 0 && httpsPort != r.port(), "https port " + httpsPort);
        assertTrue(lastOutput.contains("hv httpd listening on https://127.0.0.1:" + httpsPort + "\n"), lastOutput);
        assertFalse(lastOutput.contains("development certificate"), lastOutput);
        X509Certificate leaf = assertServesPlaintext(r, files.certificate());
        assertEquals(cert.certificate(), leaf, "the server presents the certificate from --cert");
    }

    @Test
    void httpsFromTheConfigFile() throws Exception {
        SelfSignedCertificate.PemFiles files = SelfSignedCertificate.generate("localhost").writeTo(tmp.resolve("conf-certs"));
        Path conf = tmp.resolve("httpd.conf");
        Files.writeString(conf, """
                host = 127.0.0.1
                port = 0
                threads = 1
                https_port = 0
                cert = %s
                key = %s
                """.formatted(files.certificate(), files.privateKey()));
        HttpdCommand.Running r = start("--config", conf.toString());
        assertTrue(lastOutput.contains("hv httpd listening on https://127.0.0.1:" + r.server.httpsPort()), lastOutput);
        assertServesPlaintext(r, files.certificate());
    }

    @Test
    void httpsWithoutCertGeneratesADevelopmentCertificate() throws Exception {
        HttpdCommand.Running r = start("--port", "0", "--host", "127.0.0.1", "--threads", "1", "--https-port", "0");
        Matcher m = Pattern.compile("listening on https://127\\.0\\.0\\.1:(\\d+) \\(development certificate for localhost in (\\S+)\\)")
                .matcher(lastOutput);
        assertTrue(m.find(), lastOutput);
        assertEquals(r.server.httpsPort(), Integer.parseInt(m.group(1)));
        Path certDir = Path.of(m.group(2));
        devCertDirs.add(certDir);
        Path certFile = certDir.resolve("cert.pem");
        assertTrue(Files.isRegularFile(certFile), certFile + " was not written");
        assertTrue(Files.isRegularFile(certDir.resolve("key.pem")), "key.pem was not written");
        X509Certificate leaf = assertServesPlaintext(r, certFile);
        assertEquals("CN=localhost", leaf.getSubjectX500Principal().getName());
    }

    // ------------------------------------------------------------------ refused combinations

    /** Runs {@code hv ...} in process; returns the exit code and what went to stderr. */
    private static Object[] hv(String... argv) {
        PrintStream old = System.err;
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
        try {
            int code = Main.run(argv);
            return new Object[] {code, err.toString(StandardCharsets.UTF_8)};
        } finally {
            System.setErr(old);
        }
    }

    private static void exits(int code, String expect, String... argv) {
        Object[] r = hv(argv);
        assertEquals(code, r[0], String.join(" ", argv) + " -> " + r[1]);
        assertTrue(((String) r[1]).contains(expect), String.join(" ", argv) + " -> " + r[1]);
    }

    @Test
    void badCombinationsExitWith2() throws Exception {
        SelfSignedCertificate.PemFiles files = SelfSignedCertificate.generate("localhost").writeTo(tmp.resolve("c"));
        String cert = files.certificate().toString();
        String key = files.privateKey().toString();
        exits(2, "--cert and --key go together", "httpd", "--port", "0", "--https-port", "0", "--cert", cert);
        exits(2, "--cert and --key go together", "httpd", "--port", "0", "--https-port", "0", "--key", key);
        exits(2, "--cert/--key need --https-port", "httpd", "--port", "0", "--cert", cert, "--key", key);
        exits(2, "--https-port must be a number: x", "httpd", "--https-port", "x");
        exits(2, "--https-port must be between 0 and 65535: 70000", "httpd", "--https-port", "70000");
        exits(2, "--cert needs a value", "httpd", "--https-port", "0", "--cert");

        Path conf = tmp.resolve("bad.conf");
        Files.writeString(conf, "https_port = 0\ncert = " + cert + "\n");
        exits(2, "--cert and --key go together", "httpd", "--port", "0", "--config", conf.toString());
    }

    /** A certificate file that does not exist is not a usage error but a failure naming the file (exit 1). */
    @Test
    void missingCertificateFileExitsWith1NamingIt() throws Exception {
        Path missing = tmp.resolve("missing-cert.pem");
        SelfSignedCertificate.PemFiles files = SelfSignedCertificate.generate("localhost").writeTo(tmp.resolve("c"));
        exits(1, missing.toString(), "httpd", "--port", "0", "--host", "127.0.0.1", "--https-port", "0",
                "--cert", missing.toString(), "--key", files.privateKey().toString());
        // a key that does not belong to the certificate
        SelfSignedCertificate.PemFiles other = SelfSignedCertificate.generate("localhost").writeTo(tmp.resolve("other"));
        Object[] r = hv("httpd", "--port", "0", "--host", "127.0.0.1", "--https-port", "0",
                "--cert", files.certificate().toString(), "--key", other.privateKey().toString());
        assertEquals(1, r[0], (String) r[1]);
        assertTrue(((String) r[1]).startsWith("hv httpd: "), (String) r[1]);
    }
}
