package io.jhv.http.websocket.interop;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

/** The messages the interop tests exchange: the same set the peer clients send (node-client.js, py-client.py). */
final class Messages {
    private Messages() {
    }

    /** Multi-byte UTF-8: 2-, 3- and 4-byte sequences (emoji and a musical symbol outside the BMP). */
    static final String MULTI_BYTE = "h\u00e9llo w\u00f6rld \u2014 \u0395\u03bb\u03bb\u03b7\u03bd\u03b9\u03ba\u03ac \u2014 "
            + "\u0440\u0443\u0441\u0441\u043a\u0438\u0439 \u2014 \u65e5\u672c\u8a9e \u2014 \ud83c\udf89\ud83d\ude80 \u2014 \ud834\udd1e";

    /** Messages in one round of {@link #set}. */
    static final int PER_ROUND = 14;

    /** One message: text (its UTF-8 bytes) or binary. */
    record Msg(boolean text, byte[] data) {
        static Msg text(String s) {
            return new Msg(true, s.getBytes(StandardCharsets.UTF_8));
        }

        String describe() {
            return (text ? "text" : "binary") + " of " + data.length + " bytes";
        }

        boolean same(Msg o) {
            return text == o.text && Arrays.equals(data, o.data);
        }
    }

    /**
     * Text ("hello", empty, multi-byte UTF-8, 4096 and 4097 bytes, about 1 MiB of compressible multi-byte text) and binary
     * (0-255, empty, the lengths around the 7-bit/16-bit/64-bit length encodings, 1 MiB random),
     * {@code rounds} times.
     */
    static List<Msg> set(int rounds, long seed) {
        Random random = new Random(seed);
        List<Msg> all = new ArrayList<>();
        for (int r = 0; r < rounds; r++) {
            all.add(Msg.text("hello"));
            all.add(Msg.text(""));
            all.add(Msg.text(MULTI_BYTE));
            byte[] b = new byte[256];
            for (int i = 0; i < 256; i++) b[i] = (byte) i;
            all.add(new Msg(false, b));
            all.add(new Msg(false, new byte[0]));
            for (int n : new int[] {125, 126, 127, 65535, 65536}) {
                byte[] x = new byte[n];
                for (int i = 0; i < n; i++) x[i] = (byte) (i * 31 + 7);
                all.add(new Msg(false, x));
            }
            // 4096 bytes: the largest message a 12-bit deflate window (python's default) lets jhv compress
            for (int n : new int[] {4096, 4097}) {
                StringBuilder sb = new StringBuilder();
                while (sb.length() < n) sb.append("0123456789abcdef");
                all.add(Msg.text(sb.substring(0, n)));
            }
            StringBuilder big = new StringBuilder();
            int bytes = 0;
            for (int i = 0; bytes < 1 << 20; i++) {
                String line = i + " " + MULTI_BYTE + "\n";
                big.append(line);
                bytes += line.getBytes(StandardCharsets.UTF_8).length;
            }
            all.add(Msg.text(big.toString()));
            byte[] rnd = new byte[1 << 20];
            random.nextBytes(rnd);
            all.add(new Msg(false, rnd));
        }
        return all;
    }

    /** A 4 KiB text (compressible) that starts and ends with multi-byte characters, to send in fragments. */
    static byte[] fragmentedText() {
        return ("fragmented " + MULTI_BYTE + " " + "abc ".repeat(1000) + MULTI_BYTE).getBytes(StandardCharsets.UTF_8);
    }

    static int indexOf(byte[] in, byte[] what) {
        outer:
        for (int i = 0; i + what.length <= in.length; i++) {
            for (int j = 0; j < what.length; j++) if (in[i + j] != what[j]) continue outer;
            return i;
        }
        throw new AssertionError("not found");
    }

    static long payload(List<Msg> messages) {
        long n = 0;
        for (Msg m : messages) n += m.data.length;
        return n;
    }
}
