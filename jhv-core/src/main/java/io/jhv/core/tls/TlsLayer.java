package io.jhv.core.tls;

import io.jhv.core.buffer.Buffer;
import io.jhv.core.net.CloseCause;
import io.jhv.core.net.Connection;
import io.jhv.core.internal.TransportLayer;
import io.jhv.core.loop.Timer;

import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.security.cert.CertPathBuilderException;
import java.security.cert.CertPathValidatorException;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.CertificateExpiredException;
import java.security.cert.CertificateNotYetValidException;
import java.security.cert.X509Certificate;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import javax.net.ssl.ExtendedSSLSession;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SNIServerName;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLEngineResult;
import javax.net.ssl.SSLEngineResult.HandshakeStatus;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;

/**
 * TLS on a {@link Connection}, on the JDK {@link SSLEngine}: the {@link TransportLayer} that
 * {@code tls(TlsConfig)} installs.
 *
 * <p>Thread contract: every method runs on the connection's loop thread (the connection calls it
 * there); the {@link TlsInfo} getters are meant for callbacks on that thread too.
 *
 * <pre>
 *  socket -> Connection (read buffer / leftover) -> onRead: unwrap -> appIn (per loop) -> sink.deliver
 *  write(plain) -> [pending, before the handshake] -> wrap -> netOut (per loop) -> sink.writeRaw
 *                                                                  -> socket, else the write queue
 * </pre>
 * The write queue holds ciphertext, so the connection's high-water mark and back-pressure apply to
 * exactly what waits for the socket. Plaintext written before the handshake finished waits here, in
 * order, and goes out right after it.
 *
 * <p>Buffers: {@code netOut} and {@code appIn} belong to the loop thread, not to a connection: they
 * are only used between the engine call and the hand-off to the connection (which sends or copies
 * ciphertext at once, and copies plaintext it keeps), so an idle TLS connection holds none of them.
 * Delegated tasks (key exchange, certificate checks) run inline on the loop: a handshake costs the
 * loop about a millisecond of CPU, which we accept rather than hop threads for every handshake.
 * For the same reason a server refuses a client-initiated TLS 1.2 renegotiation: the connection
 * closes with an ERROR cause (TLS 1.3 post-handshake messages, key updates and session tickets,
 * work as usual).
 */
final class TlsLayer implements TransportLayer, TlsInfo {
    private static final System.Logger LOG = System.getLogger(TlsLayer.class.getName());

    /** Per-loop-thread buffers (see the class comment). */
    private static final class Scratch {
        ByteBuffer netOut = ByteBuffer.allocate(0);
        Buffer appIn;
        ByteBuffer appNio;
        boolean appBusy;
        final ByteBuffer empty = ByteBuffer.allocate(0);
        // Views over input arrays: the loop's read buffer and the connection's leftover buffer.
        byte[] viewArrayA, viewArrayB;
        ByteBuffer viewA, viewB;

        void ensure(int packetSize, int appSize) {
            if (netOut.capacity() < 4 * packetSize) netOut = ByteBuffer.allocate(4 * packetSize);
            if (appIn == null || appIn.capacity() < 4 * appSize + Buffer.CHEAP_PREPEND) {
                appIn = Buffer.allocate(4 * appSize);
                appNio = ByteBuffer.wrap(appIn.array());
            }
        }

        ByteBuffer view(Buffer in) {
            byte[] a = in.array();
            ByteBuffer v;
            if (a == viewArrayA) {
                v = viewA;
            } else if (a == viewArrayB) {
                v = viewB;
            } else {
                viewArrayB = viewArrayA;
                viewB = viewA;
                viewArrayA = a;
                viewA = v = ByteBuffer.wrap(a);
            }
            v.limit(in.writerIndex()).position(in.readerIndex());
            return v;
        }
    }

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    private final TlsConfig config;
    private final Connection conn;
    private final boolean clientMode;
    private final SSLEngine engine;
    private final RuntimeException initError;
    private final String sentServerName;
    private Sink sink;
    private Scratch scratch;
    private Timer handshakeTimer;
    private int packetSize, appSize;

    private boolean handshakeDone;
    private boolean wrapping;         // inside wrapApp: a nested write waits in pending (keeps order)
    private boolean outboundClosed;
    private boolean closeDeferred;    // closeOutbound() arrived inside wrapApp
    private boolean failed;
    private boolean released;         // the connection closed (release())
    // A server on TLS 1.2 or older after its handshake: a new handshake can only be a client's
    // renegotiation, which is refused (TLS 1.3 has none; its post-handshake messages are fine).
    private boolean refuseHandshakes;
    private boolean handshakeAbandoned; // released during the handshake: we closed the engine's inbound side
    private ArrayDeque<ByteBuffer> pending; // plaintext, in order

    /** {@code peerHost}: a client's target when it is not the socket's peer (through a proxy), else null. */
    TlsLayer(TlsConfig config, Connection conn, boolean clientMode, String peerHost, int peerPort) {
        this.config = config;
        this.conn = conn;
        this.clientMode = clientMode;
        SSLEngine e = null;
        RuntimeException err = null;
        String host = null;
        try {
            int port = 0;
            if (clientMode && peerHost != null) {
                host = peerHost; // tunnelled through a proxy: TLS is with the target, not the proxy
                port = peerPort;
            } else if (clientMode && conn.remoteAddress() instanceof InetSocketAddress a) {
                host = a.getHostString(); // the name the client connected to, if it used one
                port = a.getPort();
            }
            if (config.serverName() != null) host = config.serverName();
            e = config.newEngine(clientMode, host, port);
        } catch (RuntimeException ex) {
            err = ex; // thrown from start(), where the connection handles it
        }
        this.engine = e;
        this.initError = err;
        this.sentServerName = clientMode && host != null && !TlsConfig.isIpLiteral(host) ? host : null;
    }

    // ---------------------------------------------------------------- TransportLayer

    @Override
    public boolean start(Sink sink) {
        this.sink = sink;
        if (initError != null) throw initError;
        scratch = SCRATCH.get();
        updateSizes();
        handshakeTimer = conn.loop().setTimeout(config.handshakeTimeoutMillis(), this::onHandshakeTimeout);
        try {
            engine.beginHandshake();
            drive(engine.getHandshakeStatus());
        } catch (SSLException e) {
            fail(e);
        }
        return false; // ready() comes when the handshake finishes
    }

    @Override
    public boolean isReady() { return handshakeDone; }

    @Override
    public boolean hasPendingWrites() { return pending != null && !pending.isEmpty(); }

    /**
     * The connection closed: the handshake timer goes (it would keep the connection and this engine
     * reachable until it fired), and so do pending plaintext writes. An engine closed during its
     * handshake is closed both ways, which drops its handshake state; an established one is left as
     * it is: TlsInfo getters in close callbacks still read its session, and closing its inbound side
     * without the peer's close_notify would invalidate that session for resumption.
     */
    @Override
    public void release() {
        if (released) return;
        released = true;
        if (handshakeTimer != null) {
            handshakeTimer.cancel();
            handshakeTimer = null;
        }
        pending = null;
        closeDeferred = false;
        if (engine != null && !handshakeDone) {
            handshakeAbandoned = true;
            engine.closeOutbound();
            try {
                engine.closeInbound();
            } catch (SSLException expected) {
                // "closing inbound before receiving peer's close_notify": we know, we are closed
            }
        }
    }

    @Override
    public void onRead(Buffer in) {
        if (failed || engine.isInboundDone()) {
            in.skip(in.readableBytes()); // nothing may follow close_notify or a fatal error
            return;
        }
        ByteBuffer src = scratch.view(in);
        try {
            unwrapAll(src, in);
        } catch (SSLException e) {
            if (in.isReadable()) in.skip(in.readableBytes());
            fail(e);
        }
    }

    @Override
    public void write(ByteBuffer plain, boolean owned) {
        if (failed) return; // the connection is closing with the error already
        if (outboundClosed || engine.isOutboundDone()) {
            throw new IllegalStateException(engine.isInboundDone()
                    ? "write after the peer closed the TLS session (close_notify; TLS 1.2 has no half-close)"
                    : "write after the TLS session was closed (close_notify sent)");
        }
        if (!handshakeDone || wrapping || (pending != null && !pending.isEmpty())) {
            enqueue(plain, owned);
            if (!handshakeDone || wrapping) return;
        } else {
            try {
                wrapApp(plain);
            } catch (SSLException e) {
                fail(e);
                return;
            }
        }
        afterWrite();
    }

    @Override
    public void closeOutbound() {
        if (outboundClosed || failed) return;
        outboundClosed = true;
        if (wrapping) {
            closeDeferred = true; // the outer wrapApp still has plaintext to send first
            return;
        }
        sendCloseNotify();
    }

    // ---------------------------------------------------------------- reading

    private void unwrapAll(ByteBuffer src, Buffer in) throws SSLException {
        Scratch s = scratch;
        Buffer app;
        ByteBuffer dst;
        boolean shared = !s.appBusy;
        if (shared) {
            s.appBusy = true;
            app = s.appIn;
            dst = s.appNio;
        } else { // not expected (no nested reads on a loop), but never share a buffer in use
            app = Buffer.allocate(appSize);
            dst = ByteBuffer.wrap(app.array());
        }
        try {
            while (!failed && !conn.isClosed()) {
                if (app.array() != dst.array()) dst = ByteBuffer.wrap(app.array()); // a handler grew it
                if (app.capacity() - app.writerIndex() < appSize) {
                    if (app.isReadable()) {
                        deliver(app);
                        continue;
                    }
                    app.clear();
                    if (app.capacity() - app.writerIndex() < appSize) {
                        app = Buffer.allocate(2 * appSize);
                        dst = ByteBuffer.wrap(app.array());
                        if (shared) {
                            s.appIn = app;
                            s.appNio = dst;
                        }
                    }
                }
                dst.limit(dst.capacity()).position(app.writerIndex());
                SSLEngineResult r = engine.unwrap(src, dst);
                in.readerIndex(src.position());
                app.writerIndex(dst.position());
                SSLEngineResult.Status st = r.getStatus();
                if (st == SSLEngineResult.Status.BUFFER_OVERFLOW) {
                    updateSizes();
                    if (app.isReadable()) {
                        deliver(app);
                    } else {
                        appSize = Math.max(appSize, app.capacity()); // the next turn allocates a larger one
                    }
                    continue;
                }
                HandshakeStatus hs = r.getHandshakeStatus();
                if (st == SSLEngineResult.Status.CLOSED) {
                    // The peer's close_notify. TLS 1.2 answers with its own (NEED_WRAP); TLS 1.3 keeps
                    // our side open (half-close). The peer's FIN follows and the connection sees it.
                    deliver(app);
                    if (LOG.isLoggable(System.Logger.Level.DEBUG)) LOG.log(System.Logger.Level.DEBUG, conn + " TLS close_notify received");
                    drive(hs);
                    if (in.isReadable()) in.skip(in.readableBytes());
                    return;
                }
                if (hs != HandshakeStatus.NOT_HANDSHAKING) {
                    if (refuseHandshakes && hs != HandshakeStatus.FINISHED) {
                        // A ClientHello on an established TLS 1.2 session: renegotiation.
                        deliver(app); // what came before it, in order
                        if (in.isReadable()) in.skip(in.readableBytes());
                        refuseRenegotiation();
                        return;
                    }
                    if (hs == HandshakeStatus.FINISHED) deliver(app); // nothing is expected; keep order anyway
                    drive(hs);
                }
                if (st == SSLEngineResult.Status.BUFFER_UNDERFLOW) break; // a partial record: wait for more
                if (r.bytesConsumed() == 0 && r.bytesProduced() == 0 && hs == HandshakeStatus.NOT_HANDSHAKING) break;
                if (!src.hasRemaining() && engine.getHandshakeStatus() != HandshakeStatus.NEED_UNWRAP_AGAIN) break;
            }
            deliver(app);
        } finally {
            if (shared) {
                app.clear();
                s.appBusy = false;
            }
        }
    }

    private void deliver(Buffer app) {
        if (!app.isReadable()) return;
        if (!failed && !conn.isClosed()) sink.deliver(app);
        app.clear(); // the connection consumed it or copied what it keeps
    }

    // ---------------------------------------------------------------- writing

    private void enqueue(ByteBuffer plain, boolean owned) {
        if (!plain.hasRemaining()) return;
        ByteBuffer b = plain;
        if (!owned) {
            b = ByteBuffer.allocate(plain.remaining());
            b.put(plain).flip();
        }
        if (pending == null) pending = new ArrayDeque<>(4);
        pending.add(b);
    }

    /** After an outermost write: nested writes and a nested close go out now, in order. */
    private void afterWrite() {
        try {
            ArrayDeque<ByteBuffer> p = pending;
            ByteBuffer b;
            while (p != null && handshakeDone && !wrapping && !failed && !conn.isClosed() && (b = p.poll()) != null) wrapApp(b);
        } catch (SSLException e) {
            fail(e);
            return;
        }
        if (closeDeferred && !wrapping) {
            closeDeferred = false;
            sendCloseNotify();
        }
    }

    /** Encrypts application bytes into records and sends them; several records per socket write. */
    private void wrapApp(ByteBuffer src) throws SSLException {
        wrapping = true;
        try {
            ByteBuffer out = scratch.netOut;
            out.clear();
            while (src.hasRemaining() && !failed && !conn.isClosed()) {
                if (out.remaining() < packetSize) {
                    flush(out);
                    out = scratch.netOut;
                    if (out.remaining() < packetSize) out = growNetOut();
                }
                SSLEngineResult r = engine.wrap(src, out);
                switch (r.getStatus()) {
                    case OK -> { }
                    case BUFFER_OVERFLOW -> {
                        updateSizes();
                        flush(out);
                        out = scratch.netOut;
                        if (out.remaining() < packetSize) out = growNetOut();
                        continue;
                    }
                    case CLOSED -> throw new IllegalStateException("write after the TLS session was closed");
                    default -> throw new SSLException("unexpected wrap status " + r.getStatus());
                }
                HandshakeStatus hs = r.getHandshakeStatus();
                if (hs != HandshakeStatus.NOT_HANDSHAKING && hs != HandshakeStatus.FINISHED) {
                    flush(out);
                    drive(hs); // a key update, for example
                    out = scratch.netOut;
                    out.clear();
                }
            }
            flush(out);
        } finally {
            wrapping = false;
        }
    }

    private ByteBuffer growNetOut() {
        scratch.netOut = ByteBuffer.allocate(4 * packetSize);
        return scratch.netOut;
    }

    /** Hands the ciphertext in {@code out} to the connection (sent now or copied into the queue). */
    private void flush(ByteBuffer out) {
        out.flip();
        if (out.hasRemaining()) sink.writeRaw(out, false);
        out.clear();
    }

    private void sendCloseNotify() {
        try {
            engine.closeOutbound();
            wrapHandshake();
        } catch (SSLException e) {
            // The connection is closing anyway; the peer sees a FIN without close_notify.
            if (LOG.isLoggable(System.Logger.Level.DEBUG)) LOG.log(System.Logger.Level.DEBUG, conn + " close_notify failed: " + e);
        }
    }

    // ---------------------------------------------------------------- handshake

    /** Runs the handshake as far as it goes without more input from the peer. */
    private void drive(HandshakeStatus hs) throws SSLException {
        while (!failed && !conn.isClosed()) {
            switch (hs) {
                case NEED_TASK -> {
                    Runnable task;
                    while ((task = engine.getDelegatedTask()) != null) task.run();
                    hs = engine.getHandshakeStatus();
                }
                case NEED_WRAP -> hs = wrapHandshake();
                case FINISHED -> {
                    handshakeFinished();
                    hs = engine.getHandshakeStatus(); // a TLS 1.3 server may still send session tickets
                }
                default -> { // NEED_UNWRAP (wait for the peer), NOT_HANDSHAKING
                    if (hs == HandshakeStatus.NOT_HANDSHAKING && !handshakeDone && !outboundClosed && !engine.isInboundDone()) {
                        handshakeFinished();
                        continue;
                    }
                    return;
                }
            }
        }
    }

    /** Wraps handshake (or alert) records while the engine wants to; returns the status after. */
    private HandshakeStatus wrapHandshake() throws SSLException {
        ByteBuffer out = scratch.netOut;
        out.clear();
        HandshakeStatus hs;
        while (true) {
            if (out.remaining() < packetSize) {
                flush(out);
                out = scratch.netOut;
                if (out.remaining() < packetSize) out = growNetOut();
            }
            SSLEngineResult r = engine.wrap(scratch.empty, out);
            hs = r.getHandshakeStatus();
            if (r.getStatus() == SSLEngineResult.Status.BUFFER_OVERFLOW) {
                updateSizes();
                flush(out);
                out = scratch.netOut;
                if (out.remaining() < packetSize) out = growNetOut();
                continue;
            }
            if (r.getStatus() == SSLEngineResult.Status.CLOSED) {
                if (r.bytesProduced() > 0 && hs == HandshakeStatus.NEED_WRAP) continue;
                hs = HandshakeStatus.NOT_HANDSHAKING;
                break;
            }
            if (hs != HandshakeStatus.NEED_WRAP) break;
            if (r.bytesProduced() == 0) break; // no progress: don't spin
        }
        flush(out);
        return hs;
    }

    private void handshakeFinished() {
        if (handshakeDone) return;
        handshakeDone = true;
        refuseHandshakes = !clientMode && isTls12OrOlder(engine.getSession().getProtocol());
        if (handshakeTimer != null) {
            handshakeTimer.cancel();
            handshakeTimer = null;
        }
        updateSizes();
        if (LOG.isLoggable(System.Logger.Level.DEBUG)) {
            LOG.log(System.Logger.Level.DEBUG, conn + " TLS up: " + protocol() + " " + cipherSuite()
                    + (applicationProtocol() != null ? " alpn=" + applicationProtocol() : ""));
        }
        afterWrite(); // writes made before the handshake finished, in order
        if (!failed && !conn.isClosed()) sink.ready();
    }

    private void updateSizes() {
        SSLSession s = engine.getSession();
        packetSize = Math.max(packetSize, s.getPacketBufferSize());
        appSize = Math.max(appSize, s.getApplicationBufferSize());
        scratch.ensure(packetSize, appSize);
    }

    private static boolean isTls12OrOlder(String protocol) {
        return switch (protocol) {
            case "TLSv1.2", "TLSv1.1", "TLSv1", "SSLv3" -> true;
            default -> false;
        };
    }

    /**
     * Refuses a client-initiated renegotiation, as nginx and Go do: each one costs the server a full
     * handshake of CPU (a cheap denial of service), and no client needs it. Closes the connection at
     * once with an ERROR cause. Per connection, unlike the JVM-wide
     * {@code jdk.tls.rejectClientInitiatedRenegotiation}.
     */
    private void refuseRenegotiation() {
        if (failed) return;
        failed = true;
        if (LOG.isLoggable(System.Logger.Level.DEBUG)) LOG.log(System.Logger.Level.DEBUG, conn + " TLS renegotiation refused");
        sink.fail(CloseCause.error("TLS renegotiation refused: the client started a new handshake on an established "
                + engine.getSession().getProtocol() + " session", null));
    }

    private void onHandshakeTimeout() {
        handshakeTimer = null;
        if (handshakeDone || failed || conn.isClosed()) return;
        failed = true;
        sink.fail(CloseCause.timeout("TLS handshake"));
    }

    /** Sends the alert the engine prepared (best effort), then closes the connection with a clear cause. */
    private void fail(SSLException e) {
        if (failed) return;
        failed = true;
        if (handshakeTimer != null) {
            handshakeTimer.cancel();
            handshakeTimer = null;
        }
        try {
            engine.closeOutbound();
            wrapHandshake();
        } catch (SSLException | RuntimeException ignored) {
            // the alert is a courtesy; the close below is what matters
        }
        sink.fail(describe(e), e);
    }

    /** A message that says what went wrong in words, from the JDK's exception chain. */
    String describe(SSLException e) {
        String what = handshakeDone ? "TLS error" : "TLS handshake failed";
        String peer = clientMode ? "the server's" : "the client's";
        return what + ": " + reason(e, peer);
    }

    static String reason(SSLException e, String peer) {
        Throwable t;
        if ((t = find(e, CertificateExpiredException.class)) != null) return peer + " certificate has expired (" + t.getMessage() + ")";
        if ((t = find(e, CertificateNotYetValidException.class)) != null) return peer + " certificate is not valid yet (" + t.getMessage() + ")";
        for (t = e; t != null; t = t.getCause()) {
            String m = String.valueOf(t.getMessage());
            if (t instanceof CertPathValidatorException v && v.getReason() == CertPathValidatorException.BasicReason.EXPIRED) {
                return peer + " certificate has expired (" + m + ")";
            }
            if (t instanceof CertPathBuilderException || m.contains("unable to find valid certification path")) {
                return peer + " certificate is not trusted: no trusted CA issued it (unable to find a valid certification path)";
            }
            if (t instanceof CertificateException && m.startsWith("No ") && m.contains("matching")) {
                return peer + " certificate is not for this host: " + m;
            }
        }
        String m = String.valueOf(e.getMessage());
        if (m.contains("Unsupported or unrecognized SSL message") || m.contains("plaintext connection")) {
            return "the peer does not speak TLS (" + m + ")";
        }
        if (m.contains("Empty client certificate chain")) return "the client sent no certificate, but one is required";
        if (m.contains("Received fatal alert: ")) {
            String alert = m.substring(m.indexOf("Received fatal alert: ") + 22);
            String hint = switch (alert) {
                case "certificate_required" -> " (the server requires a client certificate)";
                case "bad_certificate", "unknown_ca", "certificate_unknown" -> " (the peer does not accept our certificate)";
                case "no_application_protocol" -> " (no ALPN protocol in common)";
                case "protocol_version" -> " (no TLS version in common)";
                case "handshake_failure" -> " (no cipher suite or parameters in common)";
                default -> "";
            };
            return "the peer refused: alert " + alert + hint;
        }
        if (m.contains("No appropriate protocol")) return "no TLS version or cipher suite in common with the peer (" + m + ")";
        if (m.contains("application protocol") || m.contains("application_protocol")) return "no ALPN protocol in common (" + m + ")";
        return m;
    }

    private static Throwable find(Throwable e, Class<? extends Throwable> type) {
        for (Throwable t = e; t != null; t = t.getCause()) if (type.isInstance(t)) return t;
        return null;
    }

    // ---------------------------------------------------------------- TlsInfo

    @Override
    public boolean isHandshakeComplete() { return handshakeDone; }

    @Override
    public String protocol() { return handshakeDone ? engine.getSession().getProtocol() : null; }

    @Override
    public String cipherSuite() { return handshakeDone ? engine.getSession().getCipherSuite() : null; }

    @Override
    public String applicationProtocol() {
        String p = engine == null ? null : engine.getApplicationProtocol();
        return p == null || p.isEmpty() ? null : p;
    }

    @Override
    public String sniHostName() {
        if (clientMode) return sentServerName;
        SSLSession s = handshakeDone ? engine.getSession() : engine.getHandshakeSession();
        if (s instanceof ExtendedSSLSession es) {
            for (SNIServerName n : es.getRequestedServerNames()) {
                if (n instanceof SNIHostName h) return h.getAsciiName();
            }
        }
        return null;
    }

    @Override
    public List<X509Certificate> peerCertificates() {
        try {
            List<X509Certificate> out = new ArrayList<>();
            for (Certificate c : engine.getSession().getPeerCertificates()) if (c instanceof X509Certificate x) out.add(x);
            return out;
        } catch (SSLPeerUnverifiedException e) {
            return List.of();
        }
    }

    @Override
    public boolean closeNotifyReceived() { return engine != null && engine.isInboundDone() && !failed && !handshakeAbandoned; }

    @Override
    public SSLSession session() { return engine.getSession(); }

    @Override
    public String toString() {
        return "TLS " + (handshakeDone ? protocol() : "handshaking") + " on " + conn;
    }
}
