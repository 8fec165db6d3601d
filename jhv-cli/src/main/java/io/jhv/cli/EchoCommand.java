package io.jhv.cli;

import io.jhv.core.net.TcpServer;
import io.jhv.core.tls.SelfSignedCertificate;
import io.jhv.core.tls.TlsConfig;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.List;

/**
 * {@code hv echo}: a TCP (or TLS) echo server until Ctrl-C or SIGTERM (exit status 1 if an event loop
 * ends abnormally, 3 if the shutdown does not finish in time).
 */
final class EchoCommand {
    static final String USAGE = "hv echo [--port 7000] [--host 0.0.0.0] [--threads N] [--poller default|epoll|poll]"
            + " [--tls [--cert FILE --key FILE]]";

    private EchoCommand() {}

    static int run(String[] argv) {
        Args a = Args.parse(argv, 1, Set.of("port", "host", "threads", "poller", "cert", "key"), Set.of("help", "tls"));
        if (a.has("help")) {
            System.out.println("usage: " + USAGE);
            System.out.println("--tls serves TLS echo with --cert/--key (PEM); without them it generates a development");
            System.out.println("certificate for localhost and prints where it wrote it.");
            return 0;
        }
        TcpServer server = start(a);
        // SIGTERM/SIGINT: close (5 s for queued writes), halted if that takes longer than 8 s. A loop
        // that ends abnormally closes the server: exit status 1.
        return Lifetime.serve("echo", server::close, 8_000, List.of(server.closeFuture()), System.out, System.err,
                "hv echo: shutting down", "hv echo: stopped");
    }

    /** Starts the server the options describe and prints where it listens. */
    static TcpServer start(Args a) {
        int port = a.getInt("port", 7000, 0, 65535);
        String host = a.get("host", "0.0.0.0");
        int threads = a.getInt("threads", Runtime.getRuntime().availableProcessors(), 1, 1024);
        TlsConfig tls = tlsConfig(a);
        TcpServer server = TcpServer.create(host, port)
                .threads(threads)
                .poller(a.get("poller", "default"))
                .tls(tls)
                .onMessage((conn, buf) -> conn.write(buf))
                .start();
        System.out.println("hv echo listening on " + host + ":" + server.port() + (tls != null ? " (TLS)" : "")
                + " with " + threads + " loop(s)");
        return server;
    }

    /** The TLS config for --tls/--cert/--key, or null for plain TCP. */
    static TlsConfig tlsConfig(Args a) {
        boolean cert = a.has("cert"), key = a.has("key");
        if (cert != key) throw new Args.UsageException("--cert and --key go together");
        if (!a.has("tls")) {
            if (cert) throw new Args.UsageException("--cert and --key need --tls");
            return null;
        }
        if (cert) return TlsConfig.server().certificate(Path.of(a.get("cert", null)), Path.of(a.get("key", null))).build();
        SelfSignedCertificate dev = SelfSignedCertificate.generate("localhost");
        SelfSignedCertificate.PemFiles files;
        try {
            files = dev.writeTo(Files.createTempDirectory("hv-dev-cert-"));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create a directory for the development certificate: " + e.getMessage(), e);
        }
        System.out.println("hv echo: no --cert/--key: generated a development certificate for localhost (never use it in production)");
        System.out.println("  certificate: " + files.certificate());
        System.out.println("  key:         " + files.privateKey());
        System.out.println("  try: openssl s_client -connect 127.0.0.1:PORT -CAfile " + files.certificate());
        return TlsConfig.server().certificate(dev).build();
    }
}
