package io.jhv.bench;

import io.jhv.core.buffer.Buffer;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

/**
 * {@link Buffer} operations on the hot path of a codec: numbers, strings, delimiter search, prepend.
 *
 * <p>Each benchmark reuses one buffer (cleared per operation), as a connection reuses its buffers,
 * so {@code -prof gc} shows what the operation itself allocates: 0 B/op is the goal, and
 * {@link #writeStringUtf8()} shows the cost of the UTF-8 path's intermediate array.
 *
 * <p>JMH state is per benchmark thread; nothing here is shared between threads.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"-Xms512m", "-Xmx512m"})
public class BufferBenchmark {
    private static final byte[] CRLFCRLF = {'\r', '\n', '\r', '\n'};
    /** What wrk sends for the plaintext test (TechEmpower's headers): the end is 160 bytes in. */
    static final String PLAINTEXT_GET = "GET /plaintext HTTP/1.1\r\n"
            + "Host: 127.0.0.1:8080\r\n"
            + "Accept: text/plain,text/html;q=0.9,application/xhtml+xml;q=0.9,application/xml;q=0.8,*/*;q=0.7\r\n"
            + "Connection: keep-alive\r\n"
            + "\r\n";

    private Buffer buf;
    private Buffer request;
    private byte[] payload;
    private String ascii;

    @Setup
    public void setup() {
        buf = Buffer.allocate(4096);
        request = Buffer.wrap(PLAINTEXT_GET.getBytes(StandardCharsets.US_ASCII));
        payload = new byte[64];
        ascii = "Hello, World!";
    }

    /** Writes 16 ints and reads them back: one op is 16 of each. */
    @Benchmark
    public int writeReadInts16() {
        Buffer b = buf.clear();
        for (int i = 0; i < 16; i++) b.writeInt(i * 0x01010101);
        int sum = 0;
        for (int i = 0; i < 16; i++) sum += b.readInt();
        return sum;
    }

    /** {@code writeString} with the default charset (UTF-8): encodes through an intermediate array. */
    @Benchmark
    public Buffer writeStringUtf8() {
        return buf.clear().writeString(ascii);
    }

    /** {@code writeString} with ISO-8859-1: copies chars straight into the buffer's array. */
    @Benchmark
    public Buffer writeStringLatin1() {
        return buf.clear().writeString(ascii, StandardCharsets.ISO_8859_1);
    }

    /** Finds the end of a plaintext GET's header block ("\r\n\r\n", 160 bytes in). */
    @Benchmark
    public int indexOfCrlfCrlf() {
        return request.indexOf(CRLFCRLF);
    }

    /** Finds the first '\n' (the end of the request line). */
    @Benchmark
    public int indexOfByte() {
        return request.indexOf((byte) '\n');
    }

    /** Writes a 64-byte payload, then prepends its length into the reserve (no payload copy). */
    @Benchmark
    public Buffer writeThenPrependLength() {
        Buffer b = buf.clear().write(payload);
        return b.prependInt(payload.length);
    }
}
