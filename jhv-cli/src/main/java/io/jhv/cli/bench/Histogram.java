package io.jhv.cli.bench;

/**
 * A latency histogram in the manner of HdrHistogram, written for {@code hv bench}: log-linear
 * buckets over nanoseconds, a fixed array (about 40 KB) whatever the run length, and a relative
 * error under 0.4% for every value (each power-of-two range is cut in 128 equal buckets; a value is
 * reported as the middle of its bucket). Values from 0 to 2^40 ns (about 18 minutes) are kept;
 * larger ones are clamped (and still count in {@link #max()} as the clamp).
 *
 * <p>Not thread-safe: one histogram per event loop, recorded on that loop only, then {@link #add}ed
 * together at the end, so recording needs no lock and no atomic. {@link #record} allocates nothing.
 */
public final class Histogram {
    /** Bits of precision kept below the highest set bit: 2^7 = 128 buckets per power of two. */
    static final int SUB_BITS = 7;
    private static final int SUB = 1 << SUB_BITS;          // 128
    private static final int LINEAR = SUB << 1;            // values 0..255 have a bucket each
    static final long MAX_VALUE = (1L << 40) - 1;
    private static final int BUCKETS = LINEAR + (40 - SUB_BITS - 1) * SUB;

    private final long[] counts = new long[BUCKETS];
    private long total;
    private long min = Long.MAX_VALUE;
    private long max;
    private double sum;
    private double sumSquares;

    /** Records one value in nanoseconds (negative counts as 0). Allocates nothing. */
    public void record(long nanos) {
        long v = nanos < 0 ? 0 : Math.min(nanos, MAX_VALUE);
        counts[index(v)]++;
        total++;
        if (v < min) min = v;
        if (v > max) max = v;
        double d = v;
        sum += d;
        sumSquares += d * d;
    }

    static int index(long v) {
        if (v < LINEAR) return (int) v;
        int top = 63 - Long.numberOfLeadingZeros(v);      // >= 8
        int shift = top - SUB_BITS;                         // >= 1
        int mantissa = (int) (v >>> shift) - SUB;           // 0..127
        return LINEAR + (shift - 1) * SUB + mantissa;
    }

    /** The lowest value of bucket {@code i}. */
    static long lowest(int i) {
        if (i < LINEAR) return i;
        int shift = (i - LINEAR) / SUB + 1;
        int mantissa = (i - LINEAR) % SUB;
        return (long) (SUB + mantissa) << shift;
    }

    /** The width of bucket {@code i}. */
    static long width(int i) {
        return i < LINEAR ? 1 : 1L << ((i - LINEAR) / SUB + 1);
    }

    /** Adds every value of {@code other} to this one (merging the loops' histograms). */
    public void add(Histogram other) {
        for (int i = 0; i < BUCKETS; i++) counts[i] += other.counts[i];
        total += other.total;
        if (other.total > 0) {
            min = Math.min(min, other.min);
            max = Math.max(max, other.max);
        }
        sum += other.sum;
        sumSquares += other.sumSquares;
    }

    /** The number of values recorded. */
    public long count() { return total; }

    /** The largest value recorded (exact), 0 if none. */
    public long max() { return max; }

    /** The smallest value recorded (exact), 0 if none. */
    public long min() { return total == 0 ? 0 : min; }

    /** The mean (exact), 0 if none. */
    public double mean() { return total == 0 ? 0 : sum / total; }

    /** The population standard deviation, 0 if none. */
    public double stdev() {
        if (total == 0) return 0;
        double m = sum / total;
        return Math.sqrt(Math.max(0, sumSquares / total - m * m));
    }

    /**
     * The value at {@code percentile} (0 to 100): the smallest recorded value such that at least
     * that share of all values is at or below it, as the middle of its bucket (within 0.4%),
     * clamped to the exact minimum and maximum. 0 if nothing was recorded.
     */
    public long percentile(double percentile) {
        if (total == 0) return 0;
        double p = Math.min(100, Math.max(0, percentile));
        long rank = Math.max(1, (long) Math.ceil(p / 100.0 * total));
        if (rank >= total) return max;
        long seen = 0;
        for (int i = 0; i < BUCKETS; i++) {
            seen += counts[i];
            if (seen >= rank) {
                long mid = lowest(i) + (width(i) - 1) / 2;
                return Math.max(min, Math.min(max, mid));
            }
        }
        return max;
    }

    /** Forgets every value. */
    public void reset() {
        java.util.Arrays.fill(counts, 0);
        total = 0;
        min = Long.MAX_VALUE;
        max = 0;
        sum = 0;
        sumSquares = 0;
    }
}
