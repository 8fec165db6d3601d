/**
 * The HTTP/1.1 client: {@link io.jhv.http.client.HttpClient} sends {@link io.jhv.http.client.HttpRequest}s
 * over pooled keep-alive connections on event loops and returns {@link io.jhv.http.client.HttpResponse}s,
 * asynchronously (futures completing on the connection's loop) or blocking (plain and virtual
 * threads), or streams the body to a {@link io.jhv.http.client.ResponseHandler} with back-pressure,
 * or, allocation-free, hands a borrowed {@link io.jhv.http.client.ResponseView} to a
 * {@link io.jhv.http.client.ResponseCallback}. Host names resolve through a pluggable
 * {@link io.jhv.http.client.Dns}, off the loop and within the connect and call deadlines.
 * Safe retries, timeouts per phase and per call, redirects that drop credentials across origins,
 * TLS through {@code io.jhv.core.tls.TlsConfig}, gzip/deflate decoding, cookies (opt-in), plain
 * HTTP proxies.
 */
package io.jhv.http.client;
