package io.jhv.cli;

import io.jhv.core.tls.SelfSignedCertificate;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.File;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/**
 * {@code hv mqtt pub|sub} as processes against Debian's mosquitto, with mosquitto_pub/mosquitto_sub
 * and python3-paho-mqtt (under /usr/bin/python3) on the other side, both directions.
 */
@Timeout(60)
class MqttInteropTest {
    static Path dir;
    static Process broker;
    static int port, tlsPort;
    static final List<Process> processes = new ArrayList<>();

    @BeforeAll
    static void startBroker() throws Exception {
        String bin = Files.isExecutable(Path.of("/usr/sbin/mosquitto")) ? "/usr/sbin/mosquitto" : "mosquitto";
        dir = Files.createTempDirectory("hv-mqtt-interop");
        port = freePort();
        tlsPort = freePort();
        SelfSignedCertificate cert = SelfSignedCertificate.generate("localhost", "127.0.0.1");
        Files.writeString(dir.resolve("cert.pem"), cert.certificatePem());
        Files.writeString(dir.resolve("key.pem"), cert.privateKeyPem());
        Files.writeString(dir.resolve("mosquitto.conf"), """
                user root
                per_listener_settings false
                allow_anonymous true
                log_dest file %1$s/mosquitto.log
                log_type all
                listener %2$d 127.0.0.1
                listener %3$d 127.0.0.1
                certfile %1$s/cert.pem
                keyfile %1$s/key.pem
                """.formatted(dir, port, tlsPort));
        broker = new ProcessBuilder(bin, "-c", dir.resolve("mosquitto.conf").toString()).redirectErrorStream(true)
                .redirectOutput(dir.resolve("stdout.log").toFile()).start();
        awaitPort(port);
        awaitPort(tlsPort);
    }

    @AfterAll
    static void stopBroker() throws Exception {
        if (broker != null) {
            broker.destroy();
            broker.waitFor(10, TimeUnit.SECONDS);
        }
    }

    @AfterEach
    void killProcesses() throws Exception {
        for (Process p : processes) p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        processes.clear();
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    static void awaitPort(int p) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (true) {
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress("127.0.0.1", p), 200);
                return;
            } catch (IOException e) {
                if (System.nanoTime() > deadline) throw new IOException("mosquitto did not start: " + Files.readString(dir.resolve("stdout.log")));
                Thread.sleep(20);
            }
        }
    }

    static String log() throws IOException { return Files.readString(dir.resolve("mosquitto.log")); }

    /** Waits until mosquitto's log shows a SUBSCRIBE from {@code clientId}: the subscriber is ready. */
    static void awaitSubscribed(String clientId, Process p) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!log().contains("Received SUBSCRIBE from " + clientId)) {
            if (!p.isAlive()) fail("subscriber exited: " + new String(p.getErrorStream().readAllBytes()) + new String(p.getInputStream().readAllBytes()));
            if (System.nanoTime() > deadline) fail("no SUBSCRIBE from " + clientId + " in " + log());
            Thread.sleep(20);
        }
    }

    static String java() {
        return ProcessHandle.current().info().command().orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    }

    static String classPath() throws Exception {
        StringBuilder cp = new StringBuilder();
        for (Class<?> c : new Class<?>[] {Main.class, io.jhv.mqtt.MqttClient.class, io.jhv.http.server.HttpServer.class, io.jhv.core.net.TcpServer.class}) {
            if (cp.length() > 0) cp.append(File.pathSeparatorChar);
            cp.append(Path.of(c.getProtectionDomain().getCodeSource().getLocation().toURI()));
        }
        return cp.toString();
    }

    static Process start(List<String> cmd) throws IOException {
        Process p = new ProcessBuilder(cmd).start();
        processes.add(p);
        return p;
    }

    static Process hv(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(java(), "--add-exports", "java.base/sun.nio.ch=ALL-UNNAMED", "-cp", classPath(), "io.jhv.cli.Main", "mqtt"));
        cmd.addAll(List.of(args));
        return start(cmd);
    }

    static String finish(Process p) throws Exception {
        assertTrue(p.waitFor(30, TimeUnit.SECONDS), "process did not exit");
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.exitValue(), "exit status; stdout: " + out + " stderr: " + err);
        return out;
    }

    static final String PAHO_SUB = """
            import sys, paho.mqtt.client as mqtt
            port, topic, cid, v = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
            c = mqtt.Client(client_id=cid, protocol=mqtt.MQTTv5 if v == '5' else mqtt.MQTTv311)
            def on_connect(c, u, f, rc, p=None): c.subscribe(topic, qos=2)
            def on_message(c, u, m):
                print(m.topic, m.payload.decode(), m.qos, flush=True); c.disconnect()
            c.on_connect = on_connect
            c.on_message = on_message
            c.connect('127.0.0.1', port)
            c.loop_forever()
            """;

    static final String PAHO_PUB = """
            import sys, paho.mqtt.client as mqtt, paho.mqtt.publish as pub
            port, topic, msg, v = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
            pub.single(topic, msg, qos=2, hostname='127.0.0.1', port=port, protocol=mqtt.MQTTv5 if v == '5' else mqtt.MQTTv311)
            """;

    @Test
    void hvSubReceivesFromMosquittoPubAndPaho() throws Exception {
        String topic = "interop/sub/" + System.nanoTime();
        Process sub = hv("sub", "-p", "" + port, "-t", topic + "/#", "-q", "2", "-v", "-C", "2", "-i", "hv-sub-a", "-W", "30");
        awaitSubscribed("hv-sub-a", sub);
        finish(start(List.of("mosquitto_pub", "-p", "" + port, "-t", topic + "/m", "-m", "from mosquitto", "-q", "1")));
        finish(start(List.of("/usr/bin/python3", "-c", PAHO_PUB, "" + port, topic + "/p", "from paho", "5")));
        String out = finish(sub);
        assertEquals(topic + "/m from mosquitto\n" + topic + "/p from paho\n", out);
    }

    @Test
    void hvPubReachesMosquittoSubAndPahoAtEveryVersion() throws Exception {
        for (String v : new String[] {"311", "5"}) {
            String topic = "interop/pub/" + v + "/" + System.nanoTime();
            Process ms = start(List.of("mosquitto_sub", "-p", "" + port, "-t", topic, "-C", "1", "-q", "2", "-i", "ms-" + v, "-V", v.equals("5") ? "5" : "311"));
            Process ps = start(List.of("/usr/bin/python3", "-c", PAHO_SUB, "" + port, topic, "paho-" + v, v));
            awaitSubscribed("ms-" + v, ms);
            awaitSubscribed("paho-" + v, ps);
            finish(hv("pub", "-h", "127.0.0.1", "-p", "" + port, "-t", topic, "-m", "hello " + v, "-q", "2", "-V", v));
            assertEquals("hello " + v + "\n", finish(ms));
            assertEquals(topic + " hello " + v + " 2\n", finish(ps));
        }
    }

    @Test
    void retainedFromHvPubOverTlsReachesALaterMosquittoSub() throws Exception {
        String topic = "interop/retained/" + System.nanoTime();
        finish(hv("pub", "--tls", "--cafile", dir.resolve("cert.pem").toString(), "-p", "" + tlsPort, "-t", topic, "-m", "kept", "-r", "-q", "1"));
        assertEquals("kept\n", finish(start(List.of("mosquitto_sub", "-p", "" + port, "-t", topic, "-C", "1", "-W", "10"))));
        finish(hv("pub", "-p", "" + port, "-t", topic, "-n", "-r")); // clears it
    }

    @Test
    void refusedConnectionExitsWithStatus1() throws Exception {
        Process p = hv("pub", "-p", "" + freePort(), "-t", "x", "-m", "y");
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        assertEquals(1, p.exitValue());
        assertTrue(new String(p.getErrorStream().readAllBytes()).contains("hv mqtt pub"));
    }

    @Test
    void badCommandLineExitsWithStatus2() {
        assertEquals(2, Main.run(new String[] {"mqtt", "pub", "-t", "x"}));       // no message
        assertEquals(2, Main.run(new String[] {"mqtt", "sub", "-q", "3", "-t", "x"}));
        assertEquals(2, Main.run(new String[] {"mqtt", "nope"}));
    }
}
