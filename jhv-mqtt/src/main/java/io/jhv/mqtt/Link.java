package io.jhv.mqtt;

import io.jhv.core.buffer.Buffer;
import io.jhv.core.net.Connection;
import io.jhv.core.tls.TlsConfig;
import io.jhv.http.websocket.Message;
import io.jhv.http.websocket.WebSocket;
import io.jhv.http.websocket.WebSocketClient;
import io.jhv.http.websocket.WebSocketHandler;

import java.util.concurrent.CompletionException;

/**
 * One connection of a {@link ClientSession} to the broker (not public API): TCP, with or without
 * TLS, through jhv-core's {@code Connector}, or a WebSocket through jhv-http's
 * {@link WebSocketClient} (subprotocol "mqtt", MQTT packets in binary messages, split anywhere).
 * A link reports to its session; the session ignores a link that is no longer its current one.
 * Loop thread only.
 */
abstract class Link {
    final ClientSession session;

    Link(ClientSession session) { this.session = session; }

    abstract void open();
    abstract void write(Buffer b);
    /** False while the transport's write queue is above its high-water mark. */
    abstract boolean isWritable();
    abstract void close();
    abstract void pauseReading();
    abstract void resumeReading();
    /** After a pause: decode what was buffered and not yet handled. */
    abstract void redeliver();
    /** ACK what the broker sent now rather than delayed (see {@link Connection#quickAck()}). */
    abstract void quickAck();

    static String why(Throwable err) {
        return String.valueOf(err instanceof CompletionException ce && ce.getCause() != null ? ce.getCause() : err);
    }

    /** TCP or TLS: the session's Connector (its onMessage and onClose find the link in the connection's context). */
    static final class Tcp extends Link {
        private Connection conn;

        Tcp(ClientSession session) { super(session); }

        @Override void open() {
            MqttClient cfg = session.config();
            session.connector().connect(session.loop(), cfg.host, cfg.port).whenComplete((c, err) -> {
                if (err != null) {
                    session.attemptFailed(this, why(err), err);
                    return;
                }
                conn = c;
                if (!session.isCurrent(this) || session.closing()) {
                    c.context(null);
                    c.close();
                    session.abandoned(this);
                    return;
                }
                c.context(this);
                if (session.paused()) c.pauseReading();
                session.linkUp(this);
            });
        }

        @Override void write(Buffer b) {
            if (conn != null && conn.isConnected()) conn.write(b);
        }

        @Override boolean isWritable() { return conn != null && conn.isWritable(); }

        @Override void close() { if (conn != null) conn.close(); }
        @Override void pauseReading() { if (conn != null) conn.pauseReading(); }
        @Override void resumeReading() { if (conn != null) conn.resumeReading(); }
        @Override void redeliver() { } // the connection offers kept bytes again on resumeReading
        @Override void quickAck() { if (conn != null) conn.quickAck(); }
    }

    /** MQTT over WebSocket: a WebSocketClient per connection, on the session's loop, without its own reconnect. */
    static final class Ws extends Link implements WebSocketHandler {
        private WebSocket ws;
        private final Buffer in = Buffer.allocate(256); // packets span messages: bytes wait here
        private boolean up;

        Ws(ClientSession session) { super(session); }

        @Override void open() {
            MqttClient cfg = session.config();
            String u = cfg.scheme + "://" + (cfg.host.indexOf(':') >= 0 ? "[" + cfg.host + "]" : cfg.host) + ":" + cfg.port + cfg.path;
            WebSocketClient c = WebSocketClient.create(u).subprotocols("mqtt").loop(session.loop()).connectTimeout(cfg.connectTimeout)
                    .handshakeTimeout(cfg.connectTimeout).handler(this);
            if (cfg.scheme.equals("wss")) c.tls(cfg.tls != null ? cfg.tls : TlsConfig.client().build());
            c.connect().whenComplete((w, err) -> {
                if (err != null) {
                    session.attemptFailed(this, why(err), err);
                    return;
                }
                ws = w;
                if (!session.isCurrent(this) || session.closing()) {
                    w.close();
                    session.abandoned(this);
                    return;
                }
                up = true;
                w.onWritable(x -> session.writable(this));
                if (session.paused()) w.pauseReading();
                session.linkUp(this);
            });
        }

        @Override public void onMessage(WebSocket w, Message message) {
            if (!session.isCurrent(this)) return;
            in.write(message.buffer());
            session.onBytes(this, in);
            in.compact();
        }

        @Override public void onClose(WebSocket w, int code, String reason) {
            if (up) session.onLinkClosed(this, "WebSocket closed: " + code + (reason == null || reason.isEmpty() ? "" : " " + reason), null);
        }

        @Override void write(Buffer b) {
            if (ws != null && ws.isOpen()) ws.send(b, false);
        }

        @Override boolean isWritable() { return ws != null && ws.isWritable(); }

        @Override void close() { if (ws != null) ws.close(); }
        @Override void pauseReading() { if (ws != null) ws.pauseReading(); }
        @Override void resumeReading() { if (ws != null) ws.resumeReading(); }
        @Override void quickAck() { if (ws != null) ws.connection().quickAck(); } // the TCP connection under it

        @Override void redeliver() {
            if (session.isCurrent(this) && in.isReadable()) {
                session.onBytes(this, in);
                in.compact();
            }
        }
    }
}
