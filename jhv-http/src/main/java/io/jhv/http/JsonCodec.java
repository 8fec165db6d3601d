package io.jhv.http;

/**
 * Turns objects into JSON and back. The server uses Jackson when it is on the class path, and a
 * small built-in codec (maps, lists, strings, numbers, booleans, null, records) otherwise.
 */
public interface JsonCodec {
    byte[] encode(Object value);

    <T> T decode(byte[] json, int offset, int length, Class<T> type);
}
