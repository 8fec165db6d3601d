package io.jhv.http.internal.client;

import io.jhv.http.client.CookieJar;

import java.net.URI;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;

/**
 * {@link CookieJar#inMemory()}: RFC 6265 storage and matching, simplified. A {@code Domain} must
 * domain-match the response's host, so a server sets cookies for itself and its sub-domains only,
 * and must not be a public suffix (RFC 6265 5.3 step 5): single labels, and a small built-in list
 * of the common multi-label ones ({@link #PUBLIC_SUFFIXES}; not the whole Public Suffix List).
 * Thread-safe by a lock; jars are small.
 */
public final class MemoryCookieJar implements CookieJar {
    private record Stored(String name, String value, String domain, boolean hostOnly, String path, boolean secure, long expiresAt) {
    }

    private final List<Stored> cookies = new ArrayList<>();

    /** Multi-label public suffixes refused as a cookie {@code Domain} (single labels always are). */
    static final java.util.Set<String> PUBLIC_SUFFIXES = java.util.Set.of(
            "co.uk", "org.uk", "me.uk", "ltd.uk", "plc.uk", "net.uk", "ac.uk", "gov.uk", "sch.uk", "nhs.uk",
            "com.au", "net.au", "org.au", "edu.au", "gov.au", "id.au",
            "co.nz", "org.nz", "net.nz", "govt.nz", "ac.nz",
            "co.jp", "ne.jp", "or.jp", "ac.jp", "go.jp", "ad.jp", "ed.jp", "gr.jp", "lg.jp",
            "co.kr", "or.kr", "ne.kr", "go.kr", "ac.kr",
            "com.cn", "net.cn", "org.cn", "gov.cn", "edu.cn",
            "com.tw", "org.tw", "net.tw", "com.hk", "org.hk", "net.hk", "com.sg", "org.sg", "edu.sg",
            "co.in", "net.in", "org.in", "firm.in", "gen.in", "ind.in", "ac.in", "gov.in",
            "com.br", "net.br", "org.br", "gov.br", "com.ar", "com.mx", "org.mx", "gob.mx",
            "co.za", "org.za", "gov.za", "com.tr", "org.tr", "gov.tr", "com.ua", "co.il", "org.il",
            "com.ru", "net.ru", "org.ru", "com.pl", "net.pl", "org.pl", "co.at", "or.at",
            "github.io", "gitlab.io", "blogspot.com", "appspot.com", "herokuapp.com", "cloudfront.net",
            "azurewebsites.net", "netlify.app", "vercel.app", "pages.dev", "workers.dev", "web.app",
            "firebaseapp.com", "s3.amazonaws.com", "compute.amazonaws.com", "elasticbeanstalk.com");

    /** Whether {@code domain} (lower case, no leading dot) is a public suffix cookies must not be set for. */
    static boolean isPublicSuffix(String domain) {
        return domain.indexOf('.') < 0 || PUBLIC_SUFFIXES.contains(domain);
    }

    @Override
    public synchronized void save(URI url, List<String> setCookieValues) {
        String host = url.getHost().toLowerCase(Locale.ROOT);
        for (String sc : setCookieValues) {
            Stored c = parse(sc, host, defaultPath(url));
            if (c == null) continue;
            cookies.removeIf(o -> o.name.equals(c.name) && o.domain.equals(c.domain) && o.path.equals(c.path));
            if (c.expiresAt == Long.MIN_VALUE || c.expiresAt > System.currentTimeMillis()) cookies.add(c);
        }
    }

    @Override
    public synchronized String cookieHeader(URI url) {
        if (cookies.isEmpty()) return null;
        String host = url.getHost().toLowerCase(Locale.ROOT);
        String path = url.getRawPath() == null || url.getRawPath().isEmpty() ? "/" : url.getRawPath();
        boolean secure = "https".equalsIgnoreCase(url.getScheme());
        long now = System.currentTimeMillis();
        StringBuilder sb = new StringBuilder();
        for (Iterator<Stored> it = cookies.iterator(); it.hasNext(); ) {
            Stored c = it.next();
            if (c.expiresAt != Long.MIN_VALUE && c.expiresAt <= now) {
                it.remove();
                continue;
            }
            if (c.hostOnly ? !host.equals(c.domain) : !domainMatch(host, c.domain)) continue;
            if (!pathMatch(path, c.path)) continue;
            if (c.secure && !secure) continue;
            if (!sb.isEmpty()) sb.append("; ");
            sb.append(c.name).append('=').append(c.value);
        }
        return sb.isEmpty() ? null : sb.toString();
    }

    private static Stored parse(String header, String host, String defaultPath) {
        String[] parts = header.split(";");
        String nv = parts[0].trim();
        int eq = nv.indexOf('=');
        if (eq <= 0) return null;
        String name = nv.substring(0, eq).trim();
        String value = nv.substring(eq + 1).trim();
        String domain = null;
        String path = null;
        boolean secure = false;
        long expires = Long.MIN_VALUE;
        boolean maxAgeSeen = false;
        for (int i = 1; i < parts.length; i++) {
            String a = parts[i].trim();
            int e = a.indexOf('=');
            String an = (e < 0 ? a : a.substring(0, e)).trim().toLowerCase(Locale.ROOT);
            String av = e < 0 ? "" : a.substring(e + 1).trim();
            switch (an) {
                case "domain" -> {
                    String d = av.startsWith(".") ? av.substring(1) : av;
                    if (!d.isEmpty()) domain = d.toLowerCase(Locale.ROOT);
                }
                case "path" -> path = av.startsWith("/") ? av : null;
                case "secure" -> secure = true;
                case "max-age" -> {
                    try {
                        long s = Long.parseLong(av);
                        expires = s <= 0 ? 0 : System.currentTimeMillis() + Math.min(s, 400L * 86400) * 1000;
                        maxAgeSeen = true;
                    } catch (NumberFormatException ignored) {
                        // ignored attribute
                    }
                }
                case "expires" -> {
                    if (!maxAgeSeen) {
                        try {
                            expires = ZonedDateTime.parse(av, DateTimeFormatter.RFC_1123_DATE_TIME).toInstant().toEpochMilli();
                        } catch (RuntimeException ignored) {
                            // unparsable date: a session cookie
                        }
                    }
                }
                default -> { }
            }
        }
        if (domain != null && domain.endsWith(".")) return null; // "com." is "com": refuse the trick
        if (domain != null && isPublicSuffix(domain)) {
            if (!domain.equals(host)) return null; // a supercookie for every site under the suffix
            domain = null; // the host is itself the suffix: a host-only cookie (RFC 6265 5.3 step 5)
        }
        boolean hostOnly = domain == null;
        if (domain != null && !domainMatch(host, domain)) return null; // a cookie for someone else
        return new Stored(name, value, hostOnly ? host : domain, hostOnly, path == null ? defaultPath : path, secure, expires);
    }

    private static String defaultPath(URI u) {
        String p = u.getRawPath();
        if (p == null || !p.startsWith("/")) return "/";
        int last = p.lastIndexOf('/');
        return last == 0 ? "/" : p.substring(0, last);
    }

    static boolean domainMatch(String host, String domain) {
        return host.equals(domain) || (host.endsWith("." + domain) && !Character.isDigit(host.charAt(host.length() - 1)));
    }

    static boolean pathMatch(String path, String cookiePath) {
        if (path.equals(cookiePath)) return true;
        if (!path.startsWith(cookiePath)) return false;
        return cookiePath.endsWith("/") || path.charAt(cookiePath.length()) == '/';
    }
}
