package io.jhv.cli;

import io.jhv.core.buffer.Buffer;
import io.jhv.core.tls.TlsConfig;
import io.jhv.http.websocket.CloseCodes;
import io.jhv.http.websocket.Handshake;
import io.jhv.http.websocket.Message;
import io.jhv.http.websocket.WebSocket;
import io.jhv.http.websocket.WebSocketClient;
import io.jhv.http.websocket.WebSocketConfig;
import io.jhv.http.websocket.WebSocketHandler;
import io.jhv.http.websocket.WebSocketHandshakeException;

import java.io.BufferedReader;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.net.ConnectException;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Pattern;

/**
 * {@code hv ws URL}: a WebSocket client for the terminal, like wscat. Lines read from stdin are sent
 * as text messages; messages received go to stdout (text as it is, one message per line; binary as a
 * length and hex summary); everything else (connected, closed, pongs, errors) goes to stderr, so
 * stdout holds only what the server sent. End of input closes with 1000 and exits after the close
 * handshake. {@code --echo} turns it into a test peer that sends every message back unchanged and
 * exits when the server closes.
 *
 * <p>Exit status: 0 after a close handshake (the server's code 1000, 1001 or none, or any code when
 * hv closed first); 1 if the connection cannot be made or the handshake is refused, the connection
 * ends without a close handshake, the server closes with an error code, or a protocol error
 * happens; 2 for a bad command line.
 */
final class WsCommand {
    static final String USAGE = "hv ws URL [--echo] [--header 'Name: value']... [--subprotocol NAME]... [--no-deflate]\n"
            + "                [--ca FILE | --insecure] [--connect-timeout 10s] [--max-message 64M]";

    static final String HELP = """
            usage: %s

            A WebSocket client for ws:// and wss:// URLs. Lines typed (or piped) on stdin are sent
            as text messages; the messages received are printed on stdout, text as it is and binary
            as '[binary N bytes] hex...'; status lines go to stderr. End of input (Ctrl-D) closes
            the connection with 1000 and exits once the server has answered.

            commands (a line starting with '/'; '//text' sends '/text'):
              /close [code [reason]]   start the close handshake (default 1000)
              /ping [text]             send a ping; the pong is reported on stderr

            options:
              --echo                 send every message received back unchanged (text as text,
                                     binary as binary); stdin is not read; exits when the server
                                     closes (a test peer)
              --header 'Name: value' add a header to the upgrade request (repeatable)
              --subprotocol NAME     offer a subprotocol (repeatable, in order of preference)
              --no-deflate           do not offer permessage-deflate compression
              --ca FILE              wss: trust the CA certificates in this PEM file (for example
                                     the development certificate hv httpd generates) instead of
                                     the JDK's
              --insecure             wss: accept any certificate and host name (testing only)
              --connect-timeout T    limit for connecting and for the handshake, each
                                     (default 10s; '500ms', '5s' or a number of seconds)
              --max-message SIZE     largest message accepted (default 64M; e.g. 1048576, 512K)

            exit status: 0 after a close handshake, 1 when the connection fails or ends
            abnormally, 2 for a bad command line.
            """;

    /** How many payload bytes of a binary message are shown in hex. */
    static final int HEX_PREVIEW = 32;

    private static final Pattern TOKEN = Pattern.compile("[!#$%&'*+.^_`|~0-9A-Za-z-]+");

    private WsCommand() {}

    static int run(String[] argv) {
        // UTF-8 whatever the locale: messages are UTF-8 text.
        PrintStream out = new PrintStream(new FileOutputStream(FileDescriptor.out), true, StandardCharsets.UTF_8);
        PrintStream err = new PrintStream(new FileOutputStream(FileDescriptor.err), true, StandardCharsets.UTF_8);
        return run(argv, System.in, out, err, true);
    }

    /** The options of a run. */
    record Options(String url, boolean echo, List<String[]> headers, List<String> subprotocols, boolean deflate,
                   boolean insecure, Path ca, Duration connectTimeout, int maxMessage) {}

    static Options parse(String[] argv) {
        Args a = Args.parse(argv, 1, Set.of("header", "subprotocol", "connect-timeout", "max-message", "ca"),
                Set.of("help", "echo", "no-deflate", "insecure"), 1);
        if (a.has("help")) return null;
        if (a.operands().isEmpty()) throw new Args.UsageException("hv ws needs a URL (ws://host:port/path or wss://...)");
        String url = a.operands().get(0);
        String scheme = url.contains("://") ? url.substring(0, url.indexOf("://")).toLowerCase(Locale.ROOT) : "";
        if (!scheme.equals("ws") && !scheme.equals("wss")) {
            throw new Args.UsageException("not a ws:// or wss:// URL: " + url);
        }
        List<String[]> headers = a.all("header").stream().map(WsCommand::header).toList();
        List<String> subprotocols = a.all("subprotocol");
        for (String p : subprotocols) {
            if (!TOKEN.matcher(p).matches()) throw new Args.UsageException("--subprotocol must be a token (letters, digits, -._ ...): " + p);
        }
        Duration timeout = duration(a.get("connect-timeout", "10s"), "--connect-timeout");
        int max = (int) HttpdConfig.size(a.get("max-message", "64M"), 125, Integer.MAX_VALUE - 1024, "--max-message");
        Path ca = a.has("ca") ? Path.of(a.get("ca", null)) : null;
        if (ca != null && a.has("insecure")) throw new Args.UsageException("--ca and --insecure do not go together");
        if (ca != null && !Files.isReadable(ca)) throw new Args.UsageException("--ca: cannot read " + ca);
        return new Options(url, a.has("echo"), headers, subprotocols, !a.has("no-deflate"), a.has("insecure"), ca, timeout, max);
    }

    /** {@code Name: value} into its two parts. */
    static String[] header(String s) {
        int colon = s.indexOf(':');
        if (colon <= 0) throw new Args.UsageException("--header must look like 'Name: value': " + s);
        String name = s.substring(0, colon).strip();
        String value = s.substring(colon + 1).strip();
        if (!TOKEN.matcher(name).matches()) throw new Args.UsageException("--header: not a header name: " + name);
        if (value.chars().anyMatch(c -> c == '\r' || c == '\n' || c == 0)) throw new Args.UsageException("--header: the value of " + name + " has a line break");
        return new String[] {name, value};
    }

    /** "500ms", "5s", "2m" or a plain number of seconds (may have a fraction: "0.5"). */
    static Duration duration(String v, String what) {
        String s = v.strip().toLowerCase(Locale.ROOT);
        try {
            Duration d;
            if (s.endsWith("ms")) d = Duration.ofMillis(Long.parseLong(s.substring(0, s.length() - 2).strip()));
            else if (s.endsWith("s")) d = Duration.ofMillis(Math.round(Double.parseDouble(s.substring(0, s.length() - 1).strip()) * 1000));
            else if (s.endsWith("m")) d = Duration.ofMillis(Math.round(Double.parseDouble(s.substring(0, s.length() - 1).strip()) * 60_000));
            else d = Duration.ofMillis(Math.round(Double.parseDouble(s) * 1000));
            if (d.isNegative() || d.isZero()) throw new Args.UsageException(what + " must be more than 0: " + v);
            if (d.toDays() > 1) throw new Args.UsageException(what + " is too long: " + v);
            return d;
        } catch (NumberFormatException e) {
            throw new Args.UsageException(what + " must be a duration like 500ms, 5s or 10: " + v);
        }
    }

    /**
     * Runs {@code hv ws} with the given streams; returns the exit status. {@code hook} installs a
     * shutdown hook (Ctrl-C closes with 1001 first); tests pass false.
     */
    static int run(String[] argv, InputStream in, PrintStream out, PrintStream err, boolean hook) {
        Options o = parse(argv);
        if (o == null) {
            out.print(HELP.formatted(USAGE));
            return 0;
        }
        WebSocketConfig.Builder cb = WebSocketConfig.builder().compression(o.deflate())
                .maxMessageSize(o.maxMessage()).maxFrameSize(o.maxMessage());
        if (!o.subprotocols().isEmpty()) cb.subprotocols(o.subprotocols().toArray(new String[0]));
        TlsConfig tls = null;
        if (o.ca() != null) {
            try {
                tls = TlsConfig.client().trust(o.ca()).build();
            } catch (RuntimeException e) {
                throw new Args.UsageException("--ca " + o.ca() + ": " + e.getMessage());
            }
        }
        if (o.insecure()) {
            if (o.url().regionMatches(true, 0, "wss:", 0, 4)) {
                tls = TlsConfig.client().trustAll().build();
                err.println("hv ws: --insecure: the server's certificate is not checked");
            } else {
                err.println("hv ws: --insecure has no effect on ws:// (no TLS)");
            }
        }
        Session session = new Session(o.echo(), out, err);
        WebSocketClient client;
        try {
            client = WebSocketClient.create(o.url());
        } catch (IllegalArgumentException e) {
            throw new Args.UsageException("bad URL " + o.url() + ": " + e.getMessage());
        }
        client.config(cb.build()).handler(session).connectTimeout(o.connectTimeout()).handshakeTimeout(o.connectTimeout());
        for (String[] h : o.headers()) client.header(h[0], h[1]);
        if (tls != null) client.tls(tls);
        // Ctrl-C (SIGINT) or SIGTERM: say 1001 to the server and wait a little for its answer. The
        // hook is in place before connecting, so a signal right after the handshake is not missed.
        Thread shutdown = null;
        if (hook) {
            shutdown = new Thread(() -> {
                WebSocket open = client.webSocket();
                if (open != null && open.isOpen()) {
                    session.weClosed.set(true);
                    try {
                        open.close(CloseCodes.GOING_AWAY, "hv ws interrupted");
                        session.closed.get(2, TimeUnit.SECONDS);
                    } catch (Exception ignored) {
                        // exiting anyway
                    }
                } else {
                    client.close(); // still connecting: give up
                }
            }, "hv-ws-shutdown");
            Runtime.getRuntime().addShutdownHook(shutdown);
        }
        try {
            WebSocket ws;
            try {
                // The client bounds connect and handshake itself; this is a backstop.
                long limitMs = 2 * o.connectTimeout().toMillis() + 5_000;
                ws = client.connect().get(limitMs, TimeUnit.MILLISECONDS);
            } catch (ExecutionException e) {
                err.println("hv ws: cannot connect to " + o.url() + ": " + describe(e.getCause()));
                return 1;
            } catch (TimeoutException e) {
                err.println("hv ws: cannot connect to " + o.url() + ": no answer in time");
                return 1;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return 1;
            }
            err.println("hv ws: connected to " + o.url()
                    + (ws.subprotocol() != null ? " (subprotocol " + ws.subprotocol() + ")" : "")
                    + (ws.isCompressed() ? " with permessage-deflate" : "")
                    + (o.echo() ? "; echoing every message until the server closes"
                                : "; lines are sent, Ctrl-D closes (/close [code [reason]], /ping [text])"));
            if (!o.echo()) {
                Thread reader = new Thread(() -> session.readInput(in, ws), "hv-ws-stdin");
                reader.setDaemon(true); // a blocked read of a terminal must not keep hv alive
                reader.start();
            }
            Closed c;
            try {
                c = session.closed.get();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                ws.abort();
                return 1;
            } catch (ExecutionException e) {
                throw new IllegalStateException(e.getCause());
            }
            return session.report(c);
        } finally {
            if (shutdown != null) {
                try {
                    Runtime.getRuntime().removeShutdownHook(shutdown);
                } catch (IllegalStateException shuttingDown) {
                    // the hook is running
                }
            }
            client.close();
            try {
                client.closeFuture().get(5, TimeUnit.SECONDS);
            } catch (Exception ignored) {
                // the loop ends with the process
            }
        }
    }

    /** A close as {@code onClose} reported it. */
    record Closed(int code, String reason) {}

    /** The handler of the one socket, and what it saw. */
    static final class Session implements WebSocketHandler {
        final boolean echo;
        final PrintStream out;
        final PrintStream err;
        final CompletableFuture<Closed> closed = new CompletableFuture<>();
        final AtomicBoolean weClosed = new AtomicBoolean();
        final AtomicReference<Throwable> error = new AtomicReference<>();
        final AtomicLong messages = new AtomicLong();
        final AtomicLong bytes = new AtomicLong();

        Session(boolean echo, PrintStream out, PrintStream err) {
            this.echo = echo;
            this.out = out;
            this.err = err;
        }

        @Override
        public void onOpen(WebSocket ws, Handshake handshake) {
            // Echo mode: a peer that sends faster than it reads our echoes is slowed down by TCP
            // instead of growing our queue (reading resumes once the queue has drained).
            if (echo) ws.onWritable(WebSocket::resumeReading);
        }

        @Override
        public void onMessage(WebSocket ws, Message msg) {
            messages.incrementAndGet();
            bytes.addAndGet(msg.length());
            if (echo) {
                ws.send(msg);
                if (!ws.isWritable()) ws.pauseReading();
            } else if (msg.isText()) {
                out.println(msg.text());
            } else {
                out.println(binarySummary(msg.buffer(), msg.length()));
            }
        }

        @Override
        public void onPing(WebSocket ws, Buffer payload) {
            if (!echo) err.println("hv ws: ping received (" + payload.readableBytes() + " bytes), pong sent");
        }

        @Override
        public void onPong(WebSocket ws, Buffer payload) {
            if (!echo) err.println("hv ws: pong: " + payload.readString());
        }

        @Override
        public void onError(WebSocket ws, Throwable e) {
            error.compareAndSet(null, e);
            err.println("hv ws: error: " + describe(e));
        }

        @Override
        public void onClose(WebSocket ws, int code, String reason) {
            closed.complete(new Closed(code, reason));
        }

        /** Sends the lines of {@code in} until its end, then closes with 1000. */
        void readInput(InputStream in, WebSocket ws) {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
                for (String line; (line = r.readLine()) != null; ) {
                    if (closed.isDone()) return;
                    if (!line(ws, line)) return;
                }
            } catch (IOException e) {
                err.println("hv ws: cannot read stdin: " + e.getMessage());
            } catch (IllegalStateException e) {
                return; // closing: nothing more can be sent
            }
            if (!closed.isDone() && weClosed.compareAndSet(false, true)) {
                try {
                    ws.close(CloseCodes.NORMAL, "");
                } catch (IllegalStateException alreadyClosing) {
                    // the server closed meanwhile
                }
            }
        }

        /** One input line: a command or a message. Returns false once the socket is closing. */
        boolean line(WebSocket ws, String line) {
            if (line.startsWith("//")) {
                return send(ws, line.substring(1));
            }
            if (line.equals("/close") || line.startsWith("/close ")) {
                String[] parts = line.substring(6).strip().split("\\s+", 2);
                int code = CloseCodes.NORMAL;
                String reason = "";
                if (!parts[0].isEmpty()) {
                    try {
                        code = Integer.parseInt(parts[0]);
                    } catch (NumberFormatException e) {
                        err.println("hv ws: /close takes a code (1000, 3000-4999...): " + parts[0]);
                        return true;
                    }
                    if (parts.length > 1) reason = parts[1];
                }
                if (!CloseCodes.isValid(code)) {
                    err.println("hv ws: /close: code " + code + " may not be sent (1000-1003, 1007-1014, 3000-4999)");
                    return true;
                }
                try {
                    weClosed.set(true);
                    ws.close(code, reason);
                } catch (IllegalArgumentException e) {
                    weClosed.set(false);
                    err.println("hv ws: " + e.getMessage());
                    return true;
                }
                return false;
            }
            if (line.equals("/ping") || line.startsWith("/ping ")) {
                byte[] payload = line.length() > 6 ? line.substring(6).getBytes(StandardCharsets.UTF_8) : new byte[0];
                if (payload.length > 125) {
                    err.println("hv ws: a ping carries at most 125 bytes");
                    return true;
                }
                ws.ping(payload);
                return true;
            }
            if (line.startsWith("/")) {
                err.println("hv ws: unknown command " + line.split("\\s", 2)[0] + " (/close [code [reason]], /ping [text]; '//' sends a line starting with '/')");
                return true;
            }
            return send(ws, line);
        }

        private boolean send(WebSocket ws, String text) {
            if (!ws.isOpen()) return false;
            try {
                ws.send(text);
                return true;
            } catch (IllegalStateException closing) {
                return false;
            }
        }

        /** Prints how the socket closed; returns the exit status. */
        int report(Closed c) {
            String what = c.code() + (c.reason() != null && !c.reason().isEmpty() ? " " + c.reason() : "");
            if (echo) err.println("hv ws: echoed " + messages.get() + " message(s), " + bytes.get() + " bytes");
            Throwable e = error.get();
            if (e instanceof io.jhv.http.websocket.WebSocketException w && !(e instanceof WebSocketHandshakeException)
                    && w.closeCode() != CloseCodes.ABNORMAL && CloseCodes.isValid(w.closeCode())) {
                // a protocol error or a limit: hv sent this code and ignored what came after
                err.println("hv ws: closed with " + w.closeCode() + " after an error: " + w.getMessage());
                return 1;
            }
            if (c.code() == CloseCodes.ABNORMAL) {
                err.println("hv ws: the connection ended without a close handshake" + (e != null ? " (" + describe(e) + ")" : ""));
                return 1;
            }
            if (e != null) {
                err.println("hv ws: closed after an error (" + describe(e) + "); the server's close code: " + what);
                return 1;
            }
            if (weClosed.get()) {
                err.println("hv ws: closed (the server answered " + what + ")");
                return 0;
            }
            err.println("hv ws: closed by the server: " + what);
            boolean normal = c.code() == CloseCodes.NORMAL || c.code() == CloseCodes.GOING_AWAY || c.code() == CloseCodes.NO_STATUS;
            return normal ? 0 : 1;
        }
    }

    /** {@code [binary N bytes] 00 01 ...} with the first {@link #HEX_PREVIEW} bytes. */
    static String binarySummary(Buffer payload, int length) {
        StringBuilder sb = new StringBuilder(24 + 3 * HEX_PREVIEW).append("[binary ").append(length).append(" bytes]");
        int n = Math.min(HEX_PREVIEW, payload.readableBytes());
        for (int i = 0; i < n; i++) {
            int b = payload.peekUnsignedByte(i);
            sb.append(' ').append(Character.forDigit(b >> 4, 16)).append(Character.forDigit(b & 15, 16));
        }
        if (length > n) sb.append(" ...");
        return sb.toString();
    }

    /** A failure in words: the handshake status, a refused connection, an unknown host... */
    static String describe(Throwable e) {
        while ((e instanceof ExecutionException || e instanceof java.util.concurrent.CompletionException) && e.getCause() != null) {
            e = e.getCause();
        }
        if (e instanceof WebSocketHandshakeException h) {
            return "handshake refused" + (h.status() > 0 ? " (HTTP " + h.status() + ")" : "") + ": " + h.getMessage();
        }
        if (e instanceof ConnectException) return "connection refused" + (e.getMessage() != null ? " (" + e.getMessage() + ")" : "");
        if (e instanceof UnknownHostException) return "unknown host " + e.getMessage();
        if (e instanceof javax.net.ssl.SSLException) return "TLS failed: " + e.getMessage() + " (--ca FILE trusts a certificate, --insecure skips the check)";
        String m = e.getMessage();
        return e.getClass().getSimpleName() + (m != null ? ": " + m : "");
    }
}
