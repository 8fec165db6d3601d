package io.jhv.http.internal;

import io.jhv.http.server.Part;


import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;

/**
 * A part of a {@code multipart/form-data} body made by {@link MultipartParser}: either held in memory
 * ({@link InMemory}) or in a temporary file ({@link OnDisk}).
 *
 * <p>Thread contract: built on the thread that parses the body, then read by the handler; the
 * handover happens-before through the engine (the loop, or the start of a virtual thread).
 */
abstract sealed class MultipartPart implements Part permits MultipartPart.InMemory, MultipartPart.OnDisk {
    private final String name;
    private final String filename;
    /** Header names and values, alternating, in the order sent. */
    private final List<String> headers;

    MultipartPart(String name, String filename, List<String> headers) {
        this.name = name;
        this.filename = filename;
        this.headers = headers;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public String filename() {
        return filename;
    }

    @Override
    public String contentType() {
        return header("Content-Type");
    }

    @Override
    public String header(String headerName) {
        for (int i = 0; i < headers.size(); i += 2) {
            if (headers.get(i).equalsIgnoreCase(headerName)) return headers.get(i + 1);
        }
        return null;
    }

    @Override
    public List<String> headerNames() {
        List<String> names = new ArrayList<>(headers.size() / 2);
        for (int i = 0; i < headers.size(); i += 2) names.add(headers.get(i));
        return names;
    }

    @Override
    public String string() throws IOException {
        return new String(bytes(), StandardCharsets.UTF_8);
    }

    @Override
    public String toString() {
        return "Part[name=" + name + (filename != null ? ", filename=" + filename : "") + ", size=" + size()
                + (file() != null ? ", file=" + file() : "") + "]";
    }

    /** Deletes the temporary file unless it was moved away; no-op for parts in memory. */
    abstract void discard();

    /** A part small enough to stay in memory. */
    static final class InMemory extends MultipartPart {
        private final byte[] data;
        private final int length;

        InMemory(String name, String filename, List<String> headers, byte[] data, int length) {
            super(name, filename, headers);
            this.data = data;
            this.length = length;
        }

        @Override
        public long size() {
            return length;
        }

        @Override
        public byte[] bytes() {
            return java.util.Arrays.copyOf(data, length);
        }

        @Override
        public String string() {
            return new String(data, 0, length, StandardCharsets.UTF_8);
        }

        @Override
        public InputStream inputStream() {
            return new ByteArrayInputStream(data, 0, length);
        }

        @Override
        public Path file() {
            return null;
        }

        @Override
        public void saveTo(Path target) throws IOException {
            try (var out = Files.newOutputStream(target)) {
                out.write(data, 0, length);
            }
        }

        @Override
        void discard() {}
    }

    /** A part streamed to a temporary file while it arrived. */
    static final class OnDisk extends MultipartPart {
        private final long size;
        private volatile Path file;
        private volatile boolean moved;

        OnDisk(String name, String filename, List<String> headers, Path file, long size) {
            super(name, filename, headers);
            this.file = file;
            this.size = size;
        }

        @Override
        public long size() {
            return size;
        }

        @Override
        public byte[] bytes() throws IOException {
            return Files.readAllBytes(file);
        }

        @Override
        public InputStream inputStream() throws IOException {
            return Files.newInputStream(file);
        }

        @Override
        public Path file() {
            return file;
        }

        /** Moves the temporary file (a rename when on the same file system, else a copy and delete). */
        @Override
        public void saveTo(Path target) throws IOException {
            if (moved) {
                Files.copy(file, target, StandardCopyOption.REPLACE_EXISTING);
                return;
            }
            Files.move(file, target, StandardCopyOption.REPLACE_EXISTING);
            file = target;
            moved = true;
        }

        @Override
        void discard() {
            if (moved) return;
            try {
                Files.deleteIfExists(file);
            } catch (IOException e) {
                System.getLogger(MultipartPart.class.getName())
                        .log(System.Logger.Level.WARNING, "cannot delete upload temp file " + file + ": " + e);
            }
        }
    }
}
