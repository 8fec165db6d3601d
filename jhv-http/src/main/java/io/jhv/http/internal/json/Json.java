package io.jhv.http.internal.json;

import io.jhv.http.HttpException;
import io.jhv.http.JsonCodec;

import java.lang.reflect.Array;
import java.lang.reflect.Constructor;
import java.lang.reflect.GenericArrayType;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.RecordComponent;
import java.lang.reflect.Type;
import java.lang.reflect.WildcardType;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The built-in JSON codec: a small encoder and a strict RFC 8259 parser, with no dependency.
 *
 * <p>Encodes {@code null}, strings (and other {@link CharSequence}s, chars), numbers, booleans,
 * maps (keys by {@code toString()}), collections and other iterables, arrays (primitive ones
 * too), records (by component, in declaration order) and enums (by name). Decodes into
 * {@code Object} (then objects become {@code LinkedHashMap}, arrays {@code ArrayList}, integers
 * {@code Long} or {@code BigInteger} when larger, other numbers {@code Double}), into {@code Map},
 * {@code List}, {@code String}, boxed or primitive numbers and booleans, enums, arrays and
 * records (fields matched by component name, unknown fields ignored, missing ones null or zero,
 * generic {@code List<X>}, {@code Set<X>} and {@code Map<String, X>} components converted).
 *
 * <p>Errors: bad JSON, or JSON of the wrong shape for the requested type, is an
 * {@link HttpException} 400 naming the byte offset ("Invalid JSON at 17: expected ':'"),
 * because decoding is mostly of request bodies; a value that cannot be encoded is an
 * {@link IllegalArgumentException}. Nesting deeper than {@link #maxDepth()} (default 512) is an
 * error both ways, which also stops cycles.
 *
 * <p>Thread contract: immutable; any thread.
 *
 * <p>Internal: callers reach it through {@link JsonCodec#builtIn()} and {@link JsonCodec#detect()}.
 */
public final class Json implements JsonCodec {
    private static final Json DEFAULT = new Json(512);
    private static final System.Logger LOG = System.getLogger(Json.class.getName());

    private final int maxDepth;

    private Json(int maxDepth) {
        this.maxDepth = maxDepth;
    }

    /** The built-in codec with the default depth limit. */
    public static Json create() {
        return DEFAULT;
    }

    /** A built-in codec that refuses nesting deeper than {@code maxDepth}. */
    public Json maxDepth(int depth) {
        if (depth < 1) throw new IllegalArgumentException("maxDepth < 1: " + depth);
        return new Json(depth);
    }

    /** The deepest nesting of arrays and objects accepted. */
    public int maxDepth() {
        return maxDepth;
    }

    /**
     * The codec the server uses by default: one backed by Jackson's {@code ObjectMapper} when
     * {@code com.fasterxml.jackson.databind} is on the class path (found by reflection, no compile
     * dependency), else {@link #create()}.
     */
    public static JsonCodec detect() {
        ClassLoader cl = Json.class.getClassLoader();
        JsonCodec c = detect(cl);
        if (c == DEFAULT) {
            ClassLoader ctx = Thread.currentThread().getContextClassLoader();
            if (ctx != null && ctx != cl) c = detect(ctx);
        }
        return c;
    }

    /** {@link #detect()} with Jackson looked up in {@code cl}. */
    static JsonCodec detect(ClassLoader cl) {
        Class<?> mapperClass;
        try {
            mapperClass = Class.forName("com.fasterxml.jackson.databind.ObjectMapper", true, cl);
        } catch (ClassNotFoundException | LinkageError e) {
            return DEFAULT;
        }
        try {
            return new JacksonCodec(mapperClass);
        } catch (ReflectiveOperationException | RuntimeException | LinkageError e) {
            LOG.log(System.Logger.Level.WARNING, "Jackson found but not usable, using the built-in JSON codec: " + e);
            return DEFAULT;
        }
    }

    // =================================================================== encode

    @Override
    public byte[] encode(Object value) {
        StringBuilder sb = new StringBuilder(64);
        write(sb, value, 0);
        return sb.toString().getBytes(StandardCharsets.UTF_8);
    }

    @Override
    public String stringify(Object value) {
        StringBuilder sb = new StringBuilder(64);
        write(sb, value, 0);
        return sb.toString();
    }

    private void write(StringBuilder sb, Object v, int depth) {
        if (depth > maxDepth) throw new IllegalArgumentException("JSON nesting deeper than " + maxDepth + " (a cycle?)");
        if (v == null) {
            sb.append("null");
        } else if (v instanceof CharSequence s) {
            quote(sb, s);
        } else if (v instanceof Boolean b) {
            sb.append(b.booleanValue());
        } else if (v instanceof Number n) {
            number(sb, n);
        } else if (v instanceof Character c) {
            quote(sb, String.valueOf(c.charValue()));
        } else if (v instanceof Map<?, ?> m) {
            sb.append('{');
            boolean first = true;
            for (Map.Entry<?, ?> e : m.entrySet()) {
                if (!first) sb.append(',');
                first = false;
                Object k = e.getKey();
                if (k == null) throw new IllegalArgumentException("cannot encode a map with a null key as JSON");
                quote(sb, k instanceof Enum<?> en ? en.name() : k.toString());
                sb.append(':');
                write(sb, e.getValue(), depth + 1);
            }
            sb.append('}');
        } else if (v instanceof Iterable<?> it) {
            sb.append('[');
            boolean first = true;
            for (Object o : it) {
                if (!first) sb.append(',');
                first = false;
                write(sb, o, depth + 1);
            }
            sb.append(']');
        } else if (v.getClass().isArray()) {
            sb.append('[');
            int n = Array.getLength(v);
            for (int i = 0; i < n; i++) {
                if (i > 0) sb.append(',');
                write(sb, Array.get(v, i), depth + 1);
            }
            sb.append(']');
        } else if (v instanceof Enum<?> e) {
            quote(sb, e.name());
        } else if (v instanceof Record) {
            sb.append('{');
            RecordInfo info = RECORDS.get(v.getClass());
            for (int i = 0; i < info.names.length; i++) {
                if (i > 0) sb.append(',');
                quote(sb, info.names[i]);
                sb.append(':');
                write(sb, info.get(v, i), depth + 1);
            }
            sb.append('}');
        } else if (v instanceof java.util.Optional<?> o) {
            write(sb, o.orElse(null), depth);
        } else if (v instanceof java.time.temporal.TemporalAccessor || v instanceof java.time.Duration
                || v instanceof java.util.UUID || v instanceof java.net.URI || v instanceof java.nio.file.Path) {
            quote(sb, v.toString());
        } else {
            throw new IllegalArgumentException("cannot encode " + v.getClass().getName()
                    + " as JSON: the built-in codec handles maps, collections, arrays, records, enums, strings,"
                    + " numbers and booleans (add Jackson for other types)");
        }
    }

    private static void number(StringBuilder sb, Number n) {
        if (n instanceof Double || n instanceof Float) {
            double d = n.doubleValue();
            if (Double.isNaN(d) || Double.isInfinite(d)) throw new IllegalArgumentException("cannot encode " + d + " as JSON");
            if (n instanceof Float f) sb.append(f.floatValue());
            else sb.append(d);
        } else if (n instanceof BigDecimal bd) {
            sb.append(bd.toString());
        } else if (n instanceof Integer || n instanceof Long || n instanceof Short || n instanceof Byte
                || n instanceof BigInteger || n instanceof java.util.concurrent.atomic.AtomicInteger
                || n instanceof java.util.concurrent.atomic.AtomicLong) {
            sb.append(n.toString());
        } else {
            double d = n.doubleValue();
            if (Double.isNaN(d) || Double.isInfinite(d)) throw new IllegalArgumentException("cannot encode " + d + " as JSON");
            sb.append(d);
        }
    }

    private static final char[] HEX = "0123456789abcdef".toCharArray();

    private static void quote(StringBuilder sb, CharSequence s) {
        sb.append('"');
        int n = s.length();
        for (int i = 0; i < n; i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                case '\b' -> sb.append("\\b");
                case '\f' -> sb.append("\\f");
                default -> {
                    if (c < 0x20 || c == 0x7f || c == '\u2028' || c == '\u2029') {
                        unicodeEscape(sb, c);
                    } else if (Character.isSurrogate(c)) {
                        // A valid pair goes out as UTF-8; a lone surrogate cannot, so it is escaped
                        // (JSON allows that) instead of being turned into '?' by the UTF-8 encoder.
                        if (Character.isHighSurrogate(c) && i + 1 < n && Character.isLowSurrogate(s.charAt(i + 1))) {
                            sb.append(c).append(s.charAt(++i));
                        } else {
                            unicodeEscape(sb, c);
                        }
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        sb.append('"');
    }

    private static void unicodeEscape(StringBuilder sb, char c) {
        sb.append("\\u").append(HEX[c >> 12 & 15]).append(HEX[c >> 8 & 15]).append(HEX[c >> 4 & 15]).append(HEX[c & 15]);
    }

    // =================================================================== decode

    @Override
    public <T> T decode(byte[] json, int offset, int length, Class<T> type) {
        java.util.Objects.checkFromIndexSize(offset, length, json.length);
        JsonParser p = new JsonParser(json, offset, offset + length, maxDepth);
        p.skipWs();
        Object v = p.value(0);
        p.skipWs();
        if (p.pos < p.end) throw p.error("unexpected data after the JSON value");
        return convert(v, type, type, "$");
    }

    @Override
    public Object parse(String json) {
        byte[] b = json.getBytes(StandardCharsets.UTF_8);
        return decode(b, 0, b.length, Object.class);
    }

    @Override
    public <T> T parse(String json, Class<T> type) {
        byte[] b = json.getBytes(StandardCharsets.UTF_8);
        return decode(b, 0, b.length, type);
    }

    // =================================================================== conversion to types

    private static HttpException shape(String path, String what) {
        return new HttpException(400, "Invalid JSON value at " + path + ": " + what);
    }

    private static String kind(Object v) {
        if (v == null) return "null";
        if (v instanceof Map) return "an object";
        if (v instanceof List) return "an array";
        if (v instanceof String) return "a string";
        if (v instanceof Boolean) return "a boolean";
        return "a number";
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    private static <T> T convert(Object v, Class<T> raw, Type generic, String path) {
        if (raw == Object.class) return (T) v;
        if (v == null) {
            if (raw.isPrimitive()) throw shape(path, "null for a " + raw.getName());
            return null;
        }
        if (raw == String.class) {
            if (v instanceof String) return (T) v;
            throw shape(path, "expected a string, got " + kind(v));
        }
        if (raw == boolean.class || raw == Boolean.class) {
            if (v instanceof Boolean) return (T) v;
            throw shape(path, "expected a boolean, got " + kind(v));
        }
        if (raw.isPrimitive() || Number.class.isAssignableFrom(raw)) return (T) toNumber(v, raw, path);
        if (raw == char.class || raw == Character.class) {
            if (v instanceof String s && s.length() == 1) return (T) Character.valueOf(s.charAt(0));
            throw shape(path, "expected a one-character string, got " + kind(v));
        }
        if (raw.isEnum()) {
            if (v instanceof String s) {
                for (Object c : raw.getEnumConstants()) {
                    if (((Enum<?>) c).name().equals(s)) return (T) c;
                }
                throw shape(path, "'" + s + "' is not one of " + java.util.Arrays.toString(raw.getEnumConstants()));
            }
            throw shape(path, "expected a string, got " + kind(v));
        }
        if (raw.isRecord()) {
            if (!(v instanceof Map<?, ?> m)) throw shape(path, "expected an object, got " + kind(v));
            return (T) RECORDS.get(raw).construct((Map<String, Object>) m, path);
        }
        if (raw.isArray()) {
            if (!(v instanceof List<?> l)) throw shape(path, "expected an array, got " + kind(v));
            Class<?> ct = raw.getComponentType();
            Type gct = generic instanceof GenericArrayType ga ? ga.getGenericComponentType() : ct;
            Object arr = Array.newInstance(ct, l.size());
            for (int i = 0; i < l.size(); i++) Array.set(arr, i, convert(l.get(i), ct, gct, path + "[" + i + "]"));
            return (T) arr;
        }
        if (Map.class.isAssignableFrom(raw)) {
            if (!(v instanceof Map<?, ?> m)) throw shape(path, "expected an object, got " + kind(v));
            Type vt = typeArg(generic, 1);
            if (vt == null || vt == Object.class) {
                if (raw.isInstance(m)) return (T) m;
                throw new IllegalArgumentException("cannot decode JSON into " + raw.getName() + ": use Map or LinkedHashMap");
            }
            Map out = new LinkedHashMap<>();
            for (Map.Entry<?, ?> e : m.entrySet()) {
                out.put(e.getKey(), convert(e.getValue(), rawOf(vt), vt, path + "." + e.getKey()));
            }
            return (T) out;
        }
        if (Collection.class.isAssignableFrom(raw)) {
            if (!(v instanceof List<?> l)) throw shape(path, "expected an array, got " + kind(v));
            Type et = typeArg(generic, 0);
            Collection out = Set.class.isAssignableFrom(raw) ? new LinkedHashSet<>() : new ArrayList<>(l.size());
            if (!raw.isInstance(out)) throw new IllegalArgumentException("cannot decode JSON into " + raw.getName() + ": use List or Set");
            for (int i = 0; i < l.size(); i++) {
                Object o = l.get(i);
                out.add(et == null || et == Object.class ? o : convert(o, rawOf(et), et, path + "[" + i + "]"));
            }
            return (T) out;
        }
        throw new IllegalArgumentException("cannot decode JSON into " + raw.getName()
                + ": the built-in codec handles Object, Map, List, Set, String, numbers, booleans, enums, arrays"
                + " and records (add Jackson for other types)");
    }

    private static Object toNumber(Object v, Class<?> t, String path) {
        if (!(v instanceof Number n)) throw shape(path, "expected a number, got " + kind(v));
        boolean integral = n instanceof Long || n instanceof BigInteger;
        if (t == double.class || t == Double.class) return n.doubleValue();
        if (t == float.class || t == Float.class) return n.floatValue();
        if (t == BigDecimal.class) return n instanceof Double d ? BigDecimal.valueOf(d) : new BigDecimal(n.toString());
        if (t == BigInteger.class) {
            if (!integral) throw shape(path, "expected an integer, got " + n);
            return n instanceof BigInteger bi ? bi : BigInteger.valueOf(n.longValue());
        }
        if (t == Number.class) return n;
        if (!integral) throw shape(path, "expected an integer, got " + n);
        if (n instanceof BigInteger) throw shape(path, n + " is out of range for " + t.getSimpleName());
        long l = n.longValue();
        if (t == long.class || t == Long.class) return l;
        if (t == int.class || t == Integer.class) {
            if (l != (int) l) throw shape(path, l + " is out of range for int");
            return (int) l;
        }
        if (t == short.class || t == Short.class) {
            if (l != (short) l) throw shape(path, l + " is out of range for short");
            return (short) l;
        }
        if (t == byte.class || t == Byte.class) {
            if (l != (byte) l) throw shape(path, l + " is out of range for byte");
            return (byte) l;
        }
        throw new IllegalArgumentException("cannot decode JSON into " + t.getName());
    }

    private static Type typeArg(Type t, int i) {
        if (t instanceof ParameterizedType pt && pt.getActualTypeArguments().length > i) {
            Type a = pt.getActualTypeArguments()[i];
            if (a instanceof WildcardType w) return w.getUpperBounds()[0];
            return a;
        }
        return null;
    }

    private static Class<?> rawOf(Type t) {
        if (t instanceof Class<?> c) return c;
        if (t instanceof ParameterizedType pt) return (Class<?>) pt.getRawType();
        if (t instanceof GenericArrayType ga) return Array.newInstance(rawOf(ga.getGenericComponentType()), 0).getClass();
        if (t instanceof WildcardType w) return rawOf(w.getUpperBounds()[0]);
        return Object.class;
    }

    private static Object zero(Class<?> t) {
        if (!t.isPrimitive()) return null;
        if (t == boolean.class) return false;
        if (t == char.class) return '\0';
        if (t == long.class) return 0L;
        if (t == double.class) return 0.0;
        if (t == float.class) return 0f;
        if (t == short.class) return (short) 0;
        if (t == byte.class) return (byte) 0;
        return 0;
    }

    // =================================================================== records

    private static final ClassValue<RecordInfo> RECORDS = new ClassValue<>() {
        @Override
        protected RecordInfo computeValue(Class<?> type) {
            return new RecordInfo(type);
        }
    };

    /** The components of a record class, their accessors and its canonical constructor. */
    private static final class RecordInfo {
        final Class<?> type;
        final String[] names;
        final Class<?>[] types;
        final Type[] generics;
        final java.lang.reflect.Method[] accessors;
        final Constructor<?> ctor;

        RecordInfo(Class<?> type) {
            this.type = type;
            RecordComponent[] rc = type.getRecordComponents();
            names = new String[rc.length];
            types = new Class<?>[rc.length];
            generics = new Type[rc.length];
            accessors = new java.lang.reflect.Method[rc.length];
            for (int i = 0; i < rc.length; i++) {
                names[i] = rc[i].getName();
                types[i] = rc[i].getType();
                generics[i] = rc[i].getGenericType();
                accessors[i] = rc[i].getAccessor();
                trySetAccessible(accessors[i]);
            }
            Constructor<?> c;
            try {
                c = type.getDeclaredConstructor(types);
                trySetAccessible(c);
            } catch (NoSuchMethodException e) {
                c = null;
            }
            ctor = c;
        }

        private static void trySetAccessible(java.lang.reflect.AccessibleObject o) {
            try {
                o.setAccessible(true);
            } catch (RuntimeException ignored) {
                // not open to us: public members of exported packages still work without it
            }
        }

        Object get(Object record, int i) {
            try {
                return accessors[i].invoke(record);
            } catch (ReflectiveOperationException e) {
                throw new IllegalArgumentException("cannot read " + type.getName() + "." + names[i]
                        + " for JSON (is the record public, or its package open to io.jhv.http?): " + e, e);
            }
        }

        Object construct(Map<String, Object> m, String path) {
            if (ctor == null) throw new IllegalArgumentException("no canonical constructor in " + type.getName());
            Object[] args = new Object[names.length];
            for (int i = 0; i < names.length; i++) {
                Object v = m.get(names[i]);
                args[i] = v == null ? zero(types[i]) : convert(v, types[i], generics[i], path + "." + names[i]);
            }
            try {
                return ctor.newInstance(args);
            } catch (java.lang.reflect.InvocationTargetException e) {
                // The record's own validation refused the value: the client's fault.
                Throwable c = e.getCause();
                throw new HttpException(400, "Invalid JSON value at " + path + ": " + c.getMessage(), c);
            } catch (ReflectiveOperationException e) {
                throw new IllegalArgumentException("cannot create " + type.getName()
                        + " from JSON (is the record public, or its package open to io.jhv.http?): " + e, e);
            }
        }
    }

    @Override
    public String toString() {
        return "JsonCodec[built-in, maxDepth=" + maxDepth + "]";
    }
}
