/**
 * The HTTP/1.1 server: {@link io.jhv.http.server.HttpServer}, routing, {@link io.jhv.http.server.Request}
 * and {@link io.jhv.http.server.Response}, handlers and middleware, {@link io.jhv.http.server.StaticFiles},
 * {@link io.jhv.http.server.Cors} and {@link io.jhv.http.server.AccessLog}.
 */
package io.jhv.http.server;
