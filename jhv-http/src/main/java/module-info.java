/** jhv HTTP: HTTP/1.1 server. */
module io.jhv.http {
    requires transitive io.jhv.core;
    exports io.jhv.http;
}
