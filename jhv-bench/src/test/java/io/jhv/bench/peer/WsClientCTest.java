package io.jhv.bench.peer;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The load generator of ws-compare.sh, {@code src/main/c/ws_client.c}, built with gcc (the test is
 * skipped without gcc) and run for half a second against the WebSocket peers, plain and with
 * permessage-deflate, and against a server that refuses the upgrade: a load generator that counted
 * wrong or hid a failed handshake would make the comparison meaningless.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class WsClientCTest {
    @TempDir
    static Path dir;
    private static Path client;
    private static boolean zlib;

    @BeforeAll
    static void build() throws Exception {
        Path src = Path.of("src/main/c/ws_client.c").toAbsolutePath();
        assumeTrue(Files.exists(src), "run from jhv-bench: " + src);
        client = dir.resolve("ws_client");
        zlib = Files.exists(Path.of("/usr/include/zlib.h"));
        List<String> cmd = new ArrayList<>(List.of("gcc", "-O2", "-Wall", "-Werror"));
        if (zlib) cmd.add("-DHAVE_ZLIB");
        cmd.addAll(List.of("-o", client.toString(), src.toString()));
        if (zlib) cmd.add("-lz");
        Result r;
        try {
            r = run(cmd);
        } catch (IOException noGcc) {
            assumeTrue(false, "gcc not available: " + noGcc.getMessage());
            return;
        }
        assertEquals(0, r.code, "gcc failed: " + r.out);
    }

    private record Result(int code, String out) {}

    private static Result run(List<String> cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        assertTrue(p.waitFor(30, TimeUnit.SECONDS), "timed out: " + cmd);
        return new Result(p.exitValue(), new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
    }

    private static Result load(int port, String... opts) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(client.toString(), "-c", "4", "-w", "0", "-d", "0.5"));
        cmd.addAll(List.of(opts));
        cmd.addAll(List.of("127.0.0.1", Integer.toString(port)));
        return run(cmd);
    }

    private static double field(String out, String name) {
        for (String tok : out.split("\\s+")) {
            if (tok.startsWith(name + "=")) return Double.parseDouble(tok.substring(name.length() + 1));
        }
        throw new AssertionError("no " + name + " in: " + out);
    }

    private static String word(String out, String name) {
        for (String tok : out.split("\\s+")) {
            if (tok.startsWith(name + "=")) return tok.substring(name.length() + 1);
        }
        throw new AssertionError("no " + name + " in: " + out);
    }

    @ParameterizedTest
    @CsvSource({"jhv, 64, 1", "jhv, 4096, 4", "netty-epoll, 64, 1", "netty-nio, 4096, 4"})
    void echoesAreCountedAgainstEveryPeer(String kind, int size, int inflight) throws Exception {
        try (AutoCloseable s = start(kind, false)) {
            Result r = load(port(s), "-s", Integer.toString(size), "-n", Integer.toString(inflight));
            assertEquals(0, r.code, r.out);
            assertTrue(field(r.out, "msgs_per_sec") > 100, r.out);
            assertEquals(size + (size < 126 ? 2 : 4), field(r.out, "wire_in_bytes_per_msg"), 0.01, r.out); // whole unmasked echoes
            assertEquals("off", word(r.out, "deflate"), r.out);
        }
    }

    @ParameterizedTest
    @CsvSource({"jhv, -z", "jhv, -Z", "netty-epoll, -z", "netty-epoll, -Z"})
    void deflateIsAgreedAndCompressedEchoesAreCounted(String kind, String flag) throws Exception {
        assumeTrue(zlib || flag.equals("-z"), "-Z needs zlib.h");
        try (AutoCloseable s = start(kind, true)) {
            Result r = load(port(s), "-s", "4096", flag);
            assertEquals(0, r.code, r.out);
            assertTrue(field(r.out, "msgs_per_sec") > 10, r.out);
            assertEquals(flag.equals("-Z") ? "agreed-both" : "agreed", word(r.out, "deflate"), r.out);
            assertTrue(field(r.out, "wire_in_bytes_per_msg") < 4096 / 2.0, "echoes compressed: " + r.out);
        }
        // a server without deflate refuses the offer, and the client says so
        try (AutoCloseable s = start(kind, false)) {
            Result r = load(port(s), "-s", "64", flag);
            assertEquals(0, r.code, r.out);
            assertEquals("refused", word(r.out, "deflate"), r.out);
        }
    }

    @Test
    void aRefusedUpgradeFailsTheRun() throws Exception {
        try (ServerSocket ss = new ServerSocket()) {
            ss.bind(new InetSocketAddress("127.0.0.1", 0));
            Thread t = Thread.ofPlatform().daemon().start(() -> {
                try {
                    while (true) {
                        try (Socket c = ss.accept()) {
                            c.getInputStream().read(new byte[4096]);
                            OutputStream o = c.getOutputStream();
                            o.write("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                            o.flush();
                        }
                    }
                } catch (IOException closed) {
                    // the test closed the listener
                }
            });
            Result r = load(ss.getLocalPort(), "-s", "64");
            assertNotEquals(0, r.code, r.out);
            assertTrue(r.out.contains("handshake refused"), r.out);
            ss.close();
            t.join(5000);
        }
    }

    private static AutoCloseable start(String kind, boolean deflate) throws Exception {
        return switch (kind) {
            case "jhv" -> JhvWsEchoServer.start("127.0.0.1", 0, deflate);
            case "netty-epoll" -> NettyWsEchoServer.start("127.0.0.1", 0, NettyTransport.EPOLL, deflate);
            case "netty-nio" -> NettyWsEchoServer.start("127.0.0.1", 0, NettyTransport.NIO, deflate);
            default -> throw new IllegalArgumentException(kind);
        };
    }

    private static int port(AutoCloseable s) {
        return s instanceof JhvWsEchoServer j ? j.port() : ((NettyWsEchoServer) s).port();
    }
}
