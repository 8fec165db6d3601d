package io.jhv.core.net;

import io.jhv.core.buffer.Buffer;

/**
 * The protocol handler a connection gets when its endpoint sets none: the endpoint's
 * {@link Unpacker} (if any) frames the input and its {@code onMessage} handler gets each package,
 * or all the bytes when there is no unpacker.
 *
 * <p>One shared instance: it keeps no state of its own (the connection's {@link Inbound} holds the unread
 * bytes and the reusable frame view), so a connection costs no extra object and a read allocates nothing.
 * Loop thread, like every handler.
 */
final class MessageProtocol implements ProtocolHandler {
    static final MessageProtocol INSTANCE = new MessageProtocol();

    private MessageProtocol() {
    }

    @Override
    public void onData(Connection conn, Buffer src) {
        Inbound in = conn.in;
        Unpacker u = in.ep.unpacker;
        if (u == null) {
            in.dispatch(src);
            return;
        }
        Buffer frame = in.frameView;
        // Stop at a close, a pause, or a handover from inside onMessage: the rest stays unread
        // (for the next handler, or for after the pause).
        while (src.isReadable() && in.mayDeliver(this)) {
            int len = u.frameLength(src);
            if (len < 0) break;
            int strip = u.strip();
            // A custom unpacker is user code: a length it cannot mean would spin or throw
            // IndexOutOfBounds deep in here, so refuse it with a cause that says so.
            if (len == 0 || len > src.readableBytes() || strip < 0 || strip > len) {
                throw new UnpackException(u + " returned package length " + len + " (strip " + strip
                        + ") with " + src.readableBytes() + " bytes readable");
            }
            Connection.BUFFERS.rewrap(frame, src.array(), src.readerIndex() + strip, len - strip);
            src.skip(len);
            in.dispatch(frame);
        }
    }

    @Override
    public String toString() {
        return "unpacker+onMessage";
    }
}
