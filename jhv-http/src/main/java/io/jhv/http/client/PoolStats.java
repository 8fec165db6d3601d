package io.jhv.http.client;

/**
 * A snapshot of a connection pool (one origin's, or the sum over all origins).
 *
 * @param open     connections open or being opened
 * @param idle     open connections waiting in the pool for a call
 * @param acquired connections carrying a call now
 * @param pending  calls waiting for a connection (the pool is at its limit)
 */
public record PoolStats(int open, int idle, int acquired, int pending) {
    /** The sum of two snapshots. */
    public PoolStats plus(PoolStats o) {
        return new PoolStats(open + o.open, idle + o.idle, acquired + o.acquired, pending + o.pending);
    }
}
