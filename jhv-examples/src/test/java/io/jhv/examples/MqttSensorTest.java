package io.jhv.examples;

import io.jhv.mqtt.MqttClient;
import io.jhv.mqtt.MqttMessage;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/** The MQTT example against Debian's mosquitto on a free port. */
@Timeout(30)
class MqttSensorTest {

    @Test
    void answersPingsAndLeavesAWill() throws Exception {
        Path dir = Files.createTempDirectory("example-mqtt");
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        Files.writeString(dir.resolve("m.conf"), "user root\nallow_anonymous true\nlistener " + port + " 127.0.0.1\n");
        String bin = Files.isExecutable(Path.of("/usr/sbin/mosquitto")) ? "/usr/sbin/mosquitto" : "mosquitto";
        Process broker = new ProcessBuilder(bin, "-c", dir.resolve("m.conf").toString()).redirectErrorStream(true)
                .redirectOutput(dir.resolve("log").toFile()).start();
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (true) {
                try (Socket s = new Socket()) {
                    s.connect(new InetSocketAddress("127.0.0.1", port), 200);
                    break;
                } catch (IOException e) {
                    if (System.nanoTime() > deadline) throw e;
                    Thread.sleep(20);
                }
            }
            String url = "mqtt://127.0.0.1:" + port;
            try (MqttClient probe = MqttClient.create(url)) {
                probe.connect().get(5, TimeUnit.SECONDS);
                BlockingQueue<MqttMessage> got = new LinkedBlockingQueue<>();
                probe.subscribe("devices/s1/#", 1, got::add).get(5, TimeUnit.SECONDS);
                MqttClient sensor = MqttSensor.start(url, "s1").get(5, TimeUnit.SECONDS);
                assertEquals("online", got.poll(5, TimeUnit.SECONDS).payloadAsString());
                probe.publish("devices/s1/ping", "42".getBytes(), 1, false).get(5, TimeUnit.SECONDS);
                MqttMessage pong;
                do {
                    pong = got.poll(5, TimeUnit.SECONDS);
                    assertNotNull(pong);
                } while (!pong.topic().endsWith("/pong"));
                assertEquals("pong 42", pong.payloadAsString());
                sensor.close();
            }
        } finally {
            broker.destroy();
            broker.waitFor(10, TimeUnit.SECONDS);
        }
    }
}
