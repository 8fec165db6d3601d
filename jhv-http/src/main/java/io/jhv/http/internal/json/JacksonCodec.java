package io.jhv.http.internal.json;

import io.jhv.http.HttpException;
import io.jhv.http.JsonCodec;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;

/**
 * A codec that calls a Jackson {@code ObjectMapper} through method handles: found by
 * {@link Json#detect()} by reflection, so Jackson is no compile dependency. Any thread (the
 * mapper is).
 */
final class JacksonCodec implements JsonCodec {
    private final Object mapper;
    private final MethodHandle write; // byte[] writeValueAsBytes(Object)
    private final MethodHandle read;  // Object readValue(byte[], int, int, Class)

    JacksonCodec(Class<?> mapperClass) throws ReflectiveOperationException {
        MethodHandles.Lookup lookup = MethodHandles.publicLookup();
        mapper = mapperClass.getConstructor().newInstance();
        write = lookup.findVirtual(mapperClass, "writeValueAsBytes", MethodType.methodType(byte[].class, Object.class));
        read = lookup.findVirtual(mapperClass, "readValue",
                MethodType.methodType(Object.class, byte[].class, int.class, int.class, Class.class));
    }

    @Override
    public byte[] encode(Object value) {
        try {
            return (byte[]) write.invoke(mapper, value);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable e) {
            throw new IllegalArgumentException("cannot encode " + (value == null ? null : value.getClass().getName())
                    + " as JSON: " + e.getMessage(), e);
        }
    }

    @Override
    public <T> T decode(byte[] json, int offset, int length, Class<T> type) {
        try {
            return type.cast(read.invoke(mapper, json, offset, length, type));
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable e) {
            // JsonProcessingException (an IOException): the body is not valid JSON for the type.
            throw new HttpException(400, "Invalid JSON: " + firstLine(e.getMessage()), e);
        }
    }

    @Override
    public String toString() {
        return "JsonCodec[Jackson " + mapper.getClass().getPackage().getImplementationVersion() + "]";
    }

    private static String firstLine(String s) {
        if (s == null) return "";
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }
}
