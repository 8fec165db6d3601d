package io.jhv.http.internal.json;

import io.jhv.http.HttpException;
import io.jhv.http.JsonCodec;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

@Timeout(10)
class JsonTest {
    final Json json = Json.create();

    public enum Color { RED, GREEN }

    public record Point(int x, int y) {}

    public record User(long id, String name, boolean admin, Color color, List<Point> points,
                       Map<String, Integer> scores, double ratio, String[] tags, Point home) {}

    public record Checked(String v) {
        public Checked {
            if (v.isEmpty()) throw new IllegalArgumentException("v is empty");
        }
    }

    private String enc(Object o) {
        return new String(json.encode(o), StandardCharsets.UTF_8);
    }

    @Test
    void encodesScalarsCollectionsRecordsEnums() {
        assertEquals("null", enc(null));
        assertEquals("true", enc(true));
        assertEquals("42", enc(42));
        assertEquals("-7", enc(-7L));
        assertEquals("1.5", enc(1.5));
        assertEquals("2.5", enc(2.5f));
        assertEquals("12345678901234567890", enc(new BigInteger("12345678901234567890")));
        assertEquals("1.10", enc(new BigDecimal("1.10")));
        assertEquals("\"x\"", enc('x'));
        assertEquals("[1,2,3]", enc(new int[] {1, 2, 3}));
        assertEquals("[\"a\",null]", enc(new String[] {"a", null}));
        assertEquals("[]", enc(List.of()));
        assertEquals("{}", enc(Map.of()));
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("message", "Hello, World!");
        m.put("n", List.of(1, Set.of("s")));
        m.put("nil", null);
        assertEquals("{\"message\":\"Hello, World!\",\"n\":[1,[\"s\"]],\"nil\":null}", enc(m));
        assertEquals("\"GREEN\"", enc(Color.GREEN));
        assertEquals("{\"x\":1,\"y\":2}", enc(new Point(1, 2)));
        assertEquals("{\"RED\":1}", enc(Map.of(Color.RED, 1)));
    }

    @Test
    void escapesStrings() {
        assertEquals("\"a\\\"b\\\\c\\/d\"".replace("\\/", "/"), enc("a\"b\\c/d"));
        assertEquals("\"\\n\\r\\t\\b\\f\\u0000\\u001f\\u007f\"", enc("\n\r\t\b\f\u0000\u001f\u007f"));
        assertEquals("\"\\u2028\\u2029\"", enc("\u2028\u2029"));
        assertEquals("\"é€😀\"", enc("é€😀"));
        assertArrayEquals("\"😀\"".getBytes(StandardCharsets.UTF_8), json.encode("😀"));
        assertEquals("\"\\ud800x\\udc00\"", enc("\ud800x\udc00"), "lone surrogates escaped, not '?'");
    }

    @Test
    void refusesWhatItCannotEncode() {
        assertThrows(IllegalArgumentException.class, () -> json.encode(Double.NaN));
        assertThrows(IllegalArgumentException.class, () -> json.encode(Double.POSITIVE_INFINITY));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> json.encode(new Object()));
        assertTrue(e.getMessage().contains("java.lang.Object"), e.getMessage());
        List<Object> cycle = new ArrayList<>();
        cycle.add(cycle);
        e = assertThrows(IllegalArgumentException.class, () -> json.encode(cycle));
        assertTrue(e.getMessage().contains("deeper"), e.getMessage());
    }

    @Test
    void parsesIntoGenericTree() {
        Object v = json.parse(" {\"a\": [1, -2.5e1, true, false, null, \"s\", {}], \"b\": {\"c\": 9223372036854775807},"
                + " \"big\": 123456789012345678901234567890, \"neg\": -0, \"f\": 0.5 } ");
        @SuppressWarnings("unchecked")
        Map<String, Object> m = (Map<String, Object>) v;
        assertEquals(List.of(1L, -25.0, true, false, "s", Map.of()).toString().replace(", s", ", null, s"),
                m.get("a").toString());
        assertEquals(Long.MAX_VALUE, ((Map<?, ?>) m.get("b")).get("c"));
        assertEquals(new BigInteger("123456789012345678901234567890"), m.get("big"));
        assertEquals(0L, m.get("neg"));
        assertEquals(0.5, m.get("f"));
        assertEquals("[a, b, big, neg, f]", m.keySet().toString(), "order kept");
    }

    @Test
    void parsesStringEscapesAndUtf8() {
        assertEquals("a\"b\\c/d\n\r\t\b\fé😀", json.parse("\"a\\\"b\\\\c\\/d\\n\\r\\t\\b\\f\\u00e9\\ud83d\\ude00\""));
        assertEquals("é€😀 mixed \n", json.parse("\"é€😀 mixed \\n\""));
        assertEquals("", json.parse("\"\""));
    }

    @Test
    void roundTrips() {
        User u = new User(7, "Ann \"the\" <admin>\n", true, Color.RED, List.of(new Point(1, 2), new Point(-3, 4)),
                Map.of("go", 3), 0.25, new String[] {"x", "y"}, new Point(0, 0));
        byte[] b = json.encode(u);
        User back = json.decode(b, 0, b.length, User.class);
        assertEquals(u.id(), back.id());
        assertEquals(u.name(), back.name());
        assertEquals(u.points(), back.points());
        assertEquals(u.scores(), back.scores());
        assertEquals(Color.RED, back.color());
        assertArrayEquals(u.tags(), back.tags());
        assertEquals(u.home(), back.home());
        assertEquals(0.25, back.ratio());
        // and through the generic tree
        Object tree = json.decode(b, 0, b.length, Object.class);
        assertEquals(new String(b, StandardCharsets.UTF_8), enc(tree));
        String s = "{\"k\":[1,2.5,\"x\",true,null,{\"n\":{}}]}";
        assertEquals(s, enc(json.parse(s)));
    }

    @Test
    void decodesWithOffsetsAndIntoSimpleTypes() {
        byte[] b = "xx[1,2]yy".getBytes(StandardCharsets.UTF_8);
        assertEquals(List.of(1L, 2L), json.decode(b, 2, 5, List.class));
        assertEquals("s", json.parse("\"s\"", String.class));
        assertEquals(5, json.parse("5", Integer.class));
        assertEquals(5.0, json.parse("5", Double.class));
        assertArrayEquals(new int[] {1, 2}, json.parse("[1,2]", int[].class));
        assertEquals(Map.of("a", 1L), json.parse("{\"a\":1}", Map.class));
        assertEquals(new Point(3, 0), json.parse("{\"x\":3,\"unknown\":[1,{}]}", Point.class), "missing = 0, unknown ignored");
        assertNull(json.parse("null", Point.class));
    }

    @Test
    void shapeErrorsAre400WithThePath() {
        HttpException e = assertThrows(HttpException.class, () -> json.parse("{\"x\":\"one\"}", Point.class));
        assertEquals(400, e.status());
        assertTrue(e.getMessage().contains("$.x") && e.getMessage().contains("expected a number"), e.getMessage());
        e = assertThrows(HttpException.class, () -> json.parse("{\"x\":1.5}", Point.class));
        assertTrue(e.getMessage().contains("expected an integer"), e.getMessage());
        e = assertThrows(HttpException.class, () -> json.parse("{\"x\":3000000000}", Point.class));
        assertTrue(e.getMessage().contains("out of range"), e.getMessage());
        e = assertThrows(HttpException.class, () -> json.parse("{\"points\":[{\"x\":\"a\"}]}", User.class));
        assertTrue(e.getMessage().contains("$.points[0].x"), e.getMessage());
        e = assertThrows(HttpException.class, () -> json.parse("{\"color\":\"BLUE\"}", User.class));
        assertTrue(e.getMessage().contains("BLUE"), e.getMessage());
        e = assertThrows(HttpException.class, () -> json.parse("{\"v\":\"\"}", Checked.class));
        assertTrue(e.getMessage().contains("v is empty"), e.getMessage());
        e = assertThrows(HttpException.class, () -> json.parse("[]", Map.class));
        assertTrue(e.getMessage().contains("expected an object"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> json.parse("{}", StringBuilder.class));
    }

    @Test
    void syntaxErrorsAre400WithPosition() {
        String[][] cases = {
                {"", "at 0: unexpected end"},
                {"{", "at 1: unexpected end"},
                {"{\"a\" 1}", "at 5: unexpected '1', expected ':'"},
                {"{\"a\":1,}", "at 7: unexpected '}', expected a string key"},
                {"[1 2]", "at 3: unexpected '2', expected ',' or ']'"},
                {"[1,]", "at 3: unexpected ']'"},
                {"01", "leading zero"},
                {"1.", "digit after '.'"},
                {"1e", "exponent"},
                {"-", "end of input"},
                {"+1", "at 0: unexpected '+'"},
                {"tru", "'true'"},
                {"nul l", "'null'"},
                {"\"abc", "unterminated string"},
                {"\"a\nb\"", "control character"},
                {"\"\\x\"", "bad escape"},
                {"\"\\u12G4\"", "bad hex digit"},
                {"{} {}", "at 3: unexpected data after"},
                {"'a'", "unexpected '''"},
                {"NaN", "unexpected 'N'"},
        };
        for (String[] c : cases) {
            HttpException e = assertThrows(HttpException.class, () -> json.parse(c[0]), c[0]);
            assertEquals(400, e.status());
            assertTrue(e.getMessage().contains(c[1]), c[0] + " -> " + e.getMessage());
            assertTrue(e.getMessage().startsWith("Invalid JSON at "), e.getMessage());
        }
        byte[] badUtf8 = {'"', (byte) 0xC3, '(', '"'};
        HttpException e = assertThrows(HttpException.class, () -> json.decode(badUtf8, 0, 4, Object.class));
        assertTrue(e.getMessage().contains("UTF-8"), e.getMessage());
    }

    @Test
    void nestingDepthIsLimited() {
        String deep = "[".repeat(600) + "]".repeat(600);
        HttpException e = assertThrows(HttpException.class, () -> json.parse(deep));
        assertTrue(e.getMessage().contains("nesting deeper than 512"), e.getMessage());
        Json small = json.maxDepth(3);
        small.parse("[[[1]]]");
        assertThrows(HttpException.class, () -> small.parse("[[[[1]]]]"));
        assertThrows(HttpException.class, () -> small.parse("{\"a\":{\"b\":{\"c\":{}}}}"));
        // A stack overflow is never the answer, however deep.
        String veryDeep = "[".repeat(100_000);
        assertThrows(HttpException.class, () -> json.parse(veryDeep));
    }

    @Test
    void detectUsesBuiltInWithoutJackson() {
        // The test class path has no Jackson.
        assertSame(Json.create(), Json.detect());
        assertSame(Json.create(), JsonCodec.detect());
        assertSame(Json.create(), JsonCodec.builtIn());
        assertEquals(3, ((Json) JsonCodec.builtIn(3)).maxDepth());
    }

    /** With Jackson's jars from the local Maven repository (when present), detect() finds it. */
    @Test
    void detectFindsJacksonByReflection() throws Exception {
        Path repo = Path.of(System.getProperty("user.home"), ".m2", "repository", "com", "fasterxml", "jackson", "core");
        List<URL> urls = new ArrayList<>();
        for (String a : new String[] {"jackson-databind", "jackson-core", "jackson-annotations"}) {
            Path dir = repo.resolve(a);
            if (!Files.isDirectory(dir)) break;
            try (Stream<Path> s = Files.walk(dir)) {
                s.filter(p -> p.toString().endsWith(".jar") && !p.toString().contains("sources")
                                && p.getFileName().toString().startsWith(a + "-2."))
                        .sorted().reduce((x, y) -> y).ifPresent(p -> {
                            try {
                                urls.add(p.toUri().toURL());
                            } catch (java.net.MalformedURLException ex) {
                                throw new IllegalStateException(ex);
                            }
                        });
            }
        }
        assumeTrue(urls.size() == 3, "Jackson 2.x jars not in ~/.m2");
        try (URLClassLoader cl = new URLClassLoader(urls.toArray(URL[]::new), JsonTest.class.getClassLoader())) {
            Class<?> jsonClass = Json.class;
            var m = jsonClass.getDeclaredMethod("detect", ClassLoader.class);
            m.setAccessible(true);
            JsonCodec codec = (JsonCodec) m.invoke(null, cl);
            assertFalse(codec instanceof Json, codec.toString());
            assertTrue(codec.toString().contains("Jackson"), codec.toString());
            byte[] b = codec.encode(Map.of("message", "Hello, World!"));
            assertEquals("{\"message\":\"Hello, World!\"}", new String(b, StandardCharsets.UTF_8));
            byte[] in = "xx{\"x\":1,\"y\":2}".getBytes(StandardCharsets.UTF_8);
            assertEquals(new Point(1, 2), codec.decode(in, 2, in.length - 2, Point.class));
            HttpException e = assertThrows(HttpException.class, () -> codec.decode(in, 0, 5, Map.class));
            assertEquals(400, e.status());
        }
    }
}
