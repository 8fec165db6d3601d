package io.jhv.testing;

import java.lang.reflect.Method;

/**
 * Per-thread allocation counts for allocation tests: what a loop thread allocated across a
 * stretch of work. Through reflection, so that no module needs {@code jdk.management}.
 */
public final class Allocations {
    private static final Object MX;
    private static final Method ALLOCATED;

    static {
        Object mx = null;
        Method m = null;
        try {
            mx = Class.forName("java.lang.management.ManagementFactory").getMethod("getThreadMXBean").invoke(null);
            Class<?> sunMx = Class.forName("com.sun.management.ThreadMXBean");
            if (sunMx.isInstance(mx)) m = sunMx.getMethod("getThreadAllocatedBytes", long.class);
        } catch (ReflectiveOperationException | RuntimeException e) {
            m = null;
        }
        MX = mx;
        ALLOCATED = m;
    }

    private Allocations() {
    }

    /** The bytes {@code t} has allocated so far, or -1 where the JDK does not count them. Any thread. */
    public static long threadAllocatedBytes(Thread t) {
        if (ALLOCATED == null) return -1;
        try {
            return (long) ALLOCATED.invoke(MX, t.threadId());
        } catch (ReflectiveOperationException | RuntimeException e) {
            return -1;
        }
    }
}
