/**
 * The HTTP client (to come): requests over pooled keep-alive connections on an event loop, sharing
 * the common types of {@code io.jhv.http} and the HTTP/1.1 codec with the server. Empty for now.
 */
package io.jhv.http.client;
