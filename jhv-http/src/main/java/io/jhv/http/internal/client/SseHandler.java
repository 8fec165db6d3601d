package io.jhv.http.internal.client;

import io.jhv.core.buffer.Buffer;
import io.jhv.http.client.EventSourceListener;
import io.jhv.http.client.HttpClientException;
import io.jhv.http.client.HttpResponse;
import io.jhv.http.client.ResponseHandler;
import io.jhv.http.client.ResponseStream;
import io.jhv.http.client.ServerSentEvent;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * Parses a {@code text/event-stream} body (the HTML standard's event stream format) into
 * {@link ServerSentEvent}s: lines ending in LF, CR or CRLF; {@code data}, {@code event}, {@code id},
 * {@code retry} fields; comments; an event per blank line. A line is bounded (1 MiB), and so is an
 * event's data ({@link #MAX_EVENT}, 8 Mi chars): past it the stream fails.
 */
final class SseHandler implements ResponseHandler {
    private static final int MAX_LINE = 1 << 20;
    /** The most data one event may carry (its data lines together, in chars). */
    static final int MAX_EVENT = 8 << 20;
    private final EventSourceListener listener;
    private final ByteArrayOutputStream line = new ByteArrayOutputStream();
    private final StringBuilder data = new StringBuilder();
    private boolean hasData;
    private String event;
    private String lastId;
    private long retry = -1;
    private boolean lastWasCr;
    private ResponseStream stream;
    private boolean failed;
    /** Why the stream was given up here (a wrong status or type, a line too long), or null. */
    volatile Throwable failure;

    SseHandler(EventSourceListener listener) {
        this.listener = listener;
    }

    @Override
    public void onHead(HttpResponse head, ResponseStream stream) {
        this.stream = stream;
        String ct = head.header("Content-Type");
        if (!head.isSuccessful() || ct == null || !ct.toLowerCase(java.util.Locale.ROOT).startsWith("text/event-stream")) {
            failed = true;
            failure = new HttpClientException("not an event stream: " + head.status() + " " + ct + " from " + head.url());
            stream.cancel();
            listener.onError(failure);
            return;
        }
        listener.onOpen(head);
    }

    @Override
    public void onBody(Buffer chunk) {
        if (failed) {
            chunk.readerIndex(chunk.writerIndex());
            return;
        }
        byte[] a = chunk.array();
        int end = chunk.writerIndex();
        for (int i = chunk.readerIndex(); i < end; i++) {
            byte b = a[i];
            if (b == '\n' && lastWasCr) {
                lastWasCr = false;
                continue;
            }
            lastWasCr = b == '\r';
            if (b == '\n' || b == '\r') {
                line(line.toString(StandardCharsets.UTF_8));
                line.reset();
                if (failed) return;
            } else {
                if (line.size() >= MAX_LINE) {
                    failed = true;
                    failure = new HttpClientException("event stream line longer than " + MAX_LINE + " bytes");
                    stream.cancel();
                    listener.onError(failure);
                    return;
                }
                line.write(b);
            }
        }
        chunk.readerIndex(end);
    }

    private void line(String l) {
        if (l.isEmpty()) {
            if (hasData) {
                String d = data.toString();
                listener.onEvent(new ServerSentEvent(lastId, event == null ? "message" : event, d, retry));
            }
            data.setLength(0);
            hasData = false;
            event = null;
            return;
        }
        if (l.charAt(0) == ':') return; // comment
        int colon = l.indexOf(':');
        String field = colon < 0 ? l : l.substring(0, colon);
        String value = colon < 0 ? "" : l.substring(colon + 1);
        if (value.startsWith(" ")) value = value.substring(1);
        switch (field) {
            case "data" -> {
                if ((long) data.length() + value.length() + 1 > MAX_EVENT) {
                    failed = true;
                    failure = new HttpClientException("event stream event larger than " + MAX_EVENT
                            + " bytes of data (no blank line ends it)");
                    data.setLength(0);
                    stream.cancel();
                    listener.onError(failure);
                    return;
                }
                if (hasData) data.append('\n');
                data.append(value);
                hasData = true;
            }
            case "event" -> event = value;
            case "id" -> {
                if (value.indexOf('\0') < 0) lastId = value;
            }
            case "retry" -> {
                if (!value.isEmpty() && value.chars().allMatch(c -> c >= '0' && c <= '9') && value.length() < 18) retry = Long.parseLong(value);
            }
            default -> { }
        }
    }

    @Override
    public void onComplete(HttpResponse response) {
        if (!failed) listener.onClosed();
    }

    @Override
    public void onError(Throwable error) {
        if (!failed) listener.onError(error);
        failed = true;
    }
}
