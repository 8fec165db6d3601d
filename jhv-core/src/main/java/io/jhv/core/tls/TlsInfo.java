package io.jhv.core.tls;

import io.jhv.core.net.Connection;

import java.security.cert.X509Certificate;
import java.util.List;
import javax.net.ssl.SSLSession;

/**
 * What a TLS connection negotiated: protocol version, cipher suite, ALPN protocol, SNI host name and
 * the peer's certificates. Get it with {@link #of(Connection)}.
 *
 * <p>Read it on the connection's loop thread (in callbacks); the values are final once
 * {@code onConnection} reported the connection up.
 *
 * {@snippet :
 * server.onConnection(conn -> {
 *     TlsInfo tls = TlsInfo.of(conn);
 *     if (conn.isConnected() && "h2".equals(tls.applicationProtocol())) { ... }
 * });
 * }
 */
public interface TlsInfo {

    /** The TLS information of {@code conn}, or null if it does not speak TLS. */
    static TlsInfo of(Connection conn) {
        return conn.tls();
    }

    /** True once the handshake has finished. */
    boolean isHandshakeComplete();

    /** "TLSv1.3" or "TLSv1.2"; null before the handshake finished. */
    String protocol();

    /** The negotiated cipher suite; null before the handshake finished. */
    String cipherSuite();

    /** The ALPN protocol both sides agreed on, or null if none was negotiated. */
    String applicationProtocol();

    /** Server: the host name the client asked for (SNI); client: the one it sent. Null if none. */
    String sniHostName();

    /** The peer's certificate chain, leaf first; empty if the peer sent none. */
    List<X509Certificate> peerCertificates();

    /**
     * True once the peer's close_notify arrived. A connection that ends without one may have been
     * cut short by an attacker (truncation), which matters where the end of the stream ends a message.
     */
    boolean closeNotifyReceived();

    /** The JDK session, for anything else. */
    SSLSession session();
}
