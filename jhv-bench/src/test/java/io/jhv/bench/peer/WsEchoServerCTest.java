package io.jhv.bench.peer;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The C ceiling of ws-compare.sh, {@code src/main/c/ws_echo_server.c}, in both of its modes (epoll,
 * and io_uring when liburing's header is there; ./test installs it): built with gcc -Werror, then
 * loaded by the harness's own client and by a real peer (Debian's python3-websockets), and fed a
 * frame a byte at a time, a request without a key and an unmasked frame. A ceiling that echoed
 * wrong, or only the harness's exact traffic, would make the comparison meaningless.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class WsEchoServerCTest {
    @TempDir
    static Path dir;
    private static Path client, server, serverUring;
    private Process running;

    @BeforeAll
    static void build() throws Exception {
        Path c = Path.of("src/main/c").toAbsolutePath();
        assumeTrue(Files.exists(c.resolve("ws_echo_server.c")), "run from jhv-bench: " + c);
        client = dir.resolve("ws_client");
        server = dir.resolve("ws_echo_server");
        try {
            gcc(List.of("-o", client.toString(), c.resolve("ws_client.c").toString()));
        } catch (IOException noGcc) {
            assumeTrue(false, "gcc not available: " + noGcc.getMessage());
        }
        gcc(List.of("-o", server.toString(), c.resolve("ws_echo_server.c").toString()));
        if (Files.exists(Path.of("/usr/include/liburing.h"))) {
            serverUring = dir.resolve("ws_echo_server_uring");
            gcc(List.of("-DHAVE_URING", "-o", serverUring.toString(), c.resolve("ws_echo_server.c").toString(), "-luring"));
        }
    }

    private static void gcc(List<String> args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("gcc", "-O2", "-Wall", "-Werror"));
        cmd.addAll(args);
        Result r = run(cmd);
        assertEquals(0, r.code, "gcc failed: " + r.out);
    }

    private record Result(int code, String out) {}

    private static Result run(List<String> cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        byte[] out = p.getInputStream().readAllBytes(); // until it exits (the class timeout bounds it)
        assertTrue(p.waitFor(30, TimeUnit.SECONDS), "timed out: " + cmd);
        return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8));
    }

    @AfterEach
    void stop() throws Exception {
        if (running != null) {
            running.destroyForcibly();
            running.waitFor(10, TimeUnit.SECONDS);
        }
    }

    /** Starts the server in MODE on a free port and returns the port once it accepts. */
    private int start(String mode) throws Exception {
        if (mode.equals("uring")) {
            assumeTrue(serverUring != null, "no liburing header (apt-get install liburing-dev)");
        }
        int port;
        try (ServerSocket probe = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            port = probe.getLocalPort();
        }
        List<String> cmd = mode.equals("uring")
                ? List.of(serverUring.toString(), "-u", Integer.toString(port))
                : List.of(server.toString(), Integer.toString(port));
        running = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(dir.resolve("server-" + mode + ".log").toFile()).start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (true) {
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress("127.0.0.1", port), 500);
                return port;
            } catch (IOException notYet) {
                assertTrue(running.isAlive(), "the server exited: " + Files.readString(dir.resolve("server-" + mode + ".log")));
                assertTrue(System.nanoTime() < deadline, "the server did not listen within 10 s");
                Thread.sleep(20); // polling for the listener, with a deadline
            }
        }
    }

    private static double field(String out, String name) {
        for (String tok : out.split("\\s+")) {
            if (tok.startsWith(name + "=")) return Double.parseDouble(tok.substring(name.length() + 1));
        }
        throw new AssertionError("no " + name + " in: " + out);
    }

    @ParameterizedTest
    @ValueSource(strings = {"epoll", "uring"})
    void theHarnessClientGetsWholeEchoesOfEverySize(String mode) throws Exception {
        int port = start(mode);
        for (int[] load : new int[][] {{64, 1}, {4096, 4}, {70_000, 1}}) { // 7-bit, 16-bit and 64-bit lengths
            Result r = run(List.of(client.toString(), "-c", "4", "-w", "0", "-d", "0.5", "-s", Integer.toString(load[0]),
                    "-n", Integer.toString(load[1]), "-P", Long.toString(running.pid()), "127.0.0.1", Integer.toString(port)));
            assertEquals(0, r.code, r.out);
            assertTrue(field(r.out, "msgs_per_sec") > 50, r.out);
            int header = load[0] < 126 ? 2 : load[0] <= 0xffff ? 4 : 10;
            assertEquals(load[0] + header, field(r.out, "wire_in_bytes_per_msg"), 0.01, r.out);
            double user = field(r.out, "server_user_pct");
            assertTrue(user >= 0 && user <= 100, "the server's user-space share is a percentage: " + r.out);
        }
        assertTrue(running.isAlive());
    }

    @ParameterizedTest
    @ValueSource(strings = {"epoll", "uring"})
    void pythonWebsocketsTalksToIt(String mode) throws Exception {
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/python3")), "no /usr/bin/python3");
        Result has = run(List.of("/usr/bin/python3", "-c", "import websockets"));
        assumeTrue(has.code == 0, "python3-websockets missing: " + has.out);
        int port = start(mode);
        String script = """
                import asyncio, sys, websockets
                async def main():
                    async with websockets.connect('ws://127.0.0.1:%d/', compression=None, max_size=None) as ws:
                        await ws.send('h\\u00e9llo \\u263a')
                        assert await ws.recv() == 'h\\u00e9llo \\u263a'
                        big = bytes(range(256)) * 400
                        await ws.send(big)
                        assert await ws.recv() == big
                        pong = await ws.ping(b'ping-payload')
                        await asyncio.wait_for(pong, 5)
                    assert ws.close_code == 1000, ws.close_code
                    print('OK')
                asyncio.run(main())
                """.formatted(port);
        Result r = run(List.of("/usr/bin/python3", "-c", script));
        assertEquals(0, r.code, r.out);
        assertTrue(r.out.contains("OK"), r.out);
    }

    @ParameterizedTest
    @ValueSource(strings = {"epoll", "uring"})
    void aFrameSentByteByByteIsEchoedAndBadInputClosesOnlyThatConnection(String mode) throws Exception {
        int port = start(mode);
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(5000);
            s.setTcpNoDelay(true);
            OutputStream o = s.getOutputStream();
            InputStream in = s.getInputStream();
            byte[] head = ("GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n").getBytes(StandardCharsets.US_ASCII);
            byte[] payload = "split across many reads".getBytes(StandardCharsets.US_ASCII);
            byte[] key = {0x11, 0x22, 0x33, 0x44};
            byte[] frame = new byte[6 + payload.length];
            frame[0] = (byte) 0x81;
            frame[1] = (byte) (0x80 | payload.length);
            System.arraycopy(key, 0, frame, 2, 4);
            for (int i = 0; i < payload.length; i++) frame[6 + i] = (byte) (payload[i] ^ key[i & 3]);
            byte[] all = new byte[head.length + frame.length];
            System.arraycopy(head, 0, all, 0, head.length);
            System.arraycopy(frame, 0, all, head.length, frame.length);
            for (byte b : all) { // one byte per segment: the head and the frame arrive in pieces
                o.write(b);
                o.flush();
            }
            String response = readHead(in);
            assertTrue(response.startsWith("HTTP/1.1 101"), response);
            assertTrue(response.contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"), response); // RFC 6455's example
            byte[] echo = in.readNBytes(2 + payload.length);
            assertEquals((byte) 0x81, echo[0]);
            assertEquals(payload.length, echo[1]); // unmasked, same length
            assertArrayEquals(payload, Arrays.copyOfRange(echo, 2, echo.length));

            o.write(new byte[] {(byte) 0x82, 0x01, 0x7f}); // an unmasked client frame: the server closes this connection
            o.flush();
            assertEquals(-1, in.read(), "the connection is closed after an unmasked frame");
        }
        try (Socket s = new Socket("127.0.0.1", port)) { // no key: 400, and the server goes on
            s.setSoTimeout(5000);
            s.getOutputStream().write("GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            assertTrue(readHead(s.getInputStream()).startsWith("HTTP/1.1 400"));
        }
        assertTrue(running.isAlive(), "the server survives bad input");
    }

    private static String readHead(InputStream in) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        while (true) {
            int c = in.read();
            if (c < 0) break;
            b.write(c);
            byte[] a = b.toByteArray();
            int n = a.length;
            if (n >= 4 && a[n - 4] == '\r' && a[n - 3] == '\n' && a[n - 2] == '\r' && a[n - 1] == '\n') break;
        }
        return b.toString(StandardCharsets.US_ASCII);
    }
}
