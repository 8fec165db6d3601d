package io.jhv.examples;

import io.jhv.core.net.UdpSocket;

/** A UDP echo server: every datagram goes back to its sender. {@code java io.jhv.examples.UdpEcho [port]} */
public final class UdpEcho {
    private UdpEcho() {}

    public static UdpSocket start(int port) {
        return UdpSocket.bind(port)
                .onMessage((socket, sender, datagram) -> socket.sendTo(sender, datagram))
                .start();
    }

    public static void main(String[] args) {
        UdpSocket socket = start(args.length > 0 ? Integer.parseInt(args[0]) : 7002);
        System.out.println("UDP echo on port " + socket.port());
    }
}
