package io.jhv.core.net;

import io.jhv.core.buffer.Buffer;

/**
 * Splits a byte stream into packages (libhv's {@code unpack_setting_t}). Set one on a server or
 * client; {@code onMessage} then gets exactly one package per call.
 *
 * <p>An unpacker is a stateless rule and may be shared by all connections; it is called on the
 * loop thread.
 */
public interface Unpacker {

    /**
     * The length in bytes of the first complete package at {@code in}'s reader index, or -1 if more
     * bytes are needed. Must not consume bytes.
     *
     * @throws UnpackException if the input is malformed or the package is larger than allowed
     */
    int frameLength(Buffer in);

    /** Bytes to strip from the front of each package before it is delivered (a length header). */
    default int strip() {
        return 0;
    }
}
