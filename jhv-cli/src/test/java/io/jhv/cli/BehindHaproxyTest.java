package io.jhv.cli;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Two {@code hv httpd} processes behind Debian's HAProxy, which sends the PROXY protocol v2 and
 * health-checks {@code /readyz}: the access log shows the client's address (not HAProxy's), and one
 * process restarted (SIGTERM, drain, start again) under a wrk load costs zero failed requests.
 */
@Timeout(120)
class BehindHaproxyTest {
    @TempDir
    Path tmp;
    private final List<Process> processes = new ArrayList<>();

    @AfterEach
    void stop() {
        for (Process p : processes) p.destroyForcibly();
    }

    private static String java() {
        return ChildJvm.java();
    }

    private static String classPath(Class<?>... classes) throws Exception {
        return ChildJvm.classPath(classes);
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    private static String need(String tool) {
        for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin").split(File.pathSeparator)) {
            if (Files.isExecutable(Path.of(dir, tool))) return Path.of(dir, tool).toString();
        }
        for (String dir : List.of("/usr/sbin", "/usr/bin", "/sbin")) {
            if (Files.isExecutable(Path.of(dir, tool))) return Path.of(dir, tool).toString();
        }
        fail(tool + " is not installed (./test installs it with apt-get: haproxy, wrk)");
        return null;
    }

    /** A running hv httpd with its output collected. */
    private record Backend(Process process, StringBuffer log) {}

    private Backend backend(int port, Path conf) throws Exception {
        Process p = ChildJvm.hv("httpd", "--port", Integer.toString(port), "--host", "127.0.0.1", "--threads", "1", "--config", conf.toString())
                .redirectErrorStream(true).start();
        processes.add(p);
        StringBuffer log = new StringBuffer();
        Thread.ofPlatform().daemon().start(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line; (line = r.readLine()) != null; ) log.append(line).append('\n');
            } catch (IOException ignored) {
                // ended
            }
        });
        await(() -> log.toString().contains("listening on"), "hv httpd on port " + port + " to start: " + log, 20);
        return new Backend(p, log);
    }

    private static void await(BooleanSupplier cond, String what, int seconds) throws InterruptedException {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (!cond.getAsBoolean()) {
            if (System.nanoTime() > end) fail("timed out waiting for " + what);
            Thread.sleep(20);
        }
    }

    private static int count(CharSequence log, String what) {
        return log.toString().split(java.util.regex.Pattern.quote(what), -1).length - 1;
    }

    /** One GET through a socket bound to {@code from}; the status (or -1). */
    private static int get(String from, int port, String path) {
        try (Socket s = new Socket()) {
            s.bind(new InetSocketAddress(from, 0));
            s.connect(new InetSocketAddress("127.0.0.1", port), 2000);
            s.setSoTimeout(5000);
            s.getOutputStream().write(("GET " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            String line = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.US_ASCII)).readLine();
            return line == null ? -1 : Integer.parseInt(line.substring(9, 12));
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    @Test
    void clientAddressesArriveThroughProxyV2AndARestartUnderLoadLosesNoRequest() throws Exception {
        String haproxy = need("haproxy");
        String wrk = need("wrk");
        int front = freePort(), p1 = freePort(), p2 = freePort();
        Path conf = tmp.resolve("httpd.conf");
        Files.writeString(conf, """
                upload_dir = %s
                proxy_protocol = 127.0.0.1
                drain_delay = 1500
                shutdown_timeout = 3000
                access_log = on
                """.formatted(Files.createDirectories(tmp.resolve("up"))));
        Backend b1 = backend(p1, conf);
        Backend b2 = backend(p2, conf);

        Path cfg = tmp.resolve("haproxy.cfg");
        Files.writeString(cfg, """
                global
                    maxconn 256
                defaults
                    mode http
                    timeout connect 2s
                    timeout client 10s
                    timeout server 10s
                    timeout check 1s
                    retries 3
                frontend fe
                    bind 127.0.0.1:%d
                    default_backend be
                backend be
                    balance roundrobin
                    option httpchk GET /readyz
                    http-check expect status 200
                    default-server send-proxy-v2 check check-send-proxy inter 100ms fall 2 rise 2
                    server s1 127.0.0.1:%d
                    server s2 127.0.0.1:%d
                """.formatted(front, p1, p2));
        Process hap = new ProcessBuilder(haproxy, "-f", cfg.toString(), "-db").redirectErrorStream(true)
                .redirectOutput(tmp.resolve("haproxy.log").toFile()).start();
        processes.add(hap);
        await(() -> {
            for (int i = 0; i < 6; i++) if (get("127.0.0.1", front, "/ping") != 200) return false;
            return true;
        }, "haproxy to route to both backends", 20);
        assertTrue(hap.isAlive(), Files.readString(tmp.resolve("haproxy.log")));

        // the client's address, not HAProxy's: a client bound to 127.0.0.2 shows up in the access log
        for (int i = 0; i < 4; i++) assertEquals(200, get("127.0.0.2", front, "/plaintext?from-127-0-0-2"));
        await(() -> (b1.log() + "" + b2.log()).contains("127.0.0.2 - - ["), "an access log line with 127.0.0.2", 10);
        String logs = b1.log() + "" + b2.log();
        for (String line : logs.split("\n")) {
            if (line.contains("from-127-0-0-2")) assertTrue(line.startsWith("127.0.0.2 "), line);
        }

        // a restart of s1 under load: SIGTERM (readiness 503, drain), exit, start again
        Process load = new ProcessBuilder(wrk, "-t1", "-c8", "-d7s", "http://127.0.0.1:" + front + "/plaintext")
                .redirectErrorStream(true).start();
        processes.add(load);
        // the restart comes once wrk's load reaches s1 (its access log grows), not at a guessed time
        int before = count(b1.log(), "GET /plaintext HTTP");
        await(() -> count(b1.log(), "GET /plaintext HTTP") > before + 200, "wrk's requests to reach s1", 20);
        b1.process().toHandle().destroy();
        assertTrue(b1.process().waitFor(15, TimeUnit.SECONDS), "s1 did not stop: " + b1.log());
        Backend again = backend(p1, conf);
        String out = new String(load.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(load.waitFor(30, TimeUnit.SECONDS), out);
        Matcher m = Pattern.compile("(\\d+) requests in").matcher(out);
        assertTrue(m.find(), out);
        assertTrue(Long.parseLong(m.group(1)) > 100, out);
        assertFalse(out.contains("Socket errors"), "failed requests during the restart:\n" + out);
        assertFalse(out.contains("Non-2xx"), "failed requests during the restart:\n" + out);
        assertTrue(b1.log().toString().contains("not ready, still serving for 1500 ms"), b1.log().toString());
        // the restarted process takes requests again once HAProxy sees it ready
        await(() -> again.log().toString().contains("GET /plaintext"), "the restarted s1 to be routed to", 20);
        hap.destroy();
    }
}
