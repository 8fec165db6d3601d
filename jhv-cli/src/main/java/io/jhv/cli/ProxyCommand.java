package io.jhv.cli;

import io.jhv.cli.proxy.Credentials;
import io.jhv.cli.proxy.Destinations;
import io.jhv.cli.proxy.Dialer;
import io.jhv.cli.proxy.HttpProxy;
import io.jhv.cli.proxy.ProxyLog;
import io.jhv.cli.proxy.Socks5Proxy;
import io.jhv.cli.proxy.TcpProxy;
import io.jhv.cli.proxy.UdpProxy;
import io.jhv.core.net.TcpServer;
import io.jhv.core.tls.SelfSignedCertificate;
import io.jhv.core.tls.TlsConfig;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;

import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

/**
 * {@code hv proxy tcp|udp|http|socks5}: the proxy servers of {@link io.jhv.cli.proxy}, until Ctrl-C
 * or SIGTERM (exit status 1 if an event loop ends abnormally).
 */
final class ProxyCommand {
    static final String USAGE = "hv proxy tcp|udp|http|socks5 --listen [HOST:]PORT [options] (hv proxy --help)";

    static final String HELP = """
            usage:
              hv proxy tcp    --listen [HOST:]PORT --to HOST:PORT [--tls-in [--cert F --key F]]
                              [--tls-out [--insecure | --ca F]] [--connect-timeout SECS]
              hv proxy udp    --listen [HOST:]PORT --to HOST:PORT [--idle-timeout SECS] [--max-clients N]
              hv proxy http   --listen [HOST:]PORT [--user U --password P] [--allow PATTERN]...
                              [--deny PATTERN]... [--connect-timeout SECS] [--response-timeout SECS]
                              [--handshake-timeout SECS]
              hv proxy socks5 --listen [HOST:]PORT [--user U --password P] [--allow PATTERN]...
                              [--deny PATTERN]... [--connect-timeout SECS] [--handshake-timeout SECS]

            tcp      forwards every connection to --to, with back-pressure both ways and half-closes
                     passed on; --tls-in ends TLS at the proxy (without --cert/--key a development
                     certificate for localhost is generated), --tls-out speaks TLS to the upstream
                     (verified against the system's CAs, or --ca FILE; --insecure trusts any).
            udp      relays datagrams to --to through one upstream socket per client address; a
                     client silent for --idle-timeout (default 60 s) loses its socket; beyond
                     --max-clients (default 1024) new clients' datagrams are dropped.
            http     a forward proxy: absolute-form requests (GET http://host/path) and CONNECT
                     tunnels (HTTPS). Client connections are kept alive (pipelining too); each
                     request gets an origin connection of its own, closed after its response.
                     Hop-by-hop headers are removed; bodies stream both ways, never buffered.
                     --user/--password require Basic Proxy-Authorization (407 otherwise);
                     unreachable origin 502, origin timeout 504, a denied destination 403, a
                     request head not complete within --handshake-timeout (default 30 s) 408.
            socks5   RFC 1928/1929: CONNECT to a domain, IPv4 or IPv6 address; username/password
                     auth with --user/--password; UDP ASSOCIATE (a relay socket per control
                     connection). BIND is refused (reply 7). A client that has not finished its
                     handshake and request within --handshake-timeout (default 30 s) is closed.

            --allow/--deny PATTERN: a destination HOST[:PORT] where HOST may hold '*' (any run of
                     characters) and PORT is a number, a range (8000-8999) or '*'. A destination
                     matching a --deny is refused; with any --allow, one must match. Example:
                     --allow '*.example.com:443' --allow 'localhost:8000-8999' --deny '10.*'
            --threads N        event loops (default: the number of processors)
            --verbose          a line per connection on stderr (failures are always logged)
            """;

    static final Set<String> VALUE_FLAGS = Set.of("listen", "to", "cert", "key", "ca", "connect-timeout", "threads",
            "user", "password", "allow", "deny", "response-timeout", "idle-timeout", "max-clients",
            "handshake-timeout");
    static final Set<String> SWITCHES = Set.of("help", "tls-in", "tls-out", "insecure", "verbose");

    private ProxyCommand() {}

    static int run(String[] argv) {
        if (argv.length < 2 || argv[1].equals("--help") || argv[1].equals("-h") || argv[1].equals("help")) {
            System.out.print(HELP);
            return argv.length < 2 ? 2 : 0;
        }
        Args a = Args.parse(argv, 2, VALUE_FLAGS, SWITCHES);
        if (a.has("help")) {
            System.out.print(HELP);
            return 0;
        }
        Running r = start(argv[1], a, System.out, System.err);
        return Lifetime.serve("proxy", r::close, 8_000, r.failures(), System.out, System.err,
                "hv proxy: shutting down", "hv proxy: stopped");
    }

    /** A running proxy: its servers, to close and for tests to look into. */
    static final class Running implements AutoCloseable {
        final List<TcpServer> servers = new ArrayList<>();
        final List<AutoCloseable> others = new ArrayList<>();
        /** The UDP proxy, for hv proxy udp. */
        UdpProxy udp;
        /** The port it listens on. */
        int port;

        List<CompletableFuture<Void>> failures() {
            List<CompletableFuture<Void>> l = new ArrayList<>();
            for (TcpServer s : servers) l.add(s.closeFuture());
            return l;
        }

        TcpServer server() { return servers.get(0); }

        @Override
        public void close() {
            for (TcpServer s : servers) s.close(Duration.ofSeconds(5));
            for (AutoCloseable c : others) {
                try {
                    c.close();
                } catch (Exception ignored) {
                    // closing anyway
                }
            }
        }
    }

    /** Starts the proxy {@code kind} as the options say and prints where it listens on {@code out}. */
    static Running start(String kind, Args a, PrintStream out, PrintStream err) {
        checkOptions(a, kind);
        HostPort listen = HostPort.parse(required(a, "listen"), "0.0.0.0", "--listen");
        int threads = a.getInt("threads", Runtime.getRuntime().availableProcessors(), 1, 1024);
        Duration connectTimeout = seconds(a, "connect-timeout", 10);
        ProxyLog log = new ProxyLog("proxy " + kind, err, a.has("verbose"));
        Running r = new Running();
        switch (kind) {
            case "tcp" -> {
                HostPort to = HostPort.parse(required(a, "to"), null, "--to");
                TlsConfig in = tlsIn(a, out);
                TlsConfig upTls = tlsOut(a);
                TcpServer server = TcpServer.create(listen.host(), listen.port()).threads(threads).tls(in);
                TcpProxy.install(server, new Dialer(upTls, connectTimeout, TcpServer.DEFAULT_HIGH_WATER_MARK,
                        TcpServer.DEFAULT_HIGH_WATER_MARK / 2), to.host(), to.port(), log);
                r.servers.add(server.start());
                r.port = server.port();
                out.println("hv proxy tcp listening on " + listen.host() + ":" + r.port + (in != null ? " (TLS)" : "")
                        + " -> " + to + (upTls != null ? " (TLS)" : ""));
            }
            case "http" -> {
                TcpServer server = TcpServer.create(listen.host(), listen.port()).threads(threads);
                HttpProxy.install(server, new Dialer(connectTimeout), credentials(a), destinations(a),
                        seconds(a, "handshake-timeout", 30), seconds(a, "response-timeout", 30), log);
                r.servers.add(server.start());
                r.port = server.port();
                out.println("hv proxy http listening on " + listen.host() + ":" + r.port
                        + (a.has("user") ? " (Basic auth)" : ""));
            }
            case "socks5" -> {
                TcpServer server = TcpServer.create(listen.host(), listen.port()).threads(threads);
                Socks5Proxy.install(server, new Dialer(connectTimeout), credentials(a), destinations(a),
                        seconds(a, "handshake-timeout", 30), log);
                r.servers.add(server.start());
                r.port = server.port();
                out.println("hv proxy socks5 listening on " + listen.host() + ":" + r.port
                        + (a.has("user") ? " (username/password)" : ""));
            }
            case "udp" -> {
                HostPort to = HostPort.parse(required(a, "to"), null, "--to");
                UdpProxy udp = new UdpProxy(listen.host(), listen.port(), to.host(), to.port(), seconds(a, "idle-timeout", 60),
                        a.getInt("max-clients", 1024, 1, 65_536), log).start();
                r.others.add(udp);
                r.udp = udp;
                r.port = udp.port();
                out.println("hv proxy udp listening on " + listen.host() + ":" + r.port + " -> " + to);
            }
            default -> throw new Args.UsageException("unknown proxy kind: " + kind + " (tcp, udp, http or socks5)");
        }
        return r;
    }

    /** The options each kind takes (besides --listen, --help and --verbose). */
    private static final java.util.Map<String, Set<String>> OPTIONS = java.util.Map.of(
            "tcp", Set.of("to", "tls-in", "cert", "key", "tls-out", "ca", "insecure", "connect-timeout", "threads"),
            "udp", Set.of("to", "idle-timeout", "max-clients"),
            "http", Set.of("user", "password", "allow", "deny", "connect-timeout", "response-timeout", "handshake-timeout", "threads"),
            "socks5", Set.of("user", "password", "allow", "deny", "connect-timeout", "handshake-timeout", "threads"));

    /** Refuses an option the proxy {@code kind} does not take. */
    private static void checkOptions(Args a, String kind) {
        Set<String> mine = OPTIONS.get(kind);
        if (mine == null) throw new Args.UsageException("unknown proxy kind: " + kind + " (tcp, udp, http or socks5)");
        for (Set<String> names : List.of(VALUE_FLAGS, SWITCHES)) {
            for (String o : names) {
                if (a.has(o) && !mine.contains(o) && !Set.of("listen", "help", "verbose").contains(o)) {
                    throw new Args.UsageException("--" + o + " is not an option of hv proxy " + kind);
                }
            }
        }
    }

    static Credentials credentials(Args a) {
        if (a.has("user") != a.has("password")) throw new Args.UsageException("--user and --password go together");
        if (!a.has("user")) return null;
        try {
            return new Credentials(a.get("user", null), a.get("password", null));
        } catch (IllegalArgumentException e) {
            throw new Args.UsageException(e.getMessage());
        }
    }

    static Destinations destinations(Args a) {
        try {
            return Destinations.of(a.all("allow"), a.all("deny"));
        } catch (IllegalArgumentException e) {
            throw new Args.UsageException(e.getMessage());
        }
    }

    static String required(Args a, String name) {
        String v = a.get(name, null);
        if (v == null) throw new Args.UsageException("--" + name + " is required");
        return v;
    }

    static Duration seconds(Args a, String name, int def) {
        String v = a.get(name, null);
        if (v == null) return Duration.ofSeconds(def);
        try {
            double s = Double.parseDouble(v);
            if (!(s > 0) || s > 86_400) throw new Args.UsageException("--" + name + " must be between 0 and 86400 seconds: " + v);
            return Duration.ofMillis(Math.max(1, (long) (s * 1000)));
        } catch (NumberFormatException e) {
            throw new Args.UsageException("--" + name + " must be a number of seconds: " + v);
        }
    }

    /** The server side TLS of --tls-in (--cert/--key or a development certificate), or null. */
    static TlsConfig tlsIn(Args a, PrintStream out) {
        if (!a.has("tls-in")) {
            if (a.has("cert") || a.has("key")) throw new Args.UsageException("--cert and --key need --tls-in");
            return null;
        }
        if (a.has("cert") != a.has("key")) throw new Args.UsageException("--cert and --key go together");
        if (a.has("cert")) {
            return TlsConfig.server().certificate(Path.of(a.get("cert", null)), Path.of(a.get("key", null))).build();
        }
        SelfSignedCertificate dev = SelfSignedCertificate.generate("localhost");
        try {
            SelfSignedCertificate.PemFiles files = dev.writeTo(Files.createTempDirectory("hv-dev-cert-"));
            out.println("hv proxy: no --cert/--key: generated a development certificate for localhost (never use it in production)");
            out.println("  certificate: " + files.certificate());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the development certificate: " + e.getMessage(), e);
        }
        return TlsConfig.server().certificate(dev).build();
    }

    /** The client side TLS of --tls-out, or null. */
    static TlsConfig tlsOut(Args a) {
        if (!a.has("tls-out")) {
            if (a.has("insecure") || a.has("ca")) throw new Args.UsageException("--insecure and --ca need --tls-out");
            return null;
        }
        if (a.has("insecure") && a.has("ca")) throw new Args.UsageException("--insecure and --ca exclude each other");
        TlsConfig.Builder b = TlsConfig.client();
        if (a.has("insecure")) b.trustAll();
        else if (a.has("ca")) b.trust(Path.of(a.get("ca", null)));
        return b.build();
    }

    /** {@code [HOST:]PORT}, {@code HOST:PORT} or {@code [IPv6]:PORT}. */
    record HostPort(String host, int port) {
        static HostPort parse(String s, String defaultHost, String what) {
            String host = defaultHost, port = s;
            if (s.startsWith("[")) {
                int end = s.indexOf("]:");
                if (end < 0) throw new Args.UsageException(what + ": expected [IPv6]:PORT: " + s);
                host = s.substring(1, end);
                port = s.substring(end + 2);
            } else {
                int colon = s.lastIndexOf(':');
                if (colon >= 0) {
                    if (s.indexOf(':') != colon) throw new Args.UsageException(what + ": write an IPv6 address as [ADDR]:PORT: " + s);
                    host = s.substring(0, colon);
                    port = s.substring(colon + 1);
                }
            }
            if (host == null || host.isEmpty()) throw new Args.UsageException(what + ": expected HOST:PORT: " + s);
            try {
                int p = Integer.parseInt(port);
                if (p < 0 || p > 65535 || (p == 0 && defaultHost == null)) throw new NumberFormatException();
                return new HostPort(host, p);
            } catch (NumberFormatException e) {
                throw new Args.UsageException(what + ": bad port in " + s);
            }
        }

        @Override
        public String toString() {
            return host.indexOf(':') >= 0 ? "[" + host + "]:" + port : host + ":" + port;
        }
    }
}
