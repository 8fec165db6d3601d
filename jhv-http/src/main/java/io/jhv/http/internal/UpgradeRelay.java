package io.jhv.http.internal;

import io.jhv.core.buffer.Buffer;
import io.jhv.core.loop.Timer;
import io.jhv.core.net.CloseCause;
import io.jhv.core.net.Connection;
import io.jhv.core.net.Connector;
import io.jhv.core.net.ProtocolHandler;
import io.jhv.core.tls.TlsConfig;
import io.jhv.http.server.Request;
import io.jhv.http.server.Response;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.function.Consumer;

/**
 * Passes a protocol upgrade (WebSocket) through a reverse proxy: opens a connection to the upstream
 * on the client connection's loop, sends it the upgrade request, relays its {@code 101} (with its
 * {@code Sec-WebSocket-*} headers) to the client, then pipes bytes both ways with back-pressure
 * (a side whose peer is above its high-water mark stops being read) until either side closes.
 * A refusal by the upstream is relayed as a 502 that quotes its status line.
 *
 * <pre>
 *  client --GET Upgrade--> proxy --connect--> upstream
 *                                --GET Upgrade-->
 *  client <--101-- proxy     <--101 + frames--
 *  client <==== bytes ====> proxy <==== bytes ====> upstream      (Side on each connection)
 * </pre>
 * Loop thread only (the client connection's loop; the upstream connection is opened on it).
 */
public final class UpgradeRelay {
    /** Most bytes of an upstream's response head. */
    static final int MAX_HEAD = 16 * 1024;

    private final Request req;
    private final Response res;
    private final Connection down;
    private final Consumer<String> fail; // answers the client with a 502/504 and this message
    private Connection up;
    private Buffer upRest;       // upstream bytes after its 101, for the pipe
    private Timer timer;
    private boolean finished;

    private final String upgrade; // the request's Upgrade header, read while the request is live

    private UpgradeRelay(Request req, Response res, Consumer<String> fail) {
        this.req = req;
        this.res = res;
        this.down = req.connection();
        this.fail = fail;
        this.upgrade = req.header("Upgrade");
    }

    /**
     * Starts the relay of {@code req} to {@code scheme://host:port}, with {@code headers} (name,
     * value pairs: the request's end-to-end headers plus the forwarding ones; not Host, Connection
     * or Upgrade, which the relay writes itself). {@code fail} answers the client when it cannot go through. Loop thread; the response
     * must be deferred.
     */
    public static void start(Request req, Response res, String target, boolean tls, TlsConfig tlsConfig, String host, int port,
                             List<String[]> headers, Duration connectTimeout, Duration responseTimeout, Consumer<String> fail) {
        UpgradeRelay r = new UpgradeRelay(req, res, fail);
        // the client leaving before the upstream's answer ends the relay (and the upstream connection)
        r.down.addCloseListener((c, cause) -> r.giveUp("the client left"));
        Connector c = Connector.create().connectTimeout(connectTimeout).protocol(() -> r.new Handshake());
        if (tls) c.tls(tlsConfig != null ? tlsConfig : TlsConfig.client().build());
        StringBuilder head = new StringBuilder(512);
        head.append(req.method()).append(' ').append(target).append(" HTTP/1.1\r\n");
        head.append("Host: ").append(host.indexOf(':') >= 0 ? "[" + host + "]" : host).append(':').append(port).append("\r\n");
        for (String[] h : headers) head.append(h[0]).append(": ").append(h[1]).append("\r\n");
        head.append("Connection: Upgrade\r\n");
        head.append("Upgrade: ").append(r.upgrade).append("\r\n\r\n");
        byte[] bytes = head.toString().getBytes(StandardCharsets.ISO_8859_1);
        r.timer = req.loop().setTimeout(connectTimeout.plus(responseTimeout).toMillis(), () -> r.giveUp("upstream " + host + ":" + port
                + " did not answer the upgrade in time"));
        c.connect(req.loop(), host, port).whenComplete((conn, err) -> {
            if (err != null) {
                r.giveUp("upstream " + host + ":" + port + " cannot be reached: " + (err.getCause() != null ? err.getCause() : err).getMessage());
                return;
            }
            if (r.finished || r.down.isClosed()) {
                conn.abort();
                return;
            }
            r.up = conn;
            conn.write(bytes);
        });
    }

    private void giveUp(String why) {
        if (finished) return;
        finished = true;
        if (timer != null) timer.cancel();
        if (up != null) up.abort();
        if (!down.isClosed()) {
            res.status(502); // replaces a 101 set before the switch failed
            res.removeHeader("Sec-WebSocket-Accept");
            res.removeHeader("Sec-WebSocket-Protocol");
            res.removeHeader("Sec-WebSocket-Extensions");
            fail.accept(why);
        }
    }

    /** The upstream connection until its answer to the upgrade has been read. */
    private final class Handshake implements ProtocolHandler {
        private Buffer head = Buffer.allocate(1024);

        @Override
        public void onData(Connection conn, Buffer in) {
            if (upRest != null) { // switched: bytes behind the 101 wait for the pipe
                upRest.write(in);
                return;
            }
            if (finished) {
                in.skip(in.readableBytes());
                return;
            }
            head.write(in);
            byte[] a = head.array();
            int end = -1;
            for (int i = head.readerIndex() + 3; i < head.writerIndex(); i++) {
                if (a[i] == '\n' && a[i - 1] == '\r' && a[i - 2] == '\n' && a[i - 3] == '\r') {
                    end = i + 1;
                    break;
                }
            }
            if (end < 0) {
                if (head.readableBytes() > MAX_HEAD) giveUp("upstream sent a response head longer than " + MAX_HEAD + " bytes");
                return;
            }
            String text = new String(a, head.readerIndex(), end - head.readerIndex(), StandardCharsets.ISO_8859_1);
            head.readerIndex(end);
            String[] lines = text.split("\r\n");
            String status = lines[0];
            if (!status.startsWith("HTTP/1.1 101")) {
                giveUp("upstream refused the upgrade: " + status.replaceAll("[^\\x20-\\x7e]", "?"));
                return;
            }
            finished = true;
            timer.cancel();
            res.status(101);
            for (int i = 1; i < lines.length; i++) {
                int colon = lines[i].indexOf(':');
                if (colon <= 0) continue;
                String name = lines[i].substring(0, colon).trim();
                String lower = name.toLowerCase(Locale.ROOT);
                if (lower.equals("connection") || lower.equals("upgrade") || lower.equals("date") || lower.equals("server")
                        || lower.equals("content-length") || lower.equals("transfer-encoding")) continue;
                res.header(name, lines[i].substring(colon + 1).trim());
            }
            if (down.isClosed()) { // the client left meanwhile
                conn.abort();
                return;
            }
            res.setHeader("Upgrade", upgrade);
            upRest = head;
            head = null;
            // the client's side is switched once the 101 has gone out; then the upstream's side
            try {
                res.upgrade(new Side(conn));
            } catch (IllegalStateException e) {
                upRest = null;
                finished = false;
                giveUp("cannot switch protocols on this connection: " + e.getMessage());
            }
        }

        @Override
        public void onClose(Connection conn, CloseCause cause) {
            if (!finished) giveUp("upstream closed during the upgrade: " + cause);
        }
    }

    /**
     * One end of the pipe: what arrives here is written to {@code peer}; while {@code peer} is above
     * its high-water mark this connection is not read; a close here closes {@code peer} after it has
     * sent what it holds.
     */
    private final class Side implements ProtocolHandler {
        private final Connection peer;

        Side(Connection peer) {
            this.peer = peer;
        }

        @Override
        public void onAttach(Connection conn) {
            conn.pauseReadingAboveHighWater(false);
            peer.onWritable((p, writable) -> {
                if (conn.isClosed()) return;
                if (writable) conn.resumeReading();
                else conn.pauseReading();
            });
            if (conn == down) {
                // the 101 is out: the upstream's side starts, with what the upstream sent behind its 101
                Buffer rest = upRest;
                upRest = null;
                if (up.isConnected()) up.handover(new Side(down), rest);
                else conn.close();
            }
        }

        @Override
        public void onData(Connection conn, Buffer in) {
            if (peer.isConnected()) {
                peer.write(in);
                if (!peer.isWritable()) conn.pauseReading();
            } else {
                in.skip(in.readableBytes());
                conn.close();
            }
        }

        @Override
        public void onClose(Connection conn, CloseCause cause) {
            if (!peer.isClosed()) {
                if (cause.kind() == CloseCause.Kind.NORMAL || cause.kind() == CloseCause.Kind.PEER_CLOSED) peer.close();
                else peer.abort();
            }
        }
    }
}
