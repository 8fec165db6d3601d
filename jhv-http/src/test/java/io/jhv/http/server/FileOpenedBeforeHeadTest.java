package io.jhv.http.server;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * A file body is opened before its head is produced: a file that cannot be opened gets a complete
 * 404 or 503, never a 200 head followed by a cut body and an aborted connection; a file that
 * disappears after it was chosen is still sent whole; and an opened file that is never sent is
 * closed.
 */
@Timeout(30)
class FileOpenedBeforeHeadTest {
    @TempDir
    static Path tmp;
    static Path root;
    static HttpServer server;
    static byte[] content;
    static Path unopenable;
    static final Queue<Response> held = new ConcurrentLinkedQueue<>();

    @BeforeAll
    static void start() throws IOException {
        root = Files.createDirectory(tmp.resolve("www"));
        content = new byte[300_000]; // larger than a socket takes at once
        new Random(16).nextBytes(content);
        Files.write(root.resolve("ok.bin"), content);
        unopenable = unopenableFile();
        server = HttpServer.create("127.0.0.1", 0).threads(1)
                .pipelinedSafeParallel(true) // a file's handler runs while a GET ahead of it waits
                .use((req, res, chain) -> {
                    // deletes the file when the head is about to be written: after the handler chose
                    // it, before the old code opened it
                    String victim = req.header("X-Delete");
                    if (victim != null) res.beforeCommit(r -> delete(root.resolve(victim)));
                    chain.next();
                })
                .staticFiles("/static", root)
                .get("/file/:name", (req, res) -> res.file(root.resolve(req.pathParam("name"))))
                .get("/unopenable", (req, res) -> {
                    res.header("X-Before", "dropped with the file");
                    res.file(unopenable);
                })
                .get("/hold", (req, res) -> {
                    res.defer();
                    held.add(res);
                })
                .start();
    }

    @AfterAll
    static void stop() {
        for (Response r; (r = held.poll()) != null; ) r.end();
        if (server != null) server.close(Duration.ofSeconds(1));
    }

    static void delete(Path p) {
        try {
            Files.delete(p);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * A regular file that exists but cannot be opened for reading: mode 000, or, as root (who reads
     * any file), a write-only /proc/sys entry, which the kernel refuses to open for reading to root
     * too. Null if there is none.
     */
    static Path unopenableFile() throws IOException {
        Path p = Files.write(tmp.resolve("locked.bin"), content);
        Files.setPosixFilePermissions(p, Set.of());
        List<Path> candidates = List.of(p, Path.of("/proc/sys/vm/compact_memory"), Path.of("/proc/sys/vm/drop_caches"));
        for (Path c : candidates) {
            if (!Files.isRegularFile(c)) continue;
            try (FileChannel ch = FileChannel.open(c, StandardOpenOption.READ)) {
                // opens: not what we need
            } catch (IOException e) {
                return c;
            }
        }
        return null;
    }

    static RawClient.Resp get(RawClient c, String path, String... headers) throws IOException {
        StringBuilder sb = new StringBuilder("GET " + path + " HTTP/1.1\r\nHost: t\r\n");
        for (String h : headers) sb.append(h).append("\r\n");
        return c.exchange(sb.append("\r\n").toString());
    }

    static void assertWhole(RawClient c) throws IOException {
        RawClient.Resp ok = get(c, "/file/ok.bin");
        assertEquals(200, ok.status(), ok.statusLine());
        assertArrayEquals(content, ok.body(), "the connection goes on with whole responses");
    }

    @Test
    void aFileDeletedAfterTheHandlerChoseItIsStillSentWhole() throws IOException {
        for (String path : List.of("/file/", "/static/")) {
            String name = "gone" + path.length() + ".bin";
            Files.write(root.resolve(name), content);
            try (RawClient c = RawClient.connect(server.port())) {
                // RawClient refuses a body shorter than its Content-Length
                RawClient.Resp r = get(c, path + name, "X-Delete: " + name);
                assertEquals(200, r.status(), path + ": " + r.statusLine());
                assertArrayEquals(content, r.body(), path);
                assertTrue(Files.notExists(root.resolve(name)), "the hook ran");
                assertWhole(c);
            }
        }
    }

    @Test
    void aFileThatCannotBeOpenedGetsA503NotA200WithACutBody() throws IOException {
        assumeTrue(unopenable != null, "no file that cannot be opened for reading on this system");
        try (RawClient c = RawClient.connect(server.port())) {
            RawClient.Resp r = get(c, "/unopenable");
            assertEquals(503, r.status(), r.toString());
            assertEquals("Service Unavailable", r.text());
            assertEquals(null, r.header("X-Before"), "an error answer starts from scratch");
            RawClient.Resp h = c.exchange("HEAD /unopenable HTTP/1.1\r\nHost: t\r\n\r\n");
            assertEquals(503, h.status(), h.toString());
            assertWhole(c);
        }
    }

    /** The soft limit on open files of this process, or -1 if unknown. */
    static long openFileLimit() throws IOException {
        Path limits = Path.of("/proc/self/limits");
        if (!Files.isReadable(limits)) return -1;
        for (String l : Files.readAllLines(limits)) {
            if (l.startsWith("Max open files")) {
                String[] f = l.substring("Max open files".length()).trim().split("\\s+");
                return f[0].equals("unlimited") ? -1 : Long.parseLong(f[0]);
            }
        }
        return -1;
    }

    @Test
    void outOfFileDescriptorsGivesA503AndTheConnectionGoesOn() throws IOException {
        long limit = openFileLimit();
        assumeTrue(limit > 0 && limit <= 65_536, "open file limit unknown or too large to exhaust: " + limit);
        try (RawClient c = RawClient.connect(server.port())) {
            assertWhole(c);
            // loads the classes of the error path (logging included) while files can still be opened
            if (unopenable != null) get(c, "/unopenable");
            List<FileChannel> hoard = new ArrayList<>();
            RawClient.Resp r, st;
            try {
                try {
                    for (long i = 0; i <= limit; i++) hoard.add(FileChannel.open(Path.of("/dev/null"), StandardOpenOption.READ));
                } catch (FileSystemException e) {
                    // EMFILE: every descriptor is taken
                }
                assertTrue(hoard.size() < limit + 1, "the limit was reached");
                r = get(c, "/file/ok.bin");
                st = get(c, "/static/ok.bin");
            } finally {
                for (FileChannel ch : hoard) ch.close();
            }
            assertEquals(503, r.status(), r.toString());
            assertEquals("Service Unavailable", r.text());
            assertEquals(503, st.status(), "StaticFiles: " + st);
            assertEquals(null, st.header("ETag"), "the head of the file that is not sent is dropped: " + st);
            assertWhole(c);
        }
    }

    static long openDescriptorsOf(Path file) throws IOException {
        Path real = file.toRealPath();
        try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
            return fds.filter(fd -> {
                try {
                    return Files.readSymbolicLink(fd).equals(real);
                } catch (IOException e) {
                    return false; // closed meanwhile, or not a link
                }
            }).count();
        }
    }

    static void await(BooleanSupplier cond, String what) {
        long end = System.nanoTime() + 10_000_000_000L;
        while (!cond.getAsBoolean()) {
            if (System.nanoTime() > end) throw new AssertionError("timed out waiting: " + what);
            try {
                Thread.sleep(5); // polling a condition
            } catch (InterruptedException e) {
                throw new AssertionError(e);
            }
        }
    }

    @Test
    void aFileThatIsNeverSentBecauseTheConnectionClosedIsClosed() throws IOException {
        assumeTrue(Files.isDirectory(Path.of("/proc/self/fd")), "needs /proc/self/fd");
        Path file = Files.write(root.resolve("queued.bin"), content);
        BooleanSupplier open = () -> {
            try {
                return openDescriptorsOf(file) == 1;
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        };
        try (RawClient c = RawClient.connect(server.port())) {
            // the file's response waits behind one that is answered later
            c.send("GET /hold HTTP/1.1\r\nHost: t\r\n\r\nGET /file/queued.bin HTTP/1.1\r\nHost: t\r\n\r\n");
            await(open, "the file is opened when the handler gives it, before its head");
        }
        await(() -> {
            try {
                return openDescriptorsOf(file) == 0;
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        }, "the file of a response the closed connection will never send is closed");
        Response r = held.poll();
        assertNotNull(r);
        r.end(); // on a closed connection: nothing happens
    }
}
