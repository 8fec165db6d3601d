/** jhv core: event loop, timers, buffers, TCP, UDP, TLS. */
module io.jhv.core {
    exports io.jhv.core.loop;
    exports io.jhv.core.buffer;
    exports io.jhv.core.net;
    exports io.jhv.core.tls;
    // io.jhv.core.internal stays unexported: the transport SPI (Transport, Poller, StreamSocket...)
    // and the bridges to the non-public parts of EventLoop and Buffer (Internals). No other module
    // uses it yet; a transport or protocol in another jhv module (jhv-native, jhv-testing, jhv-http
    // if it needs the read buffer) gets a qualified export when it exists:
    //   exports io.jhv.core.internal to io.jhv.native;
}
