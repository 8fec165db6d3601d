package io.jhv.http.internal.json;

import io.jhv.http.HttpException;

import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A strict RFC 8259 recursive-descent parser over UTF-8 bytes, into a tree of
 * {@code LinkedHashMap}, {@code ArrayList}, {@code String}, {@code Long}/{@code BigInteger},
 * {@code Double}, {@code Boolean} and null. Errors are {@link HttpException} 400 naming the byte
 * offset; nesting deeper than the limit is an error, never a stack overflow. One per decode call;
 * not thread-safe.
 */
final class JsonParser {
    final byte[] b;
    final int start;
    final int end;
    final int maxDepth;
    int pos;

    JsonParser(byte[] b, int start, int end, int maxDepth) {
        this.b = b;
        this.start = start;
        this.end = end;
        this.maxDepth = maxDepth;
        this.pos = start;
    }

    HttpException error(String what) {
        return new HttpException(400, "Invalid JSON at " + (pos - start) + ": " + what);
    }

    void skipWs() {
        while (pos < end) {
            byte c = b[pos];
            if (c == ' ' || c == '\n' || c == '\r' || c == '\t') pos++;
            else break;
        }
    }

    Object value(int depth) {
        if (pos >= end) throw error("unexpected end of input, expected a value");
        byte c = b[pos];
        return switch (c) {
            case '{' -> object(depth + 1);
            case '[' -> array(depth + 1);
            case '"' -> string();
            case 't' -> literal("true", Boolean.TRUE);
            case 'f' -> literal("false", Boolean.FALSE);
            case 'n' -> literal("null", null);
            default -> {
                if (c == '-' || (c >= '0' && c <= '9')) yield number();
                throw error("unexpected " + describe(c) + ", expected a value");
            }
        };
    }

    private Object literal(String word, Object v) {
        int n = word.length();
        if (end - pos < n) throw error("unexpected end of input in '" + word + "'");
        for (int i = 0; i < n; i++) {
            if (b[pos + i] != word.charAt(i)) {
                pos += i;
                throw error("unexpected " + describe(b[pos]) + " in '" + word + "'");
            }
        }
        pos += n;
        return v;
    }

    private Map<String, Object> object(int depth) {
        if (depth > maxDepth) throw error("nesting deeper than " + maxDepth);
        pos++; // {
        Map<String, Object> m = new LinkedHashMap<>();
        skipWs();
        if (pos < end && b[pos] == '}') {
            pos++;
            return m;
        }
        while (true) {
            skipWs();
            if (pos >= end) throw error("unexpected end of input, expected a string key");
            if (b[pos] != '"') throw error("unexpected " + describe(b[pos]) + ", expected a string key");
            String key = string();
            skipWs();
            if (pos >= end) throw error("unexpected end of input, expected ':'");
            if (b[pos] != ':') throw error("unexpected " + describe(b[pos]) + ", expected ':'");
            pos++;
            skipWs();
            m.put(key, value(depth));
            skipWs();
            if (pos >= end) throw error("unexpected end of input, expected ',' or '}'");
            byte c = b[pos++];
            if (c == '}') return m;
            if (c != ',') {
                pos--;
                throw error("unexpected " + describe(c) + ", expected ',' or '}'");
            }
        }
    }

    private List<Object> array(int depth) {
        if (depth > maxDepth) throw error("nesting deeper than " + maxDepth);
        pos++; // [
        List<Object> l = new ArrayList<>();
        skipWs();
        if (pos < end && b[pos] == ']') {
            pos++;
            return l;
        }
        while (true) {
            skipWs();
            l.add(value(depth));
            skipWs();
            if (pos >= end) throw error("unexpected end of input, expected ',' or ']'");
            byte c = b[pos++];
            if (c == ']') return l;
            if (c != ',') {
                pos--;
                throw error("unexpected " + describe(c) + ", expected ',' or ']'");
            }
        }
    }

    private String string() {
        pos++; // opening quote
        StringBuilder sb = null;
        int runStart = pos;
        boolean ascii = true;
        while (true) {
            if (pos >= end) throw error("unterminated string");
            byte c = b[pos];
            if (c == '"') {
                String s = run(runStart, pos, ascii);
                pos++;
                if (sb == null) return s;
                return sb.append(s).toString();
            }
            if (c == '\\') {
                if (sb == null) sb = new StringBuilder();
                sb.append(run(runStart, pos, ascii));
                ascii = true;
                pos++;
                if (pos >= end) throw error("unterminated escape");
                byte e = b[pos++];
                switch (e) {
                    case '"' -> sb.append('"');
                    case '\\' -> sb.append('\\');
                    case '/' -> sb.append('/');
                    case 'b' -> sb.append('\b');
                    case 'f' -> sb.append('\f');
                    case 'n' -> sb.append('\n');
                    case 'r' -> sb.append('\r');
                    case 't' -> sb.append('\t');
                    case 'u' -> {
                        int v = 0;
                        for (int i = 0; i < 4; i++) {
                            if (pos >= end) throw error("unterminated \\u escape");
                            int h = hex(b[pos]);
                            if (h < 0) throw error("bad hex digit " + describe(b[pos]) + " in \\u escape");
                            v = v << 4 | h;
                            pos++;
                        }
                        sb.append((char) v);
                    }
                    default -> {
                        pos--;
                        throw error("bad escape '\\" + (char) (e & 0xff) + "'");
                    }
                }
                runStart = pos;
                continue;
            }
            if ((c & 0xff) < 0x20) throw error("control character " + describe(c) + " in a string (escape it)");
            if (c < 0) ascii = false;
            pos++;
        }
    }

    private String run(int from, int to, boolean ascii) {
        if (from == to) return "";
        if (ascii) return new String(b, from, to - from, StandardCharsets.ISO_8859_1);
        try {
            CharBuffer cb = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(b, from, to - from));
            return cb.toString();
        } catch (CharacterCodingException e) {
            pos = from;
            throw error("invalid UTF-8 in a string");
        }
    }

    private static int hex(byte c) {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    }

    private Object number() {
        int s = pos;
        if (b[pos] == '-') pos++;
        if (pos >= end) throw error("unexpected end of input in a number");
        if (b[pos] == '0') {
            pos++;
            if (pos < end && b[pos] >= '0' && b[pos] <= '9') throw error("leading zero in a number");
        } else if (b[pos] >= '1' && b[pos] <= '9') {
            while (pos < end && b[pos] >= '0' && b[pos] <= '9') pos++;
        } else {
            throw error("unexpected " + describe(b[pos]) + " in a number");
        }
        boolean integral = true;
        if (pos < end && b[pos] == '.') {
            integral = false;
            pos++;
            int d = pos;
            while (pos < end && b[pos] >= '0' && b[pos] <= '9') pos++;
            if (pos == d) throw error("expected a digit after '.'");
        }
        if (pos < end && (b[pos] == 'e' || b[pos] == 'E')) {
            integral = false;
            pos++;
            if (pos < end && (b[pos] == '+' || b[pos] == '-')) pos++;
            int d = pos;
            while (pos < end && b[pos] >= '0' && b[pos] <= '9') pos++;
            if (pos == d) throw error("expected a digit in the exponent");
        }
        String text = new String(b, s, pos - s, StandardCharsets.ISO_8859_1);
        if (integral) {
            if (pos - s <= 18) return Long.parseLong(text);
            BigInteger bi = new BigInteger(text);
            return bi.bitLength() < 64 ? (Object) bi.longValue() : bi;
        }
        return Double.parseDouble(text);
    }

    private static String describe(byte c) {
        int v = c & 0xff;
        if (v >= 0x20 && v < 0x7f) return "'" + (char) v + "'";
        return String.format("byte 0x%02x", v);
    }
}
