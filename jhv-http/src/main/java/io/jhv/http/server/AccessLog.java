package io.jhv.http.server;

import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.Locale;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * Middleware that writes one line per request in the Common or Combined Log Format of Apache httpd:
 *
 * <pre>
 * 127.0.0.1 - - [10/Oct/2025:13:55:36 +0200] "GET /index.html HTTP/1.1" 200 2326
 * 127.0.0.1 - - [10/Oct/2025:13:55:36 +0200] "GET / HTTP/1.1" 200 - "http://ref/" "curl/8.5.0"
 * </pre>
 *
 * The line goes to a {@code Consumer<String>}, by default the {@code System.Logger}
 * {@code io.jhv.http.access} at INFO. Off unless installed with {@code server.use(...)}; install it
 * first so that it sees every request. Quotes, backslashes and control characters from the request
 * are escaped, so a client cannot forge log lines.
 *
 * <p>The line is written when the response is
 * complete (deferred and streamed ones too), with its final status and the body bytes sent
 * ("-" for none).
 *
 * <p>Thread contract: immutable; the sink is called from every loop and virtual thread, so it must
 * be thread-safe.
 */
public final class AccessLog implements Middleware {
    private static final System.Logger ACCESS = System.getLogger("io.jhv.http.access");
    private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("dd/MMM/yyyy:HH:mm:ss Z", Locale.US);

    private final boolean combined;
    private final Consumer<String> sink;
    private final ZoneId zone;

    private AccessLog(boolean combined, Consumer<String> sink, ZoneId zone) {
        this.combined = combined;
        this.sink = sink;
        this.zone = zone;
    }

    /** The Common Log Format to the {@code io.jhv.http.access} logger. */
    public static AccessLog common() {
        return new AccessLog(false, null, ZoneId.systemDefault());
    }

    /** The Combined Log Format (Common plus Referer and User-Agent) to the {@code io.jhv.http.access} logger. */
    public static AccessLog combined() {
        return new AccessLog(true, null, ZoneId.systemDefault());
    }

    /** Writes the lines to {@code sink} instead of the logger. */
    public AccessLog to(Consumer<String> sink) {
        return new AccessLog(combined, Objects.requireNonNull(sink, "sink"), zone);
    }

    /** The time zone of the timestamps (default: the system's). */
    public AccessLog zone(ZoneId zone) {
        return new AccessLog(combined, sink, Objects.requireNonNull(zone, "zone"));
    }

    @Override
    public void handle(Request req, Response res, Chain chain) throws Exception {
        if (sink == null && !ACCESS.isLoggable(System.Logger.Level.INFO)) {
            chain.next();
            return;
        }
        // The request is recycled once its response is sent, which may happen inside chain.next():
        // take what the line needs from it now; the status and size come when the response is done
        // (also for deferred and streamed answers, and for the error response of a failing handler).
        String head = head(req, System.currentTimeMillis());
        String tail = combined ? tail(req) : "";
        res.onDone((status, bytes) -> write(head + status + ' ' + (bytes > 0 ? Long.toString(bytes) : "-") + tail));
        chain.next();
    }

    private void write(String line) {
        if (sink != null) sink.accept(line);
        else ACCESS.log(System.Logger.Level.INFO, line);
    }

    /** {@code host - - [time] "request line" } */
    private String head(Request req, long startMillis) {
        StringBuilder sb = new StringBuilder(128);
        sb.append(host(req.remoteAddress())).append(" - - [")
          .append(TIME.format(ZonedDateTime.ofInstant(java.time.Instant.ofEpochMilli(startMillis), zone)))
          .append("] \"");
        escape(sb, req.method());
        sb.append(' ');
        escape(sb, req.target());
        sb.append(' ').append(req.version()).append("\" ");
        return sb.toString();
    }

    /** {@code  "referer" "user agent"} */
    private static String tail(Request req) {
        StringBuilder sb = new StringBuilder(128);
        sb.append(" \"");
        String ref = req.header("Referer");
        escape(sb, ref == null ? "-" : ref);
        sb.append("\" \"");
        String ua = req.header("User-Agent");
        escape(sb, ua == null ? "-" : ua);
        sb.append('"');
        return sb.toString();
    }

    private static String host(SocketAddress a) {
        if (a instanceof InetSocketAddress i) {
            return i.getAddress() != null ? i.getAddress().getHostAddress() : i.getHostString();
        }
        return a == null ? "-" : a.toString();
    }

    private static void escape(StringBuilder sb, String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '"' || c == '\\') sb.append('\\').append(c);
            else if (c < 0x20 || c == 0x7f) sb.append(String.format("\\x%02x", (int) c));
            else sb.append(c);
        }
    }
}
