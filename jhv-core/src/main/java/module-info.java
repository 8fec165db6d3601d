/** jhv core: event loop, timers, buffers, TCP, UDP, TLS. */
module io.jhv.core {
    exports io.jhv.core.loop;
    exports io.jhv.core.buffer;
    exports io.jhv.core.net;
    exports io.jhv.core.tls;
    // Transports in other jhv modules (jhv-http, jhv-mqtt) reach the poller; applications should not.
    exports io.jhv.core.internal to io.jhv.http, io.jhv.mqtt;
}
