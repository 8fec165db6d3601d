package io.jhv.http.internal.client;

import io.jhv.core.loop.EventLoopGroup;
import io.jhv.core.tls.TlsConfig;
import io.jhv.http.JsonCodec;
import io.jhv.http.client.CookieJar;
import io.jhv.http.client.RetryPolicy;


/** The configuration of one client, fixed when it is built (written once, then only read). */
public final class ClientSettings {
    public EventLoopGroup group;
    public boolean ownGroup;
    public long connectTimeoutMs = 10_000;
    public long tlsHandshakeTimeoutMs = 10_000;
    public long responseHeadTimeoutMs; // 0: none
    public long readIdleTimeoutMs;     // 0: none
    public long callTimeoutMs;         // 0: none
    public long writeTimeoutMs = 30_000; // 0: none
    public int maxConnectionsPerHost = 64;
    public int maxPendingAcquires = 1024;
    public long acquireTimeoutMs = 10_000;
    public long idleTimeoutMs = 30_000;
    public long maxConnectionLifetimeMs; // 0: none
    public boolean followRedirects = true;
    public int maxRedirects = 10;
    public RetryPolicy retryPolicy = RetryPolicy.safe();
    public TlsConfig tls;
    public io.jhv.core.net.ProxySelector proxySelector; // null: direct
    public io.jhv.http.client.Dns dns; // null: the system resolver
    public CookieJar cookieJar;
    public String userAgent = "jhv";
    public JsonCodec json;
    public boolean decompress = true;
    public int pipelining = 1;
    public long maxResponseBody = 64L << 20;
    public int maxResponseHeadBytes = 64 << 10;
    public int maxResponseHeaders = 200;
    public long expectContinueTimeoutMs = 1000;
}
