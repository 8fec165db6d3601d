package io.jhv.http.websocket.conformance;

import org.junit.jupiter.api.Test;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.zip.Deflater;

import static io.jhv.http.websocket.conformance.Wire.BINARY;
import static io.jhv.http.websocket.conformance.Wire.CLOSE;
import static io.jhv.http.websocket.conformance.Wire.RSV1;
import static io.jhv.http.websocket.conformance.Wire.TEXT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The conformance suite's own peers checked against each other (no jhv engine involved): a test
 * tool that is wrong would pass or fail cases for the wrong reason.
 */
class HarnessSelfConformanceTest {

    @Test
    void rawClientAndRawServerTalk() throws Exception {
        try (RawWsServer srv = new RawWsServer()) {
            CompletableFuture<Void> serverSide = CompletableFuture.runAsync(() -> {
                try (RawWsServer.Peer p = srv.accept()) {
                    p.assertValidRequest("/x");
                    p.switching("Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover");
                    RawEndpoint.Event e = p.next();
                    assertEquals(TEXT, e.opcode());
                    p.send(p.compressedFrame(TEXT, e.payload()));
                    e = p.next();
                    p.send(p.f(true, 0, BINARY, e.payload()));
                    p.expectClose(1000);
                } catch (Exception ex) {
                    throw new RuntimeException(ex);
                }
            });
            try (RawWsClient c = RawWsClient.open(srv.port(), "/x")) {
                assertTrue(c.pmd.serverNoContextTakeover);
                byte[] m = Wire.repeat("round trip ", 1000);
                c.send(c.compressedFrame(TEXT, m));
                assertTrue(c.expectEcho(TEXT, m).compressed());
                c.sendByteByByte(c.f(true, 0, BINARY, Wire.random(300, 1)));
                c.expectEcho(BINARY, Wire.random(300, 1));
                c.close(1000, "");
                RawEndpoint.Event e = c.next();
                assertEquals(CLOSE, e.opcode());
                assertEquals(1000, e.closeCode());
                c.expectTcpClosed();
            }
            serverSide.get(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void rawClientRefusesMaskedFramesFromServer() throws Exception {
        try (RawWsServer srv = new RawWsServer()) {
            CompletableFuture<Void> serverSide = CompletableFuture.runAsync(() -> {
                try (RawWsServer.Peer p = srv.accept()) {
                    p.switching();
                    p.send(Wire.frame(true, 0, TEXT, Wire.utf8("masked"), true));
                    p.expectSilence(3000);
                } catch (Exception ex) {
                    throw new RuntimeException(ex);
                }
            });
            try (RawWsClient c = RawWsClient.open(srv.port(), "/x")) {
                assertThrows(AssertionError.class, c::next);
            }
            assertThrows(Exception.class, () -> serverSide.get(10, TimeUnit.SECONDS)); // it saw the client vanish
        }
    }

    @Test
    void deflateDistancesSeesTheRepeat() {
        byte[] a = Wire.random(600, 1);
        byte[] m = Wire.concat(a, Wire.random(2000, 2), a);
        Wire.Compressor z = new Wire.Compressor(Deflater.BEST_COMPRESSION, true);
        int d = DeflateDistances.maxDistance(z.compress(m));
        assertEquals(2600, d, "the repeated 600 bytes are 2600 back");
        assertEquals(0, DeflateDistances.maxDistance(z.compress(Wire.random(5000, 3))), "random: no references found");
        assertTrue(DeflateDistances.maxDistance(z.compress(Wire.repeat("abc", 1000))) <= 3);
        // stored blocks and a fixed-Huffman block
        Wire.Compressor stored = new Wire.Compressor(Deflater.NO_COMPRESSION, true);
        assertEquals(0, DeflateDistances.maxDistance(stored.compress(m)));
        assertEquals(0, DeflateDistances.maxDistance(Wire.hex("00")));
    }

    @Test
    void compressorAndDecompressorAgree() throws Exception {
        Wire.Compressor z = new Wire.Compressor(false);
        Wire.Decompressor u = new Wire.Decompressor(false);
        for (int i = 0; i < 5; i++) {
            byte[] m = Wire.repeat("context " + i, 5000);
            assertTrue(java.util.Arrays.equals(m, u.decompress(z.compress(m), Integer.MAX_VALUE)));
        }
        assertEquals(0, u.decompress(z.compress(new byte[0]), 10).length);
        assertEquals(0, new Wire.Decompressor(true).decompress(Wire.hex("00"), 10).length);
        Wire.Compressor fin = new Wire.Compressor(true);
        Wire.Decompressor fresh = new Wire.Decompressor(true);
        byte[] m = Wire.repeat("final", 3000);
        assertTrue(java.util.Arrays.equals(m, fresh.decompress(fin.compressFinal(m), Integer.MAX_VALUE)));
        byte[] bomb = Wire.deflateBomb(64L << 20);
        assertTrue(bomb.length < 128 << 10, "bomb is " + bomb.length);
        assertThrows(java.util.zip.DataFormatException.class, () -> new Wire.Decompressor(true).decompress(bomb, 1 << 20));
        assertEquals(0, RSV1 & 3);
    }
}
