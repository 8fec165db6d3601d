package io.jhv.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.File;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * SIGTERM must stop hv in any state: with a request in flight, and with a loop that is stuck (the
 * graceful close cannot finish: hv halts at the deadline instead of staying up). A loop that ends
 * abnormally makes hv exit non-zero instead of running on half dead.
 */
@Timeout(60)
class SignalShutdownTest {
    @TempDir
    Path tmp;

    private static String java() {
        return ProcessHandle.current().info().command().orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    }

    private static String classPath(Class<?>... classes) throws Exception {
        StringBuilder cp = new StringBuilder();
        for (Class<?> c : classes) {
            if (cp.length() > 0) cp.append(File.pathSeparatorChar);
            cp.append(Path.of(c.getProtectionDomain().getCodeSource().getLocation().toURI()));
        }
        return cp.toString();
    }

    private static String drain(BufferedReader r) throws Exception {
        StringBuilder sb = new StringBuilder();
        for (String line; (line = r.readLine()) != null; ) sb.append(line).append('\n');
        return sb.toString();
    }

    @Test
    void sigtermWithARequestInFlightExitsWithinTheDeadline() throws Exception {
        Path conf = tmp.resolve("h.conf");
        Files.writeString(conf, "upload_dir = " + Files.createDirectories(tmp.resolve("up")) + "\nshutdown_timeout = 1000\n");
        Process p = new ProcessBuilder(java(), "--add-exports", "java.base/sun.nio.ch=ALL-UNNAMED", "-cp",
                classPath(Main.class, io.jhv.http.server.HttpServer.class, io.jhv.core.net.TcpServer.class), "io.jhv.cli.Main",
                "httpd", "--port", "0", "--host", "127.0.0.1", "--threads", "1", "--config", conf.toString())
                .redirectErrorStream(true).start();
        try (BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            String first = out.readLine();
            assertNotNull(first, "no output from hv httpd");
            Matcher m = Pattern.compile("listening on http://127\\.0\\.0\\.1:(\\d+) ").matcher(first);
            assertTrue(m.find(), first);
            try (Socket s = new Socket("127.0.0.1", Integer.parseInt(m.group(1)))) {
                OutputStream o = s.getOutputStream();
                // Mid-request: the headers and a part of a body that never completes.
                o.write("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                o.write(new byte[10_000]);
                o.flush();
                // Wait until the server has the request (a read with a short timeout paces it).
                s.setSoTimeout(300);
                try {
                    s.getInputStream().read();
                } catch (java.net.SocketTimeoutException expected) {
                    // no answer yet: the request is in flight
                }
                long t0 = System.nanoTime();
                p.toHandle().destroy(); // SIGTERM
                // shutdown_timeout 1 s + the 3 s margin, and slack for a loaded machine
                assertTrue(p.waitFor(8, TimeUnit.SECONDS), "hv httpd did not exit after SIGTERM with a request in flight");
                long ms = (System.nanoTime() - t0) / 1_000_000;
                String rest = drain(out);
                assertTrue(ms < 8_000, ms + " ms");
                assertTrue(rest.contains("hv httpd: shutting down"), rest);
            }
        } finally {
            p.destroyForcibly();
        }
    }

    /** One GET on a new connection: the status, or -1 if the connection was refused or closed. */
    private static int get(int port, String path) {
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(5000);
            s.getOutputStream().write(("GET " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            String line = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.US_ASCII)).readLine();
            return line == null ? -1 : Integer.parseInt(line.substring(9, 12));
        } catch (java.io.IOException e) {
            return -1;
        }
    }

    @Test
    void sigtermTurnsReadinessTo503WhileRequestsAreStillServedForTheDrainDelay() throws Exception {
        Path conf = tmp.resolve("h.conf");
        Files.writeString(conf, "upload_dir = " + Files.createDirectories(tmp.resolve("up")) + "\ndrain_delay = 3000\nshutdown_timeout = 1000\n");
        Process p = new ProcessBuilder(java(), "--add-exports", "java.base/sun.nio.ch=ALL-UNNAMED", "-cp",
                classPath(Main.class, io.jhv.http.server.HttpServer.class, io.jhv.core.net.TcpServer.class), "io.jhv.cli.Main",
                "httpd", "--port", "0", "--host", "127.0.0.1", "--threads", "1", "--config", conf.toString())
                .redirectErrorStream(true).start();
        try (BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            String first = out.readLine();
            assertNotNull(first, "no output from hv httpd");
            Matcher m = Pattern.compile("listening on http://127\\.0\\.0\\.1:(\\d+) ").matcher(first);
            assertTrue(m.find(), first);
            int port = Integer.parseInt(m.group(1));
            assertEquals(200, get(port, "/readyz"));
            p.toHandle().destroy(); // SIGTERM
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(3);
            int ready;
            while ((ready = get(port, "/readyz")) == 200 && System.nanoTime() < end) Thread.sleep(20);
            long seen = System.nanoTime();
            assertEquals(503, ready, "readiness after SIGTERM");
            // within the 3 s drain delay, new connections are still accepted and served
            assertEquals(200, get(port, "/ping"));
            assertTrue(System.nanoTime() - seen < TimeUnit.MILLISECONDS.toNanos(2500), "the check ran too late to prove anything");
            assertTrue(p.waitFor(15, TimeUnit.SECONDS), "hv httpd did not exit after the drain delay");
            assertEquals(-1, get(port, "/ping"), "still serving after the shutdown");
            String rest = drain(out);
            assertTrue(rest.contains("not ready, still serving for 3000 ms"), rest);
        } finally {
            p.destroyForcibly();
        }
    }

    @Test
    void processesShareThePortAWorkerThatDiesIsStartedAgainAndSigtermStopsThemAll() throws Exception {
        int port;
        try (java.net.ServerSocket probe = new java.net.ServerSocket(0)) {
            port = probe.getLocalPort();
        }
        Path conf = tmp.resolve("h.conf");
        Files.writeString(conf, "upload_dir = " + Files.createDirectories(tmp.resolve("up")) + "\nshutdown_timeout = 1000\n");
        Process p = new ProcessBuilder(java(), "--add-exports", "java.base/sun.nio.ch=ALL-UNNAMED", "-cp",
                classPath(Main.class, io.jhv.http.server.HttpServer.class, io.jhv.core.net.TcpServer.class), "io.jhv.cli.Main",
                "httpd", "--port", Integer.toString(port), "--host", "127.0.0.1", "--threads", "1", "--processes", "2",
                "--config", conf.toString())
                .redirectErrorStream(true).start();
        StringBuffer log = new StringBuffer();
        Thread reader = Thread.ofPlatform().daemon().start(() -> {
            try (BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line; (line = out.readLine()) != null; ) log.append(line).append('\n');
            } catch (java.io.IOException ignored) {
                // the process ended
            }
        });
        try {
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (countListening(log) < 2 && System.nanoTime() < end) Thread.sleep(20);
            assertEquals(2, countListening(log), log.toString());
            java.util.List<ProcessHandle> workers = p.toHandle().children().toList();
            assertEquals(2, workers.size(), log.toString());
            for (int i = 0; i < 20; i++) assertEquals(200, get(port, "/ping"));

            workers.get(0).destroyForcibly(); // a crash
            while (!log.toString().contains("exited with status") && System.nanoTime() < end) Thread.sleep(20);
            // the other one keeps serving meanwhile, and a third worker takes the place of the dead one
            for (int i = 0; i < 20; i++) assertEquals(200, get(port, "/ping"));
            while (countListening(log) < 3 && System.nanoTime() < end) Thread.sleep(20);
            assertEquals(3, countListening(log), log.toString());
            java.util.List<ProcessHandle> now = p.toHandle().children().toList();
            assertEquals(2, now.size());

            p.toHandle().destroy(); // SIGTERM to the supervisor
            assertTrue(p.waitFor(15, TimeUnit.SECONDS), "the supervisor did not exit: " + log);
            for (ProcessHandle w : now) {
                assertTrue(w.onExit().get(10, TimeUnit.SECONDS) != null && !w.isAlive(), "a worker outlived the supervisor");
            }
            assertEquals(-1, get(port, "/ping"));
            reader.join(5000);
            assertTrue(log.toString().contains("all processes stopped"), log.toString());
        } finally {
            p.toHandle().descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
        }
    }

    private static int countListening(CharSequence log) {
        return log.toString().split("listening on http://", -1).length - 1;
    }

    @Test
    void processesNeedAFixedPort() throws Exception {
        Process p = new ProcessBuilder(java(), "--add-exports", "java.base/sun.nio.ch=ALL-UNNAMED", "-cp",
                classPath(Main.class, io.jhv.http.server.HttpServer.class, io.jhv.core.net.TcpServer.class), "io.jhv.cli.Main",
                "httpd", "--port", "0", "--processes", "2")
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(15, TimeUnit.SECONDS));
        assertEquals(2, p.exitValue(), out);
        assertTrue(out.contains("--processes needs a fixed --port"), out);
    }

    private Process child(String mode) throws Exception {
        return new ProcessBuilder(java(), "-cp", classPath(LifetimeTestMain.class, Main.class, io.jhv.core.net.TcpServer.class),
                LifetimeTestMain.class.getName(), mode).redirectErrorStream(true).start();
    }

    @Test
    void sigtermWithAStuckLoopHaltsAtTheDeadline() throws Exception {
        Process p = child("stuck");
        try (BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            assertTrue(out.readLine().startsWith("PORT "));
            assertEquals("STUCK", out.readLine());
            assertEquals("READY", out.readLine()); // the shutdown hook is in place
            long t0 = System.nanoTime();
            p.toHandle().destroy(); // SIGTERM
            assertTrue(p.waitFor(10, TimeUnit.SECONDS), "stayed up after SIGTERM with a stuck loop");
            long ms = (System.nanoTime() - t0) / 1_000_000;
            String rest = drain(out);
            assertEquals(Lifetime.HALT_STATUS, p.exitValue(), rest);
            assertTrue(ms >= 900, "halted before the deadline: " + ms + " ms");
            assertTrue(rest.contains("did not finish within 1000 ms; halting"), rest);
        } finally {
            p.destroyForcibly();
        }
    }

    @Test
    void aLoopThatEndsAbnormallyMakesTheProcessExitNonZero() throws Exception {
        Process p = child("die");
        try (BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            assertTrue(p.waitFor(15, TimeUnit.SECONDS), "stayed up with a dead loop");
            String all = drain(out);
            assertEquals(Lifetime.FAILED_STATUS, p.exitValue(), all);
            assertTrue(all.contains("hv test: event loop") && all.contains("ended abnormally") && all.contains("exiting"), all);
        } finally {
            p.destroyForcibly();
        }
    }
}
