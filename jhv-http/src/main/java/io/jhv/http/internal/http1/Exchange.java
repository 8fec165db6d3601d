package io.jhv.http.internal.http1;

import io.jhv.http.HttpException;
import io.jhv.http.Status;
import io.jhv.http.internal.ServerConfig;
import io.jhv.http.server.Middleware;

import java.util.Set;

/**
 * One request and its response, and running them: the middleware chain, the route's handler (or
 * 404 / 405 / OPTIONS), and turning what a handler throws into an answer. A new one for every
 * request (never a reused one: see {@link Http1Response}); its connection sequences exchanges.
 * Runs on the loop thread, or on a virtual thread for a blocking route.
 */
final class Exchange {
    private static final System.Logger LOG = System.getLogger(HttpConnection.class.getName());

    final Http1Request req;
    final Http1Response res;
    final Chain chain = new Chain();
    Router.Route route;
    /** The middleware chain is still running (its "after" part may read the request). */
    boolean running;
    /** Answered and off the line while still running: released when the chain ends. */
    boolean retired;
    /** Bytes of the body charged to the server's input budget, given back at release. */
    long charge;
    /** When its head was parsed (System.nanoTime), with metrics on; else 0. */
    long startNanos;

    Exchange(HttpConnection c) {
        req = new Http1Request(c, c.spareHdr, c.spareParams);
        res = new Http1Response(c, req, c.spareNames, c.spareValues);
        c.spareHdr = c.spareParams = null;
        c.spareNames = c.spareValues = null;
        chain.ex = this;
    }

    /** Runs middleware and handler; finishes the response unless deferred. */
    void run() {
        try {
            chain.index = 0;
            chain.next();
            if (!res.committed() && !res.deferred()) res.end();
        } catch (Throwable t) {
            handleError(t);
        }
    }

    /** The middleware chain of one exchange (reused). */
    static final class Chain implements Middleware.Chain {
        Exchange ex;
        int index;

        @Override
        public void next() throws Exception {
            ServerConfig cfg = ex.req.conn.cfg;
            while (index < cfg.middleware.size()) {
                int i = index++;
                String prefix = cfg.middlewarePrefixes.get(i);
                if (!prefix.isEmpty() && !underPrefix(ex.req.path(), prefix)) continue;
                cfg.middleware.get(i).handle(ex.req, ex.res, this);
                return;
            }
            if (index++ == cfg.middleware.size()) ex.terminal();
        }
    }

    static boolean underPrefix(String path, String prefix) {
        if (prefix.equals("/")) return true;
        return path.startsWith(prefix) && (path.length() == prefix.length() || path.charAt(prefix.length()) == '/' || prefix.endsWith("/"));
    }

    /** The end of the chain: the route's handler, or 404 / 405 / OPTIONS. */
    private void terminal() throws Exception {
        if (route != null) {
            route.handler.handle(req, res);
            return;
        }
        Set<String> allowed = req.conn.cfg.router.allowed(req);
        if (allowed.isEmpty()) {
            res.status(404).text("Not Found");
        } else if (req.methodId() == Http1Request.M_OPTIONS) {
            res.status(204).setHeader("Allow", String.join(", ", allowed));
            res.end();
        } else {
            res.status(405).setHeader("Allow", String.join(", ", allowed));
            res.text("Method Not Allowed");
        }
    }

    private void handleError(Throwable t) {
        HttpConnection c = req.conn;
        if (res.committed()) {
            LOG.log(System.Logger.Level.WARNING, c.connection() + " handler failed after the response started: " + req, t);
            if (!res.done) c.abortFromAnyThread();
            return;
        }
        try {
            if (c.cfg.errorHandler != null) {
                c.cfg.errorHandler.handle(req, res, t);
                if (!res.committed()) res.end();
                return;
            }
        } catch (Throwable t2) {
            t.addSuppressed(t2);
        }
        if (res.committed()) return;
        boolean close = res.closeAfter; // Connection: close, draining, the last allowed request
        res.resetForError();
        res.closeAfter = close;
        if (t instanceof HttpException he) {
            res.status(he.status()).text(he.getMessage() == null ? Status.reason(he.status()) : he.getMessage());
        } else {
            LOG.log(System.Logger.Level.ERROR, c.connection() + " handler failed: " + req, t);
            res.status(500).text("Internal Server Error");
        }
    }

    /** Answers a request that cannot be parsed or routed with the error's status, and closes after it. */
    void answerProtocolError(HttpException e) {
        if (LOG.isLoggable(System.Logger.Level.DEBUG)) LOG.log(System.Logger.Level.DEBUG, req.conn.connection() + " bad request: " + e.getMessage());
        res.resetForError();
        res.closeAfter = true;
        res.status(e.status()).text(e.getMessage() == null ? Status.reason(e.status()) : e.getMessage());
    }
}
