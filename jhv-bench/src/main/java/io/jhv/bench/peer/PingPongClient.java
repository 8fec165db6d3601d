package io.jhv.bench.peer;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Set;

/**
 * A pingpong load client for echo servers: N connections, each with one message in flight.
 *
 * <p>Each connection sends a message of {@code size} bytes, waits until the whole message has come
 * back (checking that it is the same bytes), counts it, and sends it again, for a fixed duration
 * after a warm-up. It runs on one thread with one NIO selector, so pinned to one CPU it is a single
 * core's worth of load. Reports messages/s and MB/s (10^6 bytes of echoed payload per second), and,
 * when given the server's pid, the server's CPU use from {@code /proc} over the measured window.
 *
 * <p>Not thread-safe: {@link #run} runs on the calling thread until the duration is over.
 *
 * <pre>java -cp benchmarks.jar io.jhv.bench.peer.PingPongClient --port 7000 --connections 64 --size 1024 --duration 10</pre>
 */
public final class PingPongClient {
    static final String USAGE = "PingPongClient --port P [--host 127.0.0.1] [--connections 64] [--size 1024]"
            + " [--warmup 2] [--duration 10] [--server-pid PID]";
    /** /proc reports CPU times in USER_HZ ticks, which Linux fixes at 100 for user space. */
    private static final double TICKS_PER_SECOND = 100.0;

    /**
     * What one run measured. The CPU figures are percent of one core over the measured window, NaN
     * if unknown: the server's, this client's, and all other processes' on the machine (noise).
     */
    public record Result(int connections, int size, long messages, double seconds, double serverCpu, double clientCpu,
                         double otherCpu) {
        public double messagesPerSecond() { return messages / seconds; }
        public double megabytesPerSecond() { return messages * (double) size / seconds / 1e6; }

        /** One line the harness parses: {@code RESULT key=value ...}. */
        public String machineLine() {
            return String.format(Locale.ROOT,
                    "RESULT msgs_per_sec=%.0f mb_per_sec=%.2f server_cpu_pct=%.1f client_cpu_pct=%.1f other_cpu_pct=%.1f seconds=%.2f",
                    messagesPerSecond(), megabytesPerSecond(), serverCpu, clientCpu, otherCpu, seconds);
        }
    }

    private static final class Conn {
        final SocketChannel ch;
        final ByteBuffer out;
        final ByteBuffer in;
        SelectionKey key;

        Conn(SocketChannel ch, ByteBuffer pattern) {
            this.ch = ch;
            this.out = ByteBuffer.allocateDirect(pattern.capacity()).put(pattern.duplicate().clear());
            this.in = ByteBuffer.allocateDirect(pattern.capacity());
        }
    }

    private PingPongClient() {}

    /**
     * Connects {@code connections} sockets to {@code addr}, plays pingpong for {@code warmupMillis}
     * unmeasured and then {@code durationMillis} measured, closes them, and returns the measurement.
     *
     * @param serverPid the server's process id for its CPU use, or 0 to skip
     * @throws IOException if a connection fails, the server closes one, or an echo differs
     */
    public static Result run(InetSocketAddress addr, int connections, int size, long warmupMillis, long durationMillis, long serverPid)
            throws IOException {
        ByteBuffer pattern = ByteBuffer.allocate(size);
        for (int i = 0; i < size; i++) pattern.put((byte) ('a' + i % 26));
        Conn[] conns = new Conn[connections];
        try (Selector sel = Selector.open()) {
            try {
                for (int i = 0; i < connections; i++) {
                    SocketChannel ch = SocketChannel.open();
                    conns[i] = new Conn(ch, pattern);
                    ch.setOption(StandardSocketOptions.TCP_NODELAY, true);
                    ch.connect(addr);
                    ch.configureBlocking(false);
                    conns[i].key = ch.register(sel, SelectionKey.OP_READ, conns[i]);
                }
                for (Conn c : conns) send(c);

                long start = System.nanoTime();
                long measureFrom = start + warmupMillis * 1_000_000L;
                long end = measureFrom + durationMillis * 1_000_000L;
                long[] messages = new long[1];
                long baseMessages = -1;
                long baseServer = 0, baseClient = 0, baseBusy = 0;
                long measuredStart = 0;
                while (true) {
                    long now = System.nanoTime();
                    if (baseMessages < 0 && now - measureFrom >= 0) {
                        baseMessages = messages[0];
                        baseServer = serverPid > 0 ? cpuTicks(serverPid) : -1;
                        baseClient = cpuTicks(ProcessHandle.current().pid());
                        baseBusy = busyTicks();
                        measuredStart = now;
                    }
                    if (now - end >= 0) break;
                    IOException[] failure = new IOException[1];
                    sel.select(key -> {
                        try {
                            onReady(key, messages);
                        } catch (IOException e) {
                            failure[0] = e;
                        }
                    }, 50);
                    if (failure[0] != null) throw failure[0];
                }
                double seconds = (System.nanoTime() - measuredStart) / 1e9;
                double serverCpu = Double.NaN;
                if (baseServer >= 0 && serverPid > 0) {
                    long t = cpuTicks(serverPid);
                    if (t >= 0) serverCpu = (t - baseServer) / TICKS_PER_SECOND / seconds * 100;
                }
                long tc = cpuTicks(ProcessHandle.current().pid());
                double clientCpu = baseClient >= 0 && tc >= 0 ? (tc - baseClient) / TICKS_PER_SECOND / seconds * 100 : Double.NaN;
                long busy = busyTicks();
                double otherCpu = Double.NaN;
                if (baseBusy >= 0 && busy >= 0 && !Double.isNaN(serverCpu) && !Double.isNaN(clientCpu)) {
                    otherCpu = Math.max(0, (busy - baseBusy) / TICKS_PER_SECOND / seconds * 100 - serverCpu - clientCpu);
                }
                return new Result(connections, size, messages[0] - baseMessages, seconds, serverCpu, clientCpu, otherCpu);
            } finally {
                for (Conn c : conns) {
                    if (c != null) c.ch.close();
                }
            }
        }
    }

    private static void onReady(SelectionKey key, long[] messages) throws IOException {
        Conn c = (Conn) key.attachment();
        if (key.isWritable()) {
            c.ch.write(c.out);
            if (!c.out.hasRemaining()) key.interestOps(SelectionKey.OP_READ);
        }
        if (key.isReadable()) {
            int n = c.ch.read(c.in);
            if (n < 0) throw new IOException("the server closed a connection");
            if (!c.in.hasRemaining()) {
                c.in.flip();
                c.out.rewind();
                if (!c.in.equals(c.out)) throw new IOException("the echo differs from what was sent");
                c.in.clear();
                messages[0]++;
                send(c);
            }
        }
    }

    private static void send(Conn c) throws IOException {
        c.out.clear();
        c.ch.write(c.out);
        if (c.out.hasRemaining()) c.key.interestOps(SelectionKey.OP_READ | SelectionKey.OP_WRITE);
    }

    /** utime + stime of a process in ticks, from /proc/PID/stat; -1 if it cannot be read. */
    static long cpuTicks(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
            // The command name (field 2) may hold spaces; count fields after its closing parenthesis.
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            return Long.parseLong(f[11]) + Long.parseLong(f[12]); // fields 14 and 15 of the whole line
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    /** Busy ticks of the whole machine (user, nice, system, irq, softirq, steal of all CPUs); -1 if unknown. */
    static long busyTicks() {
        try {
            String first = Files.readAllLines(Path.of("/proc/stat")).get(0); // "cpu  user nice system idle iowait irq softirq steal ..."
            String[] f = first.trim().split("\\s+");
            return Long.parseLong(f[1]) + Long.parseLong(f[2]) + Long.parseLong(f[3])
                    + Long.parseLong(f[6]) + Long.parseLong(f[7]) + Long.parseLong(f[8]);
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    public static void main(String[] argv) {
        try {
            PeerArgs a = PeerArgs.parse(argv, Set.of("host", "port", "connections", "size", "warmup", "duration", "server-pid"));
            String host = a.get("host", "127.0.0.1");
            int port = a.getInt("port", -1, 1, 65535);
            if (port < 0) throw new IllegalArgumentException("--port is required");
            int connections = a.getInt("connections", 64, 1, 10_000);
            int size = a.getInt("size", 1024, 1, 1 << 24);
            long warmup = Math.round(a.getDouble("warmup", 2, 0, 3600) * 1000);
            long duration = Math.round(a.getDouble("duration", 10, 0.1, 3600) * 1000);
            long pid = a.getLong("server-pid", 0, 0, Long.MAX_VALUE);
            Result r = run(new InetSocketAddress(host, port), connections, size, warmup, duration, pid);
            System.out.printf(Locale.ROOT, "pingpong %s:%d: %d connections, %d B, %.1f s: %,.0f msg/s, %.1f MB/s,"
                            + " server CPU %.0f%%, client CPU %.0f%%, other processes %.0f%%%n",
                    host, port, connections, size, r.seconds(), r.messagesPerSecond(), r.megabytesPerSecond(),
                    r.serverCpu(), r.clientCpu(), r.otherCpu());
            System.out.println(r.machineLine());
        } catch (IllegalArgumentException e) {
            System.err.println("PingPongClient: " + e.getMessage() + "\nusage: " + USAGE);
            System.exit(2);
        } catch (IOException e) {
            System.err.println("PingPongClient: " + e);
            System.exit(1);
        }
    }
}
