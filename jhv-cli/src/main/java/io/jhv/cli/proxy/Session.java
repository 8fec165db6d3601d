package io.jhv.cli.proxy;

import io.jhv.core.buffer.Buffer;
import io.jhv.core.net.CloseCause;
import io.jhv.core.net.CloseHandler;
import io.jhv.core.net.Connection;
import io.jhv.core.net.Upstream;

import java.util.concurrent.CompletableFuture;

/**
 * One downstream connection of a proxy until (and after) it is piped into its upstream connection.
 * Subclasses read the protocol's greeting ({@code CONNECT}, the SOCKS handshake) from
 * {@link #onInput}, then call {@link #dial}; the session holds what the client sends meanwhile (the
 * downstream stops reading while the upstream connects), passes a half-close that came early on,
 * and pipes the two with {@link Upstream#pipe} once the upstream is up.
 *
 * <p>Thread contract: everything runs on the downstream connection's loop thread.
 */
abstract class Session implements CloseHandler, Dialer.PeerShutdown {
    /** Most bytes kept of an unfinished greeting (request head, SOCKS request). */
    static final int MAX_GREETING = 64 * 1024;

    final Connection down;
    final ProxyLog log;
    /** Bytes received and not consumed yet: the greeting being read, then what came after it. */
    Buffer pending;
    Connection up;
    private boolean piped, downEnded;
    private CompletableFuture<Connection> dialing;
    private io.jhv.core.loop.Timer greetingTimer;

    Session(Connection down, ProxyLog log) {
        this.down = down;
        this.log = log;
        down.context(this);
        down.addCloseListener(this);
        down.onMessage(input);
    }

    private final io.jhv.core.net.MessageHandler input = (c, buf) -> receive(buf);

    /**
     * Back to reading a greeting after an exchange that ended without a pipe (an HTTP request
     * answered on a connection the client keeps): the upstream connection is forgotten, the held
     * bytes are read as the start of the next greeting. Loop thread.
     */
    final void resumeGreeting() {
        dialing = null;
        downEnded = false;
        up = null;
        down.onMessage(input);
        down.onWritable((c, writable) -> { });
        if (!down.isConnected()) return;
        down.resumeReading();
        if (pending != null && pending.isReadable()) {
            onInput(pending);
            if (dialing == null && down.isConnected() && pending != null && pending.readableBytes() > MAX_GREETING) tooLong();
        }
    }

    private void receive(Buffer buf) {
        if (pending == null) pending = Buffer.allocate(Math.max(1024, buf.readableBytes()));
        pending.write(buf);
        if (dialing != null) return; // held until the upstream is up (reading is paused)
        onInput(pending);
        // still reading the greeting, and it is too long (what follows a complete one does not count)
        if (dialing == null && down.isConnected() && pending != null && pending.readableBytes() > MAX_GREETING) tooLong();
    }

    /**
     * Closes the connection if the client has not finished its greeting (the upstream is not being
     * dialled) within {@code ms}: {@link #greetingTimedOut} says how. Loop thread.
     */
    final void greetingTimeout(long ms) {
        greetingTimer = down.loop().setTimeout(ms, () -> {
            greetingTimer = null;
            if (dialing == null && down.isConnected() && !greetingDone()) greetingTimedOut(ms);
        });
    }

    /** Whether the greeting is complete (a reply chosen or a relay set up) though no upstream is dialled. */
    boolean greetingDone() { return false; }

    /** The greeting took longer than {@code ms}. Default: log and close. */
    void greetingTimedOut(long ms) {
        log.info(down, "no complete request within " + ms + " ms; closing");
        down.abort();
    }

    /** New greeting bytes are in {@code in}: consume what is complete. Not called once dialing. */
    abstract void onInput(Buffer in);

    /** The greeting is longer than {@link #MAX_GREETING}. Default: close. */
    void tooLong() {
        log.info(down, "greeting longer than " + MAX_GREETING + " bytes; closing");
        down.abort();
    }

    /**
     * Connects the upstream; the downstream stops reading until then. {@code then} runs on success
     * (write a reply, then call {@link #pipe}) and {@code failed} on failure (the session is still
     * unpiped; reply and close).
     */
    final void dial(Dialer dialer, String host, int port, java.util.function.Consumer<Connection> then,
                    java.util.function.Consumer<Throwable> failed) {
        down.pauseReading();
        if (greetingTimer != null) greetingTimer.cancel();
        greetingTimer = null;
        dialing = dialer.dial(down, host, port);
        dialing.whenComplete((c, e) -> {
            if (e != null) {
                if (!down.isClosed()) failed.accept(Dialer.cause(e));
                return;
            }
            if (down.isClosed() || !down.isConnected()) {
                c.close();
                return;
            }
            up = c;
            then.accept(c);
        });
    }

    /** Whether the client half-closed while the upstream was being connected. */
    final boolean downEnded() { return downEnded; }

    /** Pipes the downstream and {@code up}, writes the held bytes to it and resumes reading. */
    final void pipe() {
        piped = true;
        Upstream.pipe(down, up);
        Buffer h = pending;
        pending = null;
        if (h != null && h.isReadable() && up.isConnected()) up.write(h);
        if (downEnded) Upstream.peerShutdown(down);
        if (up.isWritable()) down.resumeReading();
    }

    @Override
    public boolean peerShutdown(Connection c) {
        if (piped) return false;
        if (c == down && dialing != null) {
            downEnded = true; // passed on once piped
            return true;
        }
        c.close(); // a client that leaves in the middle of its greeting
        return true;
    }

    @Override
    public void onClose(Connection c, CloseCause cause) {
        pending = null;
        if (greetingTimer != null) greetingTimer.cancel();
        greetingTimer = null;
        if (!piped && dialing != null && !dialing.isDone()) dialing.cancel(false); // abandons the connect
    }
}
