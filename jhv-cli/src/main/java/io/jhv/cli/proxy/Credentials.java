package io.jhv.cli.proxy;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Base64;
import java.util.Objects;

/** The user name and password a proxy requires (HTTP Basic, SOCKS5 username/password). Immutable; thread-safe. */
public final class Credentials {
    private final byte[] user, password, basic;

    public Credentials(String user, String password) {
        Objects.requireNonNull(user, "user");
        Objects.requireNonNull(password, "password");
        if (user.indexOf(':') >= 0) throw new IllegalArgumentException("a user name for Basic auth cannot hold ':'");
        this.user = user.getBytes(StandardCharsets.UTF_8);
        this.password = password.getBytes(StandardCharsets.UTF_8);
        this.basic = (user + ":" + password).getBytes(StandardCharsets.UTF_8);
    }

    /** Whether {@code user} and {@code password} are right (compared in time independent of where they differ). */
    boolean check(byte[] user, byte[] password) {
        // both compared, always: no early exit on a wrong user name
        boolean u = MessageDigest.isEqual(this.user, user);
        boolean p = MessageDigest.isEqual(this.password, password);
        return u & p;
    }

    /** Whether a {@code Proxy-Authorization} header value ({@code Basic base64(user:password)}) is right. */
    boolean checkBasic(String header) {
        if (header == null) return false;
        String h = header.strip();
        if (h.length() < 6 || !h.regionMatches(true, 0, "Basic ", 0, 6)) return false;
        byte[] given;
        try {
            given = Base64.getDecoder().decode(h.substring(6).strip());
        } catch (IllegalArgumentException e) {
            return false;
        }
        return MessageDigest.isEqual(basic, given);
    }
}
