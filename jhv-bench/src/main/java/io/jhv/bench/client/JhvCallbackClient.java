package io.jhv.bench.client;

import io.jhv.core.loop.EventLoopGroup;
import io.jhv.http.client.HttpClient;
import io.jhv.http.client.HttpRequest;
import io.jhv.http.client.ResponseCallback;
import io.jhv.http.client.ResponseView;

/**
 * jhv's {@code HttpClient} through its allocation-free callback form,
 * {@code send(request, ResponseCallback)} (no future; the response is a view borrowed during the
 * callback), on one event loop, a pool of N per host. The load's next request is sent from inside
 * the callback, on the loop.
 */
final class JhvCallbackClient implements LoadClient {
    private final EventLoopGroup group;
    private final HttpClient client;
    private final HttpRequest request;

    JhvCallbackClient(String url, int connections) {
        this.group = EventLoopGroup.create(1).start();
        this.client = HttpClient.builder().group(group).maxConnectionsPerHost(connections).build();
        this.request = HttpRequest.get(url).build();
    }

    /** The load's callback and its adapter, made once (the load passes the same callback every time). */
    private record Adapter(Callback cb, ResponseCallback rc) {}
    private volatile Adapter last;

    @Override
    public void get(Callback cb) {
        Adapter a = last;
        if (a == null || a.cb != cb) {
            a = new Adapter(cb, new ResponseCallback() {
                @Override public void onResponse(ResponseView r) { cb.done(r.status(), r.body().readableBytes(), null); }
                @Override public void onFailure(HttpRequest req, Throwable e) { cb.done(0, 0, e); }
            });
            last = a;
        }
        client.send(request, a.rc);
    }

    @Override public String name() { return "jhv-cb"; }

    @Override
    public void close() {
        client.close();
        group.close();
    }
}
