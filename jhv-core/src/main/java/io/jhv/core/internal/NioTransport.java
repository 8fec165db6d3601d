package io.jhv.core.internal;

import java.io.IOException;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.net.ProtocolFamily;
import java.net.SocketAddress;
import java.net.SocketOption;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.channels.FileChannel;
import java.nio.channels.MembershipKey;
import java.nio.channels.SelectableChannel;
import java.nio.channels.SelectionKey;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.channels.spi.SelectorProvider;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * The default {@link Transport}: JDK NIO channels on a {@link NioPoller}. One per selector provider
 * (the JDK default, epoll on Linux, or the poll(2) one): sockets are opened with the provider of the
 * poller they register with. Thread-safe.
 */
public final class NioTransport implements Transport {
    private final SelectorProvider provider;
    private final String name;

    private NioTransport(SelectorProvider provider, String name) {
        this.provider = provider;
        this.name = name;
    }

    /** See {@link NioPoller#open(String, Consumer)} for the kinds. */
    static NioTransport forKind(String kind) {
        SelectorProvider def = SelectorProvider.provider();
        return switch (kind) {
            case "default", "selector" -> new NioTransport(def, NioPoller.providerName(def));
            case "epoll" -> {
                String n = NioPoller.providerName(def);
                if (!n.equals("epoll")) throw new IllegalArgumentException("the epoll selector is not available here (default provider is " + def.getClass().getName() + ")");
                yield new NioTransport(def, n);
            }
            case "poll" -> new NioTransport(NioPoller.pollProvider(), "poll");
            default -> throw new IllegalArgumentException("unknown poller \"" + kind + "\": use default, epoll or poll");
        };
    }

    @Override
    public Poller openPoller(Consumer<Throwable> onError) throws IOException {
        return new NioPoller(provider, name, onError);
    }

    @Override
    public StreamSocket openStream() throws IOException {
        return new Stream(provider.openSocketChannel());
    }

    @Override
    public ListenSocket openListener() throws IOException {
        return new Listener(provider.openServerSocketChannel());
    }

    @Override
    public DatagramSocket openDatagram(ProtocolFamily family) throws IOException {
        return new Datagram(provider.openDatagramChannel(family));
    }

    @Override
    public String toString() {
        return "nio/" + name;
    }

    /** A NIO channel and its key with the poller (null until registered). */
    abstract static sealed class Channel implements Pollable permits Stream, Listener, Datagram {
        SelectionKey key;

        abstract SelectableChannel channel();

        @Override public boolean isOpen() { return channel().isOpen(); }

        @Override
        public void close() {
            try {
                channel().close();
            } catch (IOException ignored) {
                // the descriptor is released either way
            }
        }
    }

    static final class Stream extends Channel implements StreamSocket {
        final SocketChannel ch;

        Stream(SocketChannel ch) { this.ch = ch; }

        @Override SelectableChannel channel() { return ch; }

        @Override public void bind(SocketAddress local) throws IOException { ch.bind(local); }

        @Override
        public boolean connect(SocketAddress remote) throws IOException {
            ch.configureBlocking(false);
            return ch.connect(remote);
        }

        @Override public boolean finishConnect() throws IOException { return ch.finishConnect(); }
        @Override public int read(ByteBuffer dst) throws IOException { return ch.read(dst); }
        @Override public int write(ByteBuffer src) throws IOException { return ch.write(src); }
        @Override public long write(ByteBuffer[] srcs, int offset, int length) throws IOException { return ch.write(srcs, offset, length); }

        @Override
        public long transferFrom(FileChannel file, long position, long count) throws IOException {
            return file.transferTo(position, count, ch);
        }

        @Override public void shutdownOutput() throws IOException { ch.shutdownOutput(); }
        @Override public <T> void setOption(SocketOption<T> name, T value) throws IOException { ch.setOption(name, value); }

        @Override
        public SocketAddress localAddress() {
            try {
                return ch.getLocalAddress();
            } catch (IOException e) {
                return null;
            }
        }

        @Override
        public SocketAddress remoteAddress() {
            try {
                return ch.getRemoteAddress();
            } catch (IOException e) {
                return null;
            }
        }
    }

    static final class Listener extends Channel implements ListenSocket {
        final ServerSocketChannel ch;

        Listener(ServerSocketChannel ch) { this.ch = ch; }

        @Override SelectableChannel channel() { return ch; }
        @Override public <T> void setOption(SocketOption<T> name, T value) throws IOException { ch.setOption(name, value); }

        @Override
        public void bind(SocketAddress local, int backlog) throws IOException {
            ch.bind(local, backlog);
            ch.configureBlocking(false);
        }

        @Override
        public StreamSocket accept() throws IOException {
            SocketChannel c = ch.accept();
            return c == null ? null : new Stream(c);
        }

        @Override
        public SocketAddress localAddress() {
            try {
                return ch.getLocalAddress();
            } catch (IOException e) {
                return null;
            }
        }
    }

    static final class Datagram extends Channel implements DatagramSocket {
        final DatagramChannel ch;
        private final List<MembershipKey> memberships = new ArrayList<>();

        Datagram(DatagramChannel ch) { this.ch = ch; }

        @Override SelectableChannel channel() { return ch; }
        @Override public <T> void setOption(SocketOption<T> name, T value) throws IOException { ch.setOption(name, value); }

        @Override
        public void bind(SocketAddress local) throws IOException {
            ch.bind(local);
            ch.configureBlocking(false);
        }

        @Override public SocketAddress receive(ByteBuffer dst) throws IOException { return ch.receive(dst); }
        @Override public int send(ByteBuffer src, SocketAddress target) throws IOException { return ch.send(src, target); }

        @Override
        public void join(InetAddress group, NetworkInterface nif) throws IOException {
            MembershipKey k = ch.join(group, nif);
            synchronized (memberships) {
                if (!memberships.contains(k)) memberships.add(k);
            }
        }

        @Override
        public boolean leave(InetAddress group, NetworkInterface nif) {
            synchronized (memberships) {
                for (int i = 0; i < memberships.size(); i++) {
                    MembershipKey k = memberships.get(i);
                    if (k.group().equals(group) && k.networkInterface().equals(nif)) {
                        memberships.remove(i);
                        k.drop();
                        return true;
                    }
                }
            }
            return false;
        }

        @Override
        public void close() {
            super.close();
            synchronized (memberships) {
                memberships.clear(); // closing the channel drops them
            }
        }

        @Override
        public SocketAddress localAddress() {
            try {
                return ch.getLocalAddress();
            } catch (IOException e) {
                return null;
            }
        }
    }
}
