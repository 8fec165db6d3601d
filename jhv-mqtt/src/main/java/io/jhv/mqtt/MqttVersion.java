package io.jhv.mqtt;

/** The MQTT protocol version a client speaks: 3.1.1 (protocol level 4) or 5 (level 5). */
public enum MqttVersion {
    V3_1_1(4),
    V5(5);

    private final int level;

    MqttVersion(int level) { this.level = level; }

    /** The protocol level byte of CONNECT. */
    public int level() { return level; }

    /** Parses "311", "3.1.1", "4", "5". */
    public static MqttVersion parse(String s) {
        return switch (s.trim()) {
            case "311", "3.1.1", "4", "v311", "V3_1_1" -> V3_1_1;
            case "5", "5.0", "v5", "V5" -> V5;
            default -> throw new IllegalArgumentException("unknown MQTT version: " + s + " (311 or 5)");
        };
    }
}
