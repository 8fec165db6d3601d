package io.jhv.core.net;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.fail;

/**
 * Real proxies for the tunnel tests, started per test on a free loopback port: Debian's
 * {@code tinyproxy} (HTTP CONNECT, optional Basic auth) and {@code microsocks} (SOCKS5, optional
 * username/password). A missing binary fails the test saying what to install ({@code ./test}
 * installs both).
 */
final class ProxyPeers {
    private ProxyPeers() {}

    /** A running proxy process; {@link #close()} ends it. */
    static final class Peer implements AutoCloseable {
        final Process process;
        final int port;
        final Path log;

        Peer(Process process, int port, Path log) {
            this.process = process;
            this.port = port;
            this.log = log;
        }

        String log() {
            try {
                return Files.readString(log);
            } catch (IOException e) {
                return "(no log: " + e + ")";
            }
        }

        @Override
        public void close() throws Exception {
            process.destroy();
            if (!process.waitFor(5, TimeUnit.SECONDS)) process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
        }
    }

    static String require(String tool) {
        for (String dir : List.of("/usr/bin", "/usr/sbin", "/usr/local/bin", "/bin", "/sbin")) {
            Path p = Path.of(dir, tool);
            if (Files.isExecutable(p)) return p.toString();
        }
        return fail(tool + " is not installed: apt-get install " + tool + " (./test installs it)");
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    /**
     * tinyproxy on 127.0.0.1: with {@code user} non-null, Basic auth is required; with
     * {@code connectPort} > 0, CONNECT is allowed to that port only (others get 403).
     */
    static Peer tinyproxy(Path dir, String user, String password, int connectPort) throws Exception {
        String bin = require("tinyproxy");
        for (int attempt = 0; ; attempt++) {
            int port = freePort();
            List<String> conf = new ArrayList<>(List.of(
                    "Port " + port, "Listen 127.0.0.1", "Timeout 30", "MaxClients 50", "LogLevel Info"));
            if (user != null) conf.add("BasicAuth " + user + " " + password);
            if (connectPort > 0) conf.add("ConnectPort " + connectPort);
            Path cfg = dir.resolve("tinyproxy-" + port + ".conf");
            Files.write(cfg, conf);
            Path log = dir.resolve("tinyproxy-" + port + ".log");
            Process p = new ProcessBuilder(bin, "-d", "-c", cfg.toString())
                    .redirectErrorStream(true).redirectOutput(log.toFile()).start();
            Peer peer = new Peer(p, port, log);
            if (awaitListening(peer)) return peer;
            peer.close();
            if (attempt == 3) fail("tinyproxy did not start listening on " + port + ":\n" + peer.log());
        }
    }

    /** microsocks on 127.0.0.1; with {@code user} non-null, username/password is required. */
    static Peer microsocks(Path dir, String user, String password) throws Exception {
        String bin = require("microsocks");
        for (int attempt = 0; ; attempt++) {
            int port = freePort();
            List<String> cmd = new ArrayList<>(List.of(bin, "-i", "127.0.0.1", "-p", String.valueOf(port)));
            if (user != null) cmd.addAll(List.of("-u", user, "-P", password));
            Path log = dir.resolve("microsocks-" + port + ".log");
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
            Peer peer = new Peer(p, port, log);
            if (awaitListening(peer)) return peer;
            peer.close();
            if (attempt == 3) fail("microsocks did not start listening on " + port + ":\n" + peer.log());
        }
    }

    /** Polls until the port accepts a connection (true), or the process died or 10 s passed (false). */
    private static boolean awaitListening(Peer peer) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (System.nanoTime() < deadline) {
            if (!peer.process.isAlive()) return false;
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress("127.0.0.1", peer.port), 500);
                return true;
            } catch (IOException notYet) {
                Thread.sleep(20); // polling a process that starts: no event to wait on
            }
        }
        return false;
    }
}
