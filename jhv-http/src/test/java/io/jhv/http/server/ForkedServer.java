package io.jhv.http.server;

import java.io.File;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * An HTTP server in a child JVM, for exhaustion tests that must not risk the test runner's heap:
 * {@code /ping}, {@code POST /echo} (the body back), {@code /heap} (heap in use after a GC),
 * {@code /rss} (resident memory in KiB after a GC). Prints
 * {@code port N} when it listens.
 */
public final class ForkedServer {
    private ForkedServer() {}

    public static void main(String[] args) throws Exception {
        HttpServer server = HttpServer.create("127.0.0.1", 0).threads(1)
                .get("/ping", (req, res) -> res.text("pong"))
                .post("/echo", (req, res) -> res.bytes(req.body()))
                .get("/heap", (req, res) -> {
                    System.gc();
                    res.text(Long.toString((Runtime.getRuntime().totalMemory() - Runtime.getRuntime().freeMemory())));
                })
                .get("/rss", (req, res) -> {
                    System.gc();
                    res.text(Long.toString(rssKib()));
                })
                .start();
        System.out.println("port " + server.port());
        System.out.flush();
        Thread.currentThread().join();
    }

    /** This process's resident set in KiB (Linux), or -1. */
    static long rssKib() {
        try {
            for (String l : java.nio.file.Files.readAllLines(Path.of("/proc/self/status"))) {
                if (l.startsWith("VmRSS:")) return Long.parseLong(l.replaceAll("\\D", ""));
            }
        } catch (java.io.IOException e) {
            // not Linux
        }
        return -1;
    }

    /** Starts this class in a child JVM with {@code jvmArgs}; returns the process and its port. */
    static Process start(List<String> jvmArgs) throws Exception {
        String java = ProcessHandle.current().info().command().orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        StringBuilder cp = new StringBuilder();
        for (Class<?> c : new Class<?>[] {ForkedServer.class, HttpServer.class, io.jhv.core.net.TcpServer.class}) {
            if (cp.length() > 0) cp.append(File.pathSeparatorChar);
            cp.append(Path.of(c.getProtectionDomain().getCodeSource().getLocation().toURI()));
        }
        List<String> cmd = new ArrayList<>(List.of(java, "--add-exports", "java.base/sun.nio.ch=ALL-UNNAMED"));
        cmd.addAll(jvmArgs);
        cmd.addAll(List.of("-cp", cp.toString(), ForkedServer.class.getName()));
        return new ProcessBuilder(cmd).redirectErrorStream(true).start();
    }
}
