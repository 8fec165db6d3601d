package io.jhv.http.internal.http1;

import io.jhv.http.internal.ServerConfig;

import io.jhv.core.buffer.Buffer;

/**
 * The HTTP/1.1 engine of one connection without a socket: bytes in, response bytes out. The same
 * code path as a served connection (parser, router, middleware, handlers, response encoding), for
 * codec tests and allocation benchmarks (Netty's {@code EmbeddedChannel} in spirit).
 *
 * <p>Single-threaded: everything, blocking routes included, runs on the caller's thread; a response
 * sent from another thread is encoded on that thread, so use it from one thread only. There are no
 * timeouts and no file sending beyond plain reads.
 *
 * {@snippet :
 * ServerConfig cfg = new ServerConfig();
 * cfg.router.add("GET", "/plaintext", (req, res) -> res.text("Hello, World!"));
 * EmbeddedHttp http = new EmbeddedHttp(cfg);
 * http.feed(Buffer.of("GET /plaintext HTTP/1.1\r\nHost: a\r\n\r\n"));
 * String response = http.output().readString();
 * }
 */
public final class EmbeddedHttp {
    private final Buffer out = Buffer.allocate(16 * 1024);
    private final HttpConnection hc;

    public EmbeddedHttp(ServerConfig cfg) {
        this.hc = new HttpConnection(cfg, null, out);
    }

    /** Feeds input bytes (consumed; what the engine keeps it copies). */
    public void feed(Buffer in) {
        hc.onMessage(in);
    }

    /** Feeds {@code a[off, off+len)}. */
    public void feed(byte[] a, int off, int len) {
        hc.onMessage(Buffer.wrap(a, off, len));
    }

    /** The response bytes written so far (read them to consume them). */
    public Buffer output() {
        return out;
    }

    /** True once the engine decided to close the connection (an error, {@code Connection: close}...). */
    public boolean closed() {
        return hc.isClosing();
    }
}
