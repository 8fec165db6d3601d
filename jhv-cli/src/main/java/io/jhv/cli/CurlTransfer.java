package io.jhv.cli;

import io.jhv.core.net.ConnectTimeoutException;
import io.jhv.core.net.Proxy;
import io.jhv.core.net.ProxyException;
import io.jhv.http.client.ConnectionClosedException;
import io.jhv.http.client.HttpClient;
import io.jhv.http.client.HttpConnectException;
import io.jhv.http.client.HttpRequest;
import io.jhv.http.client.HttpResponse;
import io.jhv.http.client.HttpTimeoutException;
import io.jhv.http.client.MalformedResponseException;
import io.jhv.http.client.Multipart;
import io.jhv.http.client.TooManyRedirectsException;

import java.io.ByteArrayOutputStream;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.ConnectException;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.URLDecoder;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertPathValidatorException;
import java.security.cert.CertificateException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import javax.net.ssl.SSLException;

/** One {@code hv curl} run: builds the request from the options, sends it (retrying as asked), writes the output, maps failures to curl's exit codes. */
final class CurlTransfer {
    private static final String USER_AGENT = "hv-curl/1";

    private final CurlOptions o;
    private final InputStream stdin;
    private final OutputStream stdout;
    private final PrintStream err;
    private final Map<String, String> env;

    // what -w reports
    private final long started = System.nanoTime();
    private HttpResponse last;
    private long sizeDownload, sizeHeader;
    private String errorMsg = "";
    private URI effective;
    private String method = "GET";
    private CurlCookies jar;
    private Proxy usedProxy;

    CurlTransfer(CurlOptions o, InputStream stdin, OutputStream stdout, PrintStream err, Map<String, String> env) {
        this.o = o;
        this.stdin = stdin;
        this.stdout = stdout;
        this.err = err;
        this.env = env;
    }

    int run() {
        int code;
        try {
            code = transfer();
        } catch (CurlOptions.Failure f) {
            code = f.code;
            errorMsg = f.getMessage();
        }
        if (code != 0 && !errorMsg.isEmpty() && (!o.silent || o.showError)) err.println("hv curl: (" + code + ") " + errorMsg);
        if (o.writeOut != null) {
            try {
                stdout.write(CurlWriteOut.format(writeOutFormat(), this::variable, code).getBytes(StandardCharsets.UTF_8));
            } catch (IOException e) {
                if (code == 0) code = 23;
            }
        }
        return code;
    }

    private String writeOutFormat() {
        String f = o.writeOut;
        if (f.startsWith("@")) {
            try {
                return f.equals("@-") ? new String(stdin.readAllBytes(), StandardCharsets.UTF_8) : Files.readString(Path.of(f.substring(1)));
            } catch (IOException e) {
                return "";
            }
        }
        return f;
    }

    /** A -w variable's value, or null when unknown. */
    private String variable(String name, int exitCode) {
        HttpResponse r = last;
        return switch (name) {
            case "http_code", "response_code" -> String.format("%03d", r == null ? 0 : r.status());
            case "http_version" -> r == null ? "0" : r.version().substring(5);
            case "size_download" -> String.valueOf(sizeDownload);
            case "size_header" -> String.valueOf(sizeHeader);
            case "time_total" -> String.format(Locale.ROOT, "%.6f", (System.nanoTime() - started) / 1e9);
            case "url_effective", "url" -> effective == null ? (o.urls.isEmpty() ? "" : o.urls.get(0)) : effective.toString();
            case "content_type" -> r == null || r.header("Content-Type") == null ? "" : r.header("Content-Type");
            case "num_redirects" -> String.valueOf(r == null ? 0 : CurlCommand.chain(r).size() - 1);
            case "redirect_url" -> r != null && r.status() / 100 == 3 && r.header("Location") != null ? r.url().resolve(r.header("Location")).toString() : "";
            case "method" -> method;
            case "exitcode" -> String.valueOf(exitCode);
            case "errormsg" -> errorMsg;
            case "scheme" -> effective == null ? "" : effective.getScheme().toUpperCase(Locale.ROOT);
            default -> {
                if (name.startsWith("header{") && name.endsWith("}")) {
                    String h = r == null ? null : r.header(name.substring(7, name.length() - 1));
                    yield h == null ? "" : h;
                }
                yield null;
            }
        };
    }

    // ------------------------------------------------------------------------------------ the request

    private int transfer() {
        if (o.urls.isEmpty()) throw new CurlOptions.Failure(2, "no URL specified");
        if (o.urls.size() > 1) throw new CurlOptions.Failure(4, "several URLs in one run: not supported yet by hv curl");
        if (!o.forms.isEmpty() && (!o.data.isEmpty() || o.uploadFile != null)) {
            throw new CurlOptions.Failure(2, "You can only select one HTTP request method! You asked for both POST (-d) and multipart (-F).");
        }
        URI url = CurlCommand.url(o.urls.get(0));
        String user = o.user;
        if (url.getRawUserInfo() != null) { // http://user:pass@host: curl's -u
            if (user == null) user = URLDecoder.decode(url.getRawUserInfo().replace("+", "%2B"), StandardCharsets.UTF_8);
            url = withoutUserInfo(url);
        }
        byte[] data = data();
        if (o.get && data != null) {
            String q = new String(data, StandardCharsets.UTF_8);
            String s = url.toString();
            int hash = s.indexOf('#');
            if (hash >= 0) s = s.substring(0, hash);
            url = uri(s + (url.getRawQuery() == null ? "?" : "&") + q);
            data = null;
        }
        Path upload = null;
        if (o.uploadFile != null && !o.uploadFile.equals("-")) {
            upload = Path.of(o.uploadFile);
            if (!Files.isReadable(upload)) throw new CurlOptions.Failure(26, "Failed to open/read local data from file/application: " + o.uploadFile);
            if (url.getRawPath().endsWith("/")) url = url.resolve(CurlCommand.urlencode(upload.getFileName().toString().getBytes(StandardCharsets.UTF_8), false));
        }
        method = o.method != null ? o.method
                : o.head ? "HEAD"
                : o.uploadFile != null ? "PUT"
                : (data != null || !o.forms.isEmpty()) ? "POST" : "GET";
        effective = url;

        HttpRequest.Builder rb;
        try {
            rb = HttpRequest.newBuilder(method, url);
        } catch (IllegalArgumentException e) {
            throw new CurlOptions.Failure(3, "URL rejected: " + e.getMessage());
        }
        List<String[]> hs = headers(user, data != null);
        for (String[] h : hs) {
            try {
                rb.header(h[0], h[1]);
            } catch (IllegalArgumentException e) {
                throw new CurlOptions.Failure(e.getMessage().contains("sets") ? 4 : 2,
                        "header '" + h[0] + "': " + e.getMessage() + (e.getMessage().contains("sets") ? " (not supported yet by hv curl)" : ""));
            }
        }
        if (data != null) rb.body(data);
        if (!o.forms.isEmpty()) rb.multipart(multipart());
        if (upload != null) rb.body(upload);
        else if (o.uploadFile != null) rb.body(stdin);
        HttpRequest request = rb.build();

        Proxy proxy = CurlCommand.proxyFor(o, url, env);
        usedProxy = proxy;
        if (o.cookieJar != null || o.cookies.stream().anyMatch(c -> !c.contains("="))) {
            jar = new CurlCookies();
            for (String c : o.cookies) {
                if (c.contains("=")) continue;
                try {
                    jar.load(Path.of(c));
                } catch (IOException e) {
                    throw new CurlOptions.Failure(26, "cannot read cookie file " + c + ": " + e.getMessage());
                }
            }
        }
        if (o.verbose) verboseRequest(request, proxy);
        HttpClient client;
        try {
            HttpClient.Builder b = CurlCommand.builder(o, proxy);
            if (jar != null) b.cookieJar(jar);
            client = b.build();
        } catch (IllegalArgumentException | IllegalStateException e) {
            throw new CurlOptions.Failure(2, e.getMessage());
        }
        try {
            return withRetries(client, request);
        } finally {
            client.close();
            if (jar != null && o.cookieJar != null) {
                try {
                    byte[] text = jar.netscape().getBytes(StandardCharsets.UTF_8);
                    if (o.cookieJar.equals("-")) stdout.write(text);
                    else Files.write(Path.of(o.cookieJar), text);
                } catch (IOException | RuntimeException e) {
                    err.println("hv curl: (23) cannot write cookie jar " + o.cookieJar + ": " + e.getMessage());
                }
            }
        }
    }

    private static URI uri(String s) {
        try {
            return new URI(s);
        } catch (URISyntaxException e) {
            throw new CurlOptions.Failure(3, "URL rejected: Malformed input to a URL function: " + s);
        }
    }

    private static URI withoutUserInfo(URI u) {
        String s = u.toString();
        int start = s.indexOf("://") + 3;
        int at = s.indexOf('@', start);
        return uri(s.substring(0, start) + s.substring(at + 1));
    }

    /** The -d/--data* pieces joined by '&', or null when there are none. */
    private byte[] data() {
        if (o.data.isEmpty()) return null;
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        boolean first = true;
        for (String[] piece : o.data) {
            if (!first) b.write('&');
            first = false;
            String kind = piece[0], v = piece[1];
            byte[] bytes = switch (kind) {
                case "d" -> v.startsWith("@") ? stripNewlines(read(v.substring(1))) : v.getBytes(StandardCharsets.UTF_8);
                case "binary" -> v.startsWith("@") ? read(v.substring(1)) : v.getBytes(StandardCharsets.UTF_8);
                case "urlencode" -> urlencoded(v);
                default -> v.getBytes(StandardCharsets.UTF_8);
            };
            b.writeBytes(bytes);
        }
        return b.toByteArray();
    }

    private byte[] urlencoded(String v) {
        // content | =content | name=content | @file | name@file
        int eq = v.indexOf('=');
        int at = v.indexOf('@');
        if (eq == 0) return CurlCommand.urlencode(v.substring(1).getBytes(StandardCharsets.UTF_8)).getBytes(StandardCharsets.US_ASCII);
        if (eq > 0 && (at < 0 || eq < at)) {
            return (v.substring(0, eq) + "=" + CurlCommand.urlencode(v.substring(eq + 1).getBytes(StandardCharsets.UTF_8))).getBytes(StandardCharsets.UTF_8);
        }
        if (at >= 0) {
            String name = v.substring(0, at);
            String enc = CurlCommand.urlencode(read(v.substring(at + 1)));
            return (name.isEmpty() ? enc : name + "=" + enc).getBytes(StandardCharsets.UTF_8);
        }
        return CurlCommand.urlencode(v.getBytes(StandardCharsets.UTF_8)).getBytes(StandardCharsets.US_ASCII);
    }

    private byte[] read(String file) {
        try {
            return file.equals("-") ? stdin.readAllBytes() : Files.readAllBytes(Path.of(file));
        } catch (IOException e) {
            throw new CurlOptions.Failure(26, "Failed to open/read local data from file/application: " + file
                    + (e instanceof java.nio.file.NoSuchFileException || e instanceof FileNotFoundException ? " (no such file)" : " (" + e.getMessage() + ")"));
        }
    }

    private static byte[] stripNewlines(byte[] b) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(b.length);
        for (byte x : b) if (x != '\r' && x != '\n') out.write(x);
        return out.toByteArray();
    }

    private Multipart multipart() {
        Multipart.Builder m = Multipart.builder();
        for (String f : o.forms) {
            boolean literal = f.startsWith("\u0000");
            String spec = literal ? f.substring(1) : f;
            int eq = spec.indexOf('=');
            if (eq <= 0) throw new CurlOptions.Failure(2, "Illegally formatted input field: " + spec);
            String name = spec.substring(0, eq);
            String value = spec.substring(eq + 1);
            if (literal || !(value.startsWith("@") || value.startsWith("<"))) {
                m.field(name, value);
                continue;
            }
            // @file[;type=...][;filename=...] or <file[;type=...]
            String[] parts = value.substring(1).split(";");
            String file = parts[0];
            String type = null, filename = null;
            for (int i = 1; i < parts.length; i++) {
                String p = parts[i].strip();
                if (p.startsWith("type=")) type = p.substring(5);
                else if (p.startsWith("filename=")) filename = unquote(p.substring(9));
            }
            byte[] content = read(file);
            if (value.startsWith("<")) {
                m.part(new Multipart.Part(name, null, type, new String(content, StandardCharsets.UTF_8)));
            } else {
                String fn = filename != null ? filename : file.equals("-") ? "-" : Path.of(file).getFileName().toString();
                m.file(name, fn, type != null ? type : contentType(fn), content);
            }
        }
        return m.build();
    }

    private static String unquote(String s) {
        return s.length() >= 2 && s.startsWith("\"") && s.endsWith("\"") ? s.substring(1, s.length() - 1) : s;
    }

    /** curl's guess of a file part's type by its extension; application/octet-stream otherwise. */
    static String contentType(String filename) {
        String f = filename.toLowerCase(Locale.ROOT);
        int dot = f.lastIndexOf('.');
        String ext = dot >= 0 ? f.substring(dot + 1) : "";
        return switch (ext) {
            case "gif" -> "image/gif";
            case "jpg", "jpeg" -> "image/jpeg";
            case "png" -> "image/png";
            case "svg" -> "image/svg+xml";
            case "txt" -> "text/plain";
            case "htm", "html" -> "text/html";
            case "json" -> "application/json";
            case "xml" -> "application/xml";
            case "pdf" -> "application/pdf";
            default -> "application/octet-stream";
        };
    }

    /** The request headers: curl's defaults, then -H (replacing a default of the same name, 'N:' removing it). */
    private List<String[]> headers(String user, boolean hasData) {
        List<String[]> defaults = new ArrayList<>();
        defaults.add(new String[] {"User-Agent", o.userAgent != null ? o.userAgent : USER_AGENT});
        defaults.add(new String[] {"Accept", "*/*"});
        if (user != null) defaults.add(new String[] {"Authorization", CurlCommand.basic(user)});
        if (o.referer != null) defaults.add(new String[] {"Referer", o.referer.replace(";auto", "")});
        if (o.range != null) defaults.add(new String[] {"Range", "bytes=" + o.range});
        for (String c : o.cookies) if (c.contains("=")) defaults.add(new String[] {"Cookie", c});
        if (hasData) defaults.add(new String[] {"Content-Type", "application/x-www-form-urlencoded"});
        if (o.uploadFile != null && o.uploadFile.equals("-")) defaults.add(new String[] {"Transfer-Encoding", null}); // the client chunks it
        List<String[]> custom = new ArrayList<>();
        for (String h : o.headers) {
            int colon = h.indexOf(':');
            int semi = h.indexOf(';');
            if (colon < 0 && semi > 0 && h.substring(semi + 1).isBlank()) { // "Name;" sends Name with no value
                String n = h.substring(0, semi).strip();
                defaults.removeIf(d -> d[0].equalsIgnoreCase(n));
                custom.add(new String[] {n, ""});
                continue;
            }
            if (colon <= 0) continue; // curl ignores a header without a colon
            String n = h.substring(0, colon).strip();
            String v = h.substring(colon + 1).strip();
            defaults.removeIf(d -> d[0].equalsIgnoreCase(n));
            if (v.isEmpty()) {
                if (n.equalsIgnoreCase("Host") || n.equalsIgnoreCase("Connection") || n.equalsIgnoreCase("Transfer-Encoding")
                        || n.equalsIgnoreCase("Content-Length")) {
                    continue; // removing what the client adds itself: it adds it anyway
                }
                continue; // "Name:" removes the default
            }
            custom.add(new String[] {n, v});
        }
        defaults.removeIf(d -> d[1] == null);
        defaults.addAll(custom);
        return defaults;
    }

    private void verboseRequest(HttpRequest r, Proxy proxy) {
        URI u = r.uri();
        if (proxy.isProxied()) err.println("* Uses proxy " + proxy);
        String target = u.getRawPath() + (u.getRawQuery() != null ? "?" + u.getRawQuery() : "");
        err.println("> " + r.method() + " " + target + " HTTP/1.1");
        err.println("> Host: " + u.getRawAuthority());
        for (Map.Entry<String, List<String>> h : r.headers().entrySet()) {
            for (String v : h.getValue()) err.println("> " + h.getKey() + ": " + v);
        }
        err.println(">");
    }

    // ------------------------------------------------------------------------------------ sending, retrying, output

    /** What one attempt came to: an exit code, and whether a retry may help. */
    private record Outcome(int code, boolean transient_, boolean refused, long retryAfterMs) {}

    private int withRetries(HttpClient client, HttpRequest request) {
        int left = o.retry;
        long delayMs = 1000;
        long deadline = o.retryMaxTime != null && o.retryMaxTime > 0 ? started + (long) (o.retryMaxTime * 1e9) : Long.MAX_VALUE;
        for (;;) {
            Outcome out = attempt(client, request, left > 0);
            if (out.code() == 0 || left <= 0) return out.code();
            boolean retry = out.transient_() || (out.refused() && o.retryConnRefused) || o.retryAllErrors;
            if (!retry) return out.code();
            long wait = o.retryDelay != null && o.retryDelay > 0 ? (long) (o.retryDelay * 1000) : out.retryAfterMs() >= 0 ? out.retryAfterMs() : delayMs;
            if (System.nanoTime() + wait * 1_000_000L > deadline) return out.code();
            left--;
            if (!o.silent) {
                err.println("Warning: Problem : " + (out.code() == 22 || out.code() == 0 ? "HTTP error" : errorMsg)
                        + ". Will retry in " + Math.max(1, (wait + 999) / 1000) + " seconds. " + (left + 1) + " retr" + (left == 0 ? "y" : "ies") + " left.");
            }
            try {
                Thread.sleep(wait);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return out.code();
            }
            delayMs = Math.min(delayMs * 2, 600_000);
            errorMsg = "";
        }
    }

    private static boolean transientStatus(int s) {
        return s == 408 || s == 429 || s == 500 || s == 502 || s == 503 || s == 504;
    }

    private Outcome attempt(HttpClient client, HttpRequest request, boolean mayRetry) {
        CurlCommand.Relay relay = new CurlCommand.Relay();
        CompletableFuture<HttpResponse> f = client.sendAsync(request, relay);
        OutputStream body = null;
        boolean headSeen = false;
        HttpResponse retryable = null;
        try {
            for (;;) {
                Object ev;
                try {
                    ev = relay.next(1000);
                } catch (InterruptedException e) {
                    f.cancel(true);
                    Thread.currentThread().interrupt();
                    errorMsg = "interrupted";
                    return new Outcome(42, false, false, -1);
                }
                if (ev == null) continue;
                if (ev instanceof CurlCommand.Relay.Head h) {
                    headSeen = true;
                    HttpResponse r = h.response();
                    last = r;
                    effective = r.url();
                    int s = r.status();
                    // A transient status with retries left: its body is written as usual (curl does
                    // the same; a file output starts again with the next attempt), then retried.
                    if (mayRetry && (transientStatus(s) || (o.retryAllErrors && s >= 400))) {
                        retryable = r;
                        if (o.fail && !o.failWithBody) { // -f: no body to write
                            relay.cancel();
                            errorMsg = "The requested URL returned error: " + s;
                            return new Outcome(22, true, false, retryAfter(r));
                        }
                    }
                    if (o.verbose) {
                        for (HttpResponse x : CurlCommand.chain(r)) {
                            for (String line : new String(CurlCommand.headBlock(x), StandardCharsets.ISO_8859_1).split("\r\n")) err.println("< " + line);
                        }
                    }
                    if (s >= 400 && o.fail && !o.failWithBody) {
                        relay.cancel();
                        errorMsg = "The requested URL returned error: " + s;
                        return new Outcome(22, false, false, -1);
                    }
                    writeHeads(r);
                    body = openOutput(r);
                    continue;
                }
                if (ev instanceof byte[] chunk) {
                    relay.taken();
                    if (body != null && !o.head) {
                        try {
                            body.write(chunk);
                        } catch (IOException e) {
                            relay.cancel();
                            errorMsg = "Failure writing output to destination: " + e.getMessage();
                            return new Outcome(23, false, false, -1);
                        }
                    }
                    sizeDownload += chunk.length;
                    continue;
                }
                if (ev instanceof CurlCommand.Relay.Done d) {
                    last = d.response();
                    effective = d.response().url();
                    if (retryable != null) {
                        errorMsg = "HTTP error";
                        return new Outcome(22, true, false, retryAfter(retryable));
                    }
                    if (d.response().status() >= 400 && o.failWithBody) {
                        errorMsg = "The requested URL returned error: " + d.response().status();
                        return new Outcome(22, false, false, -1);
                    }
                    return new Outcome(0, false, false, -1);
                }
                if (ev instanceof CurlCommand.Relay.Failed x) {
                    return failure(x.error(), headSeen, request);
                }
            }
        } catch (CurlOptions.Failure e) {
            relay.cancel();
            throw e;
        } finally {
            if (body != null && body != stdout) {
                try {
                    body.close();
                } catch (IOException ignored) {
                    // reported by the write that failed, if any
                }
            }
        }
    }

    private static long retryAfter(HttpResponse r) {
        String v = r.header("Retry-After");
        if (v == null) return -1;
        try {
            return Math.max(0, Long.parseLong(v.strip())) * 1000;
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    /** -i, -I and -D: the heads of the redirect chain, as curl prints them. */
    private void writeHeads(HttpResponse r) {
        boolean toStdout = o.include || o.head;
        OutputStream dump = null;
        try {
            if (o.dumpHeader != null) dump = o.dumpHeader.equals("-") ? stdout : Files.newOutputStream(Path.of(o.dumpHeader));
            for (HttpResponse x : CurlCommand.chain(r)) {
                byte[] block = CurlCommand.headBlock(x);
                sizeHeader += block.length;
                if (toStdout && o.output == null) stdout.write(block);
                if (dump != null && !(dump == stdout && toStdout && o.output == null)) dump.write(block);
            }
            if (dump != null && dump != stdout) dump.close();
        } catch (IOException e) {
            throw new CurlOptions.Failure(23, "Failure writing output to destination: " + e.getMessage());
        }
    }

    /** Where the body goes: -o FILE, -O, or stdout; with -i into a file, the heads go there first. */
    private OutputStream openOutput(HttpResponse r) {
        String file = o.output;
        if (file == null && o.remoteName) {
            String path = r.request().uri().getPath();
            String name = path == null ? "" : path.substring(path.lastIndexOf('/') + 1);
            if (name.isEmpty()) throw new CurlOptions.Failure(23, "Remote file name has no length!");
            file = name;
        }
        if (file == null || file.equals("-")) return stdout;
        try {
            OutputStream out = Files.newOutputStream(Path.of(file));
            if (o.include || o.head) for (HttpResponse x : CurlCommand.chain(r)) out.write(CurlCommand.headBlock(x));
            return out;
        } catch (IOException e) {
            throw new CurlOptions.Failure(23, "Failure writing output to destination: " + file + ": " + e.getMessage());
        }
    }

    // ------------------------------------------------------------------------------------ failures to exit codes

    private Outcome failure(Throwable error, boolean headSeen, HttpRequest request) {
        Throwable t = error;
        while ((t instanceof CompletionException || t instanceof ExecutionException) && t.getCause() != null) t = t.getCause();
        URI u = request.uri();
        String host = u.getHost();
        int port = CurlCommand.port(u);
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof CurlOptions.Failure f) return outcome(f.code, f.getMessage(), false, false);
            if (c instanceof TooManyRedirectsException) return outcome(47, "Maximum (" + o.maxRedirs + ") redirects followed", false, false);
            if (c instanceof HttpTimeoutException || c instanceof ConnectTimeoutException || c instanceof java.net.SocketTimeoutException) {
                return outcome(28, (c instanceof HttpTimeoutException h && h.phase() == HttpTimeoutException.Phase.CONNECT
                        || c instanceof ConnectTimeoutException ? "Connection timed out: " : "Operation timed out: ") + c.getMessage(), true, false);
            }
            if (c instanceof ProxyException p) {
                return outcome(p.proxy() != null && p.proxy().type() == Proxy.Type.SOCKS5 ? 97 : 56,
                        (p.replyCode() > 0 && p.proxy() != null && p.proxy().type() == Proxy.Type.HTTP
                                ? "CONNECT tunnel failed, response " + p.replyCode() + ": " : "") + p.getMessage(), false, false);
            }
            if (c instanceof UnknownHostException) {
                // Connector says "proxy host"; a plain http:// request through an HTTP proxy names the proxy's host
                String m = String.valueOf(c.getMessage());
                boolean proxy = m.contains("proxy host") || (usedProxy != null && usedProxy.isProxied()
                        && m.contains(usedProxy.host()) && !m.contains(host));
                return outcome(proxy ? 5 : 6, (proxy ? "Could not resolve proxy: " : "Could not resolve host: " + host + ": ") + c.getMessage(), true, false);
            }
            if (c instanceof SSLException) {
                boolean cert = false;
                for (Throwable k = c; k != null; k = k.getCause()) {
                    if (k instanceof CertificateException || k instanceof CertPathValidatorException
                            || String.valueOf(k.getMessage()).contains("certification path") || String.valueOf(k.getMessage()).contains("No subject alternative")
                            || String.valueOf(k.getMessage()).contains("No name matching")) {
                        cert = true;
                    }
                }
                return outcome(cert ? 60 : 35, (cert ? "SSL certificate problem: " : "TLS connect error: ") + c.getMessage(), false, false);
            }
            if (c instanceof ConnectException) {
                return outcome(7, "Failed to connect to " + host + " port " + port + ": " + c.getMessage(), false, true);
            }
            if (c instanceof MalformedResponseException) return outcome(8, "Weird server reply: " + c.getMessage(), false, false);
            if (c instanceof ConnectionClosedException) {
                if (!headSeen) return outcome(52, "Empty reply from server (" + c.getMessage() + ")", true, false);
                return outcome(18, "transfer closed before the end of the body: " + c.getMessage(), true, false);
            }
            if (c instanceof CancellationException) return outcome(42, "Operation was aborted", false, false);
        }
        if (t instanceof HttpConnectException) return outcome(7, "Failed to connect to " + host + " port " + port + ": " + t.getMessage(), false, true);
        if (t instanceof IOException) return outcome(56, "Recv failure: " + t.getMessage(), true, false);
        return outcome(1, String.valueOf(t), false, false);
    }

    private Outcome outcome(int code, String message, boolean transient_, boolean refused) {
        errorMsg = message;
        return new Outcome(code, transient_, refused, -1);
    }
}
