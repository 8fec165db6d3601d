package io.jhv.http.client;

import io.jhv.http.internal.client.MemoryCookieJar;

import java.net.URI;
import java.util.List;

/**
 * Where an {@link HttpClient} keeps cookies (opt-in: without {@link HttpClient.Builder#cookieJar}
 * the client neither stores nor sends any). The client calls {@link #cookieHeader} before each
 * request (redirect hops included) and {@link #save} after each response head that has
 * {@code Set-Cookie} headers.
 *
 * <p>Thread contract: called from the loop threads of the client, possibly several at once, so an
 * implementation must be thread-safe and must not block.
 */
public interface CookieJar {

    /** Stores the cookies of the {@code Set-Cookie} header values a response to {@code url} carried. */
    void save(URI url, List<String> setCookieValues);

    /** The {@code Cookie} header value to send with a request to {@code url}, or null for none. */
    String cookieHeader(URI url);

    /**
     * A jar in memory following RFC 6265's matching rules (domain, path, {@code Secure}, expiry by
     * {@code Max-Age}/{@code Expires}); host-only cookies unless {@code Domain} is given. A
     * {@code Domain} that is a public suffix (a single label such as {@code com}, or one of a small
     * built-in list such as {@code co.uk} or {@code github.io}) is refused unless it is the host
     * itself (then the cookie is host-only), so a site cannot set a cookie for all its neighbours.
     * Thread-safe.
     */
    static CookieJar inMemory() {
        return new MemoryCookieJar();
    }
}
