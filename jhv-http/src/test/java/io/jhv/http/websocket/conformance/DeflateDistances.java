package io.jhv.http.websocket.conformance;

/**
 * A small DEFLATE (RFC 1951) decoder that reports the largest back-reference distance a compressed
 * message uses, to check a peer's {@code server_max_window_bits} / {@code client_max_window_bits}
 * (RFC 7692 section 7.1.2): a sender limited to N bits may refer back at most 2^N bytes.
 * {@link java.util.zip.Inflater} cannot tell, so the check is done by hand. Written from RFC 1951.
 */
final class DeflateDistances {
    private static final int[] LBASE = {3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258};
    private static final int[] LEXT = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0};
    private static final int[] DBASE = {1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537,
        2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577};
    private static final int[] DEXT = {0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13};
    private static final int[] ORDER = {16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15};

    private final byte[] in;
    private long bit;
    private int maxDistance;

    private DeflateDistances(byte[] in) {
        this.in = in;
    }

    /** The largest distance used in a permessage-deflate payload (the {@code 00 00 ff ff} tail is added here). */
    static int maxDistance(byte[] payload) {
        DeflateDistances d = new DeflateDistances(Wire.concat(payload, Wire.TAIL));
        d.run();
        return d.maxDistance;
    }

    private int bits(int n) {
        int v = 0;
        for (int i = 0; i < n; i++, bit++) {
            int idx = (int) (bit >>> 3);
            if (idx >= in.length) throw new IllegalStateException("deflate data cut short");
            v |= ((in[idx] >>> (bit & 7)) & 1) << i;
        }
        return v;
    }

    private void run() {
        while (in.length * 8L - bit >= 10) {
            boolean last = bits(1) == 1;
            int type = bits(2);
            if (type == 0) {
                bit = (bit + 7) & ~7L;
                int len = bits(16);
                bits(16);
                bit += 8L * len;
            } else if (type == 1) {
                int[] l = new int[288];
                for (int i = 0; i < 288; i++) l[i] = i < 144 ? 8 : i < 256 ? 9 : i < 280 ? 7 : 8;
                int[] d = new int[30];
                java.util.Arrays.fill(d, 5);
                codes(new Huffman(l), new Huffman(d));
            } else if (type == 2) {
                int hlit = bits(5) + 257, hdist = bits(5) + 1, hclen = bits(4) + 4;
                int[] cl = new int[19];
                for (int i = 0; i < hclen; i++) cl[ORDER[i]] = bits(3);
                Huffman clh = new Huffman(cl);
                int[] lens = new int[hlit + hdist];
                for (int i = 0; i < lens.length;) {
                    int sym = clh.decode();
                    if (sym < 16) {
                        lens[i++] = sym;
                    } else {
                        int rep, val = 0;
                        if (sym == 16) {
                            val = lens[i - 1];
                            rep = 3 + bits(2);
                        } else if (sym == 17) {
                            rep = 3 + bits(3);
                        } else {
                            rep = 11 + bits(7);
                        }
                        while (rep-- > 0) lens[i++] = val;
                    }
                }
                codes(new Huffman(java.util.Arrays.copyOf(lens, hlit)), new Huffman(java.util.Arrays.copyOfRange(lens, hlit, lens.length)));
            } else {
                throw new IllegalStateException("block type 3");
            }
            if (last) return;
        }
    }

    private void codes(Huffman lit, Huffman dist) {
        while (true) {
            int sym = lit.decode();
            if (sym < 256) continue;
            if (sym == 256) return;
            sym -= 257;
            bits(LEXT[sym]);
            int ds = dist.decode();
            int d = DBASE[ds] + bits(DEXT[ds]);
            maxDistance = Math.max(maxDistance, d);
        }
    }

    /** Canonical Huffman decoding, one bit at a time. */
    private final class Huffman {
        final int[] count = new int[16];
        final int[] symbol;

        Huffman(int[] lengths) {
            symbol = new int[lengths.length];
            for (int len : lengths) count[len]++;
            count[0] = 0;
            int[] offs = new int[16];
            for (int len = 1; len < 15; len++) offs[len + 1] = offs[len] + count[len];
            for (int s = 0; s < lengths.length; s++) if (lengths[s] != 0) symbol[offs[lengths[s]]++] = s;
        }

        int decode() {
            int code = 0, first = 0, index = 0;
            for (int len = 1; len <= 15; len++) {
                code |= bits(1);
                int c = count[len];
                if (code - c < first) return symbol[index + (code - first)];
                index += c;
                first += c;
                first <<= 1;
                code <<= 1;
            }
            throw new IllegalStateException("bad Huffman code");
        }
    }
}
