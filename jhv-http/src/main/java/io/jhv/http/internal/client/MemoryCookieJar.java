package io.jhv.http.internal.client;

import io.jhv.http.client.CookieJar;

import java.net.URI;
import java.util.List;

/** {@link CookieJar#inMemory()}. */
public final class MemoryCookieJar implements CookieJar {
    @Override public synchronized void save(URI url, List<String> setCookieValues) { }

    @Override public synchronized String cookieHeader(URI url) { return null; }
}
