package io.jhv.bench;

import io.jhv.bench.peer.NettyEchoServer;
import io.jhv.bench.peer.NettyTransport;
import io.jhv.core.net.TcpServer;
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

import java.io.EOFException;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.util.concurrent.TimeUnit;

/**
 * One echo round trip over loopback TCP: a blocking client writes {@code size} bytes and reads them
 * back from a one-loop echo server in the same JVM (jhv, Netty NIO or Netty epoll).
 *
 * <p>This goes through real sockets: jhv's {@code Connection} is built on a {@code SocketChannel}
 * and has no in-memory transport yet, so there is no socket-free echo path to measure. The client
 * uses direct buffers and allocates nothing, so {@code gc.alloc.rate.norm} from {@code -prof gc} is
 * what the server allocates per echo (the goal for jhv is 0 B/op). The rate itself is mostly
 * syscall and wake-up latency; the load harness ({@code compare.sh}) measures throughput.
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
public class EchoLoopbackBenchmark {
    @Param({"jhv", "netty-epoll", "netty-nio"})
    public String server;

    @Param({"1024"})
    public int size;

    private TcpServer jhv;
    private NettyEchoServer netty;
    private SocketChannel ch;
    private ByteBuffer out;
    private ByteBuffer in;

    @Setup(Level.Trial)
    public void setup() throws IOException, InterruptedException {
        int port;
        switch (server) {
            case "jhv" -> {
                jhv = TcpServer.create("127.0.0.1", 0).threads(1)
                        .onMessage((conn, buf) -> conn.write(buf))
                        .start();
                port = jhv.port();
            }
            case "netty-epoll" -> {
                netty = NettyEchoServer.start("127.0.0.1", 0, NettyTransport.EPOLL);
                port = netty.port();
            }
            case "netty-nio" -> {
                netty = NettyEchoServer.start("127.0.0.1", 0, NettyTransport.NIO);
                port = netty.port();
            }
            default -> throw new IllegalArgumentException("server must be jhv, netty-epoll or netty-nio: " + server);
        }
        ch = SocketChannel.open(new InetSocketAddress("127.0.0.1", port));
        ch.setOption(StandardSocketOptions.TCP_NODELAY, true);
        out = ByteBuffer.allocateDirect(size);
        for (int i = 0; i < size; i++) out.put((byte) i);
        in = ByteBuffer.allocateDirect(size);
    }

    @TearDown(Level.Trial)
    public void tearDown() throws IOException {
        if (ch != null) ch.close();
        if (jhv != null) jhv.close();
        if (netty != null) netty.close();
    }

    @Benchmark
    public byte roundTrip() throws IOException {
        out.clear();
        while (out.hasRemaining()) ch.write(out);
        in.clear();
        while (in.hasRemaining()) {
            if (ch.read(in) < 0) throw new EOFException("the echo server closed the connection");
        }
        return in.get(size - 1);
    }
}
