package io.jhv.bench.client;

/**
 * One HTTP client under test in the client harness ({@code client-compare.sh}): sends
 * {@code GET url} (the URL given at creation) asynchronously, keep-alive, from a pool, and reports
 * the outcome to a callback. Every peer is configured the way its documentation recommends for
 * throughput: a pool of at least as many connections as requests in flight, no per-request
 * logging, the body read whole.
 */
public interface LoadClient extends AutoCloseable {
    /** Hears how one GET ended: the status and body length, or the failure. Any thread. */
    interface Callback {
        void done(int status, int bodyLength, Throwable failure);
    }

    /** Sends one GET; {@code cb} is called exactly once, on any thread. Any thread. */
    void get(Callback cb);

    /** The name used in tables: jdk, okhttp, vertx, netty, jhv. */
    String name();

    @Override
    void close();

    /** A client by name, for {@code url} with up to {@code connections} pooled connections. */
    static LoadClient create(String name, String url, int connections) throws Exception {
        return switch (name) {
            case "jdk" -> new JdkClient(url, connections);
            case "okhttp" -> new OkHttpLoadClient(url, connections);
            case "vertx" -> new VertxClient(url, connections);
            case "netty" -> new NettyClient(url, connections);
            case "jhv" -> new JhvClient(url, connections);
            case "jhv-cb" -> new JhvCallbackClient(url, connections);
            default -> throw new IllegalArgumentException("unknown client " + name + " (jdk, okhttp, vertx, netty, jhv, jhv-cb)");
        };
    }

    /** Every client name, in table order. */
    java.util.List<String> ALL = java.util.List.of("jhv", "jhv-cb", "jdk", "okhttp", "vertx", "netty");
}
