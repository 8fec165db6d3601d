package io.jhv.http.server;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A streamed body written from a blocking handler waits for a slow client instead of queueing it all. */
@Timeout(60)
class StreamBackpressureTest {
    @Test
    void aStreamToAClientThatDoesNotReadStaysBounded() throws Exception {
        int chunk = 64 * 1024, chunks = 512; // 32 MiB
        AtomicLong written = new AtomicLong();
        CountDownLatch done = new CountDownLatch(1);
        HttpServer server = HttpServer.create("127.0.0.1", 0).threads(1)
                .get("/big", Handler.blocking((req, res) -> {
                    byte[] block = new byte[chunk];
                    try (Response.ChunkedWriter w = res.stream()) {
                        for (int i = 0; i < chunks; i++) {
                            w.write(block);
                            written.addAndGet(chunk);
                        }
                    }
                    done.countDown();
                }))
                .start();
        try (Socket s = new Socket("127.0.0.1", server.port())) {
            s.setReceiveBufferSize(64 * 1024);
            OutputStream out = s.getOutputStream();
            out.write("GET /big HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            // Not reading: the writer must stall far below the 32 MiB it wants to send.
            long before = -1;
            for (int i = 0; i < 50; i++) {
                long now = written.get();
                if (now == before) break;
                before = now;
                TimeUnit.MILLISECONDS.sleep(100); // waiting for the writer to stall is the point
            }
            long stalledAt = written.get();
            assertTrue(stalledAt < 8L << 20, "writer ran ahead of a client that reads nothing: " + stalledAt);
            long queued = server.connections().iterator().next().queuedBytes();
            assertTrue(queued <= 2L << 20, "queued " + queued);
            // Now read everything: the stream completes.
            InputStream in = s.getInputStream();
            byte[] buf = new byte[64 * 1024];
            long total = 0;
            int n;
            while ((n = in.read(buf)) > 0) total += n;
            assertTrue(done.await(10, TimeUnit.SECONDS));
            assertEquals((long) chunk * chunks, written.get());
            assertTrue(total > (long) chunk * chunks, "all chunks arrived: " + total);
        } finally {
            server.close();
        }
    }
}
