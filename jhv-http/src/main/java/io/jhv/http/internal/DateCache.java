package io.jhv.http.internal;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;

/**
 * The {@code Date} header line, formatted once a second and shared by all loops (RFC 9110
 * IMF-fixdate). Reading it allocates nothing.
 */
public final class DateCache {
    private static final DateTimeFormatter FMT =
            DateTimeFormatter.ofPattern("EEE, dd MMM yyyy HH:mm:ss 'GMT'", java.util.Locale.US).withZone(ZoneOffset.UTC);

    private record Entry(long second, byte[] line) {}

    private static volatile Entry current = make(System.currentTimeMillis() / 1000);

    private DateCache() {}

    private static Entry make(long second) {
        String s = "Date: " + FMT.format(Instant.ofEpochSecond(second)) + "\r\n";
        return new Entry(second, s.getBytes(StandardCharsets.ISO_8859_1));
    }

    /** "Date: Sun, 22 Nov 2026 05:02:45 GMT\r\n" for the current second. */
    public static byte[] line() {
        long now = System.currentTimeMillis() / 1000;
        Entry e = current;
        if (e.second != now) current = e = make(now);
        return e.line;
    }

    /** An HTTP date for {@code epochMillis}. */
    public static String format(long epochMillis) {
        return FMT.format(Instant.ofEpochMilli(epochMillis));
    }
}
