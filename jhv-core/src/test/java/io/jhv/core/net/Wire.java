package io.jhv.core.net;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

/** Line-oriented blocking socket helpers for the protocol tests (a peer as a user would write it). */
final class Wire {
    private Wire() {}

    /** A reader of {@code s}'s input that gives up after 10 s without a byte. */
    static BufferedReader reader(Socket s) throws Exception {
        s.setSoTimeout(10_000);
        return new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.ISO_8859_1));
    }

    /** Sends {@code text} as ISO-8859-1 bytes, flushed. */
    static void send(Socket s, String text) throws Exception {
        OutputStream out = s.getOutputStream();
        out.write(text.getBytes(StandardCharsets.ISO_8859_1));
        out.flush();
    }
}
