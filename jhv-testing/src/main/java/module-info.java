/**
 * jhv testing support: {@link io.jhv.testing.LeakCheck} (a JUnit 5 extension that fails a test
 * which leaves loop threads, non-daemon threads or descriptors behind, or whose loops reported an
 * unhandled failure) and {@link io.jhv.testing.EmbeddedConnection} (a real {@code Connection} over
 * an in-memory pipe, for codec and protocol tests).
 */
module io.jhv.testing {
    requires transitive io.jhv.core;
    requires transitive org.junit.jupiter.api;
    exports io.jhv.testing;
}
