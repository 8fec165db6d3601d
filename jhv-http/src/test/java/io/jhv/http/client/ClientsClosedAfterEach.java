package io.jhv.http.client;

import org.junit.jupiter.api.AfterEach;

import java.util.ArrayList;
import java.util.List;

/** For client tests: {@link #client} builds a client that is closed after the test. */
abstract class ClientsClosedAfterEach {
    final List<HttpClient> clients = new ArrayList<>();

    HttpClient client(HttpClient.Builder b) {
        HttpClient c = b.build();
        clients.add(c);
        return c;
    }

    @AfterEach
    void closeClients() {
        clients.forEach(HttpClient::close);
    }
}
