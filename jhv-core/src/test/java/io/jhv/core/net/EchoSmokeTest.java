package io.jhv.core.net;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.DataInputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;

@Timeout(10)
class EchoSmokeTest {
    @Test
    void echoesBytes() throws Exception {
        try (TcpServer server = TcpServer.create("127.0.0.1", 0).threads(1)
                .onMessage((c, b) -> c.write(b)).start();
             Socket s = new Socket("127.0.0.1", server.port())) {
            OutputStream out = s.getOutputStream();
            out.write("hello".getBytes(StandardCharsets.UTF_8));
            byte[] got = new byte[5];
            new DataInputStream(s.getInputStream()).readFully(got);
            assertEquals("hello", new String(got, StandardCharsets.UTF_8));
        }
    }
}
