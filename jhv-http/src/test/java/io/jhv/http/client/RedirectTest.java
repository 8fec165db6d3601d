package io.jhv.http.client;

import io.jhv.http.server.HttpServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Redirects per RFC 9110, and what a cross-origin hop must not carry along. */
@Timeout(20)
class RedirectTest {
    HttpServer a, b;
    HttpClient client;
    final List<String> seenByB = new CopyOnWriteArrayList<>();
    final List<String> seenByA = new CopyOnWriteArrayList<>();

    @BeforeEach
    void start() {
        b = HttpServer.create("127.0.0.1", 0).threads(1)
                .any("/land", (req, res) -> {
                    seenByB.add(req.method() + " auth=" + req.header("Authorization") + " cookie=" + req.header("Cookie")
                            + " body=" + req.bodyString());
                    res.text("landed");
                })
                .start();
        a = HttpServer.create("127.0.0.1", 0).threads(1)
                .any("/away", (req, res) -> res.redirect("http://127.0.0.1:" + b.port() + "/land", 302))
                .any("/home", (req, res) -> res.redirect("/here", 302))
                .any("/here", (req, res) -> {
                    seenByA.add(req.method() + " auth=" + req.header("Authorization") + " body=" + req.bodyString());
                    res.text("here " + req.method() + " " + req.bodyString());
                })
                .any("/s303", (req, res) -> res.redirect("/here", 303))
                .any("/s307", (req, res) -> res.redirect("/here", 307))
                .any("/s308", (req, res) -> res.redirect("here", 308))
                .any("/s301", (req, res) -> res.redirect("/here", 301))
                .get("/loop", (req, res) -> res.redirect("/loop", 302))
                .start();
        client = HttpClient.create();
    }

    @AfterEach
    void stop() {
        client.close();
        a.close();
        b.close();
    }

    String url(String p) {
        return "http://127.0.0.1:" + a.port() + p;
    }

    @Test
    void aCrossOriginRedirectDropsAuthorizationAndCookies() throws Exception {
        HttpResponse r = client.send(HttpRequest.get(url("/away"))
                .header("Authorization", "Bearer secret").header("Cookie", "session=42").build());
        assertEquals("landed", r.bodyString());
        assertEquals(List.of("GET auth=null cookie=null body="), seenByB);
        assertEquals(302, r.previous().status());
        assertEquals("http://127.0.0.1:" + b.port() + "/land", r.url().toString());
    }

    @Test
    void aSameOriginRedirectKeepsAuthorization() throws Exception {
        HttpResponse r = client.send(HttpRequest.get(url("/home")).header("Authorization", "Bearer secret").build());
        assertEquals("here GET ", r.bodyString());
        assertEquals(List.of("GET auth=Bearer secret body="), seenByA);
    }

    @Test
    void a303TurnsAPostIntoAGet() throws Exception {
        assertEquals("here GET ", client.post(url("/s303"), "payload").bodyString());
    }

    @Test
    void a301Or302TurnsAPostIntoAGetLikeBrowsers() throws Exception {
        assertEquals("here GET ", client.post(url("/s301"), "payload").bodyString());
        assertEquals("here GET ", client.post(url("/home"), "payload").bodyString());
    }

    @Test
    void a307Or308KeepsTheMethodAndTheBody() throws Exception {
        assertEquals("here POST payload", client.post(url("/s307"), "payload").bodyString());
        assertEquals("here PUT data", client.put(url("/s308"), "data").bodyString());
        HttpResponse r = client.send(HttpRequest.post(url("/s307")).json(Map.of("k", 1)).build());
        assertEquals("here POST {\"k\":1}", r.bodyString());
    }

    @Test
    void aRedirectLoopStopsAtTheLimit() {
        TooManyRedirectsException e = assertThrows(TooManyRedirectsException.class, () -> client.get(url("/loop")));
        assertTrue(e.getMessage().contains("more than 10 redirects"), e.getMessage());
    }

    @Test
    void withRedirectsOffTheRedirectIsTheResponse() throws Exception {
        HttpClient c = HttpClient.builder().followRedirects(false).build();
        try {
            HttpResponse r = c.get(url("/home"));
            assertEquals(302, r.status());
            assertEquals("/here", r.header("Location"));
            assertNull(r.previous());
        } finally {
            c.close();
        }
    }

    @Test
    void a307WithABodyThatCannotBeReplayedIsNotFollowed() throws Exception {
        HttpResponse r = client.send(HttpRequest.post(url("/s307"))
                .body(new java.io.ByteArrayInputStream("once".getBytes())).build());
        assertEquals(307, r.status());
    }

    @Test
    void cookiesFromTheJarFollowTheirOwnDomainOnly() throws Exception {
        HttpServer setter = HttpServer.create("127.0.0.1", 0).threads(1)
                .get("/set", (req, res) -> res.header("Set-Cookie", "sid=abc; Path=/").redirect("/echo", 302))
                .get("/echo", (req, res) -> res.text("cookie=" + req.header("Cookie")))
                .start();
        HttpClient c = HttpClient.builder().cookieJar(CookieJar.inMemory()).build();
        try {
            assertEquals("cookie=sid=abc", c.get("http://127.0.0.1:" + setter.port() + "/set").bodyString());
            // same host, other port: RFC 6265 cookies are per host, so it is sent (ports do not isolate cookies)
            c.get("http://127.0.0.1:" + b.port() + "/land");
            assertTrue(seenByB.get(0).contains("cookie=sid=abc"), seenByB.toString());
            // another host name gets nothing
            seenByB.clear();
            c.get("http://localhost:" + b.port() + "/land");
            assertTrue(seenByB.get(0).contains("cookie=null"), seenByB.toString());
        } finally {
            c.close();
            setter.close();
        }
    }
}
