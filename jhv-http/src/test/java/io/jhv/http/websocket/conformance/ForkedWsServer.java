package io.jhv.http.websocket.conformance;

import io.jhv.http.server.HttpServer;
import io.jhv.http.websocket.WebSocketConfig;

import java.io.BufferedReader;
import java.io.File;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A WebSocket echo server in a child JVM with a small heap, for the deflate bomb: if the engine
 * inflated a message whole, the child would die of OutOfMemoryError instead of the test runner.
 * {@code /echo} (maxMessageSize {@value #LIMIT}) echoes; the text "heap" is answered with the heap
 * in use after a GC. Prints {@code port N} when it listens.
 */
public final class ForkedWsServer {
    static final int LIMIT = 4 << 20;

    private ForkedWsServer() {
    }

    public static void main(String[] args) throws Exception {
        HttpServer server = HttpServer.create("127.0.0.1", 0).threads(1)
                .ws("/echo", WebSocketConfig.builder().maxMessageSize(LIMIT).build(), (ws, m) -> {
                    if (m.isText() && m.length() == 4 && m.text().equals("heap")) {
                        System.gc();
                        Runtime r = Runtime.getRuntime();
                        ws.send(Long.toString(r.totalMemory() - r.freeMemory()));
                    } else {
                        ws.send(m);
                    }
                })
                .start();
        System.out.println("port " + server.port());
        System.out.flush();
        Thread.currentThread().join();
    }

    /** A started child: its process and port. */
    record Child(Process process, int port, List<String> output) implements AutoCloseable {
        @Override
        public void close() throws InterruptedException {
            process.destroy();
            if (!process.waitFor(5, TimeUnit.SECONDS)) process.destroyForcibly();
        }
    }

    static Child start(List<String> jvmArgs) throws Exception {
        String java = ProcessHandle.current().info().command().orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        StringBuilder cp = new StringBuilder();
        for (Class<?> c : new Class<?>[] {ForkedWsServer.class, HttpServer.class, io.jhv.core.net.TcpServer.class}) {
            if (cp.length() > 0) cp.append(File.pathSeparatorChar);
            cp.append(Path.of(c.getProtectionDomain().getCodeSource().getLocation().toURI()));
        }
        List<String> cmd = new ArrayList<>(List.of(java, "--add-exports", "java.base/sun.nio.ch=ALL-UNNAMED"));
        cmd.addAll(jvmArgs);
        cmd.addAll(List.of("-cp", cp.toString(), ForkedWsServer.class.getName()));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        List<String> out = Collections.synchronizedList(new ArrayList<>());
        String line;
        while ((line = r.readLine()) != null) {
            out.add(line);
            if (line.startsWith("port ")) {
                int port = Integer.parseInt(line.substring(5).trim());
                Thread.ofVirtual().start(() -> { // keep draining the child's output
                    try {
                        String l;
                        while ((l = r.readLine()) != null) out.add(l);
                    } catch (java.io.IOException ignored) {
                        // child gone
                    }
                });
                return new Child(p, port, out);
            }
        }
        throw new IllegalStateException("child server did not start: " + out);
    }
}
