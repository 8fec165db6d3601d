package io.jhv.mqtt.internal;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.jhv.core.buffer.Buffer;
import io.jhv.mqtt.MqttProtocolException;
import org.junit.jupiter.api.Timeout;

import java.util.ArrayList;
import java.util.List;

/**
 * Jazzer fuzzes the MQTT packet decoder, 3.1.1 and 5. A finding is any exception other than
 * {@link MqttProtocolException}, a result that depends on how the input is split (whole, one byte
 * at a time, in chunks), or a decoded packet that does not encode and decode back to itself.
 * Without {@code JAZZER_FUZZ=1} only the seeds under {@code CodecFuzzTestInputs} run; the surefire
 * execution {@code fuzz} in the module's pom fuzzes for 10 s.
 */
@Timeout(120)
class CodecFuzzTest {

    @FuzzTest(maxDuration = "10s")
    void fuzzDecode(byte[] data) {
        for (int level = 4; level <= 5; level++) {
            String whole = run(data, data.length, level);
            String bytewise = run(data, 1, level);
            String chunks = run(data, 2 + data.length % 7, level);
            if (!whole.equals(bytewise) || !whole.equals(chunks)) {
                throw new AssertionError("the outcome depends on the split (level " + level + "):\n" + whole + "\n" + bytewise + "\n" + chunks);
            }
        }
    }

    private static String run(byte[] data, int step, int level) {
        Codec.Decoder d = new Codec.Decoder(level, 4096);
        Buffer in = Buffer.allocate(64);
        List<String> out = new ArrayList<>();
        try {
            for (int i = 0; i < Math.max(1, data.length); i += Math.max(1, step)) {
                in.write(data, i, Math.min(step, data.length - i));
                Packet p;
                while ((p = d.decode(in)) != null) {
                    int lvl = p instanceof Packet.Connect c ? c.protocolLevel() : level;
                    byte[] wire = Codec.encode(p, lvl);
                    Packet again = new Codec.Decoder(lvl, 1 << 20).decode(Buffer.wrap(wire));
                    if (!p.equals(again)) throw new AssertionError("does not round-trip: " + p + " -> " + again);
                    out.add(p.getClass().getSimpleName() + " " + java.util.HexFormat.of().formatHex(wire));
                }
            }
            out.add("left " + in.readableBytes());
        } catch (MqttProtocolException e) {
            out.add("error " + e.reasonCode());
        }
        return String.join("\n", out);
    }
}
