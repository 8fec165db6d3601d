package io.jhv.bench.client;

import io.jhv.core.loop.EventLoopGroup;
import io.jhv.http.client.HttpClient;
import io.jhv.http.client.HttpRequest;

/** jhv's {@code io.jhv.http.client.HttpClient}, {@code sendAsync} on one event loop, a pool of N per host. */
final class JhvClient implements LoadClient {
    private final EventLoopGroup group;
    private final HttpClient client;
    private final HttpRequest request;

    JhvClient(String url, int connections) {
        this.group = EventLoopGroup.create(1).start();
        this.client = HttpClient.builder().group(group).maxConnectionsPerHost(connections).build();
        this.request = HttpRequest.get(url).build();
    }

    @Override
    public void get(Callback cb) {
        client.sendAsync(request).whenComplete((r, e) -> {
            if (e != null) cb.done(0, 0, e);
            else cb.done(r.status(), r.body().length, null);
        });
    }

    @Override public String name() { return "jhv"; }

    @Override
    public void close() {
        client.close();
        group.close();
    }
}
