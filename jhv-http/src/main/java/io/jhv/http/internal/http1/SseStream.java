package io.jhv.http.internal.http1;

import io.jhv.http.server.Response.ChunkedWriter;
import io.jhv.http.server.Response.SseEmitter;

import java.time.Duration;

/** Server-sent events over a streamed response: formats each event and writes it as one chunk. Any thread. */
final class SseStream implements SseEmitter {
    private final ChunkedWriter w;

    SseStream(ChunkedWriter w) {
        this.w = w;
    }

    @Override
    public SseEmitter send(String data) {
        return send(null, data, null);
    }

    @Override
    public SseEmitter send(String event, String data, String id) {
        StringBuilder sb = new StringBuilder();
        if (id != null) sb.append("id: ").append(oneLine(id)).append('\n');
        if (event != null) sb.append("event: ").append(oneLine(event)).append('\n');
        for (String line : data.split("\r\n|\r|\n", -1)) sb.append("data: ").append(line).append('\n');
        sb.append('\n');
        w.write(sb.toString());
        return this;
    }

    @Override
    public SseEmitter comment(String text) {
        w.write(": " + oneLine(text) + "\n\n");
        return this;
    }

    @Override
    public SseEmitter retry(Duration delay) {
        w.write("retry: " + delay.toMillis() + "\n\n");
        return this;
    }

    @Override
    public void close() {
        w.close();
    }

    private static String oneLine(String s) {
        if (s.indexOf('\n') >= 0 || s.indexOf('\r') >= 0) throw new IllegalArgumentException("SSE field may not contain a line break");
        return s;
    }
}
