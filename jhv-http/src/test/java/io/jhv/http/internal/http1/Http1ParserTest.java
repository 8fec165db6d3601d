package io.jhv.http.internal.http1;

import io.jhv.http.internal.ServerConfig;
import io.jhv.http.server.HttpServer;
import io.jhv.http.server.RawClient;
import io.jhv.http.server.Request;

import io.jhv.core.buffer.Buffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentLinkedQueue;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The request parser gives the same result for any split of its input: whole, one byte at a time,
 * and random splits of many generated requests (a seeded property test), through the engine without
 * a socket ({@link EmbeddedHttp}) and through a real server fed by a socket in small writes.
 */
@Timeout(60)
class Http1ParserTest {

    /** What a handler saw. */
    static RequestGen.Expected seen(Request req) {
        return new RequestGen.Expected(req.method(), req.target(), List.copyOf(req.headers()), req.body());
    }

    static ServerConfig capturing(List<RequestGen.Expected> into) {
        ServerConfig cfg = new ServerConfig();
        cfg.router.add(null, "/*", (req, res) -> {
            into.add(seen(req));
            res.text("ok");
        });
        return cfg;
    }

    /** Feeds {@code bytes} cut at {@code cuts} (sorted, ending with the length); returns what the handlers saw. */
    static List<RequestGen.Expected> feed(byte[] bytes, int[] cuts, List<RequestGen.Expected> seen, EmbeddedHttp http) {
        int from = 0;
        for (int c : cuts) {
            if (c > from) http.feed(bytes, from, c - from);
            from = c;
        }
        return seen;
    }

    static int[] oneByteAtATime(int len) {
        int[] c = new int[len];
        for (int i = 0; i < len; i++) c[i] = i + 1;
        return c;
    }

    record Run(List<RequestGen.Expected> seen, List<RawClient.Resp> responses, boolean closed) {}

    static Run run(byte[] bytes, int[] cuts) throws IOException {
        List<RequestGen.Expected> seen = new ArrayList<>();
        EmbeddedHttp http = new EmbeddedHttp(capturing(seen));
        feed(bytes, cuts, seen, http);
        return new Run(seen, RawClient.parseAll(http.output().readBytes()), http.closed());
    }

    // ---------------------------------------------------------------- examples

    @Test
    void aSimpleRequestWholeAndByteByByte() throws IOException {
        byte[] req = ("POST /a/b?x=1&y=%20z HTTP/1.1\r\nHost: h\r\nX-One:  1 \r\nx-two:\t2\t\r\nEmpty:\r\n"
                + "Content-Length: 5\r\n\r\nhello").getBytes(StandardCharsets.ISO_8859_1);
        RequestGen.Expected want = new RequestGen.Expected("POST", "/a/b?x=1&y=%20z",
                List.of(Map.entry("Host", "h"), Map.entry("X-One", "1"), Map.entry("x-two", "2"), Map.entry("Empty", ""),
                        Map.entry("Content-Length", "5")), "hello".getBytes(StandardCharsets.ISO_8859_1));
        for (int[] cuts : new int[][] {{req.length}, oneByteAtATime(req.length)}) {
            Run r = run(req, cuts);
            assertEquals(List.of(want), r.seen());
            assertEquals(1, r.responses().size());
            assertEquals(200, r.responses().get(0).status());
        }
    }

    @Test
    void requestAccessorsDecodeLazily() {
        List<String> got = new ArrayList<>();
        ServerConfig cfg = new ServerConfig();
        cfg.router.add("GET", "/users/:id/{part}", (req, res) -> {
            got.add(req.path());
            got.add(req.query());
            got.add(req.queryParam("q"));
            got.add(req.queryParams("m").toString());
            got.add(req.pathParam("id") + "|" + req.pathParam("part"));
            got.add(req.header("x-CASE"));
            got.add(req.headers("X-Multi").toString());
            got.add(req.version());
            got.add(Boolean.toString(req.keepAlive()));
            res.end();
        });
        EmbeddedHttp http = new EmbeddedHttp(cfg);
        byte[] b = ("GET /users/%C3%A9t%C3%A9/x%20y?q=a+b%26c&m=1&m=2 HTTP/1.1\r\nHost: h\r\nX-Case: V\r\nX-Multi: 1\r\nx-multi: 2\r\n\r\n")
                .getBytes(StandardCharsets.ISO_8859_1);
        http.feed(b, 0, b.length);
        assertEquals(List.of("/users/\u00e9t\u00e9/x y", "q=a+b%26c&m=1&m=2", "a b&c", "[1, 2]", "\u00e9t\u00e9|x y", "V", "[1, 2]",
                "HTTP/1.1", "true"), got);
    }

    // ---------------------------------------------------------------- the property: any split parses the same

    @Test
    void anySplitOfGeneratedRequestsParsesTheSame() throws IOException {
        RequestGen gen = new RequestGen(0x5eed_1234L);
        Random rnd = gen.random();
        for (int iter = 0; iter < 400; iter++) {
            // 1..4 pipelined requests in one stream
            int n = 1 + rnd.nextInt(4);
            ByteArrayOutputStream stream = new ByteArrayOutputStream();
            List<RequestGen.Expected> want = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                RequestGen.Gen g = gen.next();
                stream.writeBytes(g.bytes());
                want.add(g.expected());
            }
            byte[] bytes = stream.toByteArray();
            String what = "iteration " + iter + ": " + new String(bytes, StandardCharsets.ISO_8859_1);
            Run whole = run(bytes, new int[] {bytes.length});
            assertEquals(want, whole.seen(), what);
            assertEquals(n, whole.responses().size(), what);
            for (RawClient.Resp r : whole.responses()) assertEquals(200, r.status(), what);
            if (iter % 4 == 0) assertEquals(want, run(bytes, oneByteAtATime(bytes.length)).seen(), "byte by byte, " + what);
            for (int k = 0; k < 10; k++) {
                int[] cuts = RequestGen.randomSplits(rnd, bytes.length);
                Run split = run(bytes, cuts);
                assertEquals(want, split.seen(), "cuts " + java.util.Arrays.toString(cuts) + ", " + what);
                assertEquals(n, split.responses().size());
            }
        }
    }

    /** Bad requests give the same status, and close, whole, byte by byte and at random splits. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("io.jhv.http.server.Http1ProtocolTest#badRequests")
    void badRequestsFailTheSameWayForAnySplit(String name, String request, int status) throws IOException {
        byte[] bytes = request.getBytes(StandardCharsets.UTF_8);
        Random rnd = new Random(name.hashCode());
        List<int[]> splits = new ArrayList<>();
        splits.add(new int[] {bytes.length});
        splits.add(oneByteAtATime(bytes.length));
        for (int i = 0; i < 10; i++) splits.add(RequestGen.randomSplits(rnd, bytes.length));
        for (int[] cuts : splits) {
            ServerConfig cfg = new ServerConfig();
            cfg.maxRequestLine = 1024;
            cfg.maxHeaderSize = 4096;
            cfg.maxHeaderCount = 20;
            cfg.maxBodySize = 1000;
            cfg.router.add("GET", "/hello", (req, res) -> res.text("hello"));
            cfg.router.add("POST", "/echo", (req, res) -> res.bytes(req.body()));
            EmbeddedHttp http = new EmbeddedHttp(cfg);
            feed(bytes, cuts, null, http);
            List<RawClient.Resp> rs = RawClient.parseAll(http.output().readBytes());
            assertEquals(1, rs.size(), name);
            assertEquals(status, rs.get(0).status(), name + " " + rs.get(0));
            assertTrue(http.closed(), name);
        }
    }

    // ---------------------------------------------------------------- the same over a socket

    @Test
    void anySplitOverARealSocketParsesTheSame() throws Exception {
        ConcurrentLinkedQueue<RequestGen.Expected> seen = new ConcurrentLinkedQueue<>();
        try (HttpServer server = HttpServer.create("127.0.0.1", 0).threads(1)
                .any("/*", (req, res) -> {
                    seen.add(seen(req));
                    res.text("ok");
                }).start()) {
            RequestGen gen = new RequestGen(42);
            Random rnd = gen.random();
            try (Socket s = new Socket("127.0.0.1", server.port())) {
                s.setTcpNoDelay(true);
                s.setSoTimeout(5000);
                var out = s.getOutputStream();
                var in = new java.io.BufferedInputStream(s.getInputStream());
                for (int iter = 0; iter < 40; iter++) {
                    int n = 1 + rnd.nextInt(3);
                    ByteArrayOutputStream stream = new ByteArrayOutputStream();
                    List<RequestGen.Expected> want = new ArrayList<>();
                    for (int i = 0; i < n; i++) {
                        RequestGen.Gen g = gen.next();
                        stream.writeBytes(g.bytes());
                        want.add(g.expected());
                    }
                    byte[] bytes = stream.toByteArray();
                    int from = 0;
                    for (int c : RequestGen.randomSplits(rnd, bytes.length)) {
                        out.write(bytes, from, c - from);
                        out.flush();
                        from = c;
                        if (rnd.nextInt(4) == 0) Thread.sleep(1); // let the segment go out alone
                    }
                    for (int i = 0; i < n; i++) assertEquals(200, RawClient.read(in, false).status());
                    List<RequestGen.Expected> got = new ArrayList<>();
                    RequestGen.Expected e;
                    while ((e = seen.poll()) != null) got.add(e);
                    assertEquals(want, got, "iteration " + iter);
                }
            }
            server.close(Duration.ofSeconds(1));
        }
    }
}
