package io.jhv.bench.client;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/** The JDK's {@code java.net.http.HttpClient}, HTTP/1.1, {@code sendAsync} with a byte-array body handler. */
final class JdkClient implements LoadClient {
    private final HttpClient client;
    private final HttpRequest request;

    JdkClient(String url, int connections) {
        // The JDK client has no pool limit setting (jdk.httpclient.connectionPoolSize bounds idle
        // connections only): with N requests in flight it opens N connections and keeps them.
        this.client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(5)).build();
        this.request = HttpRequest.newBuilder(URI.create(url)).GET().build();
    }

    @Override
    public void get(Callback cb) {
        client.sendAsync(request, HttpResponse.BodyHandlers.ofByteArray()).whenComplete((r, e) -> {
            if (e != null) cb.done(0, 0, e);
            else cb.done(r.statusCode(), r.body().length, null);
        });
    }

    @Override public String name() { return "jdk"; }

    @Override
    public void close() { client.close(); }
}
