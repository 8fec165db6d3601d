package io.jhv.http.websocket;

import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.function.Predicate;

/**
 * WebSocket settings, for a server route ({@code HttpServer.ws(path, config, handler)}) or a
 * {@link WebSocketClient}. Immutable; build one with {@link #builder()}.
 *
 * {@snippet :
 * WebSocketConfig cfg = WebSocketConfig.builder()
 *     .maxMessageSize(1 << 20)                      // a bigger message gets 1009
 *     .pingInterval(Duration.ofSeconds(20))         // a silent peer is closed after a missed pong
 *     .subprotocols("chat.v2", "chat.v1")
 *     .build();
 * }
 *
 * <p>Thread contract: immutable, any thread.
 */
public final class WebSocketConfig {

    /** Default {@link #maxMessageSize()}: 16 MiB. */
    public static final int DEFAULT_MAX_MESSAGE_SIZE = 16 << 20;

    private static final WebSocketConfig DEFAULTS = new Builder().build();

    private final int maxFrameSize;
    private final int maxMessageSize;
    private final boolean compression;
    private final int compressionThreshold;
    private final int compressionLevel;
    private final boolean serverNoContextTakeover;
    private final boolean clientNoContextTakeover;
    private final int serverMaxWindowBits;
    private final int clientMaxWindowBits;
    private final Duration pingInterval;
    private final Duration pongTimeout;
    private final Duration idleTimeout;
    private final Duration closeTimeout;
    private final List<String> subprotocols;
    private final Predicate<String> originCheck;
    private final boolean streaming;

    private WebSocketConfig(Builder b) {
        this.maxFrameSize = b.maxFrameSize;
        this.maxMessageSize = b.maxMessageSize;
        this.compression = b.compression;
        this.compressionThreshold = b.compressionThreshold;
        this.compressionLevel = b.compressionLevel;
        this.serverNoContextTakeover = b.serverNoContextTakeover;
        this.clientNoContextTakeover = b.clientNoContextTakeover;
        this.serverMaxWindowBits = b.serverMaxWindowBits;
        this.clientMaxWindowBits = b.clientMaxWindowBits;
        this.pingInterval = b.pingInterval;
        this.pongTimeout = b.pongTimeout;
        this.idleTimeout = b.idleTimeout;
        this.closeTimeout = b.closeTimeout;
        this.subprotocols = b.subprotocols;
        this.originCheck = b.originCheck;
        this.streaming = b.streaming;
    }

    /** The defaults: 16 MiB messages, permessage-deflate on, no heartbeat, 5 s close timeout. */
    public static WebSocketConfig defaults() {
        return DEFAULTS;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** A builder starting from this configuration's values. */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.maxFrameSize = maxFrameSize;
        b.maxFrameSizeSet = maxFrameSize != maxMessageSize;
        b.maxMessageSize = maxMessageSize;
        b.compression = compression;
        b.compressionThreshold = compressionThreshold;
        b.compressionLevel = compressionLevel;
        b.serverNoContextTakeover = serverNoContextTakeover;
        b.clientNoContextTakeover = clientNoContextTakeover;
        b.serverMaxWindowBits = serverMaxWindowBits;
        b.clientMaxWindowBits = clientMaxWindowBits;
        b.pingInterval = pingInterval;
        b.pongTimeout = pongTimeout;
        b.idleTimeout = idleTimeout;
        b.closeTimeout = closeTimeout;
        b.subprotocols = subprotocols;
        b.originCheck = originCheck;
        b.streaming = streaming;
        return b;
    }

    public int maxFrameSize() { return maxFrameSize; }
    public int maxMessageSize() { return maxMessageSize; }
    public boolean compression() { return compression; }
    public int compressionThreshold() { return compressionThreshold; }
    public int compressionLevel() { return compressionLevel; }
    public boolean serverNoContextTakeover() { return serverNoContextTakeover; }
    public boolean clientNoContextTakeover() { return clientNoContextTakeover; }
    public int serverMaxWindowBits() { return serverMaxWindowBits; }
    public int clientMaxWindowBits() { return clientMaxWindowBits; }
    public Duration pingInterval() { return pingInterval; }
    /** The pong timeout in effect: the one set, or the ping interval when none was. */
    public Duration pongTimeout() { return pongTimeout.isZero() ? pingInterval : pongTimeout; }
    public Duration idleTimeout() { return idleTimeout; }
    public Duration closeTimeout() { return closeTimeout; }
    public List<String> subprotocols() { return subprotocols; }
    public Predicate<String> originCheck() { return originCheck; }
    public boolean streaming() { return streaming; }

    /** Builds a {@link WebSocketConfig}. Not thread-safe. */
    public static final class Builder {
        private int maxFrameSize = DEFAULT_MAX_MESSAGE_SIZE;
        private boolean maxFrameSizeSet;
        private int maxMessageSize = DEFAULT_MAX_MESSAGE_SIZE;
        private boolean compression = true;
        private int compressionThreshold = 128;
        private int compressionLevel = 6;
        private boolean serverNoContextTakeover;
        private boolean clientNoContextTakeover;
        private int serverMaxWindowBits = 15;
        private int clientMaxWindowBits = 15;
        private Duration pingInterval = Duration.ZERO;
        private Duration pongTimeout = Duration.ZERO;
        private Duration idleTimeout = Duration.ZERO;
        private Duration closeTimeout = Duration.ofSeconds(5);
        private List<String> subprotocols = List.of();
        private Predicate<String> originCheck;
        private boolean streaming;

        private Builder() {
        }

        /**
         * The largest frame payload accepted (default and at most {@link #maxMessageSize}): a
         * bigger one closes with 1009 as soon as its header arrives, before its payload is read.
         */
        public Builder maxFrameSize(int bytes) {
            if (bytes < 125) throw new IllegalArgumentException("maxFrameSize < 125: " + bytes);
            this.maxFrameSize = bytes;
            this.maxFrameSizeSet = true;
            return this;
        }

        /**
         * The largest message accepted, after decompression (default 16 MiB): a bigger one closes
         * with 1009, also when it arrives in many small frames or as a small deflated payload (a
         * deflate bomb is stopped at this size, never held whole). Also bounds
         * {@link #maxFrameSize}.
         */
        public Builder maxMessageSize(int bytes) {
            if (bytes < 125) throw new IllegalArgumentException("maxMessageSize < 125: " + bytes);
            this.maxMessageSize = bytes;
            return this;
        }

        /** Offers (client) or accepts (server) permessage-deflate, RFC 7692 (default true). */
        public Builder compression(boolean on) {
            this.compression = on;
            return this;
        }

        /** Messages shorter than this are sent uncompressed even with permessage-deflate (default 128 bytes). */
        public Builder compressionThreshold(int bytes) {
            if (bytes < 0) throw new IllegalArgumentException("compressionThreshold < 0: " + bytes);
            this.compressionThreshold = bytes;
            return this;
        }

        /** The deflate level, 1 (fast) to 9 (small); default 6. */
        public Builder compressionLevel(int level) {
            if (level < 1 || level > 9) throw new IllegalArgumentException("compression level must be 1-9: " + level);
            this.compressionLevel = level;
            return this;
        }

        /**
         * Asks for (client) or announces (server) that the server compresses each message on its own
         * ({@code server_no_context_takeover}): less memory per socket, less compression.
         */
        public Builder serverNoContextTakeover(boolean on) {
            this.serverNoContextTakeover = on;
            return this;
        }

        /** Asks (server) or announces (client) {@code client_no_context_takeover}. */
        public Builder clientNoContextTakeover(boolean on) {
            this.clientNoContextTakeover = on;
            return this;
        }

        /** Asks for (client) or sets (server) {@code server_max_window_bits}, 8-15 (default 15). */
        public Builder serverMaxWindowBits(int bits) {
            this.serverMaxWindowBits = windowBits(bits);
            return this;
        }

        /** Asks for (server) or announces (client) {@code client_max_window_bits}, 8-15 (default 15). */
        public Builder clientMaxWindowBits(int bits) {
            this.clientMaxWindowBits = windowBits(bits);
            return this;
        }

        /** Sends a ping this often ({@code Duration.ZERO}, the default, sends none). */
        public Builder pingInterval(Duration interval) {
            this.pingInterval = nonNegative(interval, "ping interval");
            return this;
        }

        /**
         * Closes the socket (1006 reported, after an error {@link WebSocketException} with 1001) when
         * the pong to a ping does not arrive within this time; default: the ping interval.
         */
        public Builder pongTimeout(Duration timeout) {
            this.pongTimeout = nonNegative(timeout, "pong timeout");
            return this;
        }

        /** Closes the socket with 1001 when no frame arrived for this long ({@code Duration.ZERO}, the default: never). */
        public Builder idleTimeout(Duration timeout) {
            this.idleTimeout = nonNegative(timeout, "idle timeout");
            return this;
        }

        /** How long a close handshake waits for the peer's close frame before dropping the connection (default 5 s). */
        public Builder closeTimeout(Duration timeout) {
            this.closeTimeout = nonNegative(timeout, "close timeout");
            return this;
        }

        /**
         * The subprotocols: on the server the ones it speaks, in order of preference (the first the
         * client also offers is agreed on; none agreed when there is no match); on the client the
         * ones it offers.
         */
        public Builder subprotocols(String... names) {
            for (String n : names) {
                if (n == null || n.isEmpty() || n.chars().anyMatch(ch -> ch <= ' ' || ch >= 127 || ",;\"()<>@:\\/[]?={}".indexOf(ch) >= 0)) {
                    throw new IllegalArgumentException("not a subprotocol token: " + n);
                }
            }
            this.subprotocols = List.of(names);
            return this;
        }

        /**
         * Server only: the handshake is refused with 403 unless {@code check} accepts its
         * {@code Origin} header (null when the request has none: browsers always send one).
         */
        public Builder originCheck(Predicate<String> check) {
            this.originCheck = Objects.requireNonNull(check, "check");
            return this;
        }

        /**
         * Delivers a fragmented message frame by frame as it arrives ({@link Message#isLast()} marks
         * the end), instead of gathering it whole: large messages without holding them in memory.
         * {@link #maxMessageSize} still bounds the whole message. Default false.
         */
        public Builder streaming(boolean on) {
            this.streaming = on;
            return this;
        }

        public WebSocketConfig build() {
            if (!maxFrameSizeSet || maxFrameSize > maxMessageSize) maxFrameSize = maxMessageSize;
            return new WebSocketConfig(this);
        }

        private static int windowBits(int bits) {
            if (bits < 8 || bits > 15) throw new IllegalArgumentException("window bits must be 8-15: " + bits);
            return bits;
        }

        private static Duration nonNegative(Duration d, String what) {
            Objects.requireNonNull(d, what);
            if (d.isNegative()) throw new IllegalArgumentException(what + " < 0: " + d);
            return d;
        }
    }
}
