package io.jhv.core.net;

import io.jhv.core.buffer.Buffer;
import io.jhv.core.loop.Timer;
import io.jhv.core.tls.TlsInfo;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Supplier;

/**
 * Picks the protocol handler of a new server connection: by the ALPN protocol the TLS handshake
 * agreed on, else by the first bytes the client sends (Helidon's {@code ServerConnectionSelector}).
 * Set it as an endpoint's protocol: {@code server.protocol(selector)}; every connection gets its
 * own selecting handler, which hands the connection (and every byte it peeked at) to the chosen
 * protocol and is gone.
 *
 * <pre>
 *  connection up --ALPN agreed and listed?--> that protocol
 *                --no first-bytes rules-----> otherwise (or close: ERROR)
 *                --peek at the first bytes: a rule says YES --> its protocol
 *                                           every rule says NO --> otherwise (or close: ERROR)
 *                                           still undecided at maxPeek bytes --> close: ERROR
 *                                           still undecided at peekTimeout   --> close: TIMEOUT
 * </pre>
 *
 * <p>Thread contract: build it on any thread before the server starts; it is immutable and
 * shared by the server's loops. Rules and suppliers run on the connection's loop thread.
 *
 * {@snippet :
 * TcpServer.create(7000)
 *     .tls(TlsConfig.server().certificate(cert).alpn("h2", "http/1.1").build())
 *     .protocol(ProtocolSelector.builder()
 *         .alpn("h2", H2::new)
 *         .prefix("PRI * HTTP/2.0\r\n", H2::new)   // h2 with prior knowledge
 *         .otherwise(Http1::new)
 *         .build())
 *     .start();
 * }
 */
public final class ProtocolSelector implements Supplier<ProtocolHandler> {

    /** What a first-bytes rule says about the bytes seen so far. */
    public enum Match {
        /** This is the rule's protocol. */
        YES,
        /** It is not. */
        NO,
        /** More bytes are needed to tell. */
        MORE
    }

    /** A first-bytes rule. Called on the loop thread; it must not consume {@code peek}. */
    @FunctionalInterface
    public interface Detector {
        Match test(Buffer peek);
    }

    private record Rule(Detector detector, Supplier<? extends ProtocolHandler> protocol) {}

    private final Map<String, Supplier<? extends ProtocolHandler>> alpn;
    private final Rule[] rules;
    private final Supplier<? extends ProtocolHandler> otherwise;
    private final int maxPeek;
    private final long peekTimeoutMs;
    /** Without first-bytes rules the choice needs no state: one handler serves every connection. */
    private final AlpnOnly alpnOnly;

    private ProtocolSelector(Builder b) {
        this.alpn = Map.copyOf(b.alpn);
        this.rules = b.rules.toArray(new Rule[0]);
        this.otherwise = b.otherwise;
        this.maxPeek = b.maxPeek;
        // A positive timeout below a millisecond is the shortest one, not zero ("for ever").
        this.peekTimeoutMs = b.peekTimeout.isZero() ? 0 : Math.max(1, b.peekTimeout.toMillis());
        this.alpnOnly = rules.length == 0 ? new AlpnOnly() : null;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** A selecting handler for one new connection (shared when there are no first-bytes rules). Loop thread. */
    @Override
    public ProtocolHandler get() {
        return alpnOnly != null ? alpnOnly : new Peeking();
    }

    /** Hands {@code conn} over to a fresh handler of {@code protocol}. */
    private static void choose(Connection conn, Supplier<? extends ProtocolHandler> protocol) {
        conn.handover(Objects.requireNonNull(protocol.get(), "a protocol supplier of the selector returned null"));
    }

    /** By ALPN: true if it chose. */
    private boolean byAlpn(Connection conn) {
        TlsInfo tls = TlsInfo.of(conn);
        String agreed = tls == null ? null : tls.applicationProtocol();
        Supplier<? extends ProtocolHandler> p = agreed == null || agreed.isEmpty() ? null : alpn.get(agreed);
        if (p == null) return false;
        choose(conn, p);
        return true;
    }

    private void noProtocol(Connection conn, String why) {
        if (otherwise != null) choose(conn, otherwise);
        else conn.closeInLoop(CloseCause.error("no protocol for this connection: " + why, null), true);
    }

    private static String alpnText(Connection conn) {
        TlsInfo tls = TlsInfo.of(conn);
        return tls == null ? "no TLS" : "ALPN " + tls.applicationProtocol();
    }

    /** The selecting handler when only ALPN decides: chooses in onAttach, never sees a byte. */
    private final class AlpnOnly implements ProtocolHandler {
        @Override
        public void onAttach(Connection conn) {
            if (!byAlpn(conn)) noProtocol(conn, alpnText(conn));
        }

        @Override
        public void onData(Connection conn, Buffer in) {
            // not reached: onAttach hands over or closes
        }

        @Override
        public String toString() { return "protocol selector (ALPN)"; }
    }

    /** The selecting handler that waits for the first bytes, bounded by maxPeek and peekTimeout. */
    private final class Peeking implements ProtocolHandler, Runnable {
        private Connection conn;
        private Timer timer;

        @Override
        public void onAttach(Connection c) {
            conn = c;
            if (byAlpn(c)) return;
            if (peekTimeoutMs > 0) timer = c.loop().setTimeout(peekTimeoutMs, this);
        }

        @Override
        public void onData(Connection c, Buffer in) {
            boolean undecided = false;
            int reader = in.readerIndex();
            for (Rule r : rules) {
                Match m = r.detector.test(in);
                in.readerIndex(reader); // a rule only peeks
                if (m == Match.YES) {
                    choose(c, r.protocol); // everything peeked at goes on to it
                    return;
                }
                if (m == Match.MORE) undecided = true;
            }
            if (!undecided) {
                noProtocol(c, "the first bytes match no rule");
            } else if (in.readableBytes() >= maxPeek) {
                c.closeInLoop(CloseCause.error("protocol not recognised in the first " + in.readableBytes() + " bytes", null), true);
            }
            // else: wait for more; the connection keeps the bytes and offers them again
        }

        /** The peek timeout. */
        @Override
        public void run() {
            timer = null;
            if (conn.protocol() == this) conn.closeInLoop(CloseCause.timeout("protocol selection"), true);
        }

        @Override
        public void onDetach(Connection c) { cancel(); }

        @Override
        public void onClose(Connection c, CloseCause cause) { cancel(); }

        private void cancel() {
            Timer t = timer;
            timer = null;
            if (t != null) t.cancel();
        }

        @Override
        public String toString() { return "protocol selector (first bytes)"; }
    }

    /** Builds a {@link ProtocolSelector}. Not thread-safe. */
    public static final class Builder {
        private final Map<String, Supplier<? extends ProtocolHandler>> alpn = new LinkedHashMap<>();
        private final List<Rule> rules = new ArrayList<>();
        private Supplier<? extends ProtocolHandler> otherwise;
        private int maxPeek = 1024;
        private int longestPrefix;
        private Duration peekTimeout = Duration.ofSeconds(10);

        private Builder() {
        }

        /**
         * Connections whose TLS handshake agreed on ALPN {@code protocol} get {@code handler}. The
         * server's {@code TlsConfig} must offer the name ({@code alpn(...)}).
         */
        public Builder alpn(String protocol, Supplier<? extends ProtocolHandler> handler) {
            alpn.put(Objects.requireNonNull(protocol, "protocol"), Objects.requireNonNull(handler, "handler"));
            return this;
        }

        /** A first-bytes rule, tried in the order added (after ALPN). */
        public Builder firstBytes(Detector detector, Supplier<? extends ProtocolHandler> handler) {
            rules.add(new Rule(Objects.requireNonNull(detector, "detector"), Objects.requireNonNull(handler, "handler")));
            return this;
        }

        /** A first-bytes rule: the input starts with {@code prefix} (ISO-8859-1). */
        public Builder prefix(String prefix, Supplier<? extends ProtocolHandler> handler) {
            byte[] p = prefix.getBytes(StandardCharsets.ISO_8859_1);
            if (p.length == 0) throw new IllegalArgumentException("empty prefix");
            longestPrefix = Math.max(longestPrefix, p.length);
            return firstBytes(in -> {
                int n = Math.min(p.length, in.readableBytes());
                for (int i = 0; i < n; i++) if (in.peek(i) != p[i]) return Match.NO;
                return n == p.length ? Match.YES : Match.MORE;
            }, handler);
        }

        /** The protocol when no ALPN entry and no first-bytes rule matches (default: none, the connection closes). */
        public Builder otherwise(Supplier<? extends ProtocolHandler> handler) {
            this.otherwise = Objects.requireNonNull(handler, "handler");
            return this;
        }

        /** The most bytes waited for while a rule still says MORE (default 1024); then the connection closes. */
        public Builder maxPeek(int bytes) {
            if (bytes < 1) throw new IllegalArgumentException("maxPeek < 1: " + bytes);
            this.maxPeek = bytes;
            return this;
        }

        /** How long the first bytes are waited for (default 10 s; zero: for ever); then the connection closes (TIMEOUT). */
        public Builder peekTimeout(Duration timeout) {
            Objects.requireNonNull(timeout, "timeout");
            if (timeout.isNegative()) throw new IllegalArgumentException("negative timeout: " + timeout);
            this.peekTimeout = timeout;
            return this;
        }

        /**
         * @throws IllegalStateException without any protocol, or when a {@link #prefix} is longer
         *         than {@link #maxPeek} (it could never be told apart)
         */
        public ProtocolSelector build() {
            if (alpn.isEmpty() && rules.isEmpty() && otherwise == null) throw new IllegalStateException("a selector needs at least one protocol");
            if (longestPrefix > maxPeek) {
                throw new IllegalStateException("a prefix of " + longestPrefix + " bytes can never match within maxPeek " + maxPeek);
            }
            return new ProtocolSelector(this);
        }
    }
}
