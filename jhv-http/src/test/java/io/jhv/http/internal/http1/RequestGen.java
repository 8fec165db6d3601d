package io.jhv.http.internal.http1;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Generates valid HTTP/1.1 requests with what a correct parser must make of them: random methods,
 * targets (origin- and absolute-form, with queries), header sets with optional whitespace and
 * obs-text, and bodies framed by Content-Length or chunked (with extensions and trailers).
 */
final class RequestGen {
    private static final String[] METHODS = {"GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"};
    private static final String TCHARS = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    private static final String PATH_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&'()*+,;=:@";

    /** A request's bytes and the parse it must give. */
    record Gen(byte[] bytes, Expected expected) {}

    /** What the parser must report. */
    record Expected(String method, String target, List<Map.Entry<String, String>> headers, byte[] body) {
        @Override
        public boolean equals(Object o) {
            return o instanceof Expected e && method.equals(e.method) && target.equals(e.target)
                    && headers.equals(e.headers) && Arrays.equals(body, e.body);
        }

        @Override
        public int hashCode() {
            return method.hashCode();
        }

        @Override
        public String toString() {
            return method + " " + target + " " + headers + " body(" + body.length + ")=" + new String(body, StandardCharsets.ISO_8859_1);
        }
    }

    private final Random rnd;

    RequestGen(long seed) {
        this.rnd = new Random(seed);
    }

    Random random() {
        return rnd;
    }

    Gen next() {
        String method = METHODS[rnd.nextInt(METHODS.length)];
        String target = target();
        List<String[]> headers = new ArrayList<>(); // name, raw value with OWS, trimmed value
        int extra = rnd.nextInt(8);
        for (int i = 0; i < extra; i++) headers.add(header());
        headers.add(rnd.nextInt(headers.size() + 1), new String[] {rnd.nextBoolean() ? "Host" : "host", " example.com:8080", "example.com:8080"});
        byte[] body = new byte[0];
        ByteArrayOutputStream wireBody = new ByteArrayOutputStream();
        boolean hasBody = !method.equals("GET") && !method.equals("OPTIONS") && rnd.nextInt(4) != 0;
        if (hasBody) {
            body = new byte[rnd.nextInt(4) == 0 ? 0 : rnd.nextInt(400)];
            rnd.nextBytes(body);
            if (rnd.nextBoolean()) {
                headers.add(new String[] {"Content-Length", " " + body.length, Integer.toString(body.length)});
                wireBody.writeBytes(body);
            } else {
                headers.add(new String[] {"Transfer-Encoding", " chunked", "chunked"});
                chunk(body, wireBody);
            }
        }
        StringBuilder head = new StringBuilder();
        head.append(method).append(' ').append(target).append(" HTTP/1.1\r\n");
        List<Map.Entry<String, String>> expHeaders = new ArrayList<>();
        for (String[] h : headers) {
            head.append(h[0]).append(':').append(h[1]).append("\r\n");
            expHeaders.add(Map.entry(h[0], h[2]));
        }
        head.append("\r\n");
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        all.writeBytes(head.toString().getBytes(StandardCharsets.ISO_8859_1));
        all.writeBytes(wireBody.toByteArray());
        return new Gen(all.toByteArray(), new Expected(method, target, expHeaders, body));
    }

    private String target() {
        StringBuilder sb = new StringBuilder();
        if (rnd.nextInt(8) == 0) sb.append(rnd.nextBoolean() ? "http://" : "HTTPS://").append("host.example").append(rnd.nextBoolean() ? ":81" : "");
        int segs = rnd.nextInt(5);
        if (segs == 0) sb.append('/');
        for (int i = 0; i < segs; i++) {
            sb.append('/');
            int n = rnd.nextInt(12);
            for (int j = 0; j < n; j++) {
                if (rnd.nextInt(15) == 0) sb.append('%').append(String.format("%02X", 0x20 + rnd.nextInt(0x5f)));
                else sb.append(PATH_CHARS.charAt(rnd.nextInt(PATH_CHARS.length())));
            }
        }
        if (rnd.nextInt(3) == 0) {
            sb.append('?');
            int n = rnd.nextInt(4);
            for (int i = 0; i < n; i++) {
                if (i > 0) sb.append('&');
                sb.append("k").append(i).append('=').append(rnd.nextInt(1000)).append(rnd.nextBoolean() ? "+x%2By" : "");
            }
        }
        return sb.toString();
    }

    private String[] header() {
        StringBuilder name = new StringBuilder("X-");
        int n = 1 + rnd.nextInt(12);
        for (int i = 0; i < n; i++) name.append(TCHARS.charAt(rnd.nextInt(TCHARS.length())));
        StringBuilder value = new StringBuilder();
        int len = rnd.nextInt(40);
        for (int i = 0; i < len; i++) {
            int k = rnd.nextInt(30);
            if (k == 0) value.append((char) (0x80 + rnd.nextInt(0x80))); // obs-text
            else if (k < 3) value.append(rnd.nextBoolean() ? ' ' : '\t');
            else value.append((char) (0x21 + rnd.nextInt(0x5e)));
        }
        String trimmed = trimOws(value.toString()); // only SP and HTAB are OWS
        String ows1 = ows(), ows2 = ows();
        return new String[] {name.toString(), ows1 + value + ows2, trimmed};
    }

    private static String trimOws(String s) {
        int a = 0, b = s.length();
        while (a < b && (s.charAt(a) == ' ' || s.charAt(a) == '\t')) a++;
        while (b > a && (s.charAt(b - 1) == ' ' || s.charAt(b - 1) == '\t')) b--;
        return s.substring(a, b);
    }

    private String ows() {
        return switch (rnd.nextInt(5)) {
            case 0 -> "";
            case 1 -> "  ";
            case 2 -> "\t";
            default -> " ";
        };
    }

    private void chunk(byte[] body, ByteArrayOutputStream out) {
        int i = 0;
        while (i < body.length) {
            int n = Math.min(body.length - i, 1 + rnd.nextInt(120));
            String size = Integer.toHexString(n);
            if (rnd.nextBoolean()) size = size.toUpperCase();
            if (rnd.nextInt(4) == 0) size = "0" + size;
            out.writeBytes(size.getBytes(StandardCharsets.ISO_8859_1));
            if (rnd.nextInt(3) == 0) out.writeBytes((";ext" + rnd.nextInt(9) + (rnd.nextBoolean() ? "=v" : "=\"q;v\"")).getBytes(StandardCharsets.ISO_8859_1));
            out.writeBytes("\r\n".getBytes(StandardCharsets.ISO_8859_1));
            out.write(body, i, n);
            out.writeBytes("\r\n".getBytes(StandardCharsets.ISO_8859_1));
            i += n;
        }
        out.writeBytes("0".getBytes(StandardCharsets.ISO_8859_1));
        if (rnd.nextInt(3) == 0) out.writeBytes(";end".getBytes(StandardCharsets.ISO_8859_1));
        out.writeBytes("\r\n".getBytes(StandardCharsets.ISO_8859_1));
        if (rnd.nextInt(3) == 0) out.writeBytes("X-Trailer: t\r\nX-Check: 12\r\n".getBytes(StandardCharsets.ISO_8859_1));
        out.writeBytes("\r\n".getBytes(StandardCharsets.ISO_8859_1));
    }

    /** Random cut points in {@code [1, len)}, sorted, then len. */
    static int[] randomSplits(Random rnd, int len) {
        int cuts = len <= 1 ? 0 : rnd.nextInt(Math.min(len - 1, 12) + 1);
        int[] c = new int[cuts + 1];
        for (int i = 0; i < cuts; i++) c[i] = 1 + rnd.nextInt(len - 1);
        c[cuts] = len;
        Arrays.sort(c);
        return c;
    }
}
