package io.jhv.core.net;

/** Thrown by an {@link Unpacker} on malformed or oversized input; the connection closes with it. */
public class UnpackException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public UnpackException(String message) {
        super(message);
    }
}
