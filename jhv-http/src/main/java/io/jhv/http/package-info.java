/**
 * Common HTTP types shared by the server, the client and WebSocket: {@link io.jhv.http.Status},
 * {@link io.jhv.http.Headers} (field syntax checks), {@link io.jhv.http.Cookie},
 * {@link io.jhv.http.HttpException} and {@link io.jhv.http.JsonCodec}.
 * The HTTP/1.1 server is in {@code io.jhv.http.server}.
 */
package io.jhv.http;
