package io.jhv.cli;

import io.jhv.core.tls.SelfSignedCertificate;
import io.jhv.core.tls.TlsConfig;

import io.jhv.http.HttpException;
import io.jhv.http.server.AccessLog;
import io.jhv.http.server.HttpMetrics;
import io.jhv.http.server.Cors;
import io.jhv.http.server.Handler;
import io.jhv.http.server.HttpServer;
import io.jhv.http.server.Part;
import io.jhv.http.server.StaticFiles;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

/**
 * {@code hv httpd}: serves a directory (by default a small demo site) and a demo API until Ctrl-C
 * or SIGTERM, then shuts down gracefully (halting with status 3 if that takes longer than the
 * shutdown timeout plus 3 s). If an event loop ends abnormally the server closes and hv exits with
 * status 1.
 *
 * <pre>
 * GET  /plaintext   Hello, World! (text/plain)
 * GET  /ping        pong
 * POST /echo        the request body back, with its Content-Type
 * GET  /json        {"message":"Hello, World!"}
 * GET  /users/:id   {"id":"..."}
 * POST /upload      multipart/form-data saved to a temporary folder; a JSON summary of the parts
 * WS   /ws/echo     every WebSocket message back unchanged (up to 64 MiB)
 * WS   /ws/chat     a chat room (?name=NICK); the demo site's chat.html uses it
 * GET  /*           the files under --root
 * </pre>
 */
final class HttpdCommand {
    static final String USAGE = "hv httpd [--port 8080] [--host 0.0.0.0] [--root DIR] [--threads N] [--config FILE]\n"
            + "                [--listing] [--access-log] [--metrics] [--processes N] [--drain-delay MS] [--cors ORIGINS] [--https-port N --cert FILE --key FILE]";

    static final String HELP = """
            usage: %s

            Serves DIR (default: a small demo site) and a demo API:
              GET /plaintext, GET /ping, POST /echo, GET /json, GET /users/:id, POST /upload,
              GET /readyz (200 while serving, 503 once shutting down)
            and WebSockets (also as wss:// on the HTTPS port):
              /ws/echo (every message back unchanged, up to 64 MiB), /ws/chat?name=NICK (a chat
              room; the demo site's /chat.html uses it; try: hv ws ws://localhost:8080/ws/chat)

            options:
              --port N          port to listen on (default 8080; 0 picks a free one)
              --host ADDR       address to bind (default 0.0.0.0)
              --root DIR        directory to serve (default: the demo site)
              --threads N       event loops (default: the number of processors)
              --config FILE     a config file of 'key = value' lines (see etc/httpd.conf);
                                flags override it
              --listing         HTML listings for directories without index.html
              --access-log      one line per request (common log format) on stderr
              --processes N     N processes sharing the port (SO_REUSEPORT), supervised: one that
                                dies is started again; SIGTERM drains them all
              --drain-delay MS  on SIGTERM, answer 503 at /readyz (the readiness check of a load
                                balancer) but keep serving for MS ms before closing (default 0)
              --metrics         Prometheus metrics at /metrics (connections, requests by
                                status class, latency, bytes, write queues, loop lag)
              --cors ORIGINS    allow cross-origin requests: '*' or a comma-separated list
              --https-port N    also serve HTTPS on port N (same routes)
              --cert FILE       PEM certificate chain for HTTPS
              --key FILE        PEM private key for HTTPS (without --cert/--key a development
                                certificate for localhost is generated)
            """;

    /** The demo site's files, shipped as resources beside this class. */
    static final List<String> DEMO_FILES = List.of("index.html", "style.css", "app.js", "chat.html", "chat.js");

    private HttpdCommand() {}

    /** The flags that take a value, and the switches. */
    static final Set<String> VALUE_FLAGS = Set.of("port", "host", "root", "threads", "config", "cors", "https-port", "cert", "key", "drain-delay", "processes");
    static final Set<String> SWITCHES = Set.of("help", "listing", "access-log", "metrics");

    static int run(String[] argv) {
        Args a = Args.parse(argv, 1, VALUE_FLAGS, SWITCHES);
        if (a.has("help")) {
            System.out.print(HELP.formatted(USAGE));
            return 0;
        }
        HttpdConfig config = configure(a);
        if (Workers.isWorker()) {
            config.reusePort = true; // one of --processes N: the port is shared
        } else if (config.processes > 1) {
            return Workers.run(config, System.out, System.err);
        }
        Running r = start(config, System.out);
        // SIGTERM/SIGINT: graceful close, halted (exit status 3) if it has not finished by the
        // deadline. A loop that ends abnormally closes its server: exit status 1.
        return Lifetime.serve("httpd", r::close, r.config.drainDelayMs + r.config.shutdownTimeoutMs + SHUTDOWN_MARGIN_MS,
                java.util.List.of(r.server.closeFuture()),
                System.out, System.err,
                "hv httpd: shutting down (" + (r.config.drainDelayMs > 0 ? "not ready, still serving for " + r.config.drainDelayMs + " ms, then " : "")
                        + "up to " + r.config.shutdownTimeoutMs + " ms for requests in flight)",
                "hv httpd: stopped");
    }

    /** Time beyond the shutdown timeout for closing connections and stopping the loops. */
    static final long SHUTDOWN_MARGIN_MS = 3_000;

    /** Builds the settings: defaults, then the config file, then the flags. */
    static HttpdConfig configure(Args a) {
        HttpdConfig c = new HttpdConfig();
        if (a.has("config")) c.load(Path.of(a.get("config", null)));
        for (String flag : List.of("host", "port", "root", "threads", "cors", "https-port", "cert", "key", "drain-delay", "processes")) {
            if (a.has(flag)) c.set(flag, a.get(flag, null), "--" + flag);
        }
        if (a.has("listing")) c.listing = true;
        if (a.has("access-log")) c.accessLog = "common";
        if (a.has("metrics")) c.metricsPath = "/metrics";
        return c;
    }

    /** A started server and what it owns. */
    static final class Running implements AutoCloseable {
        final HttpServer server;
        final HttpdConfig config;
        final Path root;
        final Path uploadDir;
        /** The extracted demo site, deleted on close; null when serving --root. */
        final Path demoDir;

        Running(HttpServer server, HttpdConfig config, Path root, Path uploadDir, Path demoDir) {
            this.server = server;
            this.config = config;
            this.root = root;
            this.uploadDir = uploadDir;
            this.demoDir = demoDir;
        }

        int port() {
            return server.port();
        }

        /**
         * Graceful shutdown: the readiness endpoint answers 503 at once while requests are still
         * served for the drain delay (a load balancer stops sending), then in-flight requests get
         * up to the shutdown timeout.
         */
        @Override
        public void close() {
            server.shutdownGracefully(Duration.ofMillis(config.drainDelayMs), Duration.ofMillis(config.shutdownTimeoutMs));
            if (demoDir != null) deleteTree(demoDir);
        }
    }

    /** Starts the server described by {@code c}; prints where it listens to {@code out}. */
    static Running start(HttpdConfig c, PrintStream out) {
        if ((c.cert == null) != (c.key == null)) throw new Args.UsageException("--cert and --key go together");
        if (c.cert != null && c.httpsPort == null) throw new Args.UsageException("--cert/--key need --https-port");
        Path demoDir = null;
        Path ownUploads = null; // the temporary uploads folder made here: removed again if the start fails
        Path root = c.root;
        try {
            if (root == null) {
                demoDir = extractDemoSite();
                root = demoDir;
            }
            Path uploads = c.uploadDir != null ? c.uploadDir : (ownUploads = Files.createTempDirectory("hv-httpd-uploads-"));
            HttpServer server = build(c, root, uploads);
            Path devCert = null;
            if (c.httpsPort != null) {
                TlsConfig tls;
                if (c.cert != null) {
                    tls = TlsConfig.server().certificate(c.cert, c.key).build();
                } else {
                    SelfSignedCertificate dev = SelfSignedCertificate.generate("localhost");
                    devCert = Files.createTempDirectory("hv-httpd-cert-");
                    dev.writeTo(devCert);
                    tls = TlsConfig.server().certificate(dev).build();
                }
                server.https(c.host, c.httpsPort, tls);
            }
            try {
                server.start();
            } catch (RuntimeException e) {
                throw new IllegalStateException(e.getMessage(), e);
            }
            Running r = new Running(server, c, root, uploads, demoDir);
            out.println("hv httpd listening on http://" + c.host + ":" + server.port() + " (root: "
                    + (demoDir != null ? "the demo site" : root.toAbsolutePath()) + ", " + c.threads + " loop"
                    + (c.threads == 1 ? "" : "s") + ")");
            if (c.httpsPort != null) {
                out.println("hv httpd listening on https://" + c.host + ":" + server.httpsPort()
                        + (devCert != null ? " (development certificate for localhost in " + devCert.toAbsolutePath() + ")" : ""));
            }
            out.println("hv httpd: uploads go to " + uploads.toAbsolutePath() + "; Ctrl-C stops");
            return r;
        } catch (IOException e) {
            if (demoDir != null) deleteTree(demoDir);
            if (ownUploads != null) deleteTree(ownUploads);
            throw new UncheckedIOException(e);
        } catch (RuntimeException e) {
            if (demoDir != null) deleteTree(demoDir);
            if (ownUploads != null) deleteTree(ownUploads);
            throw e;
        }
    }

    private static HttpServer build(HttpdConfig c, Path root, Path uploads) {
        HttpServer s = HttpServer.create(c.host, c.port).threads(c.threads).poller(c.poller).reusePort(c.reusePort);
        if (c.keepAliveTimeoutMs != null) s.keepAliveTimeout(Duration.ofMillis(c.keepAliveTimeoutMs));
        if (c.headerTimeoutMs != null) s.headerTimeout(Duration.ofMillis(c.headerTimeoutMs));
        if (c.writeTimeoutMs != null) s.writeTimeout(Duration.ofMillis(c.writeTimeoutMs));
        if (c.maxInputMemory != null) s.maxInputMemory(c.maxInputMemory);
        if (c.maxBodySize != null) s.maxBodySize(c.maxBodySize);
        if (c.maxHeaderSize != null) s.maxHeaderSize(c.maxHeaderSize);
        if (c.maxRequestLine != null) s.maxRequestLine(c.maxRequestLine);
        if (c.maxHeaderCount != null) s.maxHeaderCount(c.maxHeaderCount);
        if (c.maxConnections != null) s.maxConnections(c.maxConnections);
        if (c.maxRequestsPerConnection != null) s.maxRequestsPerConnection(c.maxRequestsPerConnection);
        if (c.maxPipelined != null) s.maxPipelined(c.maxPipelined);
        if (c.multipartThreshold != null) s.multipartThreshold(c.multipartThreshold);
        if (c.tempDir != null) s.tempDir(c.tempDir);
        if (c.serverNameSet) s.serverName(c.serverName);

        if (c.accessLog != null) {
            AccessLog log = c.accessLog.equals("combined") ? AccessLog.combined() : AccessLog.common();
            s.use(log.to(System.err::println));
        }
        if (c.cors != null) {
            s.use(c.cors.contains("*") ? Cors.allowAll() : Cors.builder().allowOrigins(c.cors).build());
        }

        if (c.proxyProtocol != null) s.proxyProtocol(io.jhv.core.net.ProxyProtocol.trusting(c.proxyProtocol.toArray(String[]::new)));
        if (c.readyPath != null) s.get(c.readyPath, s.readinessHandler());
        if (c.metricsPath != null) {
            HttpMetrics metrics = HttpMetrics.create();
            s.metrics(metrics);
            s.get(c.metricsPath, metrics.handler());
        }

        // The demo API. Routes with parameters go before the static files' catch-all "/*".
        s.get("/plaintext", (req, res) -> res.text("Hello, World!"));
        s.get("/ping", (req, res) -> res.text("pong"));
        s.post("/echo", (req, res) -> {
            String type = req.contentType();
            res.contentType(type != null ? type : "application/octet-stream");
            res.bytes(req.body());
        });
        s.get("/json", (req, res) -> res.json(Map.of("message", "Hello, World!")));
        s.get("/users/:id", (req, res) -> res.json(Map.of("id", req.pathParam("id"))));
        // Moving uploads to their folder is file I/O: run it on a virtual thread, off the loop.
        s.post("/upload", Handler.blocking((req, res) -> res.json(saveUploads(req, uploads))));
        DemoWebSockets.install(s);

        StaticFiles files = StaticFiles.create(root).index(c.index).listing(c.listing).gzip(c.gzip)
                .maxAge(Duration.ofSeconds(c.cacheMaxAgeSec));
        s.staticFiles("/", files);
        return s;
    }

    /** Saves the file parts of a multipart body under {@code dir}; returns the JSON summary. */
    static Map<String, Object> saveUploads(io.jhv.http.server.Request req, Path dir) throws IOException {
        String type = req.contentType();
        if (type == null || !type.regionMatches(true, 0, "multipart/form-data", 0, 19)) {
            throw new HttpException(415, "POST /upload expects multipart/form-data (try: curl -F file=@FILE ...)");
        }
        List<Map<String, Object>> parts = new ArrayList<>();
        long total = 0;
        for (Part p : req.parts()) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("name", p.name());
            m.put("filename", p.filename());
            m.put("contentType", p.contentType());
            m.put("size", p.size());
            total += p.size();
            if (p.filename() != null) {
                Path target = Files.createTempFile(dir, "upload-", "-" + safeName(p.filename()));
                p.saveTo(target);
                m.put("saved", target.toAbsolutePath().toString());
            } else if (p.size() <= 1024) {
                m.put("value", p.string());
            }
            parts.add(m);
        }
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("parts", parts);
        out.put("count", parts.size());
        out.put("bytes", total);
        return out;
    }

    /** The last segment of a client's file name, without characters that could escape or confuse. */
    static String safeName(String filename) {
        String s = filename;
        int cut = Math.max(s.lastIndexOf('/'), s.lastIndexOf('\\'));
        if (cut >= 0) s = s.substring(cut + 1);
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < s.length() && sb.length() < 100; i++) {
            char c = s.charAt(i);
            if (Character.isLetterOrDigit(c) || c == '.' || c == '-' || c == '_') sb.append(c);
            else sb.append('_');
        }
        String r = sb.toString();
        while (r.startsWith(".")) r = r.substring(1);
        return r.isEmpty() ? "file" : r;
    }

    /** Copies the demo site from the class path into a new temporary directory. */
    static Path extractDemoSite() throws IOException {
        Path dir = Files.createTempDirectory("hv-httpd-site-");
        for (String name : DEMO_FILES) {
            try (InputStream in = HttpdCommand.class.getResourceAsStream("demo-site/" + name)) {
                if (in == null) throw new IOException("demo site resource missing from the jar: demo-site/" + name);
                Files.copy(in, dir.resolve(name));
            }
        }
        return dir;
    }

    static void deleteTree(Path dir) {
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        } catch (IOException e) {
            System.err.println("hv httpd: cannot delete " + dir + ": " + e.getMessage());
        }
    }
}
