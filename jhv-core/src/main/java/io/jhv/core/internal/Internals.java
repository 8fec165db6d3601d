package io.jhv.core.internal;

import io.jhv.core.buffer.Buffer;
import io.jhv.core.loop.EventLoop;
import io.jhv.core.tls.TlsConfig;

/**
 * Holder of the bridges to package-private parts of the public classes ({@link LoopAccess} for
 * {@link EventLoop}, {@link BufferAccess} for {@link Buffer}, {@link TlsAccess} for {@link TlsConfig},
 * {@link ConnectionAccess} for {@code Connection}). Each public class installs its
 * bridge in its static initializer; the getters make sure that has run.
 */
public final class Internals {
    private static volatile LoopAccess loops;
    private static volatile BufferAccess buffers;
    private static volatile TlsAccess tls;
    private static volatile ConnectionAccess connections;

    private Internals() {}

    /** The {@link EventLoop} bridge. Thread-safe. */
    public static LoopAccess loops() {
        LoopAccess a = loops;
        if (a == null) {
            init(EventLoop.class);
            a = loops;
        }
        return a;
    }

    /** The {@link Buffer} bridge. Thread-safe. */
    public static BufferAccess buffers() {
        BufferAccess a = buffers;
        if (a == null) {
            init(Buffer.class);
            a = buffers;
        }
        return a;
    }

    /** The {@link TlsConfig} bridge. Thread-safe. */
    public static TlsAccess tls() {
        TlsAccess a = tls;
        if (a == null) {
            init(TlsConfig.class);
            a = tls;
        }
        return a;
    }

    /** The {@code Connection} bridge (for jhv modules with the qualified export). Thread-safe. */
    public static ConnectionAccess connections() {
        ConnectionAccess a = connections;
        if (a == null) {
            init(Internals.class.getClassLoader(), "io.jhv.core.net.ConnectionBridge");
            a = connections;
        }
        return a;
    }

    /** Called once by {@link TlsConfig}'s static initializer. */
    public static void install(TlsAccess access) {
        if (tls != null) throw new IllegalStateException("TLS access already installed");
        tls = access;
    }

    /** Called once by {@code io.jhv.core.net.ConnectionBridge}'s static initializer. */
    public static void install(ConnectionAccess access) {
        if (connections != null) throw new IllegalStateException("connection access already installed");
        connections = access;
    }

    /** Called once by {@link EventLoop}'s static initializer. */
    public static void install(LoopAccess access) {
        if (loops != null) throw new IllegalStateException("loop access already installed");
        loops = access;
    }

    /** Called once by {@link Buffer}'s static initializer. */
    public static void install(BufferAccess access) {
        if (buffers != null) throw new IllegalStateException("buffer access already installed");
        buffers = access;
    }

    private static void init(Class<?> c) {
        init(c.getClassLoader(), c.getName());
    }

    private static void init(ClassLoader loader, String name) {
        try {
            Class.forName(name, true, loader);
        } catch (ClassNotFoundException e) {
            throw new AssertionError(e); // a class of this module
        }
    }
}
