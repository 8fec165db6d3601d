package io.jhv.http.server;

/**
 * Answers a request. By default a handler runs on the connection's event loop and must not block;
 * the response is sent when it returns, unless it called {@link Response#defer()} (then it answers
 * later, from any thread). Wrap a handler with {@link #blocking(Handler)} to run it on a virtual
 * thread instead.
 *
 * {@snippet :
 * server.get("/hello", (req, res) -> res.text("hi"));
 * server.get("/slow", Handler.blocking((req, res) -> res.text(db.query())));
 * server.get("/later", (req, res) -> {
 *     res.defer();
 *     req.loop().setTimeout(100, () -> res.text("done"));
 * });
 * }
 */
@FunctionalInterface
public interface Handler {
    void handle(Request req, Response res) throws Exception;

    /** Runs {@code h} on a virtual thread; its response is written back through the loop. */
    static Handler blocking(Handler h) {
        return new Blocking(h);
    }

    /** A handler marked to run on a virtual thread. */
    record Blocking(Handler handler) implements Handler {
        @Override
        public void handle(Request req, Response res) throws Exception {
            handler.handle(req, res);
        }
    }
}
