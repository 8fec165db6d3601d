package io.jhv.cli;

import io.jhv.http.JsonCodec;
import io.jhv.http.websocket.WebSocketClient;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A real browser on the demo chat page: headless Chromium (Debian's {@code chromium}, which
 * {@code ./test} installs when it is missing) loads {@code /chat.html} from {@code hv httpd}, joins
 * the room with the browser's own WebSocket, and exchanges messages with a jhv
 * {@link WebSocketClient} in the test: the jhv client's message must show on the page (as text, not
 * HTML), and the message sent from the page's form must reach the jhv client. The test drives and
 * reads the page over the DevTools protocol (the JDK's WebSocket client, so the browser's side is
 * not checked with the code under test) and saves a screenshot as {@code target/browser-chat.png} (over HTTPS and wss:
 * {@code target/browser-chat-wss.png}).
 */
@Timeout(180)
class BrowserChatTest {
    /** The flags of a headless Chromium that stays off the network (see the class comment). */
    static final List<String> CHROMIUM_FLAGS = List.of("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
            "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--disable-extensions", "--disable-default-apps", "--mute-audio", "--window-size=1000,760",
            "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0", "--remote-allow-origins=*");

    @TempDir
    Path tmp;

    final JsonCodec json = JsonCodec.builtIn();
    final List<AutoCloseable> cleanup = new ArrayList<>();

    @AfterEach
    void stop() throws Exception {
        for (int i = cleanup.size() - 1; i >= 0; i--) cleanup.get(i).close();
    }

    static Path chromium() {
        for (String name : List.of("chromium", "chromium-browser", "google-chrome")) {
            for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(File.pathSeparator)) {
                Path p = Path.of(dir, name);
                if (Files.isExecutable(p)) return p;
            }
        }
        return null;
    }

    @Test
    void chromiumChatsWithAJhvClient() throws Exception {
        chat(false, "browser-chat.png");
    }

    /**
     * The page over HTTPS, so the browser's socket is {@code wss://} (the test's certificate is not
     * one Chromium trusts: it is told to ignore certificate errors), in the same room as the jhv
     * client on plain {@code ws://}.
     */
    @Test
    void chromiumChatsOverWssWithAJhvClientOnWs() throws Exception {
        chat(true, "browser-chat-wss.png");
    }

    private void chat(boolean https, String screenshot) throws Exception {
        Path chromium = chromium();
        assertNotNull(chromium, "chromium is not installed: ./test installs it (apt-get install chromium)");

        // hv httpd with the demo site (and HTTPS with a throw-away certificate)
        List<String> flags = new ArrayList<>(List.of("httpd", "--port", "0", "--host", "127.0.0.1", "--threads", "1"));
        if (https) {
            io.jhv.core.tls.SelfSignedCertificate.PemFiles pem =
                    io.jhv.core.tls.SelfSignedCertificate.generate("localhost").writeTo(tmp.resolve("certs"));
            flags.addAll(List.of("--https-port", "0", "--cert", pem.certificate().toString(), "--key", pem.privateKey().toString()));
        }
        Args a = Args.parse(flags.toArray(new String[0]), 1, Set.of("port", "host", "threads", "https-port", "cert", "key"), Set.of());
        HttpdConfig c = HttpdCommand.configure(a);
        c.uploadDir = Files.createDirectories(tmp.resolve("uploads"));
        HttpdCommand.Running httpd = HttpdCommand.start(c, new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
        cleanup.add(httpd);
        String site = https ? "https://127.0.0.1:" + httpd.server.httpsPort() : "http://127.0.0.1:" + httpd.port();

        // the jhv member of the room
        WsPeer jhv = new WsPeer();
        WebSocketClient client = WebSocketClient.create("ws://127.0.0.1:" + httpd.port() + "/ws/chat?name=jhv").handler(jhv);
        cleanup.add(() -> {
            client.close();
            client.closeFuture().get(10, TimeUnit.SECONDS);
        });
        client.connect().get(10, TimeUnit.SECONDS);
        assertTrue(jhv.nextText().contains("\"welcome\""));

        // the browser, on the chat page
        Browser browser = Browser.start(chromium, tmp, https);
        cleanup.add(browser);
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
        cleanup.add(() -> {
            http.shutdownNow(); // close() would wait for the DevTools WebSocket's reader forever
            http.awaitTermination(Duration.ofSeconds(10));
        });
        Cdp page = Cdp.connect(http, browser.pageDebuggerUrl(http, json), json);
        cleanup.add(page);
        page.call("Page.enable", Map.of());
        page.call("Page.navigate", Map.of("url", site + "/chat.html?name=" + URLEncoder.encode("chromium ✓", StandardCharsets.UTF_8)));
        page.await("document.body.dataset.state === 'open' && document.getElementById('log').innerText.includes('You joined as chromium ✓')",
                "the page joined the chat");
        String joined = jhv.awaitText("\"join\"");
        assertTrue(joined.contains("\"name\":\"chromium ✓\""), joined);

        // jhv -> browser: shown as text (markup in it must not become elements)
        String fromJhv = "hello from jhv ✓ <img src=x onerror=\"document.title='pwned'\">";
        client.send(fromJhv);
        page.await("document.getElementById('log').innerText.includes(" + jsString("jhv: " + fromJhv) + ")",
                "the page shows the jhv client's message");
        assertEquals(0L, ((Number) page.eval("document.querySelectorAll('#log img').length")).longValue(), "text, not HTML");
        assertEquals("jhv chat", page.eval("document.title"));
        jhv.awaitText(fromJhv.substring(0, 10)); // its own message came back to the jhv client too

        // browser -> jhv: typed into the form and sent with its button
        String fromBrowser = "hello from chromium ✓ \"quoted\"";
        page.call("Runtime.evaluate", Map.of("expression", "document.getElementById('text').focus()"));
        page.call("Input.insertText", Map.of("text", fromBrowser));
        page.eval("document.getElementById('send-button').click(), true");
        @SuppressWarnings("unchecked")
        Map<String, Object> got = (Map<String, Object>) json.parse(jhv.awaitText("hello from chromium"));
        assertEquals("message", got.get("type"));
        assertEquals("chromium ✓", got.get("name"));
        assertEquals(fromBrowser, got.get("text"));
        page.await("document.querySelectorAll('#log li.mine').length === 1 && document.getElementById('text').value === ''",
                "the page shows its own message, marked as its own, and cleared the input");

        // the picture, for a human to look at
        @SuppressWarnings("unchecked")
        Map<String, Object> shot = (Map<String, Object>) page.call("Page.captureScreenshot", Map.of("format", "png"));
        byte[] png = Base64.getDecoder().decode((String) shot.get("data"));
        assertTrue(png.length > 1000 && png[1] == 'P' && png[2] == 'N' && png[3] == 'G', "a PNG");
        Path target = Files.createDirectories(Path.of("target"));
        Files.write(target.resolve(screenshot), png);
        System.out.println("screenshot: " + target.resolve(screenshot).toAbsolutePath());
        if (https) assertEquals("https:", page.eval("location.protocol"), "the page and its socket used TLS");

        // the page leaves: the jhv client is told
        page.eval("document.getElementById('leave').click(), true");
        String left = jhv.awaitText("\"leave\"");
        assertTrue(left.contains("chromium ✓"), left);
        page.await("document.body.dataset.state === 'closed'", "the page saw its socket close");
    }

    static String jsString(String s) {
        return JsonCodec.builtIn().stringify(s);
    }

    /** A headless Chromium with a profile of its own, killed (with its children) on close. */
    static final class Browser implements AutoCloseable {
        final Process process;
        final Path log;
        final Path profile;

        private Browser(Process process, Path log, Path profile) {
            this.process = process;
            this.log = log;
            this.profile = profile;
        }

        static Browser start(Path chromium, Path dir, boolean ignoreCertificateErrors) throws IOException {
            Path profile = Files.createDirectories(dir.resolve("chromium-profile"));
            Path log = dir.resolve("chromium.log");
            List<String> cmd = new ArrayList<>();
            cmd.add(chromium.toString());
            cmd.addAll(CHROMIUM_FLAGS);
            cmd.add("--user-data-dir=" + profile);
            if (ignoreCertificateErrors) cmd.add("--ignore-certificate-errors");
            cmd.add("about:blank");
            ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile())
                    .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
            pb.environment().put("TMPDIR", dir.toString()); // its singleton socket directory goes with the test's files
            Process p = pb.start();
            return new Browser(p, log, profile);
        }

        /** Waits for the DevTools port and returns the WebSocket URL of the page (the about:blank tab). */
        @SuppressWarnings("unchecked")
        String pageDebuggerUrl(HttpClient http, JsonCodec json) throws Exception {
            Pattern listening = Pattern.compile("DevTools listening on ws://127\\.0\\.0\\.1:(\\d+)/");
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            String port = null;
            while (port == null) {
                if (!process.isAlive()) throw new AssertionError("chromium exited with " + process.exitValue() + ":\n" + tail());
                if (System.nanoTime() > deadline) throw new AssertionError("chromium did not open its DevTools port:\n" + tail());
                Matcher m = listening.matcher(Files.readString(log, StandardCharsets.ISO_8859_1));
                if (m.find()) port = m.group(1);
                else Thread.sleep(50); // polling the log with a deadline
            }
            while (true) {
                HttpResponse<String> list = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/json/list"))
                        .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
                for (Object o : (List<Object>) json.parse(list.body())) {
                    Map<String, Object> t = (Map<String, Object>) o;
                    if ("page".equals(t.get("type"))) return (String) t.get("webSocketDebuggerUrl");
                }
                if (System.nanoTime() > deadline) throw new AssertionError("chromium has no page: " + list.body());
                Thread.sleep(50);
            }
        }

        String tail() throws IOException {
            String s = Files.exists(log) ? Files.readString(log, StandardCharsets.ISO_8859_1) : "";
            return s.length() > 4000 ? s.substring(s.length() - 4000) : s;
        }

        @Override
        public void close() throws Exception {
            List<ProcessHandle> all = new ArrayList<>(process.descendants().toList());
            process.destroy();
            if (!process.waitFor(10, TimeUnit.SECONDS)) process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            for (ProcessHandle h : all) {
                h.destroyForcibly();
                h.onExit().get(10, TimeUnit.SECONDS);
            }
        }
    }

    /** A minimal DevTools protocol client for one page target. */
    static final class Cdp implements WebSocket.Listener, AutoCloseable {
        final JsonCodec json;
        final Map<Long, CompletableFuture<Map<String, Object>>> pending = new ConcurrentHashMap<>();
        final AtomicInteger ids = new AtomicInteger();
        final StringBuilder partial = new StringBuilder();
        WebSocket ws;

        private Cdp(JsonCodec json) {
            this.json = json;
        }

        static Cdp connect(HttpClient http, String url, JsonCodec json) throws Exception {
            Cdp c = new Cdp(json);
            c.ws = http.newWebSocketBuilder().connectTimeout(Duration.ofSeconds(10)).buildAsync(URI.create(url), c)
                    .get(20, TimeUnit.SECONDS);
            return c;
        }

        @Override
        @SuppressWarnings("unchecked")
        public CompletionStage<?> onText(WebSocket w, CharSequence data, boolean last) {
            partial.append(data);
            if (last) {
                Map<String, Object> m = (Map<String, Object>) json.parse(partial.toString());
                partial.setLength(0);
                Object id = m.get("id");
                if (id instanceof Number n) {
                    CompletableFuture<Map<String, Object>> f = pending.remove(n.longValue());
                    if (f != null) f.complete(m);
                }
            }
            w.request(1);
            return null;
        }

        @Override
        public void onError(WebSocket w, Throwable error) {
            pending.values().forEach(f -> f.completeExceptionally(error));
        }

        @Override
        public CompletionStage<?> onClose(WebSocket w, int code, String reason) {
            pending.values().forEach(f -> f.completeExceptionally(new IOException("DevTools closed: " + code + " " + reason)));
            return null;
        }

        /** Calls a DevTools method; returns its result. */
        @SuppressWarnings("unchecked")
        Object call(String method, Map<String, Object> params) throws Exception {
            long id = ids.incrementAndGet();
            CompletableFuture<Map<String, Object>> f = new CompletableFuture<>();
            pending.put(id, f);
            ws.sendText(json.stringify(Map.of("id", id, "method", method, "params", params)), true).get(10, TimeUnit.SECONDS);
            Map<String, Object> answer = f.get(30, TimeUnit.SECONDS);
            if (answer.containsKey("error")) throw new AssertionError(method + " failed: " + answer.get("error"));
            return answer.get("result");
        }

        /** The value of a JavaScript expression on the page. */
        @SuppressWarnings("unchecked")
        Object eval(String expression) throws Exception {
            Map<String, Object> r = (Map<String, Object>) call("Runtime.evaluate", Map.of("expression", expression, "returnByValue", true));
            if (r.containsKey("exceptionDetails")) throw new AssertionError(expression + " threw: " + r.get("exceptionDetails"));
            return ((Map<String, Object>) r.get("result")).get("value");
        }

        /** Polls {@code condition} until it is true (20 s at most). */
        void await(String condition, String what) throws Exception {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            // false, not an exception, while the page is still loading (no body yet)
            String guarded = "(() => { try { return !!(" + condition + "); } catch (e) { return false; } })()";
            while (!Boolean.TRUE.equals(eval(guarded))) {
                if (System.nanoTime() > deadline) {
                    throw new AssertionError(what + ": not within 20 s. The page's state: " + eval("document.body && document.body.dataset.state")
                            + "; its log:\n" + eval("document.getElementById('log') ? document.getElementById('log').innerText : document.documentElement.outerHTML"));
                }
                Thread.sleep(50); // polling the page with a deadline
            }
        }

        @Override
        public void close() throws Exception {
            try {
                ws.sendClose(WebSocket.NORMAL_CLOSURE, "").get(5, TimeUnit.SECONDS);
            } catch (Exception ignored) {
                // the browser is going away anyway
            }
            ws.abort();
        }
    }
}
