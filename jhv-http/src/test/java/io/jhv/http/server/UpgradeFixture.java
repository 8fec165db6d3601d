package io.jhv.http.server;

import io.jhv.core.buffer.Buffer;
import io.jhv.core.net.CloseCause;
import io.jhv.core.net.Connection;
import io.jhv.core.net.ProtocolHandler;

import org.junit.jupiter.api.AfterEach;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;

/** What the upgrade tests share: a toy line protocol, a server, and one raw client socket. */
abstract class UpgradeFixture {
    static final String UPGRADE = "GET /lines HTTP/1.1\r\nHost: t\r\nUpgrade: lines\r\nConnection: Upgrade\r\n\r\n";

    HttpServer server;
    Socket socket;
    InputStream in;

    /** A toy line protocol: answers each line with "L:" + line. */
    static final class Lines implements ProtocolHandler {
        final List<String> events = new ArrayList<>();
        final CompletableFuture<CloseCause> closed = new CompletableFuture<>();

        @Override
        public void onAttach(Connection conn) { events.add("attach"); }

        @Override
        public void onData(Connection conn, Buffer data) {
            int eol;
            while ((eol = data.indexOf(new byte[] {'\n'}, 0)) >= 0) {
                String line = data.readString(eol, StandardCharsets.ISO_8859_1);
                data.skip(1);
                conn.write("L:" + line + "\n");
            }
        }

        @Override
        public void onClose(Connection conn, CloseCause cause) { closed.complete(cause); }
    }

    void start(HttpServer s) throws IOException {
        server = s.start();
        socket = new Socket("127.0.0.1", server.port());
        socket.setSoTimeout(5000);
        in = new BufferedInputStream(socket.getInputStream());
    }

    @AfterEach
    void stop() throws IOException {
        if (socket != null) socket.close();
        if (server != null) server.close(Duration.ofSeconds(1));
    }

    void send(String s) throws IOException {
        OutputStream out = socket.getOutputStream();
        out.write(s.getBytes(StandardCharsets.ISO_8859_1));
        out.flush();
    }

    String line() throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        int c;
        while ((c = in.read()) != '\n') {
            if (c < 0) return b.size() == 0 ? null : b.toString(StandardCharsets.ISO_8859_1);
            b.write(c);
        }
        String s = b.toString(StandardCharsets.ISO_8859_1);
        return s.endsWith("\r") ? s.substring(0, s.length() - 1) : s;
    }

    /** Reads a status line and headers (and a Content-Length body); returns status line, lower-case headers, body. */
    List<String> response() throws IOException {
        List<String> r = new ArrayList<>();
        r.add(line());
        int length = 0;
        for (String h; !(h = line()).isEmpty(); ) {
            r.add(h.toLowerCase(Locale.ROOT));
            if (h.toLowerCase(Locale.ROOT).startsWith("content-length:")) length = Integer.parseInt(h.substring(15).trim());
        }
        r.add(new String(in.readNBytes(length), StandardCharsets.ISO_8859_1));
        return r;
    }
}
