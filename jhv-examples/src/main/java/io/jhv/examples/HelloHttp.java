package io.jhv.examples;

import io.jhv.http.server.HttpServer;

import java.util.Map;

/** An HTTP API in a few lines. {@code java io.jhv.examples.HelloHttp [port]} */
public final class HelloHttp {
    private HelloHttp() {}

    public static HttpServer start(int port) {
        return HttpServer.create(port)
                .get("/hello", (req, res) -> res.text("hello"))
                .get("/users/:id", (req, res) -> res.json(Map.of("id", req.pathParam("id"))))
                .post("/echo", (req, res) -> res.bytes(req.body()))
                .start();
    }

    public static void main(String[] args) {
        HttpServer server = start(args.length > 0 ? Integer.parseInt(args[0]) : 8080);
        System.out.println("http://127.0.0.1:" + server.port() + "/hello");
    }
}
