package io.jhv.cli;

import io.jhv.core.tls.TlsConfig;
import io.jhv.mqtt.MqttClient;
import io.jhv.mqtt.MqttException;
import io.jhv.mqtt.MqttMessage;
import io.jhv.mqtt.MqttVersion;

import java.io.BufferedReader;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * {@code hv mqtt pub|sub}: an MQTT client for the terminal in the manner of mosquitto_pub and
 * mosquitto_sub (the same short options). {@code pub} connects, publishes one message (or one per
 * stdin line with {@code -l}), waits for the acknowledgements and disconnects. {@code sub} prints
 * each message's payload on a line of stdout ({@code -v}: topic, a space, payload) until
 * {@code -C} messages have come, {@code -W} seconds have passed, or it is stopped.
 *
 * <p>Exit status: 0 on success; 1 if the connection is refused or fails, a publish fails, or
 * {@code -W} expires; 2 for a bad command line.
 */
final class MqttCommand {
    static final String USAGE = "hv mqtt pub|sub [-h HOST] [-p PORT] [-L URL] -t TOPIC [-m MSG|-f FILE|-l|-s|-n] [-q QOS] [-r]\n"
            + "                [-V 311|5] [-i ID] [-u USER -P PASS] [-k KEEPALIVE] [--tls] [--cafile FILE] [--insecure]\n"
            + "                [-v] [-C COUNT] [-W SECONDS] [-c -x EXPIRY]";

    static final String HELP = """
            usage: %s

            pub: publishes a message and exits once the broker has acknowledged it.
            sub: prints the messages of the topic filters (-t, repeatable) on stdout.

            options (as mosquitto_pub/mosquitto_sub):
              -h HOST        broker host (default 127.0.0.1)
              -p PORT        broker port (default 1883, 8883 with --tls)
              -L URL         mqtt://, mqtts://, ws:// or wss:// URL instead of -h/-p
              -t TOPIC       topic (pub) or topic filter (sub, repeatable)
              -m MSG         the message (pub)
              -f FILE        the message is the file's content (pub)
              -l             one message per line of stdin (pub)
              -s             the message is all of stdin (pub)
              -n             an empty message (pub)
              -q QOS         0, 1 or 2 (default 0)
              -r             retain (pub)
              -V 311|5       protocol version (default 5)
              -i ID          client id (default: pub: hv-pub-PID, sub: hv-sub-PID)
              -u USER -P PASS  credentials
              -k SECONDS     keepalive (default 60)
              -c             sub: a persistent session (clean start 0)
              -x SECONDS     session expiry interval (MQTT 5)
              -v             sub: print the topic before each payload
              -C COUNT       sub: exit after COUNT messages
              -W SECONDS     sub: exit (status 1) after SECONDS without finishing
              --tls          use TLS (mqtts)
              --cafile FILE  trust the CA certificates of this PEM file
              --insecure     accept any certificate (testing only)
            """;

    private MqttCommand() {}

    private static final class Opts {
        String mode, host = "127.0.0.1", url, message, file, id, user, pass, cafile;
        int port = -1, qos = 0, keepAlive = 60, count = -1, timeout = -1;
        long expiry = 0;
        boolean retain, lines, stdin, empty, verbose, tls, insecure, persistent;
        MqttVersion version = MqttVersion.V5;
        final List<String> topics = new ArrayList<>();
    }

    static int run(String[] argv) {
        if (argv.length < 2 || argv[1].equals("--help") || argv[1].equals("help")) {
            System.out.printf(HELP, USAGE);
            return argv.length < 2 ? 2 : 0;
        }
        Opts o = parse(argv);
        return o.mode.equals("pub") ? pub(o) : sub(o);
    }

    private static Opts parse(String[] argv) {
        Opts o = new Opts();
        o.mode = argv[1];
        if (!o.mode.equals("pub") && !o.mode.equals("sub")) throw new Args.UsageException("hv mqtt: pub or sub, not " + o.mode);
        for (int i = 2; i < argv.length; i++) {
            String a = argv[i];
            switch (a) {
                case "--help" -> {
                    System.out.printf(HELP, USAGE);
                    System.exit(0);
                }
                case "-r", "--retain" -> o.retain = true;
                case "-l" -> o.lines = true;
                case "-s" -> o.stdin = true;
                case "-n" -> o.empty = true;
                case "-v", "--verbose" -> o.verbose = true;
                case "-c" -> o.persistent = true;
                case "--tls" -> o.tls = true;
                case "--insecure" -> o.insecure = true;
                default -> {
                    if (i + 1 >= argv.length) throw new Args.UsageException(a + " needs a value (or is unknown)");
                    String v = argv[++i];
                    switch (a) {
                        case "-h", "--host" -> o.host = v;
                        case "-p", "--port" -> o.port = number(a, v, 1, 65535);
                        case "-L", "--url" -> o.url = v;
                        case "-t", "--topic" -> o.topics.add(v);
                        case "-m", "--message" -> o.message = v;
                        case "-f", "--file" -> o.file = v;
                        case "-q", "--qos" -> o.qos = number(a, v, 0, 2);
                        case "-V", "--protocol-version" -> {
                            try {
                                o.version = MqttVersion.parse(v.replace("mqttv", ""));
                            } catch (IllegalArgumentException e) {
                                throw new Args.UsageException("-V: 311 or 5, not " + v);
                            }
                        }
                        case "-i", "--id" -> o.id = v;
                        case "-u", "--username" -> o.user = v;
                        case "-P", "--pw" -> o.pass = v;
                        case "-k", "--keepalive" -> o.keepAlive = number(a, v, 0, 65535);
                        case "-x" -> o.expiry = number(a, v, 0, Integer.MAX_VALUE);
                        case "-C" -> o.count = number(a, v, 1, Integer.MAX_VALUE);
                        case "-W" -> o.timeout = number(a, v, 1, Integer.MAX_VALUE);
                        case "--cafile" -> o.cafile = v;
                        default -> throw new Args.UsageException("unknown option: " + a);
                    }
                }
            }
        }
        if (o.topics.isEmpty()) throw new Args.UsageException("hv mqtt " + o.mode + ": -t TOPIC is required");
        if (o.mode.equals("pub")) {
            int sources = (o.message != null ? 1 : 0) + (o.file != null ? 1 : 0) + (o.lines ? 1 : 0) + (o.stdin ? 1 : 0) + (o.empty ? 1 : 0);
            if (sources != 1) throw new Args.UsageException("hv mqtt pub: exactly one of -m, -f, -l, -s, -n");
            if (o.topics.size() != 1) throw new Args.UsageException("hv mqtt pub: one -t");
        }
        return o;
    }

    private static int number(String opt, String v, int min, int max) {
        try {
            int n = Integer.parseInt(v.trim());
            if (n < min || n > max) throw new Args.UsageException(opt + " must be between " + min + " and " + max + ": " + v);
            return n;
        } catch (NumberFormatException e) {
            throw new Args.UsageException(opt + " must be a number: " + v);
        }
    }

    private static MqttClient client(Opts o, String defaultIdPrefix) {
        String url = o.url;
        if (url == null) url = (o.tls ? "mqtts://" : "mqtt://") + (o.host.indexOf(':') >= 0 ? "[" + o.host + "]" : o.host)
                + ":" + (o.port > 0 ? o.port : o.tls ? 8883 : 1883);
        MqttClient c = MqttClient.create(url).version(o.version).keepAlive(Duration.ofSeconds(o.keepAlive))
                .clientId(o.id != null ? o.id : defaultIdPrefix + ProcessHandle.current().pid())
                .maximumPacketSize(268_435_460L); // like mosquitto_sub: any message MQTT can carry
        if (o.user != null) c.credentials(o.user, o.pass);
        if (o.persistent) c.cleanStart(false);
        if (o.expiry > 0) c.sessionExpiry(Duration.ofSeconds(o.expiry));
        if (o.cafile != null || o.insecure) {
            TlsConfig.Builder b = TlsConfig.client();
            if (o.cafile != null) b.trust(Path.of(o.cafile));
            if (o.insecure) b.trustAll();
            c.tls(b.build());
        }
        return c;
    }

    private static Throwable cause(Throwable t) {
        return t instanceof ExecutionException && t.getCause() != null ? t.getCause() : t;
    }

    private static int pub(Opts o) {
        List<byte[]> payloads = new ArrayList<>();
        try {
            if (o.message != null) payloads.add(o.message.getBytes(StandardCharsets.UTF_8));
            else if (o.empty) payloads.add(new byte[0]);
            else if (o.file != null) payloads.add(Files.readAllBytes(Path.of(o.file)));
            else if (o.stdin) payloads.add(System.in.readAllBytes());
        } catch (IOException e) {
            System.err.println("hv mqtt pub: " + e.getMessage());
            return 1;
        }
        MqttClient c = client(o, "hv-pub-");
        try {
            c.connect().get(30, TimeUnit.SECONDS);
            String topic = o.topics.get(0);
            if (o.lines) {
                BufferedReader r = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
                String line;
                while ((line = r.readLine()) != null) {
                    c.publish(MqttMessage.of(topic, line).qos(o.qos).retain(o.retain)).get(30, TimeUnit.SECONDS);
                }
            } else {
                for (byte[] p : payloads) c.publish(MqttMessage.of(topic, p).qos(o.qos).retain(o.retain)).get(30, TimeUnit.SECONDS);
            }
            return 0;
        } catch (ExecutionException | TimeoutException | IOException e) {
            System.err.println("hv mqtt pub: " + cause(e).getMessage());
            return 1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return 1;
        } finally {
            c.close();
        }
    }

    private static int sub(Opts o) {
        PrintStream out = new PrintStream(new FileOutputStream(FileDescriptor.out), false, StandardCharsets.UTF_8);
        CountDownLatch done = new CountDownLatch(1);
        AtomicInteger received = new AtomicInteger();
        MqttClient c = client(o, "hv-sub-");
        c.onConnectionLost(e -> {
            System.err.println("hv mqtt sub: " + e.getMessage());
            done.countDown();
        });
        Thread hook = new Thread(() -> {
            c.close();
            out.flush();
        }, "hv-mqtt-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        try {
            c.connect().get(30, TimeUnit.SECONDS);
            for (String t : o.topics) {
                c.subscribe(t, o.qos, m -> {
                    if (o.count > 0 && received.get() >= o.count) return;
                    if (o.verbose) {
                        out.print(m.topic());
                        out.print(' ');
                    }
                    out.write(m.payload(), 0, m.payload().length);
                    out.print('\n');
                    out.flush();
                    if (o.count > 0 && received.incrementAndGet() >= o.count) done.countDown();
                }).get(30, TimeUnit.SECONDS);
            }
            boolean finished = o.timeout > 0 ? done.await(o.timeout, TimeUnit.SECONDS) : awaitForever(done);
            if (!finished) {
                System.err.println("hv mqtt sub: timed out after " + o.timeout + " s");
                return 1;
            }
            return o.count > 0 && received.get() >= o.count ? 0 : 1;
        } catch (ExecutionException | TimeoutException e) {
            Throwable t = cause(e);
            System.err.println("hv mqtt sub: " + (t instanceof MqttException me ? me.getMessage() : t.toString()));
            return 1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return 1;
        } finally {
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException shuttingDown) {
                // the hook runs
            }
            c.close();
            out.flush();
        }
    }

    private static boolean awaitForever(CountDownLatch done) throws InterruptedException {
        done.await();
        return true;
    }
}
