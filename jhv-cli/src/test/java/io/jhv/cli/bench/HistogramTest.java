package io.jhv.cli.bench;

import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@link Histogram}: percentiles of known distributions within 1%, merging, bounds. */
class HistogramTest {

    private static long exact(long[] sorted, double p) {
        long rank = Math.max(1, (long) Math.ceil(p / 100.0 * sorted.length));
        return sorted[(int) rank - 1];
    }

    private static void assertWithin1Percent(long expected, long actual, String what) {
        double err = Math.abs(actual - expected) / (double) Math.max(1, expected);
        assertTrue(err <= 0.01, what + ": expected " + expected + " got " + actual + " (error " + err + ")");
    }

    @Test
    void uniformPercentilesWithinOnePercent() {
        Histogram h = new Histogram();
        for (long v = 1; v <= 1_000_000; v++) h.record(v * 1000); // 1 us .. 1 s
        assertEquals(1_000_000, h.count());
        for (double p : new double[] {1, 10, 50, 90, 99, 99.9, 99.99}) {
            long expected = (long) Math.ceil(p / 100 * 1_000_000) * 1000;
            assertWithin1Percent(expected, h.percentile(p), "p" + p);
        }
        assertEquals(1_000_000_000L, h.max());
        assertEquals(1000, h.min());
        assertEquals(h.max(), h.percentile(100));
        assertWithin1Percent(500_000_500L, (long) h.mean(), "mean");
        // uniform on [a, b]: stdev = (b - a) / sqrt(12)
        assertWithin1Percent((long) (999_999_000 / Math.sqrt(12)), (long) h.stdev(), "stdev");
    }

    @Test
    void exponentialAndBimodalAgainstSortedValues() {
        Random rnd = new Random(42);
        long[] values = new long[200_000];
        Histogram h = new Histogram();
        for (int i = 0; i < values.length; i++) {
            long v = i % 10 == 0
                    ? 50_000_000L + (long) (rnd.nextDouble() * 10_000_000) // a slow mode around 50-60 ms
                    : (long) (-Math.log(1 - rnd.nextDouble()) * 200_000); // mean 200 us
            values[i] = v;
            h.record(v);
        }
        Arrays.sort(values);
        for (double p : new double[] {25, 50, 75, 89, 90, 95, 99, 99.9}) {
            assertWithin1Percent(exact(values, p), h.percentile(p), "p" + p);
        }
        assertEquals(values[values.length - 1], h.max());
    }

    @Test
    void everyBucketKeepsRelativeErrorUnderHalfAPercent() {
        Random rnd = new Random(7);
        for (int i = 0; i < 100_000; i++) {
            long v = (long) Math.exp(rnd.nextDouble() * Math.log(Histogram.MAX_VALUE));
            int b = Histogram.index(v);
            long lo = Histogram.lowest(b), w = Histogram.width(b);
            assertTrue(v >= lo && v < lo + w, v + " not in bucket [" + lo + ", " + (lo + w) + ")");
            assertTrue((w - 1) / 2.0 <= Math.max(0.5, 0.004 * v), "bucket too wide for " + v + ": " + w);
        }
    }

    @Test
    void mergedHistogramsEqualOneThatSawEverything() {
        Random rnd = new Random(3);
        Histogram a = new Histogram(), b = new Histogram(), all = new Histogram();
        for (int i = 0; i < 50_000; i++) {
            long v = (long) (rnd.nextGaussian() * 1_000_000 + 5_000_000);
            (i % 3 == 0 ? a : b).record(v);
            all.record(v);
        }
        Histogram merged = new Histogram();
        merged.add(a);
        merged.add(b);
        assertEquals(all.count(), merged.count());
        assertEquals(all.max(), merged.max());
        assertEquals(all.min(), merged.min());
        for (double p : new double[] {0, 10, 50, 99, 99.99, 100}) assertEquals(all.percentile(p), merged.percentile(p));
        assertEquals(all.mean(), merged.mean(), 1e-3);
    }

    @Test
    void emptyNegativeAndHugeValues() {
        Histogram h = new Histogram();
        assertEquals(0, h.percentile(99));
        assertEquals(0, h.max());
        assertEquals(0, h.mean());
        h.record(-5);
        h.record(Long.MAX_VALUE);
        assertEquals(2, h.count());
        assertEquals(0, h.min());
        assertEquals(Histogram.MAX_VALUE, h.max());
        assertEquals(0, h.percentile(50));
        assertEquals(Histogram.MAX_VALUE, h.percentile(100));
        h.reset();
        assertEquals(0, h.count());
    }
}
