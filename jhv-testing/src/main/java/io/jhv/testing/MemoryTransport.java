package io.jhv.testing;

import io.jhv.core.internal.DatagramSocket;
import io.jhv.core.internal.IoHandler;
import io.jhv.core.internal.ListenSocket;
import io.jhv.core.internal.Pollable;
import io.jhv.core.internal.Poller;
import io.jhv.core.internal.StreamSocket;
import io.jhv.core.internal.Transport;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ProtocolFamily;
import java.net.SocketAddress;
import java.net.SocketOption;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * An in-memory {@link Transport}: a pair of connected stream endpoints ({@link #pair()}) and a
 * poller that dispatches readiness without a selector or a descriptor. {@link EmbeddedConnection}
 * runs a {@code Connection} over one endpoint of a pair and drives it from the other
 * ({@link Endpoint#send}, {@link Endpoint#receive}); it proves the connection code needs nothing of
 * NIO but byte buffers. Not public: {@link EmbeddedConnection} is the API.
 *
 * <p>Simple, not complete: streams only (no listener, no datagrams); writes are never refused (the
 * peer's inbox grows), so a registered endpoint is always writable. Thread-safe: the test thread
 * talks to one end while the loop serves the other.
 *
 * <pre>
 *  test thread ── Endpoint (remote) ──inbox──> Endpoint (local) ── Connection on the loop
 *              <──────────────────── inbox ──                     (MemoryPoller: READ when the
 *                                                                   inbox has bytes or EOF, WRITE always)
 * </pre>
 */
final class MemoryTransport implements Transport {
    private static int ports = 40_000;

    @Override
    public Poller openPoller(Consumer<Throwable> onError) {
        return new MemoryPoller(onError);
    }

    @Override
    public StreamSocket openStream() throws IOException {
        throw new IOException("the in-memory transport has no network: use MemoryTransport.pair()");
    }

    @Override
    public ListenSocket openListener() throws IOException {
        throw new IOException("the in-memory transport has no listeners: use MemoryTransport.pair()");
    }

    @Override
    public DatagramSocket openDatagram(ProtocolFamily family) throws IOException {
        throw new IOException("the in-memory transport has no datagrams");
    }

    /** Two connected endpoints: {@code [0]} for the connection under test, {@code [1]} for the test. */
    public static Endpoint[] pair() {
        int a, b;
        synchronized (MemoryTransport.class) {
            if (ports > 65_000) ports = 40_000; // addresses are labels here, not ports: reuse is harmless
            a = ports++;
            b = ports++;
        }
        Endpoint x = new Endpoint(new InetSocketAddress("127.0.0.1", a));
        Endpoint y = new Endpoint(new InetSocketAddress("127.0.0.1", b));
        x.peer = y;
        y.peer = x;
        return new Endpoint[] {x, y};
    }

    /** One end of an in-memory stream. */
    static final class Endpoint implements StreamSocket {
        private final SocketAddress local;
        private Endpoint peer;
        // inbox: bytes the peer wrote, [head, tail) of buf; guarded by this
        private byte[] buf = new byte[256];
        private int head, tail;
        private boolean eof;       // the peer shut down its output or closed
        private volatile boolean closed;
        private volatile MemoryPoller poller;

        Endpoint(SocketAddress local) { this.local = local; }

        // ------------------------------------------------------------ for the test thread

        /** Writes {@code bytes} to the peer (blocking is never needed: the peer's inbox grows). */
        public void send(byte[] bytes) throws IOException {
            write(ByteBuffer.wrap(bytes));
        }

        /** Waits up to {@code timeoutMillis} until {@code n} bytes have arrived and takes them; fewer on EOF or timeout. */
        public synchronized byte[] receive(int n, long timeoutMillis) throws InterruptedException {
            long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
            long left;
            while (tail - head < n && !eof && (left = deadline - System.nanoTime()) > 0) {
                TimeUnit.NANOSECONDS.timedWait(this, left);
            }
            int k = Math.min(n, tail - head);
            byte[] out = Arrays.copyOfRange(buf, head, head + k);
            head += k;
            return out;
        }

        /** Bytes that have arrived and were not taken yet. */
        public synchronized int available() { return tail - head; }

        /** True once the peer has shut down its output or closed, and everything before was taken. */
        public synchronized boolean atEof() { return eof && head == tail; }

        public boolean isClosed() { return closed; }

        // ------------------------------------------------------------ StreamSocket

        @Override public void bind(SocketAddress l) throws IOException { throw new IOException("in-memory endpoints are bound"); }
        @Override public boolean connect(SocketAddress remote) { return true; }
        @Override public boolean finishConnect() { return true; }

        @Override
        public synchronized int read(ByteBuffer dst) throws IOException {
            if (closed) throw new IOException("closed");
            int avail = tail - head;
            if (avail == 0) return eof ? -1 : 0;
            int k = Math.min(avail, dst.remaining());
            dst.put(buf, head, k);
            head += k;
            return k;
        }

        @Override
        public int write(ByteBuffer src) throws IOException {
            if (closed) throw new IOException("closed");
            Endpoint p = peer;
            int k = src.remaining();
            synchronized (p) {
                if (p.closed || p.eof) throw new IOException("Broken pipe");
                p.ensure(k);
                src.get(p.buf, p.tail, k);
                p.tail += k;
                p.notifyAll();
            }
            p.readable();
            return k;
        }

        @Override
        public long write(ByteBuffer[] srcs, int offset, int length) throws IOException {
            long n = 0;
            for (int i = offset; i < offset + length; i++) n += write(srcs[i]);
            return n;
        }

        @Override
        public long transferFrom(FileChannel file, long position, long count) throws IOException {
            ByteBuffer b = ByteBuffer.allocate((int) Math.min(count, 64 * 1024));
            int n = file.read(b, position);
            if (n <= 0) return 0;
            b.flip();
            return write(b);
        }

        @Override
        public void shutdownOutput() {
            peer.peerDone();
        }

        @Override public <T> void setOption(SocketOption<T> name, T value) { } // no socket: nothing to tune
        @Override public SocketAddress localAddress() { return closed ? null : local; }
        @Override public SocketAddress remoteAddress() { return closed ? null : peer.local; }
        @Override public boolean isOpen() { return !closed; }

        @Override
        public void close() {
            if (closed) return;
            closed = true;
            peer.peerDone();
        }

        private void ensure(int k) { // guarded by this
            if (tail + k <= buf.length) return;
            int live = tail - head;
            byte[] nb = live + k <= buf.length ? buf : new byte[Math.max(buf.length * 2, live + k)];
            System.arraycopy(buf, head, nb, 0, live);
            buf = nb;
            head = 0;
            tail = live;
        }

        private void peerDone() {
            synchronized (this) {
                eof = true;
                notifyAll();
            }
            readable();
        }

        /** Something arrived (bytes or EOF): wake the poller watching this end. */
        private void readable() {
            MemoryPoller p = poller;
            if (p != null) p.wakeup();
        }

        /** What this end is ready for now. */
        private synchronized int ready() {
            if (closed) return 0;
            return (tail > head || eof ? Poller.READ : 0) | Poller.WRITE | Poller.CONNECT;
        }
    }

    /** Level-triggered readiness over the registered endpoints, without a selector. */
    static final class MemoryPoller implements Poller {
        private final Consumer<Throwable> onError;
        private final ArrayList<Endpoint> sockets = new ArrayList<>();
        private final ArrayList<IoHandler> handlers = new ArrayList<>();
        private int[] interest = new int[8];
        private final Object lock = new Object();
        private boolean woken; // guarded by lock

        MemoryPoller(Consumer<Throwable> onError) { this.onError = onError; }

        @Override public String name() { return "memory"; }

        @Override
        public void register(Pollable socket, int ops, IoHandler handler) {
            Endpoint e = (Endpoint) socket;
            sockets.add(e);
            handlers.add(handler);
            if (interest.length < sockets.size()) interest = Arrays.copyOf(interest, interest.length * 2);
            interest[sockets.size() - 1] = ops;
            e.poller = this;
        }

        @Override
        public void modify(Pollable socket, int ops) {
            int i = sockets.indexOf(socket);
            if (i >= 0) interest[i] = ops;
        }

        @Override
        public void cancel(Pollable socket) {
            int i = sockets.indexOf(socket);
            if (i < 0) return;
            sockets.remove(i);
            handlers.remove(i);
            System.arraycopy(interest, i + 1, interest, i, sockets.size() - i);
            ((Endpoint) socket).poller = null;
        }

        @Override
        public int poll(long timeoutMillis) throws IOException {
            synchronized (lock) {
                long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(Math.max(0, timeoutMillis));
                while (!woken && !anyReady()) {
                    if (timeoutMillis < 0) {
                        try {
                            lock.wait();
                        } catch (InterruptedException e) {
                            throw new IOException("interrupted", e);
                        }
                        continue;
                    }
                    long left = deadline - System.nanoTime();
                    if (left <= 0) break;
                    try {
                        TimeUnit.NANOSECONDS.timedWait(lock, left);
                    } catch (InterruptedException e) {
                        throw new IOException("interrupted", e);
                    }
                }
                woken = false;
            }
            int n = 0;
            for (int i = 0; i < sockets.size(); i++) {
                Endpoint e = sockets.get(i);
                IoHandler h = handlers.get(i);
                int ready = e.ready() & interest[i];
                if (ready == 0) continue;
                n++;
                try {
                    h.onIoReady(ready);
                } catch (Throwable t) {
                    if (onError == null) throw t;
                    onError.accept(t);
                    h.onIoFailure(t);
                }
                if (i < sockets.size() && sockets.get(i) != e) i--; // it cancelled itself: the next one moved here
            }
            return n;
        }

        private boolean anyReady() {
            for (int i = 0; i < sockets.size(); i++) if ((sockets.get(i).ready() & interest[i]) != 0) return true;
            return false;
        }

        @Override
        public void wakeup() {
            synchronized (lock) {
                woken = true;
                lock.notifyAll();
            }
        }

        @Override public int registered() { return sockets.size(); }

        @Override
        public void close() {
            for (int i = sockets.size() - 1; i >= 0; i--) sockets.get(i).close();
            sockets.clear();
            handlers.clear();
        }
    }
}
