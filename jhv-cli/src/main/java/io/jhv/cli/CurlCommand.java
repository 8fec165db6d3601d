package io.jhv.cli;

import io.jhv.core.buffer.Buffer;
import io.jhv.core.net.Proxy;
import io.jhv.core.net.ProxySelector;
import io.jhv.core.tls.TlsConfig;
import io.jhv.http.client.HttpClient;
import io.jhv.http.client.HttpRequest;
import io.jhv.http.client.HttpResponse;
import io.jhv.http.client.ResponseHandler;
import io.jhv.http.client.ResponseStream;
import io.jhv.http.client.RetryPolicy;

import java.io.BufferedOutputStream;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * {@code hv curl}: curl's common flags on jhv's {@link HttpClient}, with curl's meanings and exit
 * codes. The body streams from the client's loop to this thread through a small queue (the
 * client pauses the socket when the writer falls behind), so a download is never held whole and
 * no blocking write runs on a loop.
 *
 * <p>What curl prints and hv does not: the progress meter (as with {@code -s}); {@code -v} shows
 * the request as hv built it and the response head, not the bytes on the wire.
 */
final class CurlCommand {
    static final String USAGE = "hv curl [options] URL   (curl's common flags; hv curl --help lists them)";

    static final String HELP = """
            usage: hv curl [options] URL

            An HTTP client with curl's flags, meanings and exit codes (http:// and https://).

              -X, --request METHOD      the method (default GET; POST with -d/-F, HEAD with -I, PUT with -T)
              -H, --header 'N: v'       add a header ('N:' removes a default one, 'N;' sends it empty)
              -d, --data DATA           POST DATA (@file: from a file, CR/LF stripped; repeat: joined by &)
                  --data-raw DATA       as -d, '@' not special
                  --data-binary DATA    as -d, @file sent as it is
                  --data-urlencode D    'content', '=content', 'name=content', '@file', 'name@file', URL-encoded
              -G, --get                 put the -d data in the query string and GET
              -F, --form N=V            multipart field; N=@file uploads a file (;type=, ;filename=), N=<file reads the value
                  --form-string N=V     multipart field, V taken literally
              -T, --upload-file FILE    PUT the file (to URL/FILE when the URL ends with /)
              -o, --output FILE         write the body to FILE ('-': stdout)
              -O, --remote-name         write the body to the URL's file name
              -i, --include             print the response headers before the body
              -I, --head                HEAD: print the headers only
              -D, --dump-header FILE    write the response headers to FILE ('-': stdout)
              -L, --location            follow redirects (--max-redirs N, default 50)
              -u, --user USER:PASS      Basic authentication
              -A, --user-agent UA       -e, --referer URL        -r, --range RANGE
              -b, --cookie 'n=v; ...'   or a cookie file to read; -c, --cookie-jar FILE writes them
                  --compressed          ask for gzip/deflate and decode it
              -k, --insecure            accept any certificate and host name
                  --cacert FILE         trust the CAs in this PEM file
              -E, --cert FILE --key F   client certificate and key (PEM)
              -x, --proxy URL           use this proxy: http:// (CONNECT for https), socks5://, socks5h://
                                        (http_proxy, https_proxy, all_proxy and no_proxy are read as curl
                                        does); -U, --proxy-user U:P; --noproxy LIST
                  --connect-timeout S   limit for connecting (seconds, may be fractional)
              -m, --max-time S          limit for the whole transfer
                  --retry N             retry transient failures (timeouts, 408, 429, 500, 502-504)
                                        --retry-delay S, --retry-max-time S, --retry-connrefused, --retry-all-errors
              -f, --fail                no body on HTTP errors (>= 400), exit 22; --fail-with-body keeps it
              -w, --write-out FMT       print FMT after the transfer: %{http_code}, %{size_download},
                                        %{time_total}, %{url_effective}, %{content_type}, %{num_redirects},
                                        %{redirect_url}, %{method}, %{exitcode}, %{errormsg}, %header{name}, ...
              -s, --silent              no error messages (-S, --show-error: but errors)
              -v, --verbose             the request and the response head on stderr
                  --http1.1             (the only version hv speaks)

            Exit codes as curl's: 0 ok, 1 unsupported protocol, 2 bad usage, 3 bad URL, 4 not supported
            yet by hv, 5 proxy not resolved, 6 host not resolved, 7 cannot connect, 8 weird reply,
            18 body cut short, 22 HTTP error with -f, 23 write error, 26 read error, 28 timeout, 35 TLS error, 47 too many
            redirects, 52 empty reply, 56 receive failure (a proxy refusing CONNECT too), 58 bad client
            certificate, 60 certificate not trusted, 77 bad CA file, 97 SOCKS5 proxy failure.
            """;

    private CurlCommand() {}

    static int run(String[] argv) {
        OutputStream out = new BufferedOutputStream(new FileOutputStream(FileDescriptor.out), 64 * 1024);
        PrintStream err = new PrintStream(new FileOutputStream(FileDescriptor.err), true, StandardCharsets.UTF_8);
        try {
            return run(argv, System.in, out, err, System.getenv());
        } finally {
            try {
                out.flush();
            } catch (IOException ignored) {
                // stdout closed: nothing more to say
            }
        }
    }

    /** Runs {@code hv curl} ({@code argv[0]} is "curl") with these streams and environment; returns the exit code. */
    static int run(String[] argv, InputStream stdin, OutputStream out, PrintStream err, Map<String, String> env) {
        CurlOptions o;
        try {
            o = CurlOptions.parse(argv, 1);
        } catch (CurlOptions.Failure e) {
            err.println("hv curl: " + e.getMessage());
            if (e.code == 2) err.println("hv curl: try 'hv curl --help' for more information");
            return e.code;
        }
        if (o.help) { // on stdout, as curl's
            try {
                out.write(HELP.getBytes(StandardCharsets.UTF_8));
            } catch (IOException e) {
                return 23;
            }
            return 0;
        }
        CurlTransfer t = new CurlTransfer(o, stdin, out, err, env);
        int code = t.run();
        try {
            out.flush();
        } catch (IOException e) {
            if (code == 0) code = 23;
        }
        return code;
    }

    // ------------------------------------------------------------------------------------ helpers shared with CurlTransfer

    /** curl's URL rules: no scheme means http://; user info becomes -u. */
    static URI url(String raw) {
        String s = raw.strip();
        int sep = s.indexOf("://");
        if (sep < 0) {
            s = "http://" + s;
        } else {
            String scheme = s.substring(0, sep).toLowerCase(Locale.ROOT);
            if (!scheme.equals("http") && !scheme.equals("https")) {
                throw new CurlOptions.Failure(1, "Protocol \"" + scheme + "\" not supported");
            }
        }
        try {
            URI u = new URI(s);
            if (u.getHost() == null || u.getHost().isEmpty()) throw new CurlOptions.Failure(3, "URL rejected: No host part in the URL: " + raw);
            if (u.getRawPath() == null || u.getRawPath().isEmpty()) { // curl sends "/" for an empty path
                u = new URI(u.getScheme() + "://" + u.getRawAuthority() + "/" + (u.getRawQuery() != null ? "?" + u.getRawQuery() : ""));
            }
            return u;
        } catch (URISyntaxException e) {
            throw new CurlOptions.Failure(3, "URL rejected: Malformed input to a URL function: " + raw);
        }
    }

    /** Percent-encodes as curl's --data-urlencode does (RFC 3986 unreserved kept, space as '+', the rest %XX). */
    static String urlencode(byte[] bytes) {
        return urlencode(bytes, true);
    }

    /** Percent-encodes ({@code plus}: a space as '+', else %20). */
    static String urlencode(byte[] bytes, boolean plus) {
        StringBuilder sb = new StringBuilder(bytes.length * 3);
        for (byte b : bytes) {
            int c = b & 0xff;
            if (c == ' ' && plus) {
                sb.append('+');
            } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~') {
                sb.append((char) c);
            } else {
                sb.append('%').append(Character.toUpperCase(Character.forDigit(c >> 4, 16))).append(Character.toUpperCase(Character.forDigit(c & 15, 16)));
            }
        }
        return sb.toString();
    }

    static String basic(String userPass) {
        String up = userPass.indexOf(':') >= 0 ? userPass : userPass + ":";
        return "Basic " + Base64.getEncoder().encodeToString(up.getBytes(StandardCharsets.UTF_8));
    }

    /** The proxy for {@code url}: -x, else the environment (with --noproxy / no_proxy); null for none. */
    static Proxy proxyFor(CurlOptions o, URI url, Map<String, String> env) {
        Proxy p;
        if (o.proxy != null) {
            p = o.proxy.isEmpty() ? Proxy.NONE : parseProxy(o.proxy);
        } else {
            try {
                p = ProxySelector.fromEnvironment(env).select(url.getScheme(), url.getHost(), port(url));
            } catch (IllegalArgumentException e) {
                throw new CurlOptions.Failure(5, e.getMessage());
            }
        }
        if (p.isProxied() && o.noproxy != null) {
            Map<String, String> np = Map.of("all_proxy", "x:1", "no_proxy", o.noproxy);
            if (!ProxySelector.fromEnvironment(np).select(url.getScheme(), url.getHost(), port(url)).isProxied()) p = Proxy.NONE;
        }
        if (p.isProxied() && o.proxyUser != null) {
            int colon = o.proxyUser.indexOf(':');
            p = p.withCredentials(colon >= 0 ? o.proxyUser.substring(0, colon) : o.proxyUser, colon >= 0 ? o.proxyUser.substring(colon + 1) : "");
        }
        return p;
    }

    private static Proxy parseProxy(String s) {
        try {
            return Proxy.parse(s);
        } catch (IllegalArgumentException e) {
            throw new CurlOptions.Failure(s.contains("://") && !s.startsWith("http") && !s.startsWith("socks5") ? 4 : 5,
                    e.getMessage() + (e.getMessage().contains("unsupported proxy scheme") ? ": not supported yet by hv curl" : ""));
        }
    }

    static int port(URI u) {
        return u.getPort() > 0 ? u.getPort() : u.getScheme().equalsIgnoreCase("https") ? 443 : 80;
    }

    /** The client's settings for one transfer, as the options ask. */
    static HttpClient.Builder builder(CurlOptions o, Proxy proxy) {
        HttpClient.Builder b = HttpClient.builder()
                .followRedirects(o.location)
                .maxRedirects(Math.max(o.maxRedirs, 0))
                .decompress(o.compressed)
                .retryPolicy(RetryPolicy.none()) // curl retries only with --retry, handled here
                .writeTimeout(Duration.ZERO) // as curl: an upload waits for a slow server (bounded by --max-time)
                .maxResponseBody(Long.MAX_VALUE / 2);
        if (o.connectTimeout != null && o.connectTimeout > 0) {
            Duration d = seconds(o.connectTimeout);
            b.connectTimeout(d).tlsHandshakeTimeout(d);
        }
        if (o.maxTime != null && o.maxTime > 0) b.callTimeout(seconds(o.maxTime));
        TlsConfig tls = tls(o);
        if (tls != null) b.tls(tls);
        b.proxy(proxy); // HTTP (absolute form; CONNECT for https://) or SOCKS5, or Proxy.NONE
        return b;
    }

    static Duration seconds(double s) {
        return Duration.ofNanos(Math.max(1_000_000L, (long) (s * 1e9)));
    }

    private static TlsConfig tls(CurlOptions o) {
        if (!o.insecure && o.cacert == null && o.cert == null) return null;
        TlsConfig.Builder t = TlsConfig.client();
        if (o.insecure) {
            t.trustAll();
        } else if (o.cacert != null) {
            Path ca = Path.of(o.cacert);
            if (!Files.isReadable(ca)) throw new CurlOptions.Failure(77, "error setting certificate file: " + o.cacert);
            try {
                t.trust(ca);
            } catch (RuntimeException e) {
                throw new CurlOptions.Failure(77, "error setting certificate file " + o.cacert + ": " + e.getMessage());
            }
        }
        if (o.cert != null) {
            Path cert = Path.of(o.cert);
            Path key = Path.of(o.key != null ? o.key : o.cert);
            if (!Files.isReadable(cert) || !Files.isReadable(key)) {
                throw new CurlOptions.Failure(58, "could not load client certificate " + o.cert + (o.key != null ? " / key " + o.key : ""));
            }
            try {
                t.certificate(cert, key);
            } catch (RuntimeException e) {
                throw new CurlOptions.Failure(58, "could not load client certificate " + o.cert + ": " + e.getMessage());
            }
        }
        try {
            return t.build();
        } catch (RuntimeException e) {
            throw new CurlOptions.Failure(o.cert != null ? 58 : 77, "TLS settings: " + e.getMessage());
        }
    }

    /** Events from the client's loop to the thread that writes the output. */
    static final class Relay implements ResponseHandler {
        /** Chunks queued above which the socket is paused (a slow writer holds the server back). */
        private static final int HIGH = 16, LOW = 4;

        record Head(HttpResponse response) {}

        record Done(HttpResponse response) {}

        record Failed(Throwable error) {}

        final BlockingQueue<Object> events = new LinkedBlockingQueue<>();
        private volatile ResponseStream stream;
        private int queued; // chunks in the queue, counted on both sides
        private boolean paused;

        @Override
        public void onHead(HttpResponse head, ResponseStream s) {
            stream = s;
            events.add(new Head(head));
        }

        @Override
        public void onBody(Buffer chunk) {
            byte[] b = chunk.readBytes();
            synchronized (this) {
                queued++;
                if (queued > HIGH && !paused) {
                    paused = true;
                    stream.pause();
                }
            }
            events.add(b);
        }

        @Override public void onComplete(HttpResponse response) { events.add(new Done(response)); }

        @Override public void onError(Throwable error) { events.add(new Failed(error)); }

        /** The writer took a chunk. Any thread. */
        void taken() {
            synchronized (this) {
                queued--;
                if (paused && queued <= LOW) {
                    paused = false;
                    stream.resume();
                }
            }
        }

        void cancel() {
            ResponseStream s = stream;
            if (s != null) s.cancel();
        }

        Object next(long timeoutMs) throws InterruptedException {
            return events.poll(timeoutMs, TimeUnit.MILLISECONDS);
        }
    }

    /** The header block as curl prints it with -i (CRLF line ends, the status line first, names as received). */
    static byte[] headBlock(HttpResponse r) {
        StringBuilder sb = new StringBuilder(256);
        sb.append(r.version()).append(' ').append(r.status());
        if (!r.reason().isEmpty()) sb.append(' ').append(r.reason());
        sb.append("\r\n");
        for (Map.Entry<String, String> h : r.headerList()) sb.append(h.getKey()).append(": ").append(h.getValue()).append("\r\n");
        sb.append("\r\n");
        return sb.toString().getBytes(StandardCharsets.ISO_8859_1);
    }

    /** The redirect chain up to and including {@code last}, first response first. */
    static List<HttpResponse> chain(HttpResponse last) {
        List<HttpResponse> l = new ArrayList<>();
        for (HttpResponse r = last; r != null; r = r.previous()) l.add(0, r);
        return l;
    }
}
