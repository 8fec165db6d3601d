/** jhv core: event loop, timers, buffers, TCP, UDP, TLS. */
module io.jhv.core {
    requires jdk.net; // TCP_QUICKACK (Connection.quickAck)
    exports io.jhv.core.loop;
    exports io.jhv.core.buffer;
    exports io.jhv.core.net;
    exports io.jhv.core.tls;
    // io.jhv.core.internal is not public API: the transport SPI (Transport, Poller, StreamSocket...)
    // and the bridges to the non-public parts of EventLoop, Buffer and Connection (Internals), and
    // the loops' unhandled-error listeners (LoopErrors). Only jhv modules get it, by a qualified
    // export: jhv-testing (EmbeddedConnection over an in-memory transport, LeakCheck). A transport
    // or protocol in another jhv module (jhv-native, jhv-http if it needs the read buffer) is
    // added here when it exists.
    exports io.jhv.core.internal to io.jhv.testing;
}
