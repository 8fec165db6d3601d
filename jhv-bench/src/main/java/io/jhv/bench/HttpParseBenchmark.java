package io.jhv.bench;

import io.jhv.core.buffer.Buffer;
import io.jhv.http.internal.http1.EmbeddedHttp;
import io.jhv.http.internal.ServerConfig;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The HTTP/1.1 server's per-request path in process, without sockets: the bytes of a plaintext GET
 * go through the same engine a served connection runs ({@link EmbeddedHttp}: head scan, parse and
 * validation, routing, middleware chain, handler, response encoding with Date and Server), and the
 * response bytes are dropped. Run with {@code -prof gc}: {@code gc.alloc.rate.norm} is what one
 * request allocates, and the goal is 0 B/op.
 *
 * <pre>
 * java -jar jhv-bench/target/benchmarks.jar HttpParseBenchmark -prof gc
 * </pre>
 *
 * <p>JMH state is per benchmark thread; the engine is single-threaded here.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"-Xms512m", "-Xmx512m"})
public class HttpParseBenchmark {
    // Buffer.rewrap is not public API: the bench (on the class path) reaches it as the connection does.
    private static final io.jhv.core.internal.BufferAccess BUFFERS = io.jhv.core.internal.Internals.buffers();

    private static final int DEPTH = 16;

    private EmbeddedHttp http;
    private Buffer in;
    private byte[] one;
    private byte[] pipelined;
    private byte[] param;

    @Setup
    public void setup() {
        ServerConfig cfg = new ServerConfig();
        // a handful of routes, so the lookup is not trivially the only entry
        cfg.router.add("GET", "/plaintext", (req, res) -> res.text("Hello, World!"));
        cfg.router.add("GET", "/ping", (req, res) -> res.text("pong"));
        cfg.router.add("GET", "/json", (req, res) -> res.json(Map.of("message", "Hello, World!")));
        cfg.router.add("POST", "/echo", (req, res) -> res.bytes(req.body()));
        cfg.router.add("GET", "/users/:id", (req, res) -> res.text(req.pathParam("id")));
        http = new EmbeddedHttp(cfg);
        in = Buffer.allocate(16);
        one = BufferBenchmark.PLAINTEXT_GET.getBytes(StandardCharsets.US_ASCII);
        pipelined = BufferBenchmark.PLAINTEXT_GET.repeat(DEPTH).getBytes(StandardCharsets.US_ASCII);
        param = BufferBenchmark.PLAINTEXT_GET.replace("/plaintext", "/users/42").getBytes(StandardCharsets.US_ASCII);
        // the response must be what a client expects
        http.feed(BUFFERS.rewrap(in, one, 0, one.length));
        String check = http.output().readString(http.output().readableBytes(), StandardCharsets.US_ASCII);
        if (!check.startsWith("HTTP/1.1 200 OK\r\n") || !check.endsWith("\r\n\r\nHello, World!") || http.closed()) {
            throw new IllegalStateException("unexpected response:\n" + check);
        }
    }

    /** One request in, one response out: the keep-alive plaintext case. */
    @Benchmark
    public int plaintext() {
        http.feed(BUFFERS.rewrap(in, one, 0, one.length));
        Buffer out = http.output();
        int n = out.readableBytes();
        out.clear();
        return n;
    }

    /** Sixteen pipelined requests in one read: per operation, all sixteen. */
    @Benchmark
    @org.openjdk.jmh.annotations.OperationsPerInvocation(DEPTH)
    public int plaintextPipelined16() {
        http.feed(BUFFERS.rewrap(in, pipelined, 0, pipelined.length));
        Buffer out = http.output();
        int n = out.readableBytes();
        out.clear();
        return n;
    }

    /** A route with a path parameter: the path string and parameter string are what the API hands out. */
    @Benchmark
    public int pathParameter() {
        http.feed(BUFFERS.rewrap(in, param, 0, param.length));
        Buffer out = http.output();
        int n = out.readableBytes();
        out.clear();
        return n;
    }
}
