package io.jhv.http.internal.http1;

import io.jhv.http.HttpException;
import io.jhv.http.internal.ServerConfig;
import io.jhv.http.server.Request;

import com.code_intelligence.jazzer.junit.FuzzTest;
import org.junit.jupiter.api.Timeout;

import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Jazzer fuzzes the HTTP/1.1 engine (request parser, chunked decoder, router, URL and form
 * decoding, response encoding) through {@link EmbeddedHttp}. A finding is any exception that
 * escapes the engine or a handler's request accessors other than {@link HttpException} (the
 * parser's own error type, which the engine answers with its status), and any input whose outcome
 * depends on how it is split (whole, one byte at a time, in chunks).
 *
 * <p>Without {@code JAZZER_FUZZ=1} only the seeds under {@code Http1FuzzTestInputs} run (regression
 * mode); the surefire execution {@code fuzz} in the module's pom sets it and fuzzes for 15 s.
 */
@Timeout(120)
class Http1FuzzTest {
    private static final Pattern DATE = Pattern.compile("Date: [^\r]*\r\n");
    /** Whether a 100 is sent depends on whether the body had arrived with the head: not compared. */
    private static final String CONTINUE = "HTTP/1.1 100 Continue\r\n\r\n";

    /** An error other than HttpException seen inside a handler (the engine would turn it into a 500). */
    private static Throwable handlerFailure;

    @FuzzTest(maxDuration = "15s")
    void fuzzRequests(byte[] data) {
        handlerFailure = null;
        String whole = run(data, data.length);
        String bytewise = run(data, 1);
        String chunks = run(data, 2 + data.length % 13);
        if (handlerFailure != null) throw new AssertionError("a request accessor failed", handlerFailure);
        if (!whole.equals(bytewise) || !whole.equals(chunks)) {
            throw new AssertionError("the outcome depends on the split:\nwhole:\n" + whole + "\nbyte by byte:\n" + bytewise + "\nchunks:\n" + chunks);
        }
    }

    /** Feeds {@code data} in pieces of {@code step}; returns the output (without Date lines) and the close state. */
    private static String run(byte[] data, int step) {
        ServerConfig cfg = new ServerConfig();
        cfg.maxRequestLine = 256;
        cfg.maxHeaderSize = 1024;
        cfg.maxHeaderCount = 16;
        cfg.maxBodySize = 2048;
        cfg.router.add("GET", "/", (req, res) -> res.text("root"));
        cfg.router.add("GET", "/users/:id", (req, res) -> res.text(inspect(req)));
        cfg.router.add(null, "/any/{a}/*", (req, res) -> res.text(inspect(req)));
        cfg.router.add("POST", "/echo", (req, res) -> res.bytes(req.body()));
        EmbeddedHttp http = new EmbeddedHttp(cfg);
        for (int i = 0; i < data.length && !http.closed(); i += step) http.feed(data, i, Math.min(step, data.length - i));
        String out = http.output().readString(http.output().readableBytes(), StandardCharsets.ISO_8859_1);
        return DATE.matcher(out.replace(CONTINUE, "")).replaceAll("") + "\nclosed=" + http.closed();
    }

    /** Touches every lazily decoded part of the request; HttpException (400 on a bad escape) is fine. */
    private static String inspect(Request req) {
        StringBuilder sb = new StringBuilder();
        try {
            sb.append(req.method()).append(' ').append(req.target()).append(' ').append(req.path()).append(' ').append(req.query());
            sb.append(' ').append(req.pathParam("id")).append(req.pathParam("a")).append(req.pathParam("*"));
            for (Map.Entry<String, String> e : req.queryParams().entrySet()) sb.append(e.getKey()).append('=').append(e.getValue());
            for (Map.Entry<String, String> e : req.headers()) sb.append(e.getKey()).append(':').append(e.getValue());
            sb.append(req.cookies());
            sb.append(req.header("Content-Type"));
            sb.append(req.form());
            sb.append(req.bodyString().length());
        } catch (HttpException expected) {
            sb.append("http-error ").append(expected.status());
        } catch (Throwable t) {
            if (handlerFailure == null) handlerFailure = t;
        }
        return sb.toString();
    }
}
