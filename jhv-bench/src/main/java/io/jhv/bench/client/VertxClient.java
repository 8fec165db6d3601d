package io.jhv.bench.client;

import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.http.PoolOptions;
import io.vertx.ext.web.client.WebClient;
import io.vertx.ext.web.client.WebClientOptions;

import java.net.URI;
import java.util.concurrent.TimeUnit;

/** Vert.x 5 {@code WebClient} on one event loop (native epoll when available), a pool of N. */
final class VertxClient implements LoadClient {
    private final Vertx vertx;
    private final WebClient client;
    private final int port;
    private final String host, path;

    VertxClient(String url, int connections) {
        URI u = URI.create(url);
        this.host = u.getHost();
        this.port = u.getPort() > 0 ? u.getPort() : 80;
        this.path = u.getRawPath() + (u.getRawQuery() != null ? "?" + u.getRawQuery() : "");
        this.vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(1).setPreferNativeTransport(true));
        this.client = WebClient.create(vertx,
                new WebClientOptions().setKeepAlive(true).setPipelining(false).setUserAgentEnabled(false),
                new PoolOptions().setHttp1MaxSize(connections));
    }

    boolean nativeTransport() { return vertx.isNativeTransportEnabled(); }

    @Override
    public void get(Callback cb) {
        client.get(port, host, path).send().onComplete(ar -> {
            if (ar.failed()) cb.done(0, 0, ar.cause());
            else {
                var r = ar.result();
                cb.done(r.statusCode(), r.body() == null ? 0 : r.body().length(), null);
            }
        });
    }

    @Override public String name() { return "vertx"; }

    @Override
    public void close() {
        client.close();
        try {
            vertx.close().toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
        } catch (Exception e) {
            // closing anyway
        }
    }
}
