package io.jhv.examples;

import io.jhv.core.net.TcpServer;
import io.jhv.core.net.Upstream;

/**
 * A TCP proxy: every connection to {@code port} is piped to {@code upstreamHost:upstreamPort},
 * with back-pressure both ways. {@code java io.jhv.examples.TcpProxy port upstreamHost upstreamPort}
 */
public final class TcpProxy {
    private TcpProxy() {}

    public static TcpServer start(int port, String upstreamHost, int upstreamPort) {
        return Upstream.proxy(TcpServer.create(port), upstreamHost, upstreamPort).start();
    }

    public static void main(String[] args) {
        TcpServer proxy = start(Integer.parseInt(args[0]), args[1], Integer.parseInt(args[2]));
        System.out.println("proxy on port " + proxy.port() + " -> " + args[1] + ":" + args[2]);
    }
}
