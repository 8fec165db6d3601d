package io.jhv.core.net;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.Socket;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A custom unpacker returning a length it cannot mean closes that connection with a clear cause. */
@Timeout(10)
class BadUnpackerTest {
    @Test
    void zeroOrOversizedLengthsCloseWithACause() throws Exception {
        for (int bad : new int[] {0, 1_000_000}) {
            CompletableFuture<CloseCause> cause = new CompletableFuture<>();
            Unpacker u = in -> bad;
            try (TcpServer server = TcpServer.create("127.0.0.1", 0).threads(1).unpacker(u)
                    .onMessage((c, b) -> b.skip(b.readableBytes()))
                    .onClose((c, why) -> cause.complete(why)).start();
                 Socket s = new Socket("127.0.0.1", server.port())) {
                s.getOutputStream().write(new byte[] {1, 2, 3});
                CloseCause why = cause.get(5, TimeUnit.SECONDS);
                assertEquals(CloseCause.Kind.ERROR, why.kind());
                assertTrue(why.detail().contains("returned package length " + bad), why.detail());
            }
        }
    }
}
