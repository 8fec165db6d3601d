package io.jhv.cli.proxy;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DestinationsTest {
    @Test
    void allowAndDenyPatterns() {
        Destinations d = Destinations.of(List.of("*.example.com:443", "localhost:8000-8999", "[::1]"), List.of("bad.example.com", "10.*"));
        assertTrue(d.allows("www.example.com", 443));
        assertTrue(d.allows("WWW.Example.COM", 443), "case-insensitive");
        assertFalse(d.allows("www.example.com", 80), "port not allowed");
        assertFalse(d.allows("example.com", 443), "*. needs a label before it");
        assertFalse(d.allows("bad.example.com", 443), "deny wins");
        assertTrue(d.allows("localhost", 8000));
        assertTrue(d.allows("localhost", 8999));
        assertFalse(d.allows("localhost", 9000));
        assertTrue(d.allows("::1", 22));
        assertTrue(d.allows("[::1]", 22));
        assertFalse(d.allows("10.0.0.1", 443));
        assertFalse(d.allows("other.org", 443), "not in the allow list");

        Destinations denyOnly = Destinations.of(List.of(), List.of("*:25"));
        assertTrue(denyOnly.allows("anything", 80));
        assertFalse(denyOnly.allows("mail.example.com", 25));
        assertTrue(Destinations.ANY.allows("x", 1));
    }

    @Test
    void badPatternsAreRefused() {
        for (String bad : new String[] {":80", "host:abc", "host:9-1", "host:70000", "[::1", "[::1]x"}) {
            assertThrows(IllegalArgumentException.class, () -> Destinations.of(List.of(bad), List.of()), bad);
        }
    }
}
