package io.jhv.http.websocket;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.DataInputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import static io.jhv.http.websocket.WsReviewTest.answer101;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The client's masking keys as a server sees them on the wire (RFC 6455 5.3, 10.3): every frame
 * masked, with a new key that nobody could guess from the last. A test cannot prove a source is
 * cryptographically strong (the keys come from a SecureRandom, FrameWriter.ENTROPY); this one
 * fails for what a careless implementation does instead: a fixed or zero key, a counter, a key
 * per connection, or keys repeating with the 16-key batches they are drawn in.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class WsMaskingKeyTest extends WsServerClosedAfterEach {

    @Test
    void everyFrameHasAFreshUnbiasedMaskingKey() throws Exception {
        int n = 2000;
        try (ServerSocket raw = new ServerSocket(0, 10, InetAddress.getLoopbackAddress())) {
            WebSocketClient c = WebSocketClient.create("ws://127.0.0.1:" + raw.getLocalPort() + "/ws")
                    .config(WebSocketConfig.builder().compression(false).build())
                    .handler((w, m) -> { });
            closeLater.add(c);
            var connected = c.connect();
            try (Socket s = raw.accept()) {
                s.setSoTimeout(10_000);
                answer101(s, "");
                WebSocket ws = connected.get(10, TimeUnit.SECONDS);
                for (int i = 0; i < n; i++) ws.send("m" + i);
                DataInputStream in = new DataInputStream(s.getInputStream());
                Set<Integer> distinct = new HashSet<>();
                int[] ones = new int[32];
                for (int i = 0; i < n; i++) {
                    int b0 = in.readUnsignedByte(), b1 = in.readUnsignedByte();
                    assertEquals(0x81, b0, "frame " + i + ": a final text frame");
                    assertTrue((b1 & 0x80) != 0, "frame " + i + " is not masked");
                    int len = b1 & 0x7f; // "m0".."m1999": under 126 bytes
                    int key = in.readInt();
                    byte[] payload = in.readNBytes(len);
                    for (int k = 0; k < len; k++) payload[k] ^= (byte) (key >>> (24 - 8 * (k & 3)));
                    assertEquals("m" + i, new String(payload, java.nio.charset.StandardCharsets.US_ASCII), "frame " + i + " unmasks to what was sent");
                    distinct.add(key);
                    for (int bit = 0; bit < 32; bit++) if ((key >>> bit & 1) != 0) ones[bit]++;
                }
                // 2,000 random 32-bit keys repeat with a chance of about 1 in 2,000: allow a few
                assertTrue(distinct.size() >= n - 5, distinct.size() + " distinct keys in " + n + " frames");
                for (int bit = 0; bit < 32; bit++) { // each bit ~50% set: 40-60% is ~9 standard deviations wide
                    assertTrue(ones[bit] > n * 0.4 && ones[bit] < n * 0.6, "bit " + bit + " of the key set in " + ones[bit] + " of " + n + " frames");
                }
            }
        }
    }
}
