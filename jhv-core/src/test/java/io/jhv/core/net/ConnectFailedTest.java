package io.jhv.core.net;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.ServerSocket;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** TcpClient.onConnectFailed: every failed attempt is reported, also one that never had a socket. */
@Timeout(10)
class ConnectFailedTest {
    @Test
    void aFailureBeforeAnySocketExistsIsReported() throws Exception {
        CompletableFuture<CloseCause> failed = new CompletableFuture<>();
        TcpClient client = TcpClient.create("::zz", 80).onConnectFailed(failed::complete).start(); // no DNS: a bad literal
        try {
            CloseCause cause = failed.get(5, TimeUnit.SECONDS);
            assertEquals(CloseCause.Kind.ERROR, cause.kind());
            assertTrue(cause.detail().contains("::zz"), cause.detail());
        } finally {
            client.close();
            assertTrue(client.awaitTermination(Duration.ofSeconds(5)));
        }
    }

    @Test
    void aRefusedConnectIsReported() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort(); // closed again: nothing listens there now
        }
        CompletableFuture<CloseCause> failed = new CompletableFuture<>();
        TcpClient client = TcpClient.create("127.0.0.1", port).onConnectFailed(failed::complete).start();
        try {
            CloseCause cause = failed.get(5, TimeUnit.SECONDS);
            assertTrue(cause.detail().contains("connect to"), cause.detail());
        } finally {
            client.close();
            assertTrue(client.awaitTermination(Duration.ofSeconds(5)));
        }
    }
}
