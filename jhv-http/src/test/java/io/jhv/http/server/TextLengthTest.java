package io.jhv.http.server;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** res.text announces exactly the bytes it sends, whatever the string holds. */
@Timeout(10)
class TextLengthTest {
    @Test
    void contentLengthMatchesTheBodyForAnyString() throws Exception {
        String[] bodies = {"ascii", "h\u00e9llo \u20ac", "emoji \ud83d\ude00", "lone \ud800 high", "lone \udc00 low", "end \ud83d"};
        HttpServer server = HttpServer.create("127.0.0.1", 0).threads(1)
                .get("/t/:i", (req, res) -> res.text(bodies[Integer.parseInt(req.pathParam("i"))]))
                .start();
        try {
            for (int i = 0; i < bodies.length; i++) {
                try (Socket s = new Socket("127.0.0.1", server.port())) {
                    s.getOutputStream().write(("GET /t/" + i + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
                    InputStream in = s.getInputStream();
                    ByteArrayOutputStream all = new ByteArrayOutputStream();
                    in.transferTo(all);
                    byte[] bytes = all.toByteArray();
                    String head = new String(bytes, StandardCharsets.ISO_8859_1);
                    int end = head.indexOf("\r\n\r\n") + 4;
                    int cl = Integer.parseInt(head.replaceAll("(?s).*Content-Length: (\\d+).*", "$1"));
                    byte[] expected = bodies[i].getBytes(StandardCharsets.UTF_8);
                    assertEquals(expected.length, cl, "Content-Length of body " + i);
                    assertEquals(cl, bytes.length - end, "bytes after the head of body " + i);
                    assertTrue(head.startsWith("HTTP/1.1 200"), head);
                }
            }
        } finally {
            server.close();
        }
    }
}
