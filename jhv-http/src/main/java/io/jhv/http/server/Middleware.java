package io.jhv.http.server;

/**
 * Code around handlers: what runs before {@code chain.next()} runs before the handler, what runs
 * after it runs after the handler returned. A middleware may answer early by not calling
 * {@code chain.next()} and sending a response.
 *
 * <p>By the time {@code chain.next()} returns, the handler has usually answered and the response
 * is committed: a header set then is refused with an {@link IllegalStateException}. Set headers
 * before {@code chain.next()}, or, for what is known only after the handler ran (a timing, a
 * header derived from the status), in a {@link Response#beforeCommit} hook, which runs just before
 * the head is written, also when the handler answers later or from another thread.
 *
 * <p>Thread contract: middleware runs where the route's handler runs (the loop, or a virtual
 * thread for a {@link Handler#blocking} route); {@code beforeCommit} hooks run on the loop.
 *
 * {@snippet :
 * server.use((req, res, chain) -> {
 *     long t0 = System.nanoTime();
 *     res.header("X-Served-By", "jhv"); // before next(): the handler has not answered yet
 *     res.beforeCommit(r -> r.header("X-Response-Time", (System.nanoTime() - t0) / 1000 + "us"));
 *     chain.next();
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
