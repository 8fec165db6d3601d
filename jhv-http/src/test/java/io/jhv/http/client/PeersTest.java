package io.jhv.http.client;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Real servers other than jhv: Debian's nginx (a keep-alive timeout shorter than the pool's) and Python's http.server (HTTP/1.0). */
@Timeout(20)
class PeersTest {

    static int freePort() throws IOException {
        try (ServerSocket ss = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            return ss.getLocalPort();
        }
    }

    /** Waits until something listens on the port (or the process died). */
    static void awaitPort(int port, Process p) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (System.nanoTime() < deadline) {
            if (!p.isAlive()) throw new AssertionError("the peer exited with " + p.exitValue());
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress("127.0.0.1", port), 200);
                return;
            } catch (IOException notYet) {
                Thread.sleep(50); // polling for the peer to listen
            }
        }
        throw new AssertionError("nothing listens on " + port);
    }

    static String nginx() {
        for (String p : new String[] {"/usr/sbin/nginx", "/usr/bin/nginx"}) if (Files.isExecutable(Path.of(p))) return p;
        throw new AssertionError("nginx is not installed (./test installs Debian's nginx)");
    }

    static Process startNginx(Path dir, int port) throws Exception {
        Path www = Files.createDirectories(dir.resolve("www"));
        Files.writeString(www.resolve("index.txt"), "hello from nginx\n".repeat(200));
        for (String t : new String[] {"body", "proxy", "fastcgi", "uwsgi", "scgi"}) Files.createDirectories(dir.resolve("tmp-" + t));
        String conf = """
                daemon off;
                master_process off;
                worker_processes 1;
                pid %1$s/nginx.pid;
                error_log %1$s/error.log warn;
                events { worker_connections 64; }
                http {
                    access_log off;
                    client_body_temp_path %1$s/tmp-body;
                    proxy_temp_path %1$s/tmp-proxy;
                    fastcgi_temp_path %1$s/tmp-fastcgi;
                    uwsgi_temp_path %1$s/tmp-uwsgi;
                    scgi_temp_path %1$s/tmp-scgi;
                    default_type text/plain;
                    keepalive_timeout 1s;
                    gzip on;
                    gzip_types text/plain;
                    gzip_min_length 1;
                    server {
                        listen 127.0.0.1:%2$d;
                        root %1$s/www;
                    }
                }
                """.formatted(dir, port);
        Path cf = dir.resolve("nginx.conf");
        Files.writeString(cf, conf);
        Process p = new ProcessBuilder(nginx(), "-p", dir.toString(), "-c", cf.toString(), "-e", dir.resolve("error.log").toString())
                .redirectErrorStream(true).redirectOutput(dir.resolve("nginx.out").toFile()).start();
        awaitPort(port, p);
        return p;
    }

    @Test
    void nginxClosingIdleConnectionsAfterOneSecondNeverFailsARequest(@TempDir Path dir) throws Exception {
        int port = freePort();
        Process nginx = startNginx(dir, port);
        try (HttpClient c = HttpClient.builder().idleTimeout(Duration.ofSeconds(30)).build()) {
            String url = "http://127.0.0.1:" + port + "/index.txt";
            String expect = "hello from nginx\n".repeat(200);
            HttpResponse r = c.get(url);
            assertEquals(expect, r.bodyString());
            assertEquals("gzip", r.header("Content-Encoding"), "nginx compressed it and the client decoded it");
            // nginx drops the idle connection after 1 s; the pool hears the FIN and forgets it.
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (c.stats().open() != 0 && System.nanoTime() < deadline) Thread.onSpinWait();
            assertEquals(0, c.stats().open(), "the closed connection left the pool");
            assertEquals(expect, c.get(url).bodyString());
            // Requests right around nginx's timeout: none fails (stale ones are detected or retried).
            int failures = 0;
            for (int i = 0; i < 6; i++) {
                Thread.sleep(900 + i * 40L); // straddling the 1 s keep-alive timeout is the scenario
                try {
                    assertEquals(expect, c.get(url).bodyString());
                } catch (IOException e) {
                    failures++;
                }
            }
            assertEquals(0, failures);
            // a burst over the pool
            for (int i = 0; i < 100; i++) assertEquals(200, c.get(url).status());
        } finally {
            nginx.destroy();
            nginx.waitFor(5, TimeUnit.SECONDS);
        }
    }

    @Test
    void pythonHttpServerSpeaksHttp10AndClosesEachConnection(@TempDir Path dir) throws Exception {
        byte[] content = new byte[200_000];
        for (int i = 0; i < content.length; i++) content[i] = (byte) (i * 31);
        Files.write(dir.resolve("data.bin"), content);
        int port = freePort();
        Process py = new ProcessBuilder("/usr/bin/python3", "-m", "http.server", "--bind", "127.0.0.1", "-d", dir.toString(),
                Integer.toString(port)).redirectErrorStream(true).redirectOutput(dir.resolve("py.log").toFile()).start();
        try (HttpClient c = HttpClient.create()) {
            awaitPort(port, py);
            for (int i = 0; i < 3; i++) {
                HttpResponse r = c.get("http://127.0.0.1:" + port + "/data.bin");
                assertEquals(200, r.status());
                assertEquals("HTTP/1.0", r.version());
                assertArrayEquals(content, r.body());
            }
            assertEquals(404, c.get("http://127.0.0.1:" + port + "/missing").status());
            assertEquals(0, c.stats().idle(), "HTTP/1.0 without keep-alive: nothing pooled");
        } finally {
            py.destroy();
            py.waitFor(5, TimeUnit.SECONDS);
        }
    }

    @Test
    void aCloseDelimitedBodyEndsWithTheConnection() throws Exception {
        try (RawServer s = new RawServer(conn -> {
            conn.readHead();
            conn.write("HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end");
        }); HttpClient c = HttpClient.create()) {
            HttpResponse r = c.get(s.url("/"));
            assertEquals("until the end", r.bodyString());
            assertTrue(c.stats().open() <= 1);
        }
    }
}
