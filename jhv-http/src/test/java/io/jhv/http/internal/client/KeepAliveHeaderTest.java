package io.jhv.http.internal.client;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The {@code Keep-Alive} response header's parameters, as the pool reads them. */
class KeepAliveHeaderTest {
    @Test
    void timeoutAndMax() {
        assertEquals(5000, ClientConnection.keepAliveTimeout("timeout=5, max=100"));
        assertEquals(100, ClientConnection.keepAliveMax("timeout=5, max=100"));
        assertEquals(0, ClientConnection.keepAliveMax("max=0"));
        assertEquals(7, ClientConnection.keepAliveMax(" MAX= 7 ,timeout=2"), "case and spaces");
        assertEquals(2000, ClientConnection.keepAliveTimeout(" MAX= 7 ,timeout=2"));
        assertEquals(3, ClientConnection.keepAliveMax("max=x, max=3"), "an invalid one is skipped");
    }

    @Test
    void absentOrInvalidIsMinusOne() {
        assertEquals(-1, ClientConnection.keepAliveMax("timeout=5"));
        assertEquals(-1, ClientConnection.keepAliveTimeout("max=5"));
        assertEquals(-1, ClientConnection.keepAliveMax("max="));
        assertEquals(-1, ClientConnection.keepAliveMax("max=-1"));
        assertEquals(-1, ClientConnection.keepAliveMax("max=12345678901234567890"), "too long: ignored, not overflowed");
        assertEquals(-1, ClientConnection.keepAliveMax("maximum=3"));
        assertEquals(-1, ClientConnection.keepAliveTimeout("timeout=86400"), "a day or more is not a keep-alive timeout");
        assertEquals(-1, ClientConnection.keepAliveMax(""));
        assertEquals(-1, ClientConnection.keepAliveMax(",,,"));
    }
}
