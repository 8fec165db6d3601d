package io.jhv.http.server;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A blocking HTTP/1.1 test client over a plain socket: raw bytes out, responses parsed strictly in
 * (status line, headers, a body framed by Content-Length or chunked), and whether the server closed.
 */
public final class RawClient implements AutoCloseable {
    final Socket socket;
    private final InputStream in;
    private final OutputStream out;

    private RawClient(Socket s) throws IOException {
        this.socket = s;
        s.setTcpNoDelay(true);
        s.setSoTimeout(5000);
        this.in = new java.io.BufferedInputStream(s.getInputStream());
        this.out = s.getOutputStream();
    }

    public static RawClient connect(int port) throws IOException {
        Socket s = new Socket();
        s.connect(new InetSocketAddress("127.0.0.1", port), 5000);
        return new RawClient(s);
    }

    public RawClient send(String s) throws IOException {
        return send(s.getBytes(StandardCharsets.ISO_8859_1));
    }

    public RawClient send(byte[] b) throws IOException {
        out.write(b);
        out.flush();
        return this;
    }

    /** A parsed response. */
    public record Resp(int status, String statusLine, Map<String, List<String>> headers, byte[] body) {
        public String header(String name) {
            List<String> v = headers.get(name.toLowerCase(Locale.ROOT));
            return v == null ? null : v.get(0);
        }

        public List<String> headerValues(String name) {
            return headers.getOrDefault(name.toLowerCase(Locale.ROOT), List.of());
        }

        public int count(String name) {
            return headerValues(name).size();
        }

        public String text() {
            return new String(body, StandardCharsets.UTF_8);
        }

        public boolean closes() {
            String c = header("connection");
            return c != null && c.toLowerCase(Locale.ROOT).contains("close");
        }

        @Override
        public String toString() {
            return statusLine + " " + headers + " body=" + text();
        }
    }

    /** Reads one response (an interim 1xx included) to a request that was not HEAD. */
    public Resp read() throws IOException {
        return read(false);
    }

    /** Reads one response; {@code head}: the request was HEAD, so no body follows. */
    public Resp read(boolean head) throws IOException {
        return read(in, head);
    }

    /** Parses all responses in {@code bytes} (none of them to HEAD). */
    public static List<Resp> parseAll(byte[] bytes) throws IOException {
        java.io.InputStream in = new java.io.ByteArrayInputStream(bytes);
        List<Resp> out = new ArrayList<>();
        while (in.available() > 0) out.add(read(in, false));
        return out;
    }

    /** Reads one response from {@code in}. */
    public static Resp read(InputStream in, boolean head) throws IOException {
        String statusLine = line(in);
        if (statusLine == null) throw new IOException("connection closed before a response");
        if (!statusLine.startsWith("HTTP/1.1 ")) throw new IOException("bad status line: " + statusLine);
        int status = Integer.parseInt(statusLine.substring(9, 12));
        Map<String, List<String>> headers = new LinkedHashMap<>();
        String l;
        while (!(l = line(in)).isEmpty()) {
            int c = l.indexOf(':');
            if (c <= 0) throw new IOException("bad header line: " + l);
            headers.computeIfAbsent(l.substring(0, c).toLowerCase(Locale.ROOT), k -> new ArrayList<>()).add(l.substring(c + 1).trim());
        }
        Resp headOnly = new Resp(status, statusLine, headers, new byte[0]);
        if (head || status < 200 || status == 204 || status == 304) return headOnly;
        String cl = headOnly.header("content-length");
        String te = headOnly.header("transfer-encoding");
        if (cl != null && te != null) throw new IOException("both Content-Length and Transfer-Encoding");
        byte[] body;
        if (cl != null) {
            body = in.readNBytes(Integer.parseInt(cl));
            if (body.length != Integer.parseInt(cl)) throw new IOException("short body");
        } else if ("chunked".equalsIgnoreCase(te)) {
            ByteArrayOutputStream bo = new ByteArrayOutputStream();
            while (true) {
                String sz = line(in);
                int semi = sz.indexOf(';');
                int n = Integer.parseInt(semi < 0 ? sz : sz.substring(0, semi), 16);
                if (n == 0) {
                    while (!line(in).isEmpty()) { /* trailers */ }
                    break;
                }
                bo.write(in.readNBytes(n));
                if (!line(in).isEmpty()) throw new IOException("chunk not followed by CRLF");
            }
            body = bo.toByteArray();
        } else {
            body = in.readAllBytes(); // delimited by close
        }
        return new Resp(status, statusLine, headers, body);
    }

    private static String line(InputStream in) throws IOException {
        StringBuilder sb = new StringBuilder();
        int b;
        while ((b = in.read()) >= 0) {
            if (b == '\n') {
                if (sb.isEmpty() || sb.charAt(sb.length() - 1) != '\r') throw new IOException("bare LF from the server: " + sb);
                sb.setLength(sb.length() - 1);
                return sb.toString();
            }
            sb.append((char) b);
        }
        if (sb.isEmpty()) return null;
        throw new IOException("connection closed in a line: " + sb);
    }

    /**
     * Waits up to {@code millis} for the server to close: true on EOF or reset, false if the
     * connection is still open then. Bytes that arrive meanwhile are a failure.
     */
    public boolean closedByServer(long millis) throws IOException {
        int old = socket.getSoTimeout();
        socket.setSoTimeout((int) millis);
        try {
            int b = in.read();
            if (b >= 0) throw new IOException("unexpected byte from the server: " + (char) b + new String(in.readNBytes(in.available()), StandardCharsets.ISO_8859_1));
            return true;
        } catch (SocketTimeoutException e) {
            return false;
        } catch (SocketException e) {
            return true; // reset
        } finally {
            if (!socket.isClosed()) socket.setSoTimeout(old);
        }
    }

    /** Sends a request and reads its response. */
    public Resp exchange(String request) throws IOException {
        send(request);
        return read(request.startsWith("HEAD "));
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }

    /** One request and its response on a new connection, then whether the server closed within 2 s. */
    public static Resp once(int port, String request, boolean[] closed) throws IOException {
        try (RawClient c = connect(port)) {
            Resp r = c.exchange(request);
            if (closed != null) closed[0] = c.closedByServer(2000);
            return r;
        }
    }
}
