package io.jhv.http.server;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Routes: path parameters, the trailing wildcard, exact before pattern, 404, 405 with Allow, OPTIONS, HEAD. */
@Timeout(30)
class RoutingTest {
    static HttpServer server;
    static RawClient client;

    @BeforeAll
    static void start() throws IOException {
        server = HttpServer.create("127.0.0.1", 0).threads(1)
                .get("/users/:id", (req, res) -> res.text("user " + req.pathParam("id")))
                .get("/users/me", (req, res) -> res.text("me (exact)"))
                .get("/items/{id}", (req, res) -> res.text("item " + req.pathParam("id")))
                .get("/a/:x/b/{y}", (req, res) -> res.text(req.pathParam("x") + "," + req.pathParam("y")))
                .get("/files/*", (req, res) -> res.text("files [" + req.pathParam("*") + "]"))
                .get("/files/readme", (req, res) -> res.text("readme (exact)"))
                .get("/caf\u00e9", (req, res) -> res.text("coffee"))
                .get("/", (req, res) -> res.text("root"))
                .post("/users", (req, res) -> res.status(201).text("created"))
                .put("/users/:id", (req, res) -> res.text("put " + req.pathParam("id")))
                .delete("/users/:id", (req, res) -> res.text("deleted " + req.pathParam("id")))
                .patch("/users/:id", (req, res) -> res.text("patched " + req.pathParam("id")))
                .any("/anything", (req, res) -> res.text("any " + req.method()))
                .options("/custom-options", (req, res) -> res.status(200).text("my options"))
                .head("/only-head", (req, res) -> res.header("X-Head", "yes").end())
                .start();
        client = RawClient.connect(server.port());
    }

    @AfterAll
    static void stop() throws IOException {
        client.close();
        server.close(Duration.ofSeconds(1));
    }

    static RawClient.Resp req(String method, String target) throws IOException {
        String body = method.equals("POST") || method.equals("PUT") || method.equals("PATCH") ? "Content-Length: 0\r\n" : "";
        return client.exchange(method + " " + target + " HTTP/1.1\r\nHost: t\r\n" + body + "\r\n");
    }

    static String get(String target) throws IOException {
        RawClient.Resp r = req("GET", target);
        return r.status() + " " + r.text();
    }

    @Test
    void pathParametersInBothSyntaxes() throws IOException {
        assertEquals("200 user 42", get("/users/42"));
        assertEquals("200 item abc", get("/items/abc"));
        assertEquals("200 1,2", get("/a/1/b/2"));
        assertEquals("200 user 7", get("/users/7?x=1&y=2"), "the query is not part of the path");
        assertEquals("200 user a b", get("/users/a%20b"), "parameters are percent-decoded");
    }

    /**
     * Patterns are matched on the raw bytes when the path is plain ASCII; UTF-8 bytes sent unescaped
     * must still match as the decoded path does (a parameter's offsets are the String's, not the bytes').
     */
    @Test
    void rawUtf8PathBytesMatchLikeTheDecodedPath() throws IOException {
        assertEquals("200 user \u00e9t\u00e9", get("/users/\u00c3\u00a9t\u00c3\u00a9")); // "été" as UTF-8 bytes
        assertEquals("200 files [d\u00e9j\u00e0/x]", get("/files/d\u00c3\u00a9j\u00c3\u00a0/x"));
        assertEquals("200 1,\u00e9", get("/a/1/b/\u00c3\u00a9"));
    }

    @Test
    void exactMatchesWinOverPatterns() throws IOException {
        assertEquals("200 me (exact)", get("/users/me"), "exact added after the pattern still wins");
        assertEquals("200 readme (exact)", get("/files/readme"));
        assertEquals("200 files [other]", get("/files/other"));
    }

    @Test
    void trailingWildcard() throws IOException {
        assertEquals("200 files [a/b/c.txt]", get("/files/a/b/c.txt"));
        assertEquals("200 files []", get("/files/"));
        assertEquals("200 files []", get("/files"));
        assertEquals(404, req("GET", "/filesx").status());
    }

    @Test
    void unknownPathsGet404() throws IOException {
        assertEquals(404, req("GET", "/nope").status());
        assertEquals(404, req("GET", "/users/").status(), "an empty segment is no parameter");
        assertEquals(404, req("GET", "/users/1/2").status(), "a pattern does not match extra segments");
        assertEquals(404, req("GET", "/a/1/b").status());
        assertEquals("200 root", get("/"));
    }

    @Test
    void percentEncodedPathsMatchDecodedRoutes() throws IOException {
        assertEquals("200 coffee", get("/caf%C3%A9"));
    }

    @Test
    void otherMethodsGet405WithAllow() throws IOException {
        RawClient.Resp r = req("POST", "/users/42");
        assertEquals(405, r.status());
        assertEquals(Set.of("GET", "HEAD", "PUT", "DELETE", "PATCH", "OPTIONS"), allow(r));
        RawClient.Resp u = req("DELETE", "/users");
        assertEquals(405, u.status());
        assertEquals(Set.of("POST", "OPTIONS"), allow(u));
        assertEquals("200 deleted 9", status(req("DELETE", "/users/9")));
        assertEquals("200 put 9", status(req("PUT", "/users/9")));
        assertEquals("200 patched 9", status(req("PATCH", "/users/9")));
        assertEquals("201 created", status(req("POST", "/users")));
    }

    @Test
    void optionsListsTheAllowedMethods() throws IOException {
        RawClient.Resp r = req("OPTIONS", "/users/1");
        assertEquals(204, r.status());
        assertEquals(Set.of("GET", "HEAD", "PUT", "DELETE", "PATCH", "OPTIONS"), allow(r));
        assertEquals(404, req("OPTIONS", "/nope").status());
        assertEquals("200 my options", status(req("OPTIONS", "/custom-options")));
    }

    @Test
    void headFallsBackToGet() throws IOException {
        RawClient.Resp h = req("HEAD", "/users/5");
        assertEquals(200, h.status());
        assertEquals(Integer.toString("user 5".length()), h.header("Content-Length"));
        RawClient.Resp only = req("HEAD", "/only-head");
        assertEquals("yes", only.header("X-Head"));
        assertEquals(405, req("GET", "/only-head").status());
    }

    @Test
    void anyMatchesEveryMethod() throws IOException {
        for (String m : new String[] {"GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"}) {
            assertEquals("200 any " + m, status(req(m, "/anything")));
        }
    }

    @Test
    void badRoutesAreRefusedAtRegistration() {
        HttpServer s = HttpServer.create(0);
        assertThrows(IllegalArgumentException.class, () -> s.get("no-slash", (req, res) -> res.end()));
        assertThrows(IllegalArgumentException.class, () -> s.get("/a/*/b", (req, res) -> res.end()));
        assertThrows(IllegalArgumentException.class, () -> s.route("BREW", "/pot", (req, res) -> res.end()));
        assertThrows(NullPointerException.class, () -> s.get("/x", null));
        StringBuilder many = new StringBuilder();
        for (int i = 0; i < 17; i++) many.append("/:p").append(i);
        assertThrows(IllegalArgumentException.class, () -> s.get(many.toString(), (req, res) -> res.end()));
    }

    @Test
    void routesCannotBeAddedAfterStart() {
        assertThrows(IllegalStateException.class, () -> server.get("/late", (req, res) -> res.end()));
    }

    static String status(RawClient.Resp r) {
        return r.status() + " " + new String(r.body(), StandardCharsets.UTF_8);
    }

    static Set<String> allow(RawClient.Resp r) {
        String a = r.header("Allow");
        assertTrue(a != null, "no Allow header: " + r);
        return new HashSet<>(Arrays.asList(a.split(",\\s*")));
    }
}
