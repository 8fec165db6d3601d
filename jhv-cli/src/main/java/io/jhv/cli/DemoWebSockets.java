package io.jhv.cli;

import io.jhv.http.JsonCodec;
import io.jhv.http.server.HttpServer;
import io.jhv.http.websocket.CloseCodes;
import io.jhv.http.websocket.Handshake;
import io.jhv.http.websocket.Message;
import io.jhv.http.websocket.WebSocket;
import io.jhv.http.websocket.WebSocketConfig;
import io.jhv.http.websocket.WebSocketGroup;
import io.jhv.http.websocket.WebSocketHandler;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The WebSocket endpoints of {@code hv httpd}:
 * <ul>
 * <li>{@code /ws/echo} sends every message back unchanged, text as text and binary as binary, up to
 * {@link #ECHO_MAX_MESSAGE} bytes (the size conformance suites use; the library's default is
 * smaller). A client that does not read its echoes is slowed down by TCP (reading pauses while the
 * socket's queue is above its high-water mark) instead of growing the server's memory.
 * <li>{@code /ws/chat?name=NICK} is a chat room: every text message goes to all members (the sender
 * too) as JSON, with notices when someone joins or leaves; a receiver too slow to keep up misses
 * messages instead of growing memory ({@link WebSocketGroup}).
 * </ul>
 * Chat messages, one JSON object per WebSocket message:
 * <pre>
 * {"type":"welcome","name":"ann","online":2}       to a new member only: the name it got
 * {"type":"join","name":"bob","online":3}           to the others
 * {"type":"message","name":"ann","text":"hi"}       to everyone
 * {"type":"leave","name":"bob","online":2}          to the others
 * </pre>
 */
final class DemoWebSockets {
    /** The largest message /ws/echo takes: 64 MiB. */
    static final int ECHO_MAX_MESSAGE = 64 << 20;
    /** The largest chat message: 64 KiB. */
    static final int CHAT_MAX_MESSAGE = 64 << 10;
    /** The longest nickname, in characters. */
    static final int MAX_NAME = 32;

    static final WebSocketConfig ECHO_CONFIG = WebSocketConfig.builder()
            .maxMessageSize(ECHO_MAX_MESSAGE).maxFrameSize(ECHO_MAX_MESSAGE).build();
    /** Pings find browsers that vanished without closing (a laptop lid closed). */
    static final WebSocketConfig CHAT_CONFIG = WebSocketConfig.builder()
            .maxMessageSize(CHAT_MAX_MESSAGE).pingInterval(Duration.ofSeconds(30)).build();

    private DemoWebSockets() {}

    /** Adds /ws/echo and /ws/chat (one chat room per server) to {@code s}. */
    static void install(HttpServer s) {
        s.ws("/ws/echo", ECHO_CONFIG, new Echo());
        s.ws("/ws/chat", CHAT_CONFIG, new Chat());
    }

    /** Every message back as it came. */
    static final class Echo implements WebSocketHandler {
        @Override
        public void onOpen(WebSocket ws, Handshake handshake) {
            ws.onWritable(WebSocket::resumeReading);
        }

        @Override
        public void onMessage(WebSocket ws, Message msg) {
            ws.send(msg);
            if (!ws.isWritable()) ws.pauseReading();
        }
    }

    /** One chat room. */
    static final class Chat implements WebSocketHandler {
        private final WebSocketGroup room = new WebSocketGroup(1 << 20, WebSocketGroup.SlowPolicy.SKIP);
        private final JsonCodec json = JsonCodec.builtIn();
        private final AtomicInteger guests = new AtomicInteger();

        @Override
        public void onOpen(WebSocket ws, Handshake handshake) {
            String name = nickname(handshake.queryParam("name"));
            if (name.isEmpty()) name = "guest-" + guests.incrementAndGet();
            ws.context(name);
            room.add(ws);
            int online = room.size();
            ws.send(event("welcome", name, "online", online));
            room.broadcast(event("join", name, "online", online), ws);
        }

        @Override
        public void onMessage(WebSocket ws, Message msg) {
            if (!msg.isText()) {
                ws.close(CloseCodes.UNSUPPORTED_DATA, "the chat takes text messages");
                return;
            }
            String name = ws.context();
            room.broadcast(event("message", name, "text", msg.text()));
        }

        @Override
        public void onClose(WebSocket ws, int code, String reason) {
            String name = ws.context();
            if (name == null) return;
            room.remove(ws);
            room.broadcast(event("leave", name, "online", room.size()));
        }

        private String event(String type, String name, String key, Object value) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("type", type);
            m.put("name", name);
            m.put(key, value);
            return json.stringify(m);
        }
    }

    /** The nickname asked for, without control characters, at most {@link #MAX_NAME} characters; "" for none. */
    static String nickname(String asked) {
        if (asked == null) return "";
        StringBuilder sb = new StringBuilder();
        asked.strip().codePoints().filter(c -> !Character.isISOControl(c) && Character.getType(c) != Character.FORMAT)
                .limit(MAX_NAME).forEach(sb::appendCodePoint);
        return sb.toString().strip();
    }
}
