package io.jhv.core.net;

import io.jhv.core.buffer.Buffer;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BiFunction;

/**
 * A toy line protocol for tests: answers each line with {@code name + ":" + line}. A line
 * equal to {@code switchLine} hands the connection to what {@code next} makes, from inside
 * onData, in the middle of the read. Records its life for assertions.
 */
public class LineProtocol implements ProtocolHandler {
    private static final byte[] NL = {'\n'};

    public final String name;
    private final String switchLine;
    private final BiFunction<Connection, String, ProtocolHandler> next;
    public final List<String> events = new CopyOnWriteArrayList<>();
    public final CompletableFuture<CloseCause> closed = new CompletableFuture<>();
    public final CompletableFuture<Void> detached = new CompletableFuture<>();

    public LineProtocol(String name) {
        this(name, null, null);
    }

    public LineProtocol(String name, String switchLine, BiFunction<Connection, String, ProtocolHandler> next) {
        this.name = name;
        this.switchLine = switchLine;
        this.next = next;
    }

    @Override
    public void onAttach(Connection conn) {
        events.add("attach");
    }

    @Override
    public void onData(Connection conn, Buffer in) {
        int eol;
        while (conn.protocol() == this && (eol = in.indexOf(NL, 0)) >= 0) {
            String line = in.readString(eol, StandardCharsets.ISO_8859_1);
            in.skip(1);
            events.add("line " + line);
            if (line.equals(switchLine)) {
                conn.write(name + ":switching\n");
                conn.handover(next.apply(conn, line));
                return; // the rest of this read is the next protocol's
            }
            onLine(conn, line);
        }
    }

    /** Answers a line. */
    protected void onLine(Connection conn, String line) {
        conn.write(name + ":" + line + "\n");
    }

    @Override
    public void onDetach(Connection conn) {
        events.add("detach");
        detached.complete(null);
    }

    @Override
    public void onClose(Connection conn, CloseCause cause) {
        events.add("close " + cause.kind());
        closed.complete(cause);
    }

    @Override
    public String toString() {
        return "line protocol " + name;
    }
}
