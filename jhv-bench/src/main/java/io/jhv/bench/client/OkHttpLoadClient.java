package io.jhv.bench.client;

import okhttp3.Call;
import okhttp3.ConnectionPool;
import okhttp3.Dispatcher;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.Response;
import okhttp3.ResponseBody;

import java.io.IOException;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** OkHttp 5 ({@code enqueue}, HTTP/1.1 only, a dispatcher and pool sized for the load). */
final class OkHttpLoadClient implements LoadClient {
    private final OkHttpClient client;
    private final Request request;

    OkHttpLoadClient(String url, int connections) {
        Dispatcher d = new Dispatcher();
        d.setMaxRequests(Math.max(64, connections));
        d.setMaxRequestsPerHost(Math.max(5, connections));
        this.client = new OkHttpClient.Builder()
                .dispatcher(d)
                .connectionPool(new ConnectionPool(connections, 5, TimeUnit.MINUTES))
                .protocols(List.of(okhttp3.Protocol.HTTP_1_1))
                .retryOnConnectionFailure(false)
                .build();
        this.request = new Request.Builder().url(url).build();
    }

    @Override
    public void get(Callback cb) {
        client.newCall(request).enqueue(new okhttp3.Callback() {
            @Override
            public void onFailure(Call call, IOException e) { cb.done(0, 0, e); }

            @Override
            public void onResponse(Call call, Response response) {
                int status = response.code();
                int n;
                try (ResponseBody body = response.body()) {
                    n = body.bytes().length;
                } catch (IOException e) {
                    cb.done(0, 0, e);
                    return;
                }
                cb.done(status, n, null);
            }
        });
    }

    @Override public String name() { return "okhttp"; }

    @Override
    public void close() {
        client.dispatcher().executorService().shutdown();
        client.connectionPool().evictAll();
    }
}
