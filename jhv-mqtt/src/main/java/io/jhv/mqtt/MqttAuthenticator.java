package io.jhv.mqtt;

/**
 * MQTT 5 enhanced authentication (section 4.12): the method and initial data go in CONNECT; each
 * AUTH packet from the broker with "continue authentication" (0x18) is answered with the data
 * {@link #onChallenge} returns. Called on the client's loop thread.
 */
public interface MqttAuthenticator {
    /** The authentication method, e.g. "SCRAM-SHA-256". */
    String method();

    /** The authentication data of CONNECT, or null. */
    default byte[] initialData() { return null; }

    /** The broker's challenge (its AUTH properties); returns the data of the client's AUTH answer. */
    byte[] onChallenge(MqttProperties challenge);
}
