package io.jhv.core.net;

import io.jhv.core.loop.EventLoopGroup;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.InputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * A connection accepted for a loop of the group that has stopped used to be queued on that loop for
 * ever: the client hung, connected to nothing. Now the server closes it.
 */
@Timeout(30)
class AcceptOnTerminatedLoopTest {

    @Test
    void aConnectionForAStoppedLoopIsClosed() throws Exception {
        EventLoopGroup group = EventLoopGroup.create(2).start();
        TcpServer server = TcpServer.create("127.0.0.1", 0).group(group).onMessage((c, b) -> c.write(b)).start();
        try {
            // The acceptor is on loop 0; loop 1 (which gets every other connection) stops.
            group.get(1).stop();
            assertTrue(group.get(1).awaitTermination(Duration.ofSeconds(5)));
            List<Socket> sockets = new ArrayList<>();
            int echoed = 0, closed = 0;
            try {
                for (int i = 0; i < 4; i++) {
                    Socket s = new Socket("127.0.0.1", server.port());
                    sockets.add(s);
                    s.setSoTimeout(3_000);
                    s.getOutputStream().write('x');
                    InputStream in = s.getInputStream();
                    int b;
                    try {
                        b = in.read();
                    } catch (java.net.SocketException reset) {
                        b = -1;
                    } catch (SocketTimeoutException hung) {
                        fail("connection " + i + " hangs: neither served nor closed");
                        return;
                    }
                    if (b == 'x') echoed++;
                    else if (b == -1) closed++;
                }
            } finally {
                for (Socket s : sockets) s.close();
            }
            assertEquals(2, echoed, "served by the running loop");
            assertEquals(2, closed, "closed for the stopped loop");
            assertTrue(io.jhv.core.loop.Probes.await(() -> server.connectionCount() == 0, Duration.ofSeconds(5)),
                    "connections: " + server.connectionCount());
        } finally {
            server.close();
            group.close();
        }
    }
}
