/** HTTP/1.1 server: {@code HttpServer}, routing, requests and responses. */
package io.jhv.http;
