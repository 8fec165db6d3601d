package io.jhv.mqtt;

import io.jhv.core.tls.SelfSignedCertificate;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Debian's mosquitto broker for the tests: started on free loopback ports with a generated
 * configuration (a plain listener, and on request a TLS listener with a self-signed certificate, a
 * WebSocket listener, a password file, persistence), stopped by {@link #close()}.
 * {@link #restart()} keeps the ports and the persistence file.
 */
final class Mosquitto implements AutoCloseable {
    static final String BIN = findBinary();

    final Path dir;
    final int port;
    int tlsPort = -1, wsPort = -1, wssPort = -1;
    SelfSignedCertificate cert;
    private final List<String> extra = new ArrayList<>();
    private boolean persistence;
    private String passwordLine;
    private Process process;

    private static String findBinary() {
        for (String p : new String[] {"/usr/sbin/mosquitto", "/usr/bin/mosquitto", "/usr/local/sbin/mosquitto"}) {
            if (Files.isExecutable(Path.of(p))) return p;
        }
        return null;
    }

    private Mosquitto() throws IOException {
        if (BIN == null) throw new IllegalStateException("mosquitto is not installed (apt-get install mosquitto mosquitto-clients; ./test installs it)");
        dir = Files.createTempDirectory("jhv-mosquitto");
        port = freePort();
    }

    static Mosquitto create() throws IOException { return new Mosquitto(); }

    Mosquitto tls() throws IOException {
        tlsPort = freePort();
        cert = SelfSignedCertificate.generate("localhost", "127.0.0.1");
        Files.writeString(dir.resolve("cert.pem"), cert.certificatePem());
        Files.writeString(dir.resolve("key.pem"), cert.privateKeyPem());
        return this;
    }

    Mosquitto websockets() throws IOException {
        wsPort = freePort();
        return this;
    }

    /** A websockets listener with TLS (call {@link #tls()} first: it uses the same certificate). */
    Mosquitto secureWebsockets() throws IOException {
        if (cert == null) throw new IllegalStateException("tls() first");
        wssPort = freePort();
        return this;
    }

    Mosquitto persistence() { persistence = true; return this; }

    Mosquitto user(String user, String password) { passwordLine = user + ":" + password; return this; }

    Mosquitto option(String line) { extra.add(line); return this; }

    Mosquitto start() throws IOException, InterruptedException {
        StringBuilder c = new StringBuilder();
        c.append("user root\nper_listener_settings false\nallow_anonymous true\n");
        c.append("log_dest file ").append(dir.resolve("mosquitto.log")).append("\nlog_type all\n");
        if (persistence) c.append("persistence true\npersistence_location ").append(dir).append("/\nautosave_interval 1\n");
        if (passwordLine != null) {
            Path pw = dir.resolve("passwd");
            Files.writeString(pw, passwordLine + "\n");
            Process p = new ProcessBuilder("mosquitto_passwd", "-U", pw.toString()).redirectErrorStream(true).start();
            if (!p.waitFor(10, TimeUnit.SECONDS) || p.exitValue() != 0) throw new IOException("mosquitto_passwd failed: " + new String(p.getInputStream().readAllBytes()));
            c.append("password_file ").append(pw).append('\n');
        }
        for (String l : extra) c.append(l).append('\n');
        c.append("listener ").append(port).append(" 127.0.0.1\n");
        if (tlsPort > 0) {
            c.append("listener ").append(tlsPort).append(" 127.0.0.1\n");
            c.append("certfile ").append(dir.resolve("cert.pem")).append("\nkeyfile ").append(dir.resolve("key.pem")).append('\n');
        }
        if (wsPort > 0) c.append("listener ").append(wsPort).append(" 127.0.0.1\nprotocol websockets\n");
        if (wssPort > 0) {
            c.append("listener ").append(wssPort).append(" 127.0.0.1\nprotocol websockets\n");
            c.append("certfile ").append(dir.resolve("cert.pem")).append("\nkeyfile ").append(dir.resolve("key.pem")).append('\n');
        }
        Path conf = dir.resolve("mosquitto.conf");
        Files.writeString(conf, c.toString());
        process = new ProcessBuilder(BIN, "-c", conf.toString()).redirectErrorStream(true)
                .redirectOutput(dir.resolve("stdout.log").toFile()).start();
        awaitPort(port);
        if (tlsPort > 0) awaitPort(tlsPort);
        if (wsPort > 0) awaitPort(wsPort);
        if (wssPort > 0) awaitPort(wssPort);
        return this;
    }

    /** Stops (SIGTERM: mosquitto saves its persistence file) and starts again on the same ports. */
    void restart() throws IOException, InterruptedException {
        stop();
        start();
    }

    void stop() throws InterruptedException {
        if (process == null) return;
        process.destroy();
        if (!process.waitFor(10, TimeUnit.SECONDS)) process.destroyForcibly().waitFor();
        process = null;
    }

    String url() { return "mqtt://127.0.0.1:" + port; }

    String log() {
        try {
            return Files.readString(dir.resolve("mosquitto.log"));
        } catch (IOException e) {
            return "(no log: " + e + ")";
        }
    }

    private void awaitPort(int p) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) throw new IOException("mosquitto exited: " + Files.readString(dir.resolve("stdout.log")) + log());
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress("127.0.0.1", p), 200);
                return;
            } catch (IOException notYet) {
                Thread.sleep(20);
            }
        }
        throw new IOException("mosquitto did not listen on " + p + " within 10 s: " + log());
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    @Override
    public void close() {
        try {
            stop();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try (var files = Files.walk(dir)) {
            files.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        } catch (IOException ignored) {
            // a temp dir left behind
        }
    }
}
