package io.jhv.http.server;

import java.time.Instant;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.Locale;

/**
 * Validators and conditional requests for {@link StaticFiles} (RFC 9110 8.8, 13): entity tags,
 * HTTP dates, {@code If-None-Match} / {@code If-Modified-Since} (304) and {@code If-Range}.
 * Stateless; any thread.
 */
final class Validators {
    private Validators() {}

    private static final DateTimeFormatter HTTP_DATE =
            DateTimeFormatter.ofPattern("EEE, dd MMM yyyy HH:mm:ss 'GMT'", Locale.US).withZone(ZoneOffset.UTC);

    /** The entity tag of a representation of {@code size} bytes modified at {@code mtimeMillis}. */
    static String etag(long size, long mtimeMillis, String suffix, boolean weakEtags) {
        String t = "\"" + Long.toHexString(mtimeMillis) + "-" + Long.toHexString(size) + suffix + "\"";
        return weakEtags ? "W/" + t : t;
    }

    /** RFC 9110 13.2.2: If-None-Match (weak comparison) wins over If-Modified-Since. */
    static boolean notModified(Request req, String etag, long lastModifiedSec) {
        String inm = req.header("If-None-Match");
        if (inm != null) return etagListMatches(inm, etag, false);
        String ims = req.header("If-Modified-Since");
        if (ims != null) {
            long t = parseDate(ims);
            return t >= 0 && lastModifiedSec <= t;
        }
        return false;
    }

    private static boolean etagListMatches(String list, String etag, boolean strong) {
        String mine = strong ? etag : opaque(etag);
        for (String s : list.split(",")) {
            String t = s.trim();
            if (t.equals("*")) return true;
            if (strong ? (!t.startsWith("W/") && t.equals(etag)) : opaque(t).equals(mine)) return true;
        }
        return false;
    }

    private static String opaque(String tag) {
        return tag.startsWith("W/") ? tag.substring(2) : tag;
    }

    /** If-Range: an entity tag must match strongly, a date must equal Last-Modified (RFC 9110 13.1.5). */
    static boolean ifRangeHolds(String ifRange, String etag, long lastModifiedSec) {
        if (ifRange == null) return true;
        String v = ifRange.trim();
        if (v.startsWith("\"") || v.startsWith("W/")) {
            return !etag.startsWith("W/") && !v.startsWith("W/") && v.equals(etag);
        }
        long t = parseDate(v);
        return t >= 0 && t == lastModifiedSec;
    }

    /** Seconds since the epoch of an HTTP date, or -1. */
    static long parseDate(String s) {
        try {
            return ZonedDateTime.parse(s.trim(), DateTimeFormatter.RFC_1123_DATE_TIME).toEpochSecond();
        } catch (RuntimeException e) {
            return -1;
        }
    }

    /** Formats an HTTP date (IMF-fixdate). */
    static String formatDate(long epochMillis) {
        return HTTP_DATE.format(Instant.ofEpochMilli(epochMillis));
    }
}
