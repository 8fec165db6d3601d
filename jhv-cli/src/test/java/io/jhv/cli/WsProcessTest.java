package io.jhv.cli;

import io.jhv.http.server.HttpServer;
import io.jhv.http.websocket.WebSocket;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.BufferedReader;
import java.io.File;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code hv ws} as its own process, the way a user runs it: stdin and stdout are real pipes (UTF-8
 * whatever the locale), end of input closes with 1000 and exit status 0, and SIGTERM (Ctrl-C) says
 * 1001 to the server before the process goes.
 */
@Timeout(60)
class WsProcessTest {
    final List<HttpServer> servers = new ArrayList<>();
    final List<Process> processes = new ArrayList<>();

    @AfterEach
    void stop() throws Exception {
        for (Process p : processes) {
            p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            p.getInputStream().close();
            p.getOutputStream().close();
            p.getErrorStream().close();
        }
        for (HttpServer s : servers) s.close();
    }

    private static String java() {
        return ChildJvm.java();
    }

    private static String classPath(Class<?>... classes) throws Exception {
        return ChildJvm.classPath(classes);
    }

    private Process hvWs(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(java(), "--add-exports", "java.base/sun.nio.ch=ALL-UNNAMED", "-cp",
                classPath(Main.class, HttpServer.class, io.jhv.core.net.TcpServer.class), "io.jhv.cli.Main", "ws"));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().put("LC_ALL", "C"); // an ASCII locale: hv ws must still speak UTF-8
        pb.environment().remove("LANG");
        Process p = pb.start();
        processes.add(p);
        return p;
    }

    private HttpServer server(WsPeer peer) {
        HttpServer s = HttpServer.create("127.0.0.1", 0).threads(1).ws("/peer", peer).start();
        servers.add(s);
        return s;
    }

    @Test
    void pipedStdinIsSentAndEndOfInputClosesWithExitStatusZero() throws Exception {
        WsPeer server = new WsPeer();
        HttpServer s = server(server);
        Process p = hvWs("ws://127.0.0.1:" + s.port() + "/peer");
        WebSocket ws = server.socket();
        OutputStream stdin = p.getOutputStream();
        stdin.write("piped line ✓\nsecond\n".getBytes(StandardCharsets.UTF_8));
        stdin.flush();
        assertEquals("piped line ✓", server.nextText());
        assertEquals("second", server.nextText());
        ws.send("reply ✓");
        BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        assertEquals("reply ✓", out.readLine(), "stdout has the message, in UTF-8");
        stdin.close(); // end of input
        assertTrue(p.waitFor(20, TimeUnit.SECONDS), "hv ws exits after end of input");
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.exitValue(), err);
        assertEquals("1000", server.awaitClose());
        assertTrue(err.contains("hv ws: connected to ws://127.0.0.1:" + s.port() + "/peer"), err);
        assertEquals(null, out.readLine(), "nothing else on stdout");
    }

    @Test
    void sigtermSaysGoingAwayToTheServer() throws Exception {
        WsPeer server = new WsPeer();
        HttpServer s = server(server);
        Process p = hvWs("--echo", "ws://127.0.0.1:" + s.port() + "/peer");
        WebSocket ws = server.socket();
        ws.send("still echoing?");
        assertEquals("still echoing?", server.nextText());
        p.destroy(); // SIGTERM, as Ctrl-C's SIGINT
        assertEquals("1001 hv ws interrupted", server.awaitClose());
        assertTrue(p.waitFor(20, TimeUnit.SECONDS));
    }

    @Test
    void aRefusedConnectionExitsOneWithTheReasonOnStderr() throws Exception {
        int port;
        try (java.net.ServerSocket free = new java.net.ServerSocket(0, 1, java.net.InetAddress.getByName("127.0.0.1"))) {
            port = free.getLocalPort();
        }
        Process p = hvWs("ws://127.0.0.1:" + port + "/");
        p.getOutputStream().close();
        assertTrue(p.waitFor(20, TimeUnit.SECONDS));
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(1, p.exitValue(), err);
        assertTrue(err.startsWith("hv ws: cannot connect to ws://127.0.0.1:" + port + "/: connection refused"), err);
        assertEquals(2, hvWsExit("http://nope/"), "a bad URL is a usage error");
    }

    private int hvWsExit(String... args) throws Exception {
        Process p = hvWs(args);
        p.getOutputStream().close();
        assertTrue(p.waitFor(20, TimeUnit.SECONDS));
        return p.exitValue();
    }
}
