package io.jhv.core.net;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Out of file descriptors (EMFILE) used to kill the server's loop (the first log line failed, and the
 * error escaped), or, when it did not, left clients hanging in the backlog and logged ten lines a
 * second. A server at its descriptor limit must keep serving its connections, not spin, close the
 * connections it cannot take (a clean close, not a hang), log about one line a second at most, and
 * recover by itself when descriptors free up.
 */
@Timeout(60)
class FdExhaustionTest {
    private static final int LIMIT = 128;
    private static final int EXTRA = 200;

    @TempDir
    Path tmp;

    @Test
    void aServerOutOfDescriptorsKeepsServingAndRecovers() throws Exception {
        Assumptions.assumeTrue(Files.isDirectory(Path.of("/proc/self/fd")), "Linux only (ulimit, /proc)");
        String java = ProcessHandle.current().info().command().orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        String cp = Path.of(TcpServer.class.getProtectionDomain().getCodeSource().getLocation().toURI()) + File.pathSeparator
                + Path.of(FdExhaustionServer.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        Path log = tmp.resolve("server.log");
        Process p = new ProcessBuilder("bash", "-c", "ulimit -n " + LIMIT + " && exec \"$0\" -Xmx64m -XX:+UseSerialGC -cp \"$1\" "
                + FdExhaustionServer.class.getName(), java, cp)
                .redirectError(log.toFile()).start();
        List<SocketChannel> extra = new ArrayList<>();
        try {
            BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
            String first = out.readLine();
            assertNotNull(first, "no output from the server: " + Files.readString(log));
            assertTrue(first.startsWith("PORT "), first);
            int port = Integer.parseInt(first.substring(5).trim());

            try (Socket keep = new Socket("127.0.0.1", port)) {
                keep.setSoTimeout(5_000);
                assertEquals("before", echo(keep, "before"));

                // More connections than the server has descriptors for.
                for (int i = 0; i < EXTRA; i++) extra.add(SocketChannel.open(new InetSocketAddress("127.0.0.1", port)));
                long t0 = System.nanoTime();
                assertTrue(await(() -> openFds(p.pid()) >= LIMIT - 1, 10_000),
                        "the server never ran out of descriptors: " + openFds(p.pid()) + " open; " + Files.readString(log));

                // The connections it could not take are closed, not left hanging in the backlog.
                int closed = countClosed(extra, 5_000);
                assertTrue(closed > 0, "no connection beyond the limit was closed by the server");
                assertTrue(closed < EXTRA, "it took none at all: " + closed);

                // (a) an existing connection is still served; (b) the process is alive and idle.
                assertEquals("during", echo(keep, "during"));
                assertTrue(p.isAlive());
                long cpu0 = cpuTicks(p.pid());
                long w0 = System.nanoTime();
                Thread.sleep(1_000); // pacing: measure the CPU use over a second
                long cpuMs = (cpuTicks(p.pid()) - cpu0) * 10; // USER_HZ = 100
                long wallMs = (System.nanoTime() - w0) / 1_000_000;
                assertTrue(cpuMs < wallMs / 2, "the server burns CPU at its limit: " + cpuMs + " ms CPU in " + wallMs + " ms");

                // (c) descriptors free up: new connections are served again.
                for (SocketChannel c : extra) c.close();
                extra.clear();
                assertTrue(await(() -> {
                    try (Socket s = new Socket("127.0.0.1", port)) {
                        s.setSoTimeout(1_000);
                        return "after".equals(echo(s, "after"));
                    } catch (IOException e) {
                        return false;
                    }
                }, 10_000), "new connections are not served again: " + Files.readString(log));
                assertEquals("still", echo(keep, "still"));

                // (d) about one log line a second at most.
                double seconds = (System.nanoTime() - t0) / 1e9;
                long lines = Files.readAllLines(log).stream().filter(l -> l.contains("Too many open files")).count();
                assertTrue(lines >= 1, "nothing logged about it: " + Files.readString(log));
                assertTrue(lines <= 2 + 2 * seconds, lines + " lines about it in " + seconds + " s:\n" + Files.readString(log));
            }
        } finally {
            for (SocketChannel c : extra) c.close();
            p.destroyForcibly();
            p.waitFor(10, TimeUnit.SECONDS);
        }
    }

    private static String echo(Socket s, String msg) throws IOException {
        s.getOutputStream().write(msg.getBytes(StandardCharsets.US_ASCII));
        return new String(s.getInputStream().readNBytes(msg.length()), StandardCharsets.US_ASCII);
    }

    /** How many of {@code channels} the peer closes (EOF or reset) within {@code ms}. */
    private static int countClosed(List<SocketChannel> channels, long ms) throws IOException {
        int closed = 0;
        try (Selector sel = Selector.open()) {
            for (SocketChannel c : channels) {
                c.configureBlocking(false);
                c.register(sel, SelectionKey.OP_READ);
            }
            ByteBuffer buf = ByteBuffer.allocate(64);
            long end = System.nanoTime() + ms * 1_000_000;
            long quietSince = System.nanoTime();
            while (System.nanoTime() < end) {
                if (sel.select(100) == 0) {
                    // settled: some closed and nothing more for half a second
                    if (closed > 0 && System.nanoTime() - quietSince > 500_000_000L) break;
                    continue;
                }
                for (SelectionKey k : sel.selectedKeys()) {
                    buf.clear();
                    int n;
                    try {
                        n = ((SocketChannel) k.channel()).read(buf);
                    } catch (IOException reset) {
                        n = -1;
                    }
                    if (n < 0) {
                        closed++;
                        k.cancel();
                    }
                }
                sel.selectedKeys().clear();
                quietSince = System.nanoTime();
            }
            for (SelectionKey k : sel.keys()) k.cancel();
            sel.selectNow();
        }
        for (SocketChannel c : channels) c.configureBlocking(true);
        return closed;
    }

    private static int openFds(long pid) throws IOException {
        try (var s = Files.list(Path.of("/proc/" + pid + "/fd"))) {
            return (int) s.count();
        }
    }

    /** utime + stime of a process, in clock ticks. */
    private static long cpuTicks(long pid) throws IOException {
        String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
        String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        return Long.parseLong(f[11]) + Long.parseLong(f[12]); // fields 14 and 15
    }

    interface Check {
        boolean ok() throws Exception;
    }

    private static boolean await(Check c, long ms) throws Exception {
        long end = System.nanoTime() + ms * 1_000_000;
        while (true) {
            if (c.ok()) return true;
            if (System.nanoTime() > end) return false;
            Thread.sleep(20);
        }
    }
}
