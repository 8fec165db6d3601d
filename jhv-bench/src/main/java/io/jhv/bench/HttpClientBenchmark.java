package io.jhv.bench;

import io.jhv.core.loop.EventLoop;
import io.jhv.core.loop.EventLoopGroup;
import io.jhv.http.client.HttpClient;
import io.jhv.http.client.HttpRequest;
import io.jhv.http.client.HttpResponse;
import io.jhv.http.client.ResponseCallback;
import io.jhv.http.client.ResponseView;
import io.jhv.http.server.HttpServer;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * The HTTP client's pooled keep-alive path: a GET without a request body against a one-loop jhv
 * {@link HttpServer} in the same JVM ({@code GET /plaintext}, 13 bytes back), through an
 * {@link HttpClient} on a one-loop group of its own. The request is built once (immutable: its
 * head is encoded once), so each op is the client's work per call plus the server's.
 *
 * <ul>
 * <li>{@code getOne}: one call at a time, the benchmark thread waits for each (latency-bound:
 *     two loop wake-ups per op);</li>
 * <li>{@code get64}: 64 calls in flight over a pool of up to 64 connections, then waits for all
 *     (throughput; one op = one call).</li>
 * <li>{@code getOneCallback}, {@code get64Callback}: the same through the allocation-free
 *     callback form {@link HttpClient#send(HttpRequest, ResponseCallback)} (no future, a borrowed
 *     response view; the benchmark thread waits by parking until the callback unparks it).
 *     {@code client=jdk} has no such form: there they repeat {@code getOne} and {@code get64}.</li>
 * </ul>
 * {@code -prof gc}'s {@code gc.alloc.rate.norm} is everything allocated per call in the JVM: the
 * client (the future the caller gets, the response, the body array) and the server. To separate
 * them, each iteration also prints the bytes each thread allocated per call (the JDK's per-thread
 * counters): the benchmark thread (the caller), the client's loop and the server's loop.
 * {@code client=jdk} runs the same calls through the JDK's {@code java.net.http.HttpClient}
 * (HTTP/1.1, its own selector thread, a direct executor so callbacks stay on it) for comparison.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"-Xms512m", "-Xmx512m"})
@Threads(1)
public class HttpClientBenchmark {
    @Param({"jhv", "jdk"})
    public String client;

    /** The jhv client's {@code callTimeout} in ms (0: none): a deadline per call, the futures' timer per call. */
    @Param({"0"})
    public long callTimeoutMs;

    private java.net.http.HttpClient jdk;
    private java.net.http.HttpRequest jdkRequest;
    private HttpServer server;
    private EventLoopGroup clientLoop;
    private HttpClient jhv;
    private HttpRequest request;
    private final CompletableFuture<?>[] batch = new CompletableFuture<?>[64];
    private final Waiter waiter = new Waiter();
    private long calls; // by the benchmark thread, for the per-thread allocation report
    private Thread caller, clientThread, serverThread;
    private long[] allocAtStart;

    /** The callback form's callback: counts responses and wakes the benchmark thread. */
    static final class Waiter implements ResponseCallback {
        volatile long done;
        volatile Thread thread;
        long statusSum; // loop thread only
        volatile Throwable failure;

        @Override
        public void onResponse(ResponseView r) {
            statusSum += r.status();
            done = done + 1; // one loop thread writes
            LockSupport.unpark(thread);
        }

        @Override
        public void onFailure(HttpRequest request, Throwable error) {
            failure = error;
            done = done + 1;
            LockSupport.unpark(thread);
        }

        void await(long target) {
            while (done < target) LockSupport.park(this);
            if (failure != null) throw new IllegalStateException("call failed", failure);
        }
    }

    @Setup(Level.Trial)
    public void setup() throws Exception {
        server = HttpServer.create("127.0.0.1", 0).threads(1)
                .get("/plaintext", (req, res) -> res.text("Hello, World!"))
                .start();
        clientLoop = EventLoopGroup.of(EventLoopGroup.Balance.ROUND_ROBIN,
                EventLoop.builder().name("bench-client").daemon(true).build()).start();
        HttpClient.Builder b = HttpClient.builder().group(clientLoop).maxConnectionsPerHost(64).decompress(false)
                .idleTimeout(Duration.ofMinutes(5));
        if (callTimeoutMs > 0) b.callTimeout(Duration.ofMillis(callTimeoutMs));
        jhv = b.build();
        request = HttpRequest.get("http://127.0.0.1:" + server.port() + "/plaintext").build();
        HttpResponse r = jhv.send(request);
        if (r.status() != 200 || !r.bodyString().equals("Hello, World!")) throw new IllegalStateException("bad answer: " + r);
        clientThread = clientLoop.get(0).submit(Thread::currentThread).get();
        serverThread = server.group().get(0).submit(Thread::currentThread).get();
        if (client.equals("jdk")) {
            jdk = java.net.http.HttpClient.newBuilder().version(java.net.http.HttpClient.Version.HTTP_1_1)
                    .executor(Runnable::run).build();
            jdkRequest = java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + server.port() + "/plaintext")).build();
        }
    }

    private static long allocated(Thread t) {
        return ((com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean()).getThreadAllocatedBytes(t.threadId());
    }

    @Setup(Level.Iteration)
    public void startCounting() {
        caller = Thread.currentThread();
        waiter.thread = caller;
        calls = 0;
        allocAtStart = new long[]{allocated(caller), allocated(clientThread), allocated(serverThread)};
    }

    @TearDown(Level.Iteration)
    public void report() {
        if (calls == 0) return;
        long[] a = allocAtStart;
        System.out.printf("  [B/call by thread: caller %.1f, client loop %.1f, server loop %.1f over %d calls]%n",
                (allocated(caller) - a[0]) / (double) calls, (allocated(clientThread) - a[1]) / (double) calls,
                (allocated(serverThread) - a[2]) / (double) calls, calls);
    }

    private CompletableFuture<?> call() {
        calls++;
        if (jdk != null) return jdk.sendAsync(jdkRequest, java.net.http.HttpResponse.BodyHandlers.ofByteArray());
        return jhv.sendAsync(request);
    }

    private static int status(Object r) {
        return r instanceof HttpResponse h ? h.status() : ((java.net.http.HttpResponse<?>) r).statusCode();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        jhv.close();
        if (jdk != null) jdk.close();
        clientLoop.shutdownGracefully(Duration.ofSeconds(2));
        server.close();
    }

    @Benchmark
    public long getOneCallback() {
        if (jdk != null) return status(call().join());
        Waiter w = waiter;
        long target = w.done + 1;
        calls++;
        jhv.send(request, w);
        w.await(target);
        return w.statusSum;
    }

    @Benchmark
    @OperationsPerInvocation(64)
    public long get64Callback() {
        if (jdk != null) return get64();
        Waiter w = waiter;
        long target = w.done + 64;
        calls += 64;
        for (int i = 0; i < 64; i++) jhv.send(request, w);
        w.await(target);
        return w.statusSum;
    }

    @Benchmark
    public int getOne() {
        return status(call().join());
    }

    @Benchmark
    @OperationsPerInvocation(64)
    public int get64() {
        CompletableFuture<?>[] b = batch;
        for (int i = 0; i < b.length; i++) b[i] = call();
        int sum = 0;
        for (CompletableFuture<?> f : b) sum += status(f.join());
        return sum;
    }
}
