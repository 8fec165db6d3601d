package io.jhv.bench;

import io.jhv.bench.peer.JhvWsEchoServer;
import io.jhv.bench.peer.NettyTransport;
import io.jhv.bench.peer.NettyWsEchoServer;
import io.jhv.bench.peer.WsBlockingClient;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

import java.io.IOException;
import java.net.ProtocolException;
import java.util.concurrent.TimeUnit;

/**
 * One WebSocket echo round trip over loopback: a blocking client ({@link WsBlockingClient}) sends a
 * masked binary (or text) message and reads the echo from a one-loop WebSocket echo server in the
 * same JVM: jhv ({@code HttpServer.ws}, {@link JhvWsEchoServer}) or Netty 4.2
 * ({@link NettyWsEchoServer}, native epoll or NIO). Only public API on the jhv side.
 *
 * <p>The client sends one prepared frame from a direct buffer and reads into another, so it
 * allocates nothing per op: {@code gc.alloc.rate.norm} from {@code -prof gc} is what the server
 * allocates per echoed message in steady state (issue 10's target for jhv without compression:
 * 0 B/op). With {@code deflate=true} the client sends every message compressed ({@code compressedIn},
 * the default; prepared once) and the server inflates it and compresses the echo when it is at or
 * above its threshold, so that row shows the allocation of the deflate path in both directions. The rate
 * itself is mostly syscall and wake-up latency; {@code ws-compare.sh} measures throughput.
 *
 * <p>The client (benchmark thread) and the server's loop each want a core; this machine has two.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"-Xms512m", "-Xmx512m", "--enable-native-access=ALL-UNNAMED"})
@Threads(1)
public class WsEchoLoopbackBenchmark {
    @Param({"jhv", "netty-epoll", "netty-nio"})
    public String server;

    @Param({"64", "4096"})
    public int size;

    @Param({"false"})
    public boolean text;

    @Param({"false"})
    public boolean deflate;

    /**
     * With {@code deflate}: true (default) sends each message compressed (deflated once at setup,
     * RSV1), so the server inflates every message and deflates every echo; false sends plain frames
     * (RSV1 = 0 is allowed per message), so only the echo is compressed.
     */
    @Param({"true"})
    public boolean compressedIn;

    private JhvWsEchoServer jhv;
    private NettyWsEchoServer netty;
    private WsBlockingClient client;
    private int expectedFirstByte;

    @Setup(Level.Trial)
    public void setup() throws IOException, InterruptedException {
        int port;
        switch (server) {
            case "jhv" -> {
                jhv = JhvWsEchoServer.start("127.0.0.1", 0, deflate);
                port = jhv.port();
            }
            case "netty-epoll" -> {
                netty = NettyWsEchoServer.start("127.0.0.1", 0, NettyTransport.EPOLL, deflate);
                port = netty.port();
            }
            case "netty-nio" -> {
                netty = NettyWsEchoServer.start("127.0.0.1", 0, NettyTransport.NIO, deflate);
                port = netty.port();
            }
            default -> throw new IllegalArgumentException("server must be jhv, netty-epoll or netty-nio: " + server);
        }
        client = WsBlockingClient.connect("127.0.0.1", port, "/", deflate);
        if (client.deflateAgreed() != deflate) throw new ProtocolException("permessage-deflate agreed: " + client.deflateAgreed() + ", wanted " + deflate);
        byte[] payload = new byte[size];
        for (int i = 0; i < size; i++) payload[i] = (byte) ('a' + (i * 7 + i / 13) % 26);
        client.prepare(payload, text, deflate && compressedIn);
        int got = client.roundTrip();
        if ((got & 0x0f) != (text ? 1 : 2) || (got & 0x80) == 0) throw new ProtocolException("echo frame starts with " + Integer.toHexString(got));
        if ((got & 0x40) == 0 && !java.util.Arrays.equals(payload, client.lastPayload())) throw new ProtocolException("the echo differs from the message");
        expectedFirstByte = got;
    }

    @TearDown(Level.Trial)
    public void tearDown() throws IOException {
        if (client != null) client.close();
        if (jhv != null) jhv.close();
        if (netty != null) netty.close();
    }

    @Benchmark
    public int roundTrip() throws IOException {
        int b = client.roundTrip();
        if (b != expectedFirstByte) throw new ProtocolException("echo frame starts with " + Integer.toHexString(b));
        return b;
    }
}
