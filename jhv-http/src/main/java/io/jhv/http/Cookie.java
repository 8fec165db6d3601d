package io.jhv.http;

import java.time.Duration;

/** A Set-Cookie value: name, value and attributes. Immutable; build with the wither methods. */
public record Cookie(String name, String value, String path, String domain, Duration maxAge,
                     boolean secure, boolean httpOnly, String sameSite) {

    public Cookie {
        Headers.checkToken(name, "cookie name");
        Headers.checkValue(value, "cookie value");
        if (value.indexOf(';') >= 0 || value.indexOf(',') >= 0 || value.indexOf(' ') >= 0) {
            throw new IllegalArgumentException("cookie value may not contain ';', ',' or space: " + value);
        }
        if (path != null) Headers.checkValue(path, "cookie path");
        if (domain != null) Headers.checkValue(domain, "cookie domain");
    }

    public static Cookie of(String name, String value) {
        return new Cookie(name, value, "/", null, null, false, true, "Lax");
    }

    public Cookie path(String p) { return new Cookie(name, value, p, domain, maxAge, secure, httpOnly, sameSite); }
    public Cookie domain(String d) { return new Cookie(name, value, path, d, maxAge, secure, httpOnly, sameSite); }
    public Cookie maxAge(Duration d) { return new Cookie(name, value, path, domain, d, secure, httpOnly, sameSite); }
    public Cookie secure(boolean s) { return new Cookie(name, value, path, domain, maxAge, s, httpOnly, sameSite); }
    public Cookie httpOnly(boolean h) { return new Cookie(name, value, path, domain, maxAge, secure, h, sameSite); }
    public Cookie sameSite(String s) { return new Cookie(name, value, path, domain, maxAge, secure, httpOnly, s); }

    /** The Set-Cookie header value. */
    public String headerValue() {
        StringBuilder sb = new StringBuilder(name).append('=').append(value);
        if (path != null) sb.append("; Path=").append(path);
        if (domain != null) sb.append("; Domain=").append(domain);
        if (maxAge != null) sb.append("; Max-Age=").append(maxAge.toSeconds());
        if (secure) sb.append("; Secure");
        if (httpOnly) sb.append("; HttpOnly");
        if (sameSite != null) sb.append("; SameSite=").append(sameSite);
        return sb.toString();
    }
}
