package io.jhv.core.net;

import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;

/**
 * When a {@link TcpClient} tries again after a failed connect or a lost connection (libhv's
 * {@code reconn_setting_t}): the delay grows fixed, linearly or exponentially from {@code min} to
 * {@code max}, with optional jitter, up to a maximum number of retries. Immutable and thread-safe.
 *
 * {@snippet :
 * client.reconnect(ReconnectPolicy.exponential(Duration.ofMillis(100), Duration.ofSeconds(10)).maxRetries(20).jitter(0.2));
 * }
 */
public final class ReconnectPolicy {
    /** How the delay grows with each retry. */
    public enum Backoff { FIXED, LINEAR, EXPONENTIAL }

    /** Retry for ever. */
    public static final int INFINITE = -1;

    private final Backoff backoff;
    private final long minDelayMs;
    private final long maxDelayMs;
    private final int maxRetries;
    private final double jitter;

    private ReconnectPolicy(Backoff backoff, long min, long max, int maxRetries, double jitter) {
        if (min < 0 || max < min) throw new IllegalArgumentException("need 0 <= min <= max: " + min + ", " + max);
        if (maxRetries < INFINITE) throw new IllegalArgumentException("maxRetries: " + maxRetries);
        if (jitter < 0 || jitter > 1) throw new IllegalArgumentException("jitter must be in [0, 1]: " + jitter);
        this.backoff = backoff;
        this.minDelayMs = min;
        this.maxDelayMs = max;
        this.maxRetries = maxRetries;
        this.jitter = jitter;
    }

    /** The same delay every time. */
    public static ReconnectPolicy fixed(Duration delay) {
        long d = TcpEndpoint.millis(delay);
        return new ReconnectPolicy(Backoff.FIXED, d, d, INFINITE, 0);
    }

    /** min, 2*min, 3*min, ... up to max. */
    public static ReconnectPolicy linear(Duration min, Duration max) {
        return new ReconnectPolicy(Backoff.LINEAR, TcpEndpoint.millis(min), TcpEndpoint.millis(max), INFINITE, 0);
    }

    /** min, 2*min, 4*min, ... up to max. */
    public static ReconnectPolicy exponential(Duration min, Duration max) {
        return new ReconnectPolicy(Backoff.EXPONENTIAL, TcpEndpoint.millis(min), TcpEndpoint.millis(max), INFINITE, 0);
    }

    /** Gives up after this many retries in a row ({@link #INFINITE}: never). */
    public ReconnectPolicy maxRetries(int n) { return new ReconnectPolicy(backoff, minDelayMs, maxDelayMs, n, jitter); }

    /** Spreads each delay randomly by up to this fraction (0 to 1) either way. */
    public ReconnectPolicy jitter(double fraction) { return new ReconnectPolicy(backoff, minDelayMs, maxDelayMs, maxRetries, fraction); }

    public Backoff backoff() { return backoff; }
    public long minDelayMs() { return minDelayMs; }
    public long maxDelayMs() { return maxDelayMs; }
    public int maxRetries() { return maxRetries; }
    public double jitter() { return jitter; }

    /** True if retry number {@code retry} (1-based) may happen. */
    public boolean allows(int retry) { return maxRetries == INFINITE || retry <= maxRetries; }

    /** The delay before retry number {@code retry} (1-based), jitter applied. */
    public long delayMs(int retry) {
        if (retry < 1) throw new IllegalArgumentException("retries count from 1: " + retry);
        long d = switch (backoff) {
            case FIXED -> minDelayMs;
            case LINEAR -> satMul(minDelayMs, retry);
            case EXPONENTIAL -> retry >= 62 ? Long.MAX_VALUE : satMul(minDelayMs, 1L << (retry - 1));
        };
        d = Math.min(Math.max(d, minDelayMs), maxDelayMs);
        if (jitter > 0 && d > 0) {
            double f = 1 + (ThreadLocalRandom.current().nextDouble() * 2 - 1) * jitter;
            d = Math.max(0, Math.round(d * f));
        }
        return d;
    }

    private static long satMul(long a, long b) {
        long hi = Math.multiplyHigh(a, b);
        long lo = a * b;
        return (hi != 0 || lo < 0) ? Long.MAX_VALUE : lo;
    }

    @Override
    public String toString() {
        return "ReconnectPolicy[" + backoff + " " + minDelayMs + ".." + maxDelayMs + " ms, retries=" + (maxRetries == INFINITE ? "inf" : maxRetries) + ", jitter=" + jitter + "]";
    }
}
