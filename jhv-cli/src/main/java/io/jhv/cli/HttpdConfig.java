package io.jhv.cli;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The settings of {@code hv httpd}: defaults, then a config file of {@code key = value} lines
 * (libhv's httpd.conf style: {@code #} starts a comment, values may be quoted), then the command
 * line flags, each overriding what came before. An unknown key or a bad value is an
 * {@link Args.UsageException} naming the key and where it came from (exit code 2).
 */
final class HttpdConfig {
    String host = "0.0.0.0";
    int port = 8080;
    Path root;                       // null: the demo site
    int threads = Runtime.getRuntime().availableProcessors();
    String index = "index.html";     // null: none
    boolean listing;
    String accessLog;                // null: off, else "common" or "combined"
    String metricsPath;              // null: off, else the path of the Prometheus endpoint
    String readyPath = "/readyz";    // null: off; 200 while serving, 503 once a shutdown began
    long drainDelayMs;
    List<String> proxyProtocol;      // null: off; else the sources trusted to send a PROXY header
    int processes = 1;               // > 1: a supervisor of that many processes sharing the port               // after SIGTERM: not ready, still serving, for this long
    List<String> cors;               // null: off; ["*"]: any origin
    boolean gzip = true;
    long cacheMaxAgeSec;             // 0: Cache-Control: no-cache
    Long keepAliveTimeoutMs;         // null: the server's default
    Long headerTimeoutMs;
    Long writeTimeoutMs;
    Long maxInputMemory;
    Long maxBodySize;
    Integer maxHeaderSize;
    Integer maxRequestLine;
    Integer maxHeaderCount;
    Integer maxConnections;
    Integer maxRequestsPerConnection;
    Integer maxPipelined;
    Integer multipartThreshold;
    Path uploadDir;                  // null: a new temporary directory
    Path tempDir;
    String serverName;
    boolean serverNameSet;
    String poller = "default";
    boolean reusePort;
    long shutdownTimeoutMs = 5000;
    Integer httpsPort;               // reserved: HTTPS comes later
    Path cert;
    Path key;

    /** libhv httpd.conf names that mean the same as ours. */
    private static final Map<String, String> ALIASES = Map.of(
            "document_root", "root",
            "home_page", "index",
            "index_of", "listing",
            "worker_threads", "threads",
            "worker_processes", "processes",
            "ssl_certificate", "cert",
            "ssl_privkey", "key");

    static final List<String> KEYS = List.of(
            "host", "port", "root", "threads", "index", "listing", "access_log", "cors", "gzip", "cache_max_age",
            "keepalive_timeout", "header_timeout", "write_timeout", "max_input_memory", "max_body_size", "max_header_size", "max_request_line",
            "max_header_count", "max_connections", "max_requests_per_connection", "max_pipelined",
            "multipart_threshold", "upload_dir", "temp_dir", "server_name", "poller", "reuse_port",
            "shutdown_timeout", "https_port", "cert", "key", "metrics", "ready_path", "drain_delay", "processes", "proxy_protocol");

    /** Reads a config file. */
    void load(Path file) {
        List<String> lines;
        try {
            lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new Args.UsageException("cannot read config file " + file + ": " + e.getMessage());
        }
        for (int i = 0; i < lines.size(); i++) {
            String line = stripComment(lines.get(i)).strip();
            if (line.isEmpty()) continue;
            String where = file + " line " + (i + 1);
            int eq = line.indexOf('=');
            if (eq <= 0) throw new Args.UsageException(where + ": expected 'key = value', got: " + line);
            String k = line.substring(0, eq).strip();
            String v = line.substring(eq + 1).strip();
            if (v.length() >= 2 && (v.startsWith("\"") && v.endsWith("\"") || v.startsWith("'") && v.endsWith("'"))) {
                v = v.substring(1, v.length() - 1);
            }
            set(k, v, where);
        }
    }

    /** Drops a '#' comment that starts the line or follows white space (so "a#b" stays). */
    private static String stripComment(String line) {
        for (int i = 0; i < line.length(); i++) {
            if (line.charAt(i) == '#' && (i == 0 || Character.isWhitespace(line.charAt(i - 1)))) return line.substring(0, i);
        }
        return line;
    }

    /** Sets one key; {@code where} names the source for error messages ("--port", "httpd.conf line 3"). */
    void set(String key, String value, String where) {
        String k = ALIASES.getOrDefault(key.toLowerCase(Locale.ROOT).replace('-', '_'), key.toLowerCase(Locale.ROOT).replace('-', '_'));
        String w = where.startsWith("--") ? where : where + ": " + key;
        switch (k) {
            case "host" -> host = nonEmpty(value, w);
            case "port" -> port = (int) number(value, 0, 65535, w);
            case "root" -> root = directory(value, w);
            case "threads" -> threads = (int) number(value, 1, 1024, w);
            case "index" -> index = isOff(value) ? null : fileName(value, w);
            case "listing" -> listing = bool(value, w);
            case "metrics" -> {
                String v = value.trim();
                if (v.startsWith("/")) metricsPath = v;
                else metricsPath = bool(value, w) ? "/metrics" : null;
            }
            case "access_log" -> {
                String v = value.toLowerCase(Locale.ROOT);
                if (v.equals("common") || v.equals("combined")) accessLog = v;
                else accessLog = bool(value, w) ? "common" : null;
            }
            case "cors" -> {
                String v = value.strip();
                if (isOff(v)) cors = null;
                else if (isOn(v) || v.equals("*")) cors = List.of("*");
                else {
                    List<String> origins = new ArrayList<>();
                    for (String o : v.split("[,\\s]+")) {
                        if (o.isEmpty()) continue;
                        if (!o.equals("*") && !o.matches("(?i)[a-z][a-z0-9+.-]*://[^/\\s]+")) {
                            throw new Args.UsageException(w + " must be on, off, * or origins like https://example.com: " + o);
                        }
                        origins.add(o);
                    }
                    cors = List.copyOf(origins);
                }
            }
            case "gzip" -> gzip = bool(value, w);
            case "cache_max_age" -> cacheMaxAgeSec = number(value, 0, 10L * 365 * 24 * 3600, w);
            case "keepalive_timeout" -> keepAliveTimeoutMs = number(value, 0, Integer.MAX_VALUE, w);
            case "header_timeout" -> headerTimeoutMs = number(value, 1, Integer.MAX_VALUE, w);
            case "write_timeout" -> writeTimeoutMs = number(value, 0, Integer.MAX_VALUE, w);
            case "max_input_memory" -> maxInputMemory = size(value, 64 * 1024, Long.MAX_VALUE / 2, w);
            case "max_body_size" -> maxBodySize = size(value, 1, Integer.MAX_VALUE - 16, w);
            case "max_header_size" -> maxHeaderSize = (int) size(value, 256, 16 << 20, w);
            case "max_request_line" -> maxRequestLine = (int) size(value, 64, 1 << 20, w);
            case "max_header_count" -> maxHeaderCount = (int) number(value, 1, 10_000, w);
            case "max_connections" -> maxConnections = (int) number(value, 1, 10_000_000, w);
            case "max_requests_per_connection" -> maxRequestsPerConnection = (int) number(value, 0, Integer.MAX_VALUE, w);
            case "max_pipelined" -> maxPipelined = (int) number(value, 1, 10_000, w);
            case "multipart_threshold" -> multipartThreshold = (int) size(value, 1, 1 << 30, w);
            case "upload_dir" -> uploadDir = directory(value, w);
            case "temp_dir" -> tempDir = directory(value, w);
            case "server_name" -> {
                serverNameSet = true;
                serverName = isOff(value) ? null : value;
                if (serverName != null && !serverName.chars().allMatch(c -> c >= 0x20 && c < 0x7f)) {
                    throw new Args.UsageException(w + " must be printable ASCII: " + value);
                }
            }
            case "poller" -> {
                if (!value.equals("default") && !value.equals("epoll") && !value.equals("poll")) {
                    throw new Args.UsageException(w + " must be default, epoll or poll: " + value);
                }
                poller = value;
            }
            case "reuse_port" -> reusePort = bool(value, w);
            case "shutdown_timeout" -> shutdownTimeoutMs = number(value, 0, 3_600_000, w);
            case "drain_delay" -> drainDelayMs = number(value, 0, 3_600_000, w);
            case "processes" -> processes = (int) number(value, 1, 256, w);
            case "proxy_protocol" -> {
                String v = value.strip();
                if (isOff(v)) {
                    proxyProtocol = null;
                } else {
                    List<String> sources = new ArrayList<>();
                    for (String part : v.split(",")) if (!part.isBlank()) sources.add(part.strip());
                    try {
                        io.jhv.core.net.ProxyProtocol.trusting(sources.toArray(String[]::new));
                    } catch (IllegalArgumentException e) {
                        throw new Args.UsageException(w + ": " + e.getMessage());
                    }
                    proxyProtocol = List.copyOf(sources);
                }
            }
            case "ready_path" -> {
                String v = value.trim();
                if (isOff(v)) readyPath = null;
                else if (v.startsWith("/")) readyPath = v;
                else throw new Args.UsageException(w + " must be off or a path starting with /: " + value);
            }
            case "https_port" -> httpsPort = (int) number(value, 0, 65535, w);
            case "cert" -> cert = Path.of(nonEmpty(value, w));
            case "key" -> this.key = Path.of(nonEmpty(value, w));
            default -> throw new Args.UsageException(where + ": unknown key '" + key + "' (known: " + String.join(", ", KEYS) + ")");
        }
    }

    private static String nonEmpty(String v, String w) {
        if (v.isBlank()) throw new Args.UsageException(w + " needs a value");
        return v.strip();
    }

    private static boolean isOn(String v) {
        return switch (v.toLowerCase(Locale.ROOT)) {
            case "on", "true", "yes", "1" -> true;
            default -> false;
        };
    }

    private static boolean isOff(String v) {
        return switch (v.toLowerCase(Locale.ROOT)) {
            case "off", "false", "no", "0", "none" -> true;
            default -> false;
        };
    }

    private static boolean bool(String v, String w) {
        if (isOn(v)) return true;
        if (isOff(v)) return false;
        throw new Args.UsageException(w + " must be on or off: " + v);
    }

    private static long number(String v, long min, long max, String w) {
        long n;
        try {
            n = Long.parseLong(v.strip().replace("_", ""));
        } catch (NumberFormatException e) {
            throw new Args.UsageException(w + " must be a number: " + v);
        }
        if (n < min || n > max) throw new Args.UsageException(w + " must be between " + min + " and " + max + ": " + v);
        return n;
    }

    /** A byte count with an optional K, M or G suffix (binary: 1K = 1024), e.g. "64M". */
    static long size(String v, long min, long max, String w) {
        String s = v.strip().toUpperCase(Locale.ROOT);
        if (s.endsWith("B")) s = s.substring(0, s.length() - 1);
        if (s.endsWith("I")) s = s.substring(0, s.length() - 1); // KiB, MiB
        int shift = 0;
        if (!s.isEmpty()) {
            switch (s.charAt(s.length() - 1)) {
                case 'K' -> shift = 10;
                case 'M' -> shift = 20;
                case 'G' -> shift = 30;
                default -> { }
            }
        }
        if (shift > 0) s = s.substring(0, s.length() - 1).strip();
        long n;
        try {
            n = Long.parseLong(s);
        } catch (NumberFormatException e) {
            throw new Args.UsageException(w + " must be a size like 1048576, 512K or 64M: " + v);
        }
        if (n < 0 || n > (Long.MAX_VALUE >> shift)) throw new Args.UsageException(w + " is out of range: " + v);
        n <<= shift;
        if (n < min || n > max) throw new Args.UsageException(w + " must be between " + min + " and " + max + " bytes: " + v);
        return n;
    }

    private static Path directory(String v, String w) {
        Path p = Path.of(nonEmpty(v, w));
        if (!Files.isDirectory(p)) throw new Args.UsageException(w + ": not a directory: " + v);
        return p;
    }

    private static String fileName(String v, String w) {
        String s = nonEmpty(v, w);
        if (s.contains("/") || s.contains("\\") || s.equals("..") || s.equals(".")) {
            throw new Args.UsageException(w + " must be a file name (no path): " + v);
        }
        return s;
    }
}
