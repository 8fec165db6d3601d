package io.jhv.http;

import io.jhv.http.internal.json.Json;

import java.nio.charset.StandardCharsets;

/**
 * Turns objects into JSON and back. The server uses Jackson when it is on the class path, and a
 * small built-in codec (maps, lists, strings, numbers, booleans, null, records) otherwise.
 *
 * <p>The built-in codec ({@link #builtIn()}) encodes {@code null}, strings, numbers, booleans,
 * maps, iterables, arrays, records and enums, and decodes into {@code Object} (a tree of
 * {@code LinkedHashMap}, {@code ArrayList}, {@code String}, {@code Long}/{@code BigInteger},
 * {@code Double}, {@code Boolean}, null), maps, lists, strings, numbers, booleans, enums, arrays and
 * records. Bad JSON, or JSON of the wrong shape, is an {@link HttpException} 400 naming the byte
 * offset; a value that cannot be encoded is an {@link IllegalArgumentException}.
 *
 * <p>Thread contract: the codecs made here are immutable and usable from any thread; an
 * implementation given to the server must be too.
 *
 * {@snippet :
 * record User(long id, String name) {}
 * JsonCodec json = JsonCodec.builtIn();
 * byte[] b = json.encode(new User(1, "ann"));     // {"id":1,"name":"ann"}
 * User u = json.decode(b, 0, b.length, User.class);
 * }
 */
public interface JsonCodec {
    /** Encodes {@code value} as UTF-8 JSON. */
    byte[] encode(Object value);

    /** Decodes {@code length} bytes of UTF-8 JSON at {@code offset} into {@code type}. */
    <T> T decode(byte[] json, int offset, int length, Class<T> type);

    /** Encodes {@code value} as a JSON string. */
    default String stringify(Object value) {
        return new String(encode(value), StandardCharsets.UTF_8);
    }

    /** Parses {@code json} into a Map/List/String/Long/Double/Boolean/null tree. */
    default Object parse(String json) {
        return parse(json, Object.class);
    }

    /** Parses {@code json} into {@code type}. */
    default <T> T parse(String json, Class<T> type) {
        byte[] b = json.getBytes(StandardCharsets.UTF_8);
        return decode(b, 0, b.length, type);
    }

    /** The built-in codec (no dependency), refusing nesting deeper than 512 both ways. */
    static JsonCodec builtIn() {
        return Json.create();
    }

    /** A built-in codec that refuses nesting of arrays and objects deeper than {@code maxDepth}. */
    static JsonCodec builtIn(int maxDepth) {
        return Json.create().maxDepth(maxDepth);
    }

    /**
     * The codec the server uses by default: one backed by Jackson's {@code ObjectMapper} when
     * {@code com.fasterxml.jackson.databind} is on the class path (found by reflection, no compile
     * dependency), else {@link #builtIn()}.
     */
    static JsonCodec detect() {
        return Json.detect();
    }
}
