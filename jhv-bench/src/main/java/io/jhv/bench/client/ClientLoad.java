package io.jhv.bench.client;

import java.util.Locale;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The client harness's load: keeps N GETs in flight through one {@link LoadClient} (each
 * completion sends the next), for a warm-up and then a measured duration, and prints
 * {@code RESULT client=... requests_per_sec=... errors=...}.
 *
 * <pre>
 * java -cp benchmarks.jar io.jhv.bench.client.ClientLoad --client jhv --url http://127.0.0.1:8082/plaintext \
 *      [--concurrency 64] [--warmup 3] [--duration 10]
 * </pre>
 */
public final class ClientLoad {
    private final LoadClient client;
    private final AtomicLong ok = new AtomicLong();
    private final AtomicLong errors = new AtomicLong();
    private final AtomicInteger inFlight = new AtomicInteger();
    private final AtomicReference<String> lastError = new AtomicReference<>();
    private final int expectStatus, expectLength;
    private volatile boolean running = true;
    private static final java.util.concurrent.ScheduledExecutorService RETRY =
            java.util.concurrent.Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "client-load-retry");
                t.setDaemon(true);
                return t;
            });

    ClientLoad(LoadClient client, int expectStatus, int expectLength) {
        this.client = client;
        this.expectStatus = expectStatus;
        this.expectLength = expectLength;
    }

    private final LoadClient.Callback next = this::done;

    private void done(int status, int length, Throwable failure) {
        if (failure == null && status == expectStatus && (expectLength < 0 || length == expectLength)) {
            ok.incrementAndGet();
        } else {
            errors.incrementAndGet();
            lastError.set(failure != null ? failure.toString() : "status " + status + ", " + length + " bytes");
        }
        if (running && failure == null) {
            client.get(next);
        } else if (running) {
            // a failure can come back synchronously: resend later, never recursively
            RETRY.schedule(() -> client.get(next), 10, TimeUnit.MILLISECONDS);
        } else {
            inFlight.decrementAndGet();
        }
    }

    /** Starts {@code n} chains of requests. */
    void start(int n) {
        inFlight.set(n);
        for (int i = 0; i < n; i++) client.get(next);
    }

    /** Stops sending and waits (up to 5 s) for the requests in flight. */
    void stop() throws InterruptedException {
        running = false;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (inFlight.get() > 0 && System.nanoTime() < deadline) Thread.sleep(5);
    }

    long ok() { return ok.get(); }

    long errors() { return errors.get(); }

    String lastError() { return lastError.get(); }

    /** Sends exactly {@code n} GETs, {@code parallel} at a time; returns the failures (0 = all answered as expected). */
    static long fetch(LoadClient client, int n, int parallel, int expectStatus, int expectLength) throws InterruptedException {
        CountDownLatch all = new CountDownLatch(n);
        AtomicLong bad = new AtomicLong();
        AtomicInteger issued = new AtomicInteger();
        AtomicReference<String> firstBad = new AtomicReference<>();
        LoadClient.Callback[] cb = new LoadClient.Callback[1];
        cb[0] = (status, length, failure) -> {
            if (failure != null || status != expectStatus || length != expectLength) {
                bad.incrementAndGet();
                firstBad.compareAndSet(null, failure != null ? failure.toString() : "status " + status + ", " + length + " bytes");
            }
            all.countDown();
            if (issued.incrementAndGet() <= n) client.get(cb[0]);
        };
        for (int i = 0; i < parallel && issued.incrementAndGet() <= n; i++) client.get(cb[0]);
        if (!all.await(10, TimeUnit.SECONDS)) throw new IllegalStateException(client.name() + ": " + all.getCount() + " of " + n + " unanswered");
        if (bad.get() > 0) System.err.println(client.name() + ": " + bad.get() + " of " + n + " not as expected; the first: " + firstBad.get());
        return bad.get();
    }

    public static void main(String[] argv) throws Exception {
        String name = null, url = null;
        int concurrency = 64;
        double warmup = 3, duration = 10;
        int expectLength = 13;
        for (int i = 0; i < argv.length; i++) {
            String v = i + 1 < argv.length ? argv[i + 1] : null;
            switch (argv[i]) {
                case "--client" -> { name = v; i++; }
                case "--url" -> { url = v; i++; }
                case "--concurrency" -> { concurrency = Integer.parseInt(v); i++; }
                case "--warmup" -> { warmup = Double.parseDouble(v); i++; }
                case "--duration" -> { duration = Double.parseDouble(v); i++; }
                case "--expect-length" -> { expectLength = Integer.parseInt(v); i++; }
                default -> throw new IllegalArgumentException("unknown argument " + argv[i]);
            }
        }
        if (name == null || url == null) {
            System.err.println("usage: ClientLoad --client jhv|jdk|okhttp|vertx|netty --url URL [--concurrency 64] [--warmup 3] [--duration 10]");
            System.exit(2);
        }
        try (LoadClient client = LoadClient.create(name, url, concurrency)) {
            ClientLoad load = new ClientLoad(client, 200, expectLength);
            load.start(concurrency);
            Thread.sleep((long) (warmup * 1000));
            long ok0 = load.ok(), err0 = load.errors(), t0 = System.nanoTime();
            Thread.sleep((long) (duration * 1000));
            long ok1 = load.ok(), err1 = load.errors(), t1 = System.nanoTime();
            load.stop();
            double secs = (t1 - t0) / 1e9;
            System.out.printf(Locale.ROOT, "RESULT client=%s requests_per_sec=%.1f requests=%d errors=%d seconds=%.3f%s%n",
                    name, (ok1 - ok0) / secs, ok1 - ok0, err1 - err0, secs,
                    load.lastError() != null ? " last_error=\"" + load.lastError().replace('"', '\'') + "\"" : "");
        }
        System.exit(0); // some clients keep non-daemon threads for a while (OkHttp's pool)
    }
}
