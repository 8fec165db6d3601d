package io.jhv.http.client;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ThreadLocalRandom;

/**
 * A {@code multipart/form-data} body (RFC 7578): text fields and files, for
 * {@link HttpRequest.Builder#multipart(Multipart)}. File parts are streamed from disk as the
 * socket drains (read off the loop, a few 16 KiB buffers whatever the file's size), with a
 * {@code Content-Length} from the files' sizes taken when the call starts, on the calling thread;
 * a missing file fails the call then, before anything is sent, and a file that changes size
 * before it is sent fails it rather than break the framing. A 307/308 redirect or a retry sends
 * the files again.
 *
 * <p>Immutable once built; any thread. The builder is for one thread.
 *
 * {@snippet :
 * Multipart form = Multipart.builder()
 *     .field("title", "holiday")
 *     .file("photo", Path.of("beach.jpg"), "image/jpeg")
 *     .build();
 * client.send(HttpRequest.post(url).multipart(form).build());
 * }
 */
public final class Multipart {
    /**
     * One part: a field ({@code content} is a String), in-memory bytes or a file (a {@link Path}).
     *
     * @param name        the form field name
     * @param filename    the file name sent, or null for a plain field
     * @param contentType the part's content type, or null
     * @param content     a {@code String}, {@code byte[]} or {@link Path}
     */
    public record Part(String name, String filename, String contentType, Object content) {
        public Part {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(content, "content");
            if (!(content instanceof String || content instanceof byte[] || content instanceof Path)) {
                throw new IllegalArgumentException("a part's content is a String, byte[] or Path: " + content.getClass());
            }
        }
    }

    private final String boundary;
    private final List<Part> parts;

    private Multipart(String boundary, List<Part> parts) {
        this.boundary = boundary;
        this.parts = List.copyOf(parts);
    }

    /** A new builder with a random boundary. */
    public static Builder builder() {
        return new Builder();
    }

    /** The boundary between the parts. */
    public String boundary() { return boundary; }

    /** The parts, in order. */
    public List<Part> parts() { return parts; }

    /** The {@code Content-Type} of this body, boundary included. */
    public String contentType() { return "multipart/form-data; boundary=" + boundary; }

    /** Builds a {@link Multipart}; one thread. */
    public static final class Builder {
        private final List<Part> parts = new ArrayList<>();
        private String boundary = "jhv-" + Long.toHexString(ThreadLocalRandom.current().nextLong())
                + Long.toHexString(ThreadLocalRandom.current().nextLong());

        private Builder() {}

        /** Sets the boundary (1-70 characters from RFC 2046's set); a random one by default. */
        public Builder boundary(String b) {
            Objects.requireNonNull(b, "boundary");
            if (b.isEmpty() || b.length() > 70 || !b.chars().allMatch(c -> c > 32 && c < 127 && c != '"')) {
                throw new IllegalArgumentException("bad multipart boundary: " + b);
            }
            this.boundary = b;
            return this;
        }

        /** A text field. */
        public Builder field(String name, String value) {
            parts.add(new Part(name, null, null, value));
            return this;
        }

        /** A file part streamed from {@code file} when sent (see the class comment), named after the file. */
        public Builder file(String name, Path file, String contentType) {
            parts.add(new Part(name, file.getFileName().toString(), contentType, file));
            return this;
        }

        /** A file part from memory. */
        public Builder file(String name, String filename, String contentType, byte[] content) {
            parts.add(new Part(name, Objects.requireNonNull(filename, "filename"), contentType, content.clone()));
            return this;
        }

        /** Any part. */
        public Builder part(Part part) {
            parts.add(Objects.requireNonNull(part, "part"));
            return this;
        }

        /** The body. */
        public Multipart build() {
            return new Multipart(boundary, parts);
        }
    }
}
