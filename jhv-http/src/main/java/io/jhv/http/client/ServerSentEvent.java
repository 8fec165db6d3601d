package io.jhv.http.client;

/**
 * One server-sent event (the {@code text/event-stream} format of the HTML standard).
 *
 * @param id    the {@code id:} field, or the last id seen before (null if none)
 * @param event the {@code event:} type, {@code "message"} when not given
 * @param data  the {@code data:} lines joined with {@code \n}
 * @param retry the {@code retry:} field in milliseconds, or -1
 */
public record ServerSentEvent(String id, String event, String data, long retry) {
}
