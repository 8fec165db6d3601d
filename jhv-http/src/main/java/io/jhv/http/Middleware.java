package io.jhv.http;

/**
 * Code around handlers: what runs before {@code chain.next()} runs before the handler, what runs
 * after it runs after the handler returned. A middleware may answer early by not calling
 * {@code chain.next()} and sending a response.
 *
 * {@snippet :
 * server.use((req, res, chain) -> {
 *     long t0 = System.nanoTime();
 *     chain.next();
 *     res.header("X-Time-Us", Long.toString((System.nanoTime() - t0) / 1000));
 * });
 * }
 */
@FunctionalInterface
public interface Middleware {
    void handle(Request req, Response res, Chain chain) throws Exception;

    /** The rest of the middleware chain and, at its end, the handler. */
    interface Chain {
        void next() throws Exception;
    }
}
