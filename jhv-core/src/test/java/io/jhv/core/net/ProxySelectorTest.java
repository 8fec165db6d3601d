package io.jhv.core.net;

import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Proxy URLs and the curl-like environment selector (pure parsing: no sockets needed). */
class ProxySelectorTest {

    @Test
    void proxyUrlsParseLikeCurls() {
        Proxy p = Proxy.parse("http://proxy.internal:3128");
        assertEquals(Proxy.Type.HTTP, p.type());
        assertEquals("proxy.internal", p.host());
        assertEquals(3128, p.port());
        assertNull(p.user());

        assertEquals(Proxy.http("proxy", 1080), Proxy.parse("proxy"), "no scheme: HTTP; no port: 1080");
        assertEquals(Proxy.http("proxy", 8080), Proxy.parse("proxy:8080/"));

        Proxy s = Proxy.parse("socks5h://u%40corp:p%3Ass+w@[::1]:1081");
        assertEquals(Proxy.Type.SOCKS5, s.type());
        assertFalse(s.resolveLocally());
        assertEquals("::1", s.host());
        assertEquals(1081, s.port());
        assertEquals("u@corp", s.user());
        assertEquals("p:ss+w", s.password(), "percent-decoded; '+' stays '+'");
        assertTrue(Proxy.parse("SOCKS5://127.0.0.1:9050").resolveLocally(), "socks5:// resolves the target here");

        Proxy withUserOnly = Proxy.parse("http://bob@proxy:1");
        assertEquals("bob", withUserOnly.user());
        assertEquals("", withUserOnly.password());

        assertEquals(Proxy.NONE, Proxy.parse(""));
        assertThrows(IllegalArgumentException.class, () -> Proxy.parse("https://proxy:443"));
        assertThrows(IllegalArgumentException.class, () -> Proxy.parse("socks4://proxy:1080"));
        assertThrows(IllegalArgumentException.class, () -> Proxy.parse("http://proxy:99999"));
        assertThrows(IllegalArgumentException.class, () -> Proxy.parse("http://proxy:abc"));
        assertThrows(IllegalArgumentException.class, () -> Proxy.parse("http://:3128"));
    }

    @Test
    void toStringHidesThePassword() {
        Proxy p = Proxy.http("proxy", 3128).withCredentials("alice", "s3cret");
        assertEquals("http://alice:***@proxy:3128", p.toString());
        assertFalse(p.toString().contains("s3cret"));
        assertEquals("socks5h://[::1]:1080", Proxy.socks5("::1", 1080).toString());
        assertEquals("DIRECT", Proxy.NONE.toString());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Proxy.parse("ftp://alice:s3cret@proxy"));
        assertFalse(e.getMessage().contains("s3cret"), e.getMessage());
    }

    @Test
    void credentialsAreChecked() {
        assertThrows(IllegalArgumentException.class, () -> Proxy.http("p", 1).withCredentials("a:b", "c"));
        assertThrows(IllegalArgumentException.class, () -> Proxy.socks5("p", 1).withCredentials("x".repeat(256), "c"));
        assertThrows(IllegalStateException.class, () -> Proxy.NONE.withCredentials("a", "b"));
        assertThrows(IllegalStateException.class, () -> Proxy.http("p", 1).withLocalResolution(true));
        assertThrows(IllegalArgumentException.class, () -> Proxy.http("p", 0));
        assertNull(Proxy.http("p", 1).withCredentials("a", "b").withCredentials(null, null).user());
    }

    @Test
    void schemeVariablesThenAllProxy() {
        ProxySelector s = ProxySelector.fromEnvironment(Map.of(
                "http_proxy", "http://web:3128",
                "HTTPS_PROXY", "http://secure:3129",
                "ALL_PROXY", "socks5h://socks:1080"));
        assertEquals(Proxy.http("web", 3128), s.select("http", "example.com", 80));
        assertEquals(Proxy.http("secure", 3129), s.select("https", "example.com", 443));
        assertEquals(Proxy.socks5("socks", 1080), s.select("ws", "example.com", 80));
        assertEquals(Proxy.socks5("socks", 1080), s.select("mqtt", "example.com", 1883));
    }

    @Test
    void lowerCaseWinsAndUpperCaseHttpProxyIsIgnored() {
        ProxySelector s = ProxySelector.fromEnvironment(Map.of(
                "HTTP_PROXY", "http://httpoxy:1",
                "https_proxy", "http://lower:2",
                "HTTPS_PROXY", "http://upper:3"));
        assertEquals(Proxy.NONE, s.select("http", "example.com", 80), "HTTP_PROXY is ignored, as curl does (httpoxy)");
        assertEquals(Proxy.http("lower", 2), s.select("https", "example.com", 443));
        assertEquals(Proxy.NONE, ProxySelector.fromEnvironment(Map.of()).select("https", "example.com", 443));
        assertEquals(Proxy.NONE, ProxySelector.fromEnvironment(Map.of("https_proxy", "  ")).select("https", "x", 443), "blank is unset");
    }

    @Test
    void noProxyMatchesDomainsAddressesRangesAndPorts() {
        ProxySelector s = ProxySelector.fromEnvironment(Map.of(
                "all_proxy", "http://proxy:3128",
                "NO_PROXY", "example.com, .internal.test,10.0.0.0/8 , 192.168.1.7,[::1],fe80::/10,api.test:8443, Local.Host."));
        Proxy proxy = Proxy.http("proxy", 3128);
        assertEquals(Proxy.NONE, s.select("https", "example.com", 443));
        assertEquals(Proxy.NONE, s.select("https", "www.EXAMPLE.com", 443), "a subdomain, any case");
        assertEquals(proxy, s.select("https", "badexample.com", 443), "a suffix that is not a domain boundary");
        assertEquals(Proxy.NONE, s.select("https", "internal.test", 443), "a leading dot matches the domain itself too");
        assertEquals(Proxy.NONE, s.select("https", "a.b.internal.test", 443));
        assertEquals(Proxy.NONE, s.select("http", "10.1.2.3", 80), "CIDR");
        assertEquals(proxy, s.select("http", "11.1.2.3", 80));
        assertEquals(Proxy.NONE, s.select("http", "192.168.1.7", 80));
        assertEquals(proxy, s.select("http", "192.168.1.70", 80));
        assertEquals(Proxy.NONE, s.select("http", "::1", 80));
        assertEquals(Proxy.NONE, s.select("http", "[::1]", 80));
        assertEquals(Proxy.NONE, s.select("http", "fe80::1", 80));
        assertEquals(proxy, s.select("http", "2001:db8::1", 80));
        assertEquals(Proxy.NONE, s.select("https", "api.test", 8443), "host:port matches that port");
        assertEquals(proxy, s.select("https", "api.test", 443), "not another");
        assertEquals(Proxy.NONE, s.select("http", "local.host", 80), "trailing dot and case ignored");

        ProxySelector all = ProxySelector.fromEnvironment(Map.of("https_proxy", "proxy:1", "no_proxy", "*"));
        assertEquals(Proxy.NONE, all.select("https", "anything.example", 443));
    }

    @Test
    void aBadVariableFailsNamingIt() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ProxySelector.fromEnvironment(Map.of("https_proxy", "https://proxy:443")));
        assertTrue(e.getMessage().contains("https_proxy"), e.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> ProxySelector.fromEnvironment(Map.of("no_proxy", "10.0.0.0/99")));
        // HTTP_PROXY is never read, so its value does not matter.
        ProxySelector.fromEnvironment(Map.of("HTTP_PROXY", "gopher://x"));
    }

    @Test
    void ofAlwaysGivesTheSameProxy() {
        Proxy p = Proxy.socks5("s", 1);
        assertEquals(p, ProxySelector.of(p).select("https", "x", 1));
    }
}
