package io.jhv.http.internal.ws;

import io.jhv.core.buffer.Buffer;
import io.jhv.core.loop.EventLoop;
import io.jhv.core.loop.EventLoopGroup;
import io.jhv.core.loop.Timer;
import io.jhv.core.net.CloseCause;
import io.jhv.core.net.Connection;
import io.jhv.core.net.Connector;
import io.jhv.core.net.ProtocolHandler;
import io.jhv.core.net.ReconnectPolicy;
import io.jhv.core.tls.TlsConfig;
import io.jhv.http.websocket.CloseCodes;
import io.jhv.http.websocket.WebSocket;
import io.jhv.http.websocket.WebSocketConfig;
import io.jhv.http.websocket.WebSocketException;
import io.jhv.http.websocket.WebSocketHandler;
import io.jhv.http.websocket.WebSocketHandshakeException;

import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The machinery behind {@code WebSocketClient}: one attempt after another on one loop (connect with
 * the {@link Connector}, TLS, the HTTP upgrade, then a {@link WsSession}), and the back-off between
 * them. Everything after {@link #connect()} runs on that loop.
 */
public final class WsClientEngine {
    private static final AtomicInteger SEQ = new AtomicInteger();
    private static final int MAX_RESPONSE_HEAD = 64 << 10;

    private final String url;
    private final boolean secure;
    private final String host;
    private final int port;
    private final String path;
    private final String query;
    private final String hostHeader;

    private WebSocketHandler handler;
    private final List<String[]> headers = new ArrayList<>();
    private WebSocketConfig config = WebSocketConfig.defaults();
    private String[] subprotocols;
    private TlsConfig tls;
    private Duration connectTimeout = Connector.DEFAULT_CONNECT_TIMEOUT;
    private Duration handshakeTimeout = Connector.DEFAULT_HANDSHAKE_TIMEOUT;
    private io.jhv.core.net.Proxy proxy = io.jhv.core.net.Proxy.NONE;
    private ReconnectPolicy reconnect;
    private EventLoop loop;
    private EventLoopGroup group;

    private volatile boolean started;
    private volatile boolean closed;
    private boolean ownLoop;
    private Connector connector;
    private final CompletableFuture<WebSocket> firstOpen = new CompletableFuture<>();
    private final CompletableFuture<Void> closeFuture = new CompletableFuture<>();
    private volatile WsSession current;
    private final AtomicInteger opens = new AtomicInteger();

    // loop-thread state of the attempt in progress
    private CompletableFuture<Connection> pendingConnect;
    private Connection handshaking;
    /** A socket closed from its own onOpen, until its close handshake ends (loop thread). */
    private WsSession closingFromOnOpen;
    /** The socket being attached after the 101 (its onOpen runs), until it reports open. */
    private WsSession attaching;
    private Timer retryTimer;
    private int retries;
    private boolean finished;
    /** An attempt is under way (connecting, TLS, upgrade): its first failure or success ends it. */
    private boolean attempting;

    public WsClientEngine(String url) {
        this.url = Objects.requireNonNull(url, "url");
        URI u;
        try {
            u = new URI(url);
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException("not a WebSocket URL: " + url + " (" + e.getMessage() + ")", e);
        }
        String scheme = u.getScheme() == null ? "" : u.getScheme().toLowerCase(Locale.ROOT);
        if (!scheme.equals("ws") && !scheme.equals("wss")) throw new IllegalArgumentException("not a ws:// or wss:// URL: " + url);
        if (u.getHost() == null || u.getHost().isEmpty()) throw new IllegalArgumentException("no host in " + url);
        if (u.getRawFragment() != null) throw new IllegalArgumentException("a WebSocket URL has no fragment: " + url);
        this.secure = scheme.equals("wss");
        String h = u.getHost();
        this.host = h.startsWith("[") && h.endsWith("]") ? h.substring(1, h.length() - 1) : h;
        int defaultPort = secure ? 443 : 80;
        this.port = u.getPort() < 0 ? defaultPort : u.getPort();
        this.path = u.getRawPath() == null || u.getRawPath().isEmpty() ? "/" : u.getRawPath();
        this.query = u.getRawQuery();
        this.hostHeader = (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + (port == defaultPort ? "" : ":" + port);
    }

    private void mutable() {
        if (started) throw new IllegalStateException("the client has been started: configure it before connect()");
    }

    public void handler(WebSocketHandler h) { mutable(); this.handler = Objects.requireNonNull(h, "handler"); }

    public void header(String name, String value) {
        mutable();
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(value, "value");
        if (name.isEmpty() || (name + value).chars().anyMatch(c -> c == '\r' || c == '\n' || c == 0) || name.indexOf(':') >= 0) {
            throw new IllegalArgumentException("bad header " + name + ": " + value);
        }
        headers.add(new String[] {name, value});
    }

    public void subprotocols(String... names) {
        mutable();
        this.subprotocols = WebSocketConfig.builder().subprotocols(names).build().subprotocols().toArray(new String[0]);
    }

    public void config(WebSocketConfig c) { mutable(); this.config = Objects.requireNonNull(c, "config"); }
    public void tls(TlsConfig t) { mutable(); this.tls = Objects.requireNonNull(t, "tls"); }
    public void proxy(io.jhv.core.net.Proxy p) { mutable(); this.proxy = Objects.requireNonNull(p, "proxy"); }
    public void connectTimeout(Duration d) { mutable(); this.connectTimeout = Objects.requireNonNull(d, "timeout"); }
    public void handshakeTimeout(Duration d) { mutable(); this.handshakeTimeout = Objects.requireNonNull(d, "timeout"); }
    public void reconnect(ReconnectPolicy p) { mutable(); this.reconnect = p; }
    public void loop(EventLoop l) { mutable(); this.loop = Objects.requireNonNull(l, "loop"); this.group = null; }
    public void group(EventLoopGroup g) { mutable(); this.group = Objects.requireNonNull(g, "group"); this.loop = null; }

    public synchronized CompletableFuture<WebSocket> connect() {
        if (started) throw new IllegalStateException("connect() was called already");
        if (handler == null) throw new IllegalStateException("no handler: set one with handler(...)");
        if (tls != null && !secure) throw new IllegalStateException("TLS settings for a ws:// URL: use wss://");
        started = true;
        if (loop == null) {
            if (group != null) {
                loop = group.next();
            } else {
                loop = EventLoop.builder().name("ws-client-" + SEQ.incrementAndGet()).build().start();
                ownLoop = true;
            }
        }
        Connector c = Connector.create().connectTimeout(connectTimeout).handshakeTimeout(handshakeTimeout).proxy(proxy)
                .protocol(() -> new ClientHandshake());
        if (secure) c.tls(tls != null ? tls : TlsConfig.client().build());
        connector = c;
        loop.runInLoop(this::attempt);
        return firstOpen;
    }

    public WebSocket current() {
        WsSession s = current;
        return s != null && s.isOpen() ? s : null;
    }

    public int openCount() { return opens.get(); }

    public WebSocket requireOpen() {
        WebSocket ws = current();
        if (ws == null) throw new IllegalStateException("no open WebSocket to " + url);
        return ws;
    }

    public CompletableFuture<Void> closeFuture() { return closeFuture; }

    public void close() {
        closed = true;
        EventLoop l;
        synchronized (this) {
            l = loop;
            if (!started) {
                started = true; // nothing to run: a later connect() is refused
                closeFuture.complete(null);
                firstOpen.completeExceptionally(new WebSocketException(CloseCodes.GOING_AWAY, "client closed before connecting"));
                return;
            }
        }
        try {
            l.runInLoop(this::closeInLoop);
        } catch (RuntimeException stopped) {
            finish(new WebSocketException(CloseCodes.GOING_AWAY, "client closed"));
        }
    }

    // ---------------------------------------------------------------- on the loop

    private void closeInLoop() {
        if (retryTimer != null) {
            retryTimer.cancel();
            retryTimer = null;
        }
        if (pendingConnect != null) pendingConnect.cancel(false);
        // A socket in its onOpen (attaching) is open already: it gets a close handshake, not an abort.
        WsSession s = current != null ? current : attaching;
        if (s != null) s.close(CloseCodes.NORMAL, "");
        else if (closingFromOnOpen != null) return; // its close handshake is under way: sessionClosed ends the client
        else if (handshaking != null) handshaking.abort();
        else if (pendingConnect == null) finish(new WebSocketException(CloseCodes.GOING_AWAY, "client closed"));
    }

    private void attempt() {
        if (closed) {
            finish(new WebSocketException(CloseCodes.GOING_AWAY, "client closed"));
            return;
        }
        retryTimer = null;
        attempting = true;
        CompletableFuture<Connection> f = connector.connect(loop, host, port);
        pendingConnect = f;
        f.whenComplete((conn, err) -> {
            if (pendingConnect == f) pendingConnect = null;
            if (err != null) attemptFailed(unwrap(err));
        });
    }

    /** An attempt failed before a socket opened: retry by the policy, or give up. */
    private void attemptFailed(Throwable err) {
        if (!attempting) return; // told twice (the connect future and the handshake's close)
        attempting = false;
        handshaking = null;
        if (closed) {
            // The attempt ended because close() cut it short (a cancelled connect, an aborted
            // upgrade): report that, not a CancellationException the caller never asked for.
            finish(new WebSocketException(CloseCodes.GOING_AWAY, "client closed", err));
            return;
        }
        int retry = retries + 1;
        if (reconnect == null || !reconnect.allows(retry)) {
            finish(err);
            return;
        }
        retries = retry;
        retryTimer = loop.setTimeout(reconnect.delayMs(retry), this::attempt);
    }

    private void opened(WsSession s) {
        attempting = false;
        handshaking = null;
        retries = 0;
        current = s;
        opens.incrementAndGet();
        if (closed) {
            s.close(CloseCodes.GOING_AWAY, "client closed");
            return;
        }
        firstOpen.complete(s);
    }

    private void sessionClosed(WsSession s) {
        if (current == s) current = null;
        if (closingFromOnOpen == s) closingFromOnOpen = null;
        if (closed || reconnect == null) {
            finish(new WebSocketException(CloseCodes.ABNORMAL, "closed"));
            return;
        }
        int retry = retries + 1;
        if (!reconnect.allows(retry)) {
            finish(new WebSocketException(CloseCodes.ABNORMAL, "closed, and the reconnect policy allows no more retries"));
            return;
        }
        retries = retry;
        retryTimer = loop.setTimeout(reconnect.delayMs(retry), this::attempt);
    }

    private void finish(Throwable why) {
        if (finished) return;
        finished = true;
        closed = true;
        firstOpen.completeExceptionally(why);
        if (ownLoop) {
            EventLoop l = loop;
            l.onTerminated(t -> closeFuture.complete(null));
            l.stop();
        } else {
            closeFuture.complete(null);
        }
    }

    private static Throwable unwrap(Throwable t) {
        while ((t instanceof java.util.concurrent.CompletionException || t instanceof java.util.concurrent.ExecutionException) && t.getCause() != null) {
            t = t.getCause();
        }
        return t;
    }

    // ---------------------------------------------------------------- the HTTP upgrade

    /** Sends the upgrade request and reads the {@code 101}, then hands the connection to a {@link WsSession}. */
    private final class ClientHandshake implements ProtocolHandler {
        private final String key;
        private final String offer = PerMessageDeflate.clientOffer(config);
        private Timer timer;
        private boolean done;

        ClientHandshake() {
            byte[] nonce = new byte[16];
            FrameWriter.ENTROPY.nextBytes(nonce); // RFC 6455 4.1: a random nonce per connection
            key = Base64.getEncoder().encodeToString(nonce);
        }

        @Override
        public void onAttach(Connection conn) {
            handshaking = conn;
            if (closed) {
                conn.abort();
                return;
            }
            StringBuilder r = new StringBuilder(256);
            r.append("GET ").append(path).append(query != null ? "?" + query : "").append(" HTTP/1.1\r\n");
            r.append("Host: ").append(hostHeader).append("\r\n");
            r.append("Upgrade: websocket\r\nConnection: Upgrade\r\n");
            r.append("Sec-WebSocket-Key: ").append(key).append("\r\n");
            r.append("Sec-WebSocket-Version: 13\r\n");
            List<String> protocols = offeredSubprotocols();
            if (!protocols.isEmpty()) r.append("Sec-WebSocket-Protocol: ").append(String.join(", ", protocols)).append("\r\n");
            if (offer != null) r.append("Sec-WebSocket-Extensions: ").append(offer).append("\r\n");
            for (String[] h : headers) r.append(h[0]).append(": ").append(h[1]).append("\r\n");
            r.append("\r\n");
            conn.write(r.toString().getBytes(StandardCharsets.UTF_8));
            if (!handshakeTimeout.isZero()) {
                // One bound from the TCP connect to the 101: a proxy tunnel and TLS before the
                // upgrade have used part of it already.
                long since = conn.connectedNanos();
                long spentMs = since == 0 ? 0 : (System.nanoTime() - since) / 1_000_000;
                long leftMs = Math.max(1, handshakeTimeout.toMillis() - spentMs);
                timer = conn.loop().setTimeout(leftMs, () -> {
                    timer = null;
                    fail(conn, new WebSocketHandshakeException(0, "no answer to the WebSocket upgrade within " + handshakeTimeout.toMillis()
                            + " ms of the TCP connect to " + url + (spentMs > 0 ? " (" + spentMs + " ms of it went to the proxy tunnel and TLS)" : "")));
                });
            }
        }

        @Override
        public void onData(Connection conn, Buffer in) {
            if (done) {
                in.skip(in.readableBytes());
                return;
            }
            int end = in.indexOf(new byte[] {'\r', '\n', '\r', '\n'}, 0);
            if (end < 0) {
                if (in.readableBytes() > MAX_RESPONSE_HEAD) {
                    fail(conn, new WebSocketHandshakeException(0, "the upgrade response head is longer than " + MAX_RESPONSE_HEAD + " bytes"));
                }
                return;
            }
            String head = in.readString(end + 4, StandardCharsets.ISO_8859_1);
            WsSession session;
            try {
                session = accept(head);
            } catch (WebSocketHandshakeException e) {
                fail(conn, e);
                return;
            }
            done = true;
            cancelTimer();
            attaching = session;
            try {
                conn.handover(session);
            } finally {
                attaching = null;
                // The upgrade is over whatever onOpen did: a socket it closed (or that threw) never
                // reports open, and its connection must not stay "handshaking", or close() during
                // the reconnect back-off would abort that dead connection and never end the client.
                if (handshaking == conn) handshaking = null;
                attempting = false;
                if (!session.isOpen() && !session.isClosed()) closingFromOnOpen = session;
            }
        }

        @Override
        public void onDetach(Connection conn) {
            cancelTimer();
        }

        @Override
        public void onClose(Connection conn, CloseCause cause) {
            cancelTimer();
            if (!done) {
                done = true;
                Throwable err = cause.error() != null && !(cause.error() instanceof WebSocketHandshakeException)
                        ? cause.error() : new WebSocketHandshakeException(0, "connection to " + url + " closed before the upgrade was answered (" + cause + ")");
                if (pendingFailure != null) err = pendingFailure;
                attemptFailed(err);
            }
        }

        private Throwable pendingFailure;

        private void fail(Connection conn, Throwable why) {
            if (done) return;
            pendingFailure = why;
            conn.abort();
        }

        private void cancelTimer() {
            if (timer != null) {
                timer.cancel();
                timer = null;
            }
        }

        private WsSession accept(String head) throws WebSocketHandshakeException {
            String[] lines = head.split("\r\n");
            String status = lines[0];
            int code = 0;
            if (status.startsWith("HTTP/1.") && status.length() >= 12 && status.charAt(8) == ' ') {
                try {
                    code = Integer.parseInt(status.substring(9, 12));
                } catch (NumberFormatException ignored) {
                    code = 0;
                }
            }
            if (code == 0) throw new WebSocketHandshakeException(0, "not an HTTP response to the upgrade: " + truncate(status));
            List<Map.Entry<String, String>> hs = new ArrayList<>();
            for (int i = 1; i < lines.length; i++) {
                String l = lines[i];
                if (l.isEmpty()) continue;
                int colon = l.indexOf(':');
                if (colon <= 0) throw new WebSocketHandshakeException(code, "bad header line in the upgrade response: " + truncate(l));
                hs.add(Map.entry(l.substring(0, colon).trim(), l.substring(colon + 1).trim()));
            }
            if (code != 101) throw new WebSocketHandshakeException(code, url + " answered the upgrade with " + truncate(status.substring(9)));
            if (!WsUpgrade.hasToken(values(hs, "Upgrade"), "websocket")) throw new WebSocketHandshakeException(code, "101 without Upgrade: websocket");
            if (!WsUpgrade.hasToken(values(hs, "Connection"), "upgrade")) throw new WebSocketHandshakeException(code, "101 without Connection: Upgrade");
            List<String> accepts = values(hs, "Sec-WebSocket-Accept");
            if (accepts.size() != 1 || !accepts.get(0).equals(WsUpgrade.accept(key))) {
                throw new WebSocketHandshakeException(code, "wrong Sec-WebSocket-Accept: " + accepts);
            }
            List<String> protos = values(hs, "Sec-WebSocket-Protocol");
            String protocol = null;
            if (!protos.isEmpty()) {
                if (protos.size() > 1 || !offeredSubprotocols().contains(protos.get(0))) {
                    throw new WebSocketHandshakeException(code, "the server chose a subprotocol that was not offered: " + protos);
                }
                protocol = protos.get(0);
            }
            PerMessageDeflate pmd;
            try {
                pmd = PerMessageDeflate.clientAccept(values(hs, "Sec-WebSocket-Extensions"), config);
            } catch (IllegalArgumentException e) {
                throw new WebSocketHandshakeException(code, e.getMessage());
            }
            HandshakeInfo info = HandshakeInfo.client(path, query, hs, protocol, pmd == null ? null : pmd.header);
            WsSession s = new WsSession(config, handler, true, pmd, info, protocol, WsClientEngine.this::opened, null);
            s.whenClosedUnattached(() -> sessionClosed(s));
            return s;
        }

        private List<String> offeredSubprotocols() {
            if (subprotocols != null) return List.of(subprotocols);
            return config.subprotocols();
        }
    }

    private static List<String> values(List<Map.Entry<String, String>> hs, String name) {
        List<String> out = new ArrayList<>(1);
        for (Map.Entry<String, String> e : hs) if (e.getKey().equalsIgnoreCase(name)) out.add(e.getValue());
        return out;
    }

    private static String truncate(String s) {
        return s.length() <= 200 ? s : s.substring(0, 200) + "...";
    }
}
