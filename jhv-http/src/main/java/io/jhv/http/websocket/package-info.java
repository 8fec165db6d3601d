/**
 * WebSocket (RFC 6455, to come next): the upgrade from an HTTP/1.1 exchange on the server and the
 * client, and a message API over a connection's event loop. Empty for now.
 */
package io.jhv.http.websocket;
