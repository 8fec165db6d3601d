package io.jhv.cli.proxy;

import io.jhv.core.buffer.Buffer;
import io.jhv.core.loop.EventLoop;
import io.jhv.core.loop.Timer;
import io.jhv.core.net.UdpSocket;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;

/**
 * A UDP proxy ({@code hv proxy udp}, libhv's {@code udp_proxy_server}): datagrams from each client
 * address go to the target through an upstream socket of that client's own, and what the target
 * sends back to that socket goes to the client from the listening socket. A client that sends
 * nothing for the idle timeout loses its socket; beyond {@code maxClients} new clients' datagrams
 * are dropped (and logged) until one expires. Datagrams from anyone but the target on an upstream
 * socket are dropped.
 *
 * <p>Thread contract: {@link #start} and {@link #close} from any thread; datagrams are handled on
 * the listening socket's loop, which the upstream sockets share.
 */
public final class UdpProxy implements AutoCloseable {
    private final String host;
    private final int port;
    private final String targetHost;
    private final int targetPort;
    private final long idleMs;
    private final int maxClients;
    private final ProxyLog log;

    private UdpSocket listen;
    private EventLoop loop;
    private InetSocketAddress target;
    private Timer sweeper;
    private final Map<InetSocketAddress, Client> clients = new HashMap<>(); // loop thread
    private long droppedForLimit;

    /** One client address and its upstream socket. Loop thread. */
    private static final class Client {
        final UdpSocket up;
        long lastActive;

        Client(UdpSocket up, long now) {
            this.up = up;
            this.lastActive = now;
        }
    }

    public UdpProxy(String host, int port, String targetHost, int targetPort, Duration idleTimeout, int maxClients, ProxyLog log) {
        this.host = Objects.requireNonNull(host, "host");
        this.port = port;
        this.targetHost = Objects.requireNonNull(targetHost, "targetHost");
        this.targetPort = targetPort;
        this.idleMs = Math.max(1, idleTimeout.toMillis());
        if (maxClients < 1) throw new IllegalArgumentException("maxClients must be > 0");
        this.maxClients = maxClients;
        this.log = Objects.requireNonNull(log, "log");
    }

    /**
     * Resolves the target, binds the listening socket and starts relaying. Any thread, once.
     *
     * @throws java.io.UncheckedIOException if the target cannot be resolved or the socket not bound
     */
    public UdpProxy start() {
        target = new InetSocketAddress(targetHost, targetPort);
        if (target.isUnresolved()) throw new java.io.UncheckedIOException(new java.net.UnknownHostException("cannot resolve " + targetHost));
        listen = UdpSocket.bind(host, port).onMessage(this::fromClient).start();
        loop = listen.loop();
        long period = Math.max(10, Math.min(1000, idleMs / 4));
        CompletableFuture<Void> armed = new CompletableFuture<>();
        loop.post(() -> {
            sweeper = loop.setInterval(period, this::expire);
            armed.complete(null);
        });
        armed.join();
        return this;
    }

    /** The port it listens on. Any thread. */
    public int port() { return listen.port(); }

    /** How many clients have an upstream socket now. Any thread but the loop's (it asks the loop and waits). */
    public int clientCount() {
        return loop.submit(clients::size).join();
    }

    private void fromClient(UdpSocket sock, InetSocketAddress sender, Buffer datagram) {
        long now = System.nanoTime();
        Client c = clients.get(sender);
        if (c == null) {
            if (clients.size() >= maxClients) {
                if (droppedForLimit++ % 1000 == 0) {
                    log.warn(null, "more than " + maxClients + " clients; dropping datagrams from new ones (" + droppedForLimit + " so far)");
                }
                datagram.skip(datagram.readableBytes());
                return;
            }
            UdpSocket up;
            try {
                up = UdpSocket.create().loop(loop).onMessage((s, from, reply) -> fromTarget(sender, from, reply)).start();
            } catch (RuntimeException e) {
                log.warn(null, "cannot open an upstream socket for " + sender + ": " + e.getMessage());
                datagram.skip(datagram.readableBytes());
                return;
            }
            c = new Client(up, now);
            clients.put(sender, c);
            log.info(null, "new client " + sender + " via local port " + up.port());
        }
        c.lastActive = now;
        c.up.sendTo(target, datagram);
    }

    private void fromTarget(InetSocketAddress client, InetSocketAddress from, Buffer reply) {
        Client c = clients.get(client);
        if (c == null || !from.equals(target)) {
            reply.skip(reply.readableBytes()); // not the target: dropped
            return;
        }
        listen.sendTo(client, reply);
    }

    private void expire() {
        long now = System.nanoTime();
        for (Iterator<Map.Entry<InetSocketAddress, Client>> it = clients.entrySet().iterator(); it.hasNext(); ) {
            Map.Entry<InetSocketAddress, Client> e = it.next();
            if ((now - e.getValue().lastActive) / 1_000_000 >= idleMs) {
                it.remove();
                e.getValue().up.close();
                log.info(null, "client " + e.getKey() + " idle for " + idleMs + " ms; its socket is closed");
            }
        }
    }

    /** Closes every socket. Any thread; idempotent. */
    @Override
    public void close() {
        if (listen == null) return;
        try {
            loop.submit(() -> {
                if (sweeper != null) sweeper.cancel();
                for (Client c : clients.values()) c.up.close();
                clients.clear();
                return null;
            }).join();
        } catch (RuntimeException e) {
            // the loop has stopped: its sockets are closed
        }
        listen.close();
    }
}
