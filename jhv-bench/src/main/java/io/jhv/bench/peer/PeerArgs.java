package io.jhv.bench.peer;

import java.util.HashMap;
import java.util.Map;
import java.util.Set;

/**
 * The {@code --name value} options of the load-harness peers (servers and the pingpong client).
 *
 * <p>Not thread-safe; parsed once in {@code main}. An unknown option or a bad number is an
 * {@link IllegalArgumentException} whose message says which option and why.
 */
final class PeerArgs {
    private final Map<String, String> values = new HashMap<>();

    private PeerArgs() {}

    /**
     * Runs a started peer until the JVM is asked to stop (Ctrl-C, SIGTERM), then closes it: the
     * common end of every peer's main.
     */
    static void serveUntilShutdown(AutoCloseable server, String name) throws InterruptedException {
        java.util.concurrent.CountDownLatch done = new java.util.concurrent.CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                server.close();
            } catch (Exception e) {
                System.err.println(name + ": close failed: " + e);
            }
            done.countDown();
        }, name + "-shutdown"));
        done.await();
    }

    static PeerArgs parse(String[] argv, Set<String> known) {
        return parse(argv, known, Set.of());
    }

    /**
     * Like {@link #parse(String[], Set)}, and {@code flags} are options without a value
     * ({@code --deflate}), read with {@link #flag}.
     */
    static PeerArgs parse(String[] argv, Set<String> known, Set<String> flags) {
        PeerArgs a = new PeerArgs();
        for (int i = 0; i < argv.length; i++) {
            String arg = argv[i];
            if (!arg.startsWith("--")) throw new IllegalArgumentException("unexpected argument: " + arg);
            String name = arg.substring(2);
            String value;
            int eq = name.indexOf('=');
            if (eq >= 0) {
                value = name.substring(eq + 1);
                name = name.substring(0, eq);
            } else if (flags.contains(name)) {
                value = "true";
            } else {
                if (i + 1 >= argv.length) throw new IllegalArgumentException("--" + name + " needs a value");
                value = argv[++i];
            }
            if (flags.contains(name)) {
                if (!value.equals("true") && !value.equals("false")) throw new IllegalArgumentException("--" + name + " takes no value (or =true/=false), not " + value);
            } else if (!known.contains(name)) throw new IllegalArgumentException("unknown option --" + name + " (known: " + known + ")");
            a.values.put(name, value);
        }
        return a;
    }

    /** True if the flag was given. */
    boolean flag(String name) {
        return "true".equals(values.get(name));
    }

    String get(String name, String dflt) {
        return values.getOrDefault(name, dflt);
    }

    long getLong(String name, long dflt, long min, long max) {
        String v = values.get(name);
        if (v == null) return dflt;
        long n;
        try {
            n = Long.parseLong(v);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--" + name + " must be a number, not " + v);
        }
        if (n < min || n > max) throw new IllegalArgumentException("--" + name + " must be in [" + min + ", " + max + "], not " + n);
        return n;
    }

    int getInt(String name, int dflt, int min, int max) {
        return (int) getLong(name, dflt, min, max);
    }

    double getDouble(String name, double dflt, double min, double max) {
        String v = values.get(name);
        if (v == null) return dflt;
        double d;
        try {
            d = Double.parseDouble(v);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--" + name + " must be a number, not " + v);
        }
        if (!(d >= min && d <= max)) throw new IllegalArgumentException("--" + name + " must be in [" + min + ", " + max + "], not " + v);
        return d;
    }
}
