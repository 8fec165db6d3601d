package io.jhv.http.websocket;

import io.jhv.core.loop.EventLoopGroup;

import java.io.BufferedReader;
import java.io.File;
import java.io.InputStreamReader;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A child JVM with many WebSocket clients on a two-loop group: {@code ManyWsClients URL N}. Each
 * client connects (at most 200 handshakes at a time), sends one text message and waits for its echo;
 * then the process prints {@code echoed N threads T} and waits for a line on stdin, closes every
 * client (1000) and prints {@code closed N}. Own process: the test JVM keeps its descriptors for the
 * server side.
 */
public final class ManyWsClients {
    private ManyWsClients() {
    }

    public static void main(String[] args) throws Exception {
        String url = args[0];
        int n = Integer.parseInt(args[1]);
        EventLoopGroup group = EventLoopGroup.create(2).start();
        Semaphore inFlight = new Semaphore(200);
        CountDownLatch echoed = new CountDownLatch(n);
        CountDownLatch closed = new CountDownLatch(n);
        AtomicInteger failures = new AtomicInteger();
        List<WebSocketClient> clients = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            inFlight.acquire();
            String hello = "hello " + i;
            WebSocketClient c = WebSocketClient.create(url).group(group)
                    .config(WebSocketConfig.builder().compression(false).build())
                    .handler(new WebSocketHandler() {
                        @Override public void onMessage(WebSocket ws, Message m) {
                            if (m.text().equals(hello)) echoed.countDown();
                            else failures.incrementAndGet();
                        }
                        @Override public void onClose(WebSocket ws, int code, String reason) {
                            if (code != CloseCodes.NORMAL) failures.incrementAndGet();
                            closed.countDown();
                        }
                    });
            clients.add(c);
            c.connect().whenComplete((ws, err) -> {
                inFlight.release();
                if (err != null) {
                    failures.incrementAndGet();
                    System.out.println("failed " + err);
                } else {
                    ws.send(hello);
                }
            });
        }
        if (!echoed.await(120, TimeUnit.SECONDS)) {
            System.out.println("timeout echoed " + (n - echoed.getCount()) + " failures " + failures.get());
        }
        System.out.println("echoed " + (n - echoed.getCount()) + " threads " + Thread.activeCount() + " failures " + failures.get());
        System.out.flush();
        new BufferedReader(new InputStreamReader(System.in)).readLine();
        for (WebSocketClient c : clients) c.close();
        closed.await(60, TimeUnit.SECONDS);
        System.out.println("closed " + (n - closed.getCount()) + " failures " + failures.get());
        System.out.flush();
        group.close();
    }

    /** Starts this class in a child JVM. */
    static Process start(String url, int n) throws Exception {
        String java = ProcessHandle.current().info().command().orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        StringBuilder cp = new StringBuilder();
        for (Class<?> c : new Class<?>[] {ManyWsClients.class, WebSocketClient.class, io.jhv.core.net.TcpServer.class}) {
            if (cp.length() > 0) cp.append(File.pathSeparatorChar);
            cp.append(Path.of(c.getProtectionDomain().getCodeSource().getLocation().toURI()));
        }
        List<String> cmd = List.of(java, "-Xmx512m", "--add-exports", "java.base/sun.nio.ch=ALL-UNNAMED",
                "-cp", cp.toString(), ManyWsClients.class.getName(), url, Integer.toString(n));
        return new ProcessBuilder(cmd).redirectErrorStream(true).start();
    }
}
