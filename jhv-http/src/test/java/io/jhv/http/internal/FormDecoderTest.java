package io.jhv.http.internal;

import io.jhv.http.HttpException;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

@Timeout(10)
class FormDecoderTest {

    private static Map<String, String> form(String s) {
        return form(s, StandardCharsets.UTF_8);
    }

    private static Map<String, String> form(String s, Charset cs) {
        Map<String, String> m = new LinkedHashMap<>();
        byte[] b = ("XX" + s + "YY").getBytes(StandardCharsets.ISO_8859_1);
        FormDecoder.decode(b, 2, b.length - 4, cs, m); // offsets honoured
        return m;
    }

    @Test
    void decodesFieldsInOrder() {
        assertEquals(Map.of("a", "1", "b", "two"), form("a=1&b=two"));
        assertEquals("[a, b, c]", form("a=1&b=2&c=3").keySet().toString());
    }

    @Test
    void plusIsSpaceAndPercentEscapesDecode() {
        assertEquals("hello world & more", form("q=hello+world+%26+more").get("q"));
        assertEquals("a+b=c", form("x=a%2Bb%3Dc").get("x"));
        assertEquals("k y", form("k+y=v").keySet().iterator().next());
        assertEquals("%", form("p=%25").get("p"));
    }

    @Test
    void utf8AndOtherCharsets() {
        assertEquals("héllo €", form("n=h%C3%A9llo+%E2%82%AC").get("n"));
        assertEquals("é", form("n=%E9", StandardCharsets.ISO_8859_1).get("n"));
    }

    @Test
    void emptyFieldsMissingValuesAndRepeats() {
        Map<String, String> m = form("&a=&&b&c=3&a=second&");
        assertEquals("", m.get("a")); // first value stays
        assertEquals("", m.get("b"));
        assertEquals("3", m.get("c"));
        assertEquals(3, m.size());
        assertTrue(form("").isEmpty());
        assertEquals("x=y", form("e=x=y").get("e"));
    }

    @Test
    void badEscapesAre400() {
        for (String bad : new String[] {"a=%", "a=%4", "a=%zz", "a=%4g&b=1", "%=1"}) {
            HttpException e = assertThrows(HttpException.class, () -> form(bad), bad);
            assertEquals(400, e.status());
            assertTrue(e.getMessage().contains("percent-encoding"), e.getMessage());
        }
    }

    @Test
    void cookies() {
        Map<String, String> m = new LinkedHashMap<>();
        CookieParser.parse("a=1; b=\"two\";c=3 ; =skip; noeq; d=; a=again", m);
        assertEquals("1", m.get("a"));
        assertEquals("two", m.get("b"));
        assertEquals("3", m.get("c"));
        assertEquals("", m.get("d"));
        assertEquals(4, m.size(), m.toString());
        CookieParser.parse(null, m);
        CookieParser.parse("", m);
        assertEquals(4, m.size());
        Map<String, String> m2 = new LinkedHashMap<>();
        CookieParser.parse("session=abc=def==", m2);
        assertEquals("abc=def==", m2.get("session"));
    }
}
