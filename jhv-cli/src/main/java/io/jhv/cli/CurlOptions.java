package io.jhv.cli;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The command line of {@code hv curl}, parsed the way curl parses it: short options may be
 * grouped ({@code -sSL}) and a short option's value may be attached ({@code -XPOST},
 * {@code -ofile}) or follow; long options take their value as the next argument (curl has no
 * {@code --name=value}); anything else is a URL. Options curl has and hv does not are refused
 * with "not supported yet" (exit 4, curl's "not built in"), unknown ones with exit 2.
 */
final class CurlOptions {
    /** A bad command line: exit {@code code} (2 usage, 3 URL, 4 not supported yet, 26 unreadable file). */
    static final class Failure extends RuntimeException {
        private static final long serialVersionUID = 1L;
        final int code;

        Failure(int code, String message) {
            super(message);
            this.code = code;
        }
    }

    final List<String> urls = new ArrayList<>();
    String method;                       // -X
    final List<String> headers = new ArrayList<>(); // -H, as given
    /** -d/--data*: each piece with how it was given (d, raw, binary, urlencode). */
    final List<String[]> data = new ArrayList<>();
    final List<String> forms = new ArrayList<>();   // -F
    String uploadFile;                   // -T
    boolean get;                         // -G
    String output;                       // -o
    boolean remoteName;                  // -O
    boolean include;                     // -i
    boolean head;                        // -I
    boolean location;                    // -L
    int maxRedirs = 50;
    boolean insecure;                    // -k
    String user;                         // -u
    String range;                        // -r
    boolean compressed;
    String cacert, cert, key;
    String proxy;                        // -x
    String proxyUser;
    String noproxy;
    Double connectTimeout;               // seconds
    Double maxTime;                      // -m, seconds
    int retry;
    Double retryDelay, retryMaxTime;
    boolean retryConnRefused, retryAllErrors;
    boolean verbose, silent, showError;
    String writeOut;                     // -w
    boolean fail, failWithBody;          // -f
    String userAgent, referer;           // -A, -e
    final List<String> cookies = new ArrayList<>();  // -b
    String cookieJar;                    // -c
    String dumpHeader;                   // -D
    boolean help;

    // name -> takes a value
    private static final Map<String, Boolean> LONG = new HashMap<>();
    private static final Map<Character, String> SHORT = new HashMap<>();

    private static void opt(char shortName, String longName, boolean value) {
        LONG.put(longName, value);
        if (shortName != 0) SHORT.put(shortName, longName);
    }

    static {
        opt('X', "request", true);
        opt('H', "header", true);
        opt('d', "data", true);
        opt((char) 0, "data-ascii", true);
        opt((char) 0, "data-raw", true);
        opt((char) 0, "data-binary", true);
        opt((char) 0, "data-urlencode", true);
        opt('F', "form", true);
        opt((char) 0, "form-string", true);
        opt('T', "upload-file", true);
        opt('G', "get", false);
        opt('o', "output", true);
        opt('O', "remote-name", false);
        opt('i', "include", false);
        opt('I', "head", false);
        opt('L', "location", false);
        opt((char) 0, "max-redirs", true);
        opt('k', "insecure", false);
        opt('u', "user", true);
        opt('r', "range", true);
        opt((char) 0, "compressed", false);
        opt((char) 0, "cacert", true);
        opt('E', "cert", true);
        opt((char) 0, "key", true);
        opt('x', "proxy", true);
        opt('U', "proxy-user", true);
        opt((char) 0, "noproxy", true);
        opt((char) 0, "connect-timeout", true);
        opt('m', "max-time", true);
        opt((char) 0, "retry", true);
        opt((char) 0, "retry-delay", true);
        opt((char) 0, "retry-max-time", true);
        opt((char) 0, "retry-connrefused", false);
        opt((char) 0, "retry-all-errors", false);
        opt('v', "verbose", false);
        opt('s', "silent", false);
        opt('S', "show-error", false);
        opt('w', "write-out", true);
        opt('f', "fail", false);
        opt((char) 0, "fail-with-body", false);
        opt('A', "user-agent", true);
        opt('e', "referer", true);
        opt('b', "cookie", true);
        opt('c', "cookie-jar", true);
        opt('D', "dump-header", true);
        opt((char) 0, "url", true);
        opt((char) 0, "http1.1", false);
        opt((char) 0, "no-progress-meter", false);
        opt('#', "progress-bar", false);
        opt('h', "help", false);
        opt((char) 0, "no-keepalive", false);
        opt((char) 0, "tcp-nodelay", false);
        opt((char) 0, "path-as-is", false);
        // curl options hv does not have: refused with a clear message rather than "unknown"
        opt((char) 0, "http2", false);
        opt((char) 0, "http2-prior-knowledge", false);
        opt((char) 0, "http3", false);
        opt('0', "http1.0", false);
        opt((char) 0, "ntlm", false);
        opt((char) 0, "digest", false);
        opt((char) 0, "negotiate", false);
        opt((char) 0, "location-trusted", false);
        opt((char) 0, "limit-rate", true);
        opt('K', "config", true);
        opt((char) 0, "resolve", true);
        opt((char) 0, "connect-to", true);
        opt((char) 0, "interface", true);
        opt((char) 0, "unix-socket", true);
        opt((char) 0, "proxy-insecure", false);
        opt((char) 0, "proxy-cacert", true);
        opt((char) 0, "pass", true);
        opt((char) 0, "cert-type", true);
        opt((char) 0, "key-type", true);
        opt('C', "continue-at", true);
        opt('z', "time-cond", true);
        opt('Z', "parallel", false);
        opt((char) 0, "expect100-timeout", true);
    }

    private static final java.util.Set<String> NOT_YET = java.util.Set.of("http2", "http2-prior-knowledge", "http3", "http1.0",
            "ntlm", "digest", "negotiate", "location-trusted", "limit-rate", "config", "resolve", "connect-to", "interface",
            "unix-socket", "proxy-insecure", "proxy-cacert", "pass", "cert-type", "key-type", "continue-at", "time-cond", "parallel",
            "expect100-timeout");

    static CurlOptions parse(String[] argv, int from) {
        CurlOptions o = new CurlOptions();
        for (int i = from; i < argv.length; i++) {
            String s = argv[i];
            if (s.startsWith("--") && s.length() > 2) {
                String name = s.substring(2);
                Boolean takes = LONG.get(name);
                if (takes == null && name.startsWith("no-") && Boolean.FALSE.equals(LONG.get(name.substring(3)))) {
                    o.set(name.substring(3), null, false); // --no-location, --no-silent...
                    continue;
                }
                if (takes == null) throw new Failure(2, "option " + s + ": is unknown");
                String value = null;
                if (takes) {
                    if (i + 1 >= argv.length) throw new Failure(2, "option " + s + ": requires parameter");
                    value = argv[++i];
                }
                o.set(name, value, true);
            } else if (s.startsWith("-") && s.length() > 1) {
                for (int k = 1; k < s.length(); k++) {
                    char ch = s.charAt(k);
                    String name = SHORT.get(ch);
                    if (name == null) throw new Failure(2, "option -" + ch + ": is unknown");
                    String value = null;
                    if (LONG.get(name)) {
                        if (k + 1 < s.length()) {
                            value = s.substring(k + 1);
                        } else {
                            if (i + 1 >= argv.length) throw new Failure(2, "option -" + ch + ": requires parameter");
                            value = argv[++i];
                        }
                        o.set(name, value, true);
                        break;
                    }
                    o.set(name, null, true);
                }
            } else {
                o.urls.add(s);
            }
        }
        return o;
    }

    private void set(String name, String v, boolean on) {
        if (NOT_YET.contains(name)) {
            throw new Failure(4, "option --" + name + ": not supported yet by hv curl");
        }
        switch (name) {
            case "request" -> method = v;
            case "header" -> headers.add(v);
            case "data", "data-ascii" -> data.add(new String[] {"d", v});
            case "data-raw" -> data.add(new String[] {"raw", v});
            case "data-binary" -> data.add(new String[] {"binary", v});
            case "data-urlencode" -> data.add(new String[] {"urlencode", v});
            case "form" -> forms.add(v);
            case "form-string" -> forms.add("\u0000" + v); // a literal value: no @ or <
            case "upload-file" -> uploadFile = v;
            case "get" -> get = on;
            case "output" -> output = v;
            case "remote-name" -> remoteName = on;
            case "include" -> include = on;
            case "head" -> head = on;
            case "location" -> location = on;
            case "max-redirs" -> maxRedirs = integer(name, v);
            case "insecure" -> insecure = on;
            case "user" -> user = v;
            case "range" -> range = v;
            case "compressed" -> compressed = on;
            case "cacert" -> cacert = v;
            case "cert" -> cert = v;
            case "key" -> key = v;
            case "proxy" -> proxy = v;
            case "proxy-user" -> proxyUser = v;
            case "noproxy" -> noproxy = v;
            case "connect-timeout" -> connectTimeout = seconds(name, v);
            case "max-time" -> maxTime = seconds(name, v);
            case "retry" -> retry = integer(name, v);
            case "retry-delay" -> retryDelay = seconds(name, v);
            case "retry-max-time" -> retryMaxTime = seconds(name, v);
            case "retry-connrefused" -> retryConnRefused = on;
            case "retry-all-errors" -> retryAllErrors = on;
            case "verbose" -> verbose = on;
            case "silent" -> silent = on;
            case "show-error" -> showError = on;
            case "write-out" -> writeOut = v;
            case "fail" -> fail = on;
            case "fail-with-body" -> failWithBody = on;
            case "user-agent" -> userAgent = v;
            case "referer" -> referer = v;
            case "cookie" -> cookies.add(v);
            case "cookie-jar" -> cookieJar = v;
            case "dump-header" -> dumpHeader = v;
            case "url" -> urls.add(v);
            case "help" -> help = on;
            case "http1.1", "no-progress-meter", "progress-bar", "no-keepalive", "tcp-nodelay", "path-as-is" -> { } // nothing to do here
            default -> throw new Failure(2, "option --" + name + ": is unknown");
        }
    }

    private static int integer(String name, String v) {
        try {
            int n = Integer.parseInt(v.strip());
            if (n < 0) throw new NumberFormatException();
            return n;
        } catch (NumberFormatException e) {
            throw new Failure(2, "option --" + name + ": expected a proper numerical parameter");
        }
    }

    private static double seconds(String name, String v) {
        try {
            double d = Double.parseDouble(v.strip());
            if (d < 0 || Double.isNaN(d) || Double.isInfinite(d)) throw new NumberFormatException();
            return d;
        } catch (NumberFormatException e) {
            throw new Failure(2, "option --" + name + ": expected a proper numerical parameter");
        }
    }
}
