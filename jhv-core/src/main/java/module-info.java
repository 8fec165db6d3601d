/** jhv core: event loop, timers, buffers, TCP, UDP, TLS. */
module io.jhv.core {
    exports io.jhv.core.loop;
    exports io.jhv.core.buffer;
    exports io.jhv.core.net;
    exports io.jhv.core.tls;
    // io.jhv.core.internal (the poller) stays unexported: no other module uses it yet. A transport
    // in another jhv module (jhv-mqtt, jhv-native) gets a qualified export when it exists.
}
