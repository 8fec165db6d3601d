package io.jhv.cli.proxy;

import io.jhv.core.buffer.Buffer;
import io.jhv.core.loop.Timer;
import io.jhv.core.net.CloseCause;
import io.jhv.core.net.Connection;
import io.jhv.core.net.TcpServer;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;

/**
 * An HTTP forward proxy ({@code hv proxy http}, libhv's {@code tinyproxyd}).
 *
 * <ul>
 * <li>{@code CONNECT host:port}: a tunnel (HTTPS through the proxy). The proxy connects, answers
 *     {@code 200}, and pipes the two connections ({@link io.jhv.core.net.Upstream}).
 * <li>An absolute-form request ({@code GET http://host:port/path}): the proxy connects to the origin,
 *     sends the request head in origin form with the hop-by-hop headers removed
 *     ({@code Connection} and the headers it names, {@code Proxy-Connection}, {@code Keep-Alive},
 *     {@code Proxy-Authorization}, {@code TE}, {@code Upgrade}) and {@code Connection: close} added,
 *     then streams the body (its framing, {@code Content-Length} or chunked with its trailers, is
 *     passed on unchanged: so {@code Transfer-Encoding} and {@code Trailer} stay). The response head
 *     gets the same treatment ({@code 1xx} heads too; {@code Connection: close} only when the
 *     client's connection ends with it); the response body streams back unchanged.
 *     Nothing is buffered beyond the connections' write queues: each direction is flow-controlled
 *     on its own (a full queue pauses the other side's reading).
 * </ul>
 *
 * <p>Each request gets an origin connection of its own ({@code Connection: close} towards the
 * origin), closed when the response ends by its framing ({@code Content-Length}, chunked, none for
 * {@code HEAD}/204/304). The client's connection stays open for its next request (keep-alive, also
 * pipelined: the next request waits, held, until this response is over, and goes to the origin its
 * own request line names) unless the client asked for {@code close}, spoke HTTP/1.0, or the
 * response ends with the origin's close (no framing): then the proxy says {@code Connection: close}
 * and closes after the response. A keep-alive connection idle for the head timeout is closed.
 *
 * <p>Errors, as a short plain-text answer and a closed connection: {@code 400} for a malformed or
 * ambiguous request (both {@code Content-Length} and {@code Transfer-Encoding}, a transfer coding
 * other than chunked, a request that is not for a proxy), {@code 403} for a destination the
 * {@link Destinations} refuse, {@code 407} with {@code Proxy-Authenticate: Basic realm="hv"} when
 * credentials are required and missing or wrong, {@code 408} for a head not complete within the head
 * timeout, {@code 431} for a head over 64 KiB, {@code 502}
 * when the origin cannot be reached or closes without a response, {@code 504} when connecting or
 * the response head takes longer than the timeouts.
 *
 * <p>Thread contract: {@link #install} configures a server before its {@code start()}; each client
 * connection and its upstream connection are handled on one loop.
 */
public final class HttpProxy {
    private final Dialer dialer;
    private final Credentials credentials; // null: no auth
    private final Destinations destinations;
    private final long responseTimeoutMs;
    private final long headTimeoutMs;
    private final ProxyLog log;

    private HttpProxy(Dialer dialer, Credentials credentials, Destinations destinations, Duration headTimeout,
                      Duration responseTimeout, ProxyLog log) {
        this.headTimeoutMs = Math.max(1, headTimeout.toMillis());
        this.dialer = Objects.requireNonNull(dialer, "dialer");
        this.credentials = credentials;
        this.destinations = Objects.requireNonNull(destinations, "destinations");
        this.responseTimeoutMs = Math.max(1, responseTimeout.toMillis());
        this.log = Objects.requireNonNull(log, "log");
    }

    /**
     * Makes {@code server} an HTTP forward proxy; takes over its {@code onConnection},
     * {@code onMessage} and {@code onPeerShutdown}, each connection's context, and turns off its
     * {@code pauseReadingAboveHighWater} (the proxy pauses the other side instead). Before {@code start()}.
     *
     * @param credentials     required Basic credentials, or null
     * @param headTimeout     how long a client may take to send its request head (then 408)
     * @param responseTimeout how long the origin may take to send the response head, counted from the end of the request
     * @return {@code server}
     */
    public static TcpServer install(TcpServer server, Dialer dialer, Credentials credentials, Destinations destinations,
                                    Duration headTimeout, Duration responseTimeout, ProxyLog log) {
        HttpProxy p = new HttpProxy(dialer, credentials, destinations, headTimeout, responseTimeout, log);
        return server
                .pauseReadingAboveHighWater(false)
                .onConnection(c -> {
                    if (c.isConnected() && c.context() == null) new HttpSession(p, c);
                })
                .onMessage((c, buf) -> buf.skip(buf.readableBytes())) // replaced per connection
                .onPeerShutdown(Dialer::peerShutdown);
    }

    // ---------------------------------------------------------------- heads

    /** Hop-by-hop headers the proxy never forwards (besides those named in Connection). */
    private static final Set<String> HOP_BY_HOP = Set.of("connection", "proxy-connection", "keep-alive",
            "proxy-authorization", "proxy-authenticate", "te", "upgrade");

    /** A parsed head: the start line and the header fields, as sent. */
    record Head(String startLine, List<String[]> fields) {
        String first(String name) {
            for (String[] f : fields) if (f[0].equalsIgnoreCase(name)) return f[1];
            return null;
        }

        /** The comma-separated tokens of every {@code name} field, lower-case. */
        Set<String> tokens(String name) {
            Set<String> t = new HashSet<>();
            for (String v : all(name)) for (String x : v.split(",")) t.add(x.strip().toLowerCase(Locale.ROOT));
            return t;
        }

        List<String> all(String name) {
            List<String> l = new ArrayList<>();
            for (String[] f : fields) if (f[0].equalsIgnoreCase(name)) l.add(f[1]);
            return l;
        }

        /** This head without the fields named {@code name}. */
        Head without(String name) {
            List<String[]> l = new ArrayList<>();
            for (String[] f : fields) if (!f[0].equalsIgnoreCase(name)) l.add(f);
            return new Head(startLine, l);
        }

        /**
         * The head with hop-by-hop fields removed and {@code extra} fields (name, value, ...) in place
         * of any of the same names, as bytes.
         */
        byte[] forward(String startLine, String... extra) {
            Set<String> drop = new HashSet<>(HOP_BY_HOP);
            for (String v : all("connection")) {
                for (String t : v.split(",")) drop.add(t.strip().toLowerCase(Locale.ROOT));
            }
            drop.remove("transfer-encoding"); // the framing is passed on as is: it must be described
            drop.remove("content-length");
            for (int i = 0; i + 1 < extra.length; i += 2) drop.add(extra[i].toLowerCase(Locale.ROOT));
            StringBuilder sb = new StringBuilder(256).append(startLine).append("\r\n");
            for (String[] f : fields) {
                if (drop.contains(f[0].toLowerCase(Locale.ROOT))) continue;
                sb.append(f[0]).append(": ").append(f[1]).append("\r\n");
            }
            for (int i = 0; i + 1 < extra.length; i += 2) sb.append(extra[i]).append(": ").append(extra[i + 1]).append("\r\n");
            sb.append("\r\n");
            return sb.toString().getBytes(StandardCharsets.ISO_8859_1);
        }
    }

    /** Thrown while parsing: answer {@code status} with {@code message}. */
    static final class Reject extends Exception {
        private static final long serialVersionUID = 1L;
        final int status;

        Reject(int status, String message) {
            super(message, null, false, false);
            this.status = status;
        }
    }

    /**
     * The length of the head at the start of {@code in} (through the empty line), or -1 if it is
     * not complete yet; {@code from} is where to resume the search.
     */
    static int headLength(Buffer in, int from) {
        int n = in.readableBytes();
        for (int i = Math.max(0, from - 3); i + 3 < n; i++) {
            if (in.peek(i) == '\r' && in.peek(i + 1) == '\n' && in.peek(i + 2) == '\r' && in.peek(i + 3) == '\n') return i + 4;
        }
        return -1;
    }

    /** Parses a head of {@code length} bytes (with its empty line) and consumes it from {@code in}. */
    static Head parseHead(Buffer in, int length) throws Reject {
        String text = in.readString(length, StandardCharsets.ISO_8859_1);
        String[] lines = text.substring(0, length - 4).split("\r\n", -1);
        List<String[]> fields = new ArrayList<>();
        for (int i = 1; i < lines.length; i++) {
            String l = lines[i];
            if (l.isEmpty() || l.charAt(0) == ' ' || l.charAt(0) == '\t') throw new Reject(400, "obsolete line folding or an empty header line");
            int colon = l.indexOf(':');
            if (colon <= 0) throw new Reject(400, "a header line without a name: " + shorten(l));
            String name = l.substring(0, colon);
            for (int k = 0; k < name.length(); k++) {
                char ch = name.charAt(k);
                if (ch <= ' ' || ch >= 127 || "\"(),/:;<=>?@[\\]{}".indexOf(ch) >= 0) throw new Reject(400, "a bad header name: " + shorten(name));
            }
            String value = l.substring(colon + 1).strip();
            if (value.indexOf('\r') >= 0 || value.indexOf('\n') >= 0 || value.indexOf('\0') >= 0) throw new Reject(400, "a bad header value");
            fields.add(new String[] {name, value});
        }
        if (lines[0].indexOf('\n') >= 0) throw new Reject(400, "a bare LF in the request line");
        return new Head(lines[0], fields);
    }

    static String shorten(String s) {
        return s.length() > 80 ? s.substring(0, 80) + "..." : s;
    }

    /** The body framing a request head declares. Package-private for tests. */
    static BodyFramer requestFramer(Head h) throws Reject {
        List<String> te = h.all("transfer-encoding");
        List<String> cl = h.all("content-length");
        if (!te.isEmpty()) {
            if (!cl.isEmpty()) throw new Reject(400, "both Content-Length and Transfer-Encoding (refused: ambiguous framing)");
            String codings = String.join(",", te).strip().toLowerCase(Locale.ROOT);
            if (!codings.equals("chunked")) throw new Reject(501, "Transfer-Encoding other than chunked: " + shorten(codings));
            return BodyFramer.chunked();
        }
        if (!cl.isEmpty()) {
            long len = -1;
            for (String v : cl) {
                for (String part : v.split(",")) {
                    long n;
                    try {
                        String p = part.strip();
                        if (p.isEmpty() || !p.chars().allMatch(Character::isDigit) || p.length() > 18) throw new NumberFormatException();
                        n = Long.parseLong(p);
                    } catch (NumberFormatException e) {
                        throw new Reject(400, "a bad Content-Length: " + shorten(v));
                    }
                    if (len >= 0 && n != len) throw new Reject(400, "Content-Length values differ");
                    len = n;
                }
            }
            return BodyFramer.length(len);
        }
        return BodyFramer.length(0);
    }

    // ---------------------------------------------------------------- the session

    /** One client connection: its request head, then a tunnel or one forwarded exchange. */
    static final class HttpSession extends Session {
        private final HttpProxy proxy;
        private int scanned;
        private Exchange exchange;
        private int served; // requests answered on this connection

        HttpSession(HttpProxy proxy, Connection down) {
            super(down, proxy.log);
            this.proxy = proxy;
            greetingTimeout(proxy.headTimeoutMs);
        }

        @Override
        void greetingTimedOut(long ms) {
            if (served > 0 && (pending == null || !pending.isReadable())) {
                proxy.log.info(down, "idle for " + ms + " ms after " + served + " request(s); closing");
                down.close(); // an idle kept-alive connection: no request started, nothing to answer
                return;
            }
            proxy.log.info(down, "408: no complete request head within " + ms + " ms");
            fail(408, "Request Timeout", "no complete request head within " + ms + " ms");
        }

        @Override
        void tooLong() {
            fail(431, "Request Header Fields Too Large", "the request head is longer than " + MAX_GREETING + " bytes");
        }

        @Override
        void onInput(Buffer in) {
            if (exchange != null) return;
            int len = headLength(in, scanned);
            if (len < 0) {
                scanned = in.readableBytes();
                return;
            }
            if (len > MAX_GREETING) { // complete, but only in the read that took it over the limit
                tooLong();
                return;
            }
            try {
                handle(parseHead(in, len));
            } catch (Reject r) {
                fail(r.status, reason(r.status), r.getMessage());
            }
        }

        private void handle(Head h) throws Reject {
            String[] rl = h.startLine().split(" ", -1);
            if (rl.length != 3 || !rl[2].startsWith("HTTP/1.")) throw new Reject(400, "a bad request line: " + shorten(h.startLine()));
            String method = rl[0], target = rl[1];
            if (proxy.credentials != null && !proxy.credentials.checkBasic(h.first("proxy-authorization"))) {
                proxy.log.info(down, "407 for " + method + " " + shorten(target));
                reply(407, "Proxy Authentication Required", "proxy authentication required",
                        "Proxy-Authenticate", "Basic realm=\"hv\"");
                return;
            }
            if (method.equals("CONNECT")) {
                String[] hp = authority(target, -1);
                connect(hp[0], Integer.parseInt(hp[1]));
                return;
            }
            if (target.length() < 7 || !target.regionMatches(true, 0, "http://", 0, 7)) {
                if (target.regionMatches(true, 0, "https://", 0, 8)) {
                    throw new Reject(400, "https:// URLs go through CONNECT (use the proxy for https as a tunnel)");
                }
                throw new Reject(400, "not a proxy request: the target must be an absolute http:// URL or CONNECT host:port");
            }
            int pathAt = 7;
            while (pathAt < target.length() && "/?#".indexOf(target.charAt(pathAt)) < 0) pathAt++;
            String authority = target.substring(7, pathAt);
            if (authority.indexOf('@') >= 0) throw new Reject(400, "user information in the URL is not allowed");
            String path = pathAt < target.length() ? target.substring(pathAt) : "/";
            if (path.startsWith("?")) path = "/" + path;
            int hash = path.indexOf('#');
            if (hash >= 0) path = path.substring(0, hash);
            String[] hp = authority(authority, 80);
            BodyFramer body = requestFramer(h);
            forward(method, hp[0], Integer.parseInt(hp[1]), authority, path, rl[2], h, body);
        }

        /** {@code host:port} or {@code [v6]:port} (port optional when {@code defaultPort} > 0) as {host, port}. */
        private static String[] authority(String a, int defaultPort) throws Reject {
            String host, port = null;
            if (a.startsWith("[")) {
                int end = a.indexOf(']');
                if (end < 0) throw new Reject(400, "a bad authority: " + shorten(a));
                host = a.substring(1, end);
                if (end + 1 < a.length()) {
                    if (a.charAt(end + 1) != ':') throw new Reject(400, "a bad authority: " + shorten(a));
                    port = a.substring(end + 2);
                }
            } else {
                int colon = a.lastIndexOf(':');
                if (colon >= 0 && a.indexOf(':') != colon) throw new Reject(400, "a bad authority: " + shorten(a));
                host = colon >= 0 ? a.substring(0, colon) : a;
                port = colon >= 0 ? a.substring(colon + 1) : null;
            }
            if (host.isEmpty()) throw new Reject(400, "no host in " + shorten(a));
            for (int i = 0; i < host.length(); i++) {
                char c = host.charAt(i);
                if (!(Character.isLetterOrDigit(c) || c == '.' || c == '-' || c == '_' || c == ':')) {
                    throw new Reject(400, "a bad host name: " + shorten(host));
                }
            }
            int p;
            if (port == null) {
                if (defaultPort < 0) throw new Reject(400, "CONNECT needs host:port: " + shorten(a));
                p = defaultPort;
            } else {
                try {
                    p = Integer.parseInt(port);
                } catch (NumberFormatException e) {
                    p = -1;
                }
                if (p <= 0 || p > 65535) throw new Reject(400, "a bad port in " + shorten(a));
            }
            return new String[] {host, Integer.toString(p)};
        }

        private boolean permitted(String host, int port) {
            if (proxy.destinations.allows(host, port)) return true;
            proxy.log.warn(down, "403: destination " + host + ":" + port + " is not allowed");
            reply(403, "Forbidden", "destination " + host + ":" + port + " is not allowed by this proxy");
            return false;
        }

        private void connect(String host, int port) {
            if (!permitted(host, port)) return;
            exchange = Exchange.TUNNEL;
            dial(proxy.dialer, host, port, up -> {
                proxy.log.info(down, "CONNECT " + host + ":" + port);
                down.write("HTTP/1.1 200 Connection Established\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
                pipe();
            }, e -> dialFailed(host, port, e));
        }

        private void dialFailed(String host, int port, Throwable e) {
            Dialer.Failure f = Dialer.Failure.of(e);
            proxy.log.warn(down, "cannot reach " + host + ":" + port + ": " + e.getMessage());
            if (f == Dialer.Failure.TIMEOUT) {
                fail(504, "Gateway Timeout", "connecting to " + host + ":" + port + " timed out after "
                        + proxy.dialer.connectTimeout().toMillis() + " ms");
            } else {
                fail(502, "Bad Gateway", "cannot connect to " + host + ":" + port + ": " + e.getMessage());
            }
        }

        private void forward(String method, String host, int port, String authority, String path, String version,
                             Head h, BodyFramer body) {
            if (!permitted(host, port)) return;
            String via = String.join(", ", h.all("via"));
            via = (via.isEmpty() ? "" : via + ", ") + version.substring(5) + " hv";
            byte[] head = h.forward(method + " " + path + " " + version, "Host", authority, "Connection", "close", "Via", via);
            boolean keepAlive = version.equals("HTTP/1.1") && !h.tokens("connection").contains("close")
                    && !h.tokens("proxy-connection").contains("close");
            Exchange x = new Exchange(this, host + ":" + port, body, method.equals("HEAD"), keepAlive);
            exchange = x;
            dial(proxy.dialer, host, port, up -> {
                proxy.log.info(down, method + " http://" + authority + shorten(path));
                x.start(up, head);
            }, e -> dialFailed(host, port, e));
        }

        /** The exchange is over and the client keeps its connection: read its next request. */
        void nextRequest() {
            served++;
            exchange = null;
            scanned = 0;
            greetingTimeout(proxy.headTimeoutMs);
            resumeGreeting(); // the bytes the client sent meanwhile, and what it sends next
        }

        /** Answers {@code status} with {@code message} as text and closes after it. */
        void fail(int status, String reason, String message) {
            reply(status, reason, message);
        }

        private void reply(int status, String reason, String message, String... extra) {
            if (!down.isConnected()) return;
            byte[] body = (message + "\n").getBytes(StandardCharsets.UTF_8);
            StringBuilder sb = new StringBuilder(160).append("HTTP/1.1 ").append(status).append(' ').append(reason).append("\r\n")
                    .append("Content-Type: text/plain; charset=utf-8\r\nContent-Length: ").append(body.length)
                    .append("\r\nConnection: close\r\n");
            for (int i = 0; i + 1 < extra.length; i += 2) sb.append(extra[i]).append(": ").append(extra[i + 1]).append("\r\n");
            sb.append("\r\n");
            down.write(sb.toString().getBytes(StandardCharsets.ISO_8859_1));
            down.write(body);
            down.pauseReading();
            down.close();
        }

        private static String reason(int status) {
            return switch (status) {
                case 400 -> "Bad Request";
                case 431 -> "Request Header Fields Too Large";
                case 501 -> "Not Implemented";
                default -> "Error";
            };
        }

        @Override
        public boolean peerShutdown(Connection c) {
            if (exchange != null && exchange != Exchange.TUNNEL && up != null) return exchange.peerShutdown(c);
            return super.peerShutdown(c);
        }

        @Override
        public void onClose(Connection c, CloseCause cause) {
            super.onClose(c, cause);
            if (exchange != null && exchange != Exchange.TUNNEL) exchange.downClosed(cause);
        }
    }

    // ---------------------------------------------------------------- one forwarded request

    /**
     * One forwarded request and its response, once the origin connection is up: the client's body
     * bytes go to the origin as its framing allows, the response head is rewritten, the response body
     * streams back as its framing allows; each side's full queue pauses the other side. When the
     * response ends (by its framing), the origin connection is closed and the client's connection
     * waits for its next request, if both sides keep it alive; a response that ends with the origin's
     * close ends the client's connection too.
     */
    static final class Exchange implements Dialer.PeerShutdown {
        /** Marks a session that became a CONNECT tunnel. */
        static final Exchange TUNNEL = new Exchange(null, null, null, false, false);

        private final HttpSession s;
        private final String origin;
        private final BodyFramer body;
        private final boolean headRequest;
        private boolean keepAlive; // the client's wish; false once anything rules it out
        private Connection up;
        private Buffer responseHead; // until the final head has gone to the client
        private BodyFramer responseBody; // null: delimited by the origin's close
        private int scanned;
        private boolean headSent, responding, done, clientEnded;
        private Timer timer;

        Exchange(HttpSession s, String origin, BodyFramer body, boolean headRequest, boolean keepAlive) {
            this.s = s;
            this.origin = origin;
            this.body = body;
            this.headRequest = headRequest;
            this.keepAlive = keepAlive;
        }

        void start(Connection up, byte[] head) {
            this.up = up;
            Connection down = s.down;
            clientEnded = s.downEnded(); // a FIN while connecting: no next request will come
            up.context(this);
            up.onMessage((c, buf) -> fromOrigin(buf));
            up.onWritable((c, writable) -> {
                if (done) return;
                if (writable) down.resumeReading();
                else down.pauseReading();
            });
            up.addCloseListener((c, cause) -> upClosed(cause));
            down.onMessage((c, buf) -> fromClient(buf));
            down.onWritable((c, writable) -> {
                if (up.isClosed()) return;
                if (writable) up.resumeReading();
                else up.pauseReading();
            });
            up.write(head);
            Buffer held = s.pending;
            s.pending = null;
            if (held != null && held.isReadable()) fromClient(held);
            armTimer();
            if (up.isWritable() && !done) down.resumeReading();
        }

        /**
         * Client bytes: the request body as far as its framing goes; what follows it (the next
         * request) is held for after the response, up to a limit, then reading pauses.
         */
        private void fromClient(Buffer buf) {
            if (done) {
                buf.skip(buf.readableBytes()); // the connection is closing
                return;
            }
            if (body.isDone()) {
                holdNext(buf);
                return;
            }
            if (!up.isConnected()) {
                buf.skip(buf.readableBytes());
                return;
            }
            int n = body.consume(buf);
            if (n < 0) {
                s.proxy.log.warn(s.down, "malformed chunked request body; closing");
                buf.skip(buf.readableBytes());
                done = true;
                up.abort();
                if (!headSent) s.fail(400, "Bad Request", "malformed chunked request body");
                else s.down.abort();
                return;
            }
            if (n == buf.readableBytes()) {
                up.write(buf);
            } else {
                up.write(buf.readBytes(n));
                holdNext(buf);
            }
            armTimer();
        }

        /** Bytes of the client's next request, kept in the session until this exchange is over. */
        private void holdNext(Buffer buf) {
            if (!keepAlive) {
                buf.skip(buf.readableBytes()); // this connection ends with the response
                return;
            }
            if (s.pending == null) s.pending = Buffer.allocate(Math.max(1024, buf.readableBytes()));
            s.pending.write(buf);
            if (s.pending.readableBytes() > Session.MAX_GREETING) s.down.pauseReading(); // resumed by the next request
        }

        /**
         * The response timeout runs from the end of the request body (an upload may take longer than
         * the origin takes to answer it) to the first response head.
         */
        private void armTimer() {
            if (timer == null && !headSent && !done && body.isDone()) {
                timer = s.down.loop().setTimeout(s.proxy.responseTimeoutMs, this::timedOut);
            }
        }

        /** Origin bytes: response heads (rewritten), then the body unchanged, as far as its framing goes. */
        private void fromOrigin(Buffer buf) {
            Connection down = s.down;
            if (done || !down.isConnected()) {
                buf.skip(buf.readableBytes());
                return;
            }
            if (responding) {
                forwardBody(buf);
                return;
            }
            if (responseHead == null) responseHead = Buffer.allocate(Math.max(1024, buf.readableBytes()));
            responseHead.write(buf);
            while (!responding) {
                if (responseHead.readableBytes() > Session.MAX_GREETING) {
                    badResponse("a response head longer than " + Session.MAX_GREETING + " bytes");
                    return;
                }
                int len = headLength(responseHead, scanned);
                if (len < 0) {
                    scanned = responseHead.readableBytes();
                    return;
                }
                scanned = 0;
                Head h;
                try {
                    h = parseHead(responseHead, len);
                } catch (Reject r) {
                    badResponse("a malformed response head: " + r.getMessage());
                    return;
                }
                String[] sl = h.startLine().split(" ", 3);
                int status;
                try {
                    status = sl.length >= 2 && sl[0].startsWith("HTTP/1.") ? Integer.parseInt(sl[1]) : -1;
                } catch (NumberFormatException e) {
                    status = -1;
                }
                if (status < 100 || status > 999 || status == 101) {
                    badResponse("a bad status line: " + shorten(h.startLine()));
                    return;
                }
                cancelTimer();
                headSent = true;
                if (status < 200) {
                    down.write(h.forward(h.startLine())); // 100 Continue, 103 Early Hints
                    continue;
                }
                try {
                    responseBody = responseFramer(h, status);
                } catch (Reject r) {
                    headSent = false; // nothing of this response has gone out
                    badResponse(r.getMessage());
                    return;
                }
                if (responseBody == null || !h.startLine().startsWith("HTTP/1.1")) keepAlive = false;
                responding = true;
                boolean te = !h.all("transfer-encoding").isEmpty();
                String[] extra = keepAlive ? new String[0] : new String[] {"Connection", "close"};
                byte[] head = te ? h.without("content-length").forward(h.startLine(), extra) : h.forward(h.startLine(), extra);
                down.write(head);
            }
            Buffer rest = responseHead;
            responseHead = null;
            forwardBody(rest);
        }

        /** The framing of a final response's body; null when the origin's close ends it. */
        private BodyFramer responseFramer(Head h, int status) throws Reject {
            if (headRequest || status == 204 || status == 304) return BodyFramer.length(0);
            List<String> te = h.all("transfer-encoding");
            if (!te.isEmpty()) {
                String codings = String.join(",", te).strip().toLowerCase(Locale.ROOT);
                return codings.endsWith("chunked") && (codings.length() == 7 || codings.charAt(codings.length() - 8) == ','
                        || codings.charAt(codings.length() - 8) == ' ') ? BodyFramer.chunked() : null;
            }
            if (!h.all("content-length").isEmpty()) {
                try {
                    return requestFramer(h); // the same Content-Length rules
                } catch (Reject r) {
                    throw new Reject(502, "a bad Content-Length in the response");
                }
            }
            return null;
        }

        /** Response body bytes to the client; at the end of the framed body the exchange is over. */
        private void forwardBody(Buffer buf) {
            if (!buf.isReadable()) {
                if (responseBody != null && responseBody.isDone()) finish();
                return;
            }
            if (responseBody == null) {
                s.down.write(buf); // until the origin closes
                return;
            }
            int n = responseBody.consume(buf);
            if (n < 0) {
                buf.skip(buf.readableBytes());
                s.proxy.log.warn(s.down, origin + " sent a malformed chunked body; aborting");
                done = true;
                up.abort();
                s.down.abort();
                return;
            }
            if (n == buf.readableBytes()) {
                s.down.write(buf);
            } else {
                s.down.write(buf.readBytes(n));
                buf.skip(buf.readableBytes()); // the origin sent more than its response: dropped
            }
            if (responseBody.isDone()) finish();
        }

        /** The whole response has been passed on: the origin connection is done with. */
        private void finish() {
            done = true;
            cancelTimer();
            boolean reuse = keepAlive && body.isDone() && !clientEnded;
            up.close();
            if (reuse) {
                s.nextRequest();
            } else {
                s.down.close(); // after the response in its queue
            }
        }

        private void badResponse(String why) {
            s.proxy.log.warn(s.down, "502 from " + origin + ": " + why);
            done = true;
            up.abort();
            if (!headSent) s.fail(502, "Bad Gateway", "the origin " + origin + " sent " + why);
            else s.down.abort();
        }

        private void timedOut() {
            timer = null;
            if (headSent || done) return;
            done = true;
            s.proxy.log.warn(s.down, "504: " + origin + " sent no response within " + s.proxy.responseTimeoutMs + " ms");
            up.abort();
            s.fail(504, "Gateway Timeout", "the origin " + origin + " sent no response within " + s.proxy.responseTimeoutMs + " ms");
        }

        private void cancelTimer() {
            if (timer != null) timer.cancel();
            timer = null;
        }

        @Override
        public boolean peerShutdown(Connection c) {
            if (c == up) {
                up.close(); // the origin ended its response (or gave none): upClosed decides
            } else if (!body.isDone()) {
                // the client went away in the middle of its body: the origin must not take it as complete
                s.proxy.log.info(s.down, "the client ended its request body early; aborting");
                done = true;
                up.abort();
                s.down.abort();
            } else {
                clientEnded = true; // it still gets the response; then its connection closes
            }
            return true;
        }

        void upClosed(CloseCause cause) {
            cancelTimer();
            Connection down = s.down;
            if (down.isClosed() || done) return;
            done = true;
            boolean clean = cause.kind() == CloseCause.Kind.NORMAL || cause.kind() == CloseCause.Kind.PEER_CLOSED;
            if (!headSent) {
                s.proxy.log.warn(down, "502: " + origin + " closed without a response (" + cause + ")");
                s.fail(502, "Bad Gateway", "the origin " + origin + " closed the connection without a response");
            } else if (clean && responding && responseBody == null) {
                down.close(); // a close-delimited response ends here, after what is queued
            } else {
                s.proxy.log.warn(down, origin + " broke off the response: " + cause);
                down.abort(); // the client must not take a cut-off response for a whole one
            }
        }

        void downClosed(CloseCause cause) {
            cancelTimer();
            done = true;
            if (up != null && !up.isClosed()) up.abort();
        }
    }
}
