package io.jhv.http.internal.ws;

import io.jhv.core.buffer.Buffer;
import io.jhv.http.websocket.Message;

import java.nio.charset.StandardCharsets;

/**
 * The borrowed view of a received message that {@code onMessage} gets: one per socket, pointed at
 * the socket's message buffer for the call and cleared after it. Loop thread only.
 */
final class ReceivedMessage implements Message {
    private boolean text;
    private boolean last;
    private Buffer buf;

    void set(boolean text, boolean last, Buffer buf) {
        this.text = text;
        this.last = last;
        this.buf = buf;
    }

    private Buffer buf() {
        if (buf == null) throw new IllegalStateException("a Message is only valid during the onMessage call that delivered it");
        return buf;
    }

    @Override public boolean isText() { return text; }
    @Override public boolean isLast() { return last; }
    @Override public int length() { return buf().readableBytes(); }
    @Override public Buffer buffer() { return buf(); }
    @Override public String text() { Buffer b = buf(); return new String(b.array(), b.readerIndex(), b.readableBytes(), StandardCharsets.UTF_8); }
    @Override public byte[] bytes() { Buffer b = buf(); return java.util.Arrays.copyOfRange(b.array(), b.readerIndex(), b.writerIndex()); }

    @Override
    public String toString() {
        return buf == null ? "Message[expired]" : "Message[" + (text ? "text" : "binary") + ", " + buf.readableBytes() + " bytes" + (last ? "" : ", fragment") + "]";
    }
}
