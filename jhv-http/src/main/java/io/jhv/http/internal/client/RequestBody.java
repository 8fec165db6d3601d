package io.jhv.http.internal.client;

import io.jhv.http.JsonCodec;
import io.jhv.http.client.Multipart;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Flow;

/**
 * What a request carries, as the builder recorded it. Bodies known in full ({@link Bytes}) are sent
 * with {@code Content-Length}; a file with its size; streams and publishers without a known length
 * go chunked. {@link #replayable()} says whether a retry or a 307/308 redirect can send it again.
 */
public abstract sealed class RequestBody {
    /** The {@code Content-Type} to send when the request has none, or null. */
    public final String contentType;

    RequestBody(String contentType) {
        this.contentType = contentType;
    }

    /** Whether the body can be sent a second time. */
    public abstract boolean replayable();

    /** The body's length, or -1 when unknown (sent chunked). May read a file's size. */
    public abstract long length() throws IOException;

    /** Bytes in memory. */
    public static final class Bytes extends RequestBody {
        public final byte[] bytes;

        public Bytes(byte[] bytes, String contentType) {
            super(contentType);
            this.bytes = bytes;
        }

        @Override public boolean replayable() { return true; }
        @Override public long length() { return bytes.length; }
    }

    /** A file, read as it is sent. */
    public static final class FileBody extends RequestBody {
        public final Path path;

        public FileBody(Path path, String contentType) {
            super(contentType);
            this.path = path;
        }

        @Override public boolean replayable() { return true; }
        @Override public long length() throws IOException { return Files.size(path); }
    }

    /** An input stream, read off the loop as the socket drains; not replayable. */
    public static final class StreamBody extends RequestBody {
        public final InputStream stream;
        public final long length;

        public StreamBody(InputStream stream, long length, String contentType) {
            super(contentType);
            this.stream = stream;
            this.length = length;
        }

        @Override public boolean replayable() { return false; }
        @Override public long length() { return length; }
    }

    /** A reactive-streams publisher, requested as the socket drains; not replayable. */
    public static final class PublisherBody extends RequestBody {
        public final Flow.Publisher<ByteBuffer> publisher;
        public final long length;

        public PublisherBody(Flow.Publisher<ByteBuffer> publisher, long length, String contentType) {
            super(contentType);
            this.publisher = publisher;
            this.length = length;
        }

        @Override public boolean replayable() { return false; }
        @Override public long length() { return length; }
    }

    /** An object encoded with the client's {@link JsonCodec} when the request is sent. */
    public static final class JsonBody extends RequestBody {
        public final Object value;

        public JsonBody(Object value) {
            super("application/json");
            this.value = value;
        }

        @Override public boolean replayable() { return true; }
        @Override public long length() { return -1; }

        public Bytes encode(JsonCodec codec) {
            return new Bytes(codec.encode(value), contentType);
        }
    }

    /** A multipart body, encoded (files read) when sent. */
    public static final class MultipartBody extends RequestBody {
        public final Multipart multipart;

        public MultipartBody(Multipart multipart) {
            super(multipart.contentType());
            this.multipart = multipart;
        }

        @Override public boolean replayable() { return true; }
        @Override public long length() { return -1; }

        /**
         * The body ready to send: {@link Bytes} when every part is in memory; otherwise
         * {@link Pieces}, the in-memory parts and the files in order, each file's size read now
         * (not its bytes: those are read as the socket drains). Runs on the caller's thread.
         *
         * @throws IOException naming the part when a file is missing or not a regular file
         */
        public RequestBody resolve() throws IOException {
            java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
            java.util.List<Object> pieces = null;
            long length = 0;
            byte[] crlf = {'\r', '\n'};
            for (Multipart.Part p : multipart.parts()) {
                out.write(("--" + multipart.boundary() + "\r\n").getBytes(StandardCharsets.US_ASCII));
                StringBuilder h = new StringBuilder("Content-Disposition: form-data; name=\"").append(quote(p.name())).append('"');
                if (p.filename() != null) h.append("; filename=\"").append(quote(p.filename())).append('"');
                h.append("\r\n");
                if (p.contentType() != null) h.append("Content-Type: ").append(p.contentType()).append("\r\n");
                h.append("\r\n");
                out.write(h.toString().getBytes(StandardCharsets.UTF_8));
                Object c = p.content();
                if (c instanceof String str) {
                    out.write(str.getBytes(StandardCharsets.UTF_8));
                } else if (c instanceof byte[] b) {
                    out.write(b);
                } else {
                    Path file = (Path) c;
                    long size;
                    try {
                        if (!Files.isRegularFile(file)) throw new java.nio.file.NoSuchFileException(file.toString(), null, "not a regular file");
                        size = Files.size(file);
                    } catch (IOException e) {
                        throw new io.jhv.http.client.HttpClientException("multipart part \"" + p.name() + "\": cannot read the file "
                                + file + " (" + e + "); nothing was sent", e);
                    }
                    if (pieces == null) pieces = new java.util.ArrayList<>();
                    byte[] before = out.toByteArray();
                    pieces.add(before);
                    length += before.length;
                    out.reset();
                    pieces.add(new Pieces.FilePiece(file, size));
                    length += size;
                }
                out.write(crlf);
            }
            out.write(("--" + multipart.boundary() + "--\r\n").getBytes(StandardCharsets.US_ASCII));
            byte[] tail = out.toByteArray();
            if (pieces == null) return new Bytes(tail, contentType);
            pieces.add(tail);
            return new Pieces(pieces.toArray(), length + tail.length, contentType);
        }

        private static String quote(String s) {
            return s.replace("\\", "\\\\").replace("\"", "\\\"").replace("\r", "%0D").replace("\n", "%0A");
        }
    }

    /**
     * Bytes in memory and files, sent in order as one body of a length known in advance (a
     * multipart body with file parts): read as the socket drains, off the loop thread; replayable.
     */
    public static final class Pieces extends RequestBody {
        /** A file and the size it had when the body was resolved. */
        record FilePiece(Path path, long size) {}

        private final Object[] pieces; // byte[] or FilePiece
        private final long length;

        Pieces(Object[] pieces, long length, String contentType) {
            super(contentType);
            this.pieces = pieces;
            this.length = length;
        }

        @Override public boolean replayable() { return true; }
        @Override public long length() { return length; }

        /** The body as one stream, each file opened when its turn comes. Any thread (the pump's). */
        InputStream open() {
            java.util.Iterator<Object> it = java.util.Arrays.asList(pieces).iterator();
            return new java.io.SequenceInputStream(new java.util.Enumeration<InputStream>() {
                @Override
                public boolean hasMoreElements() {
                    return it.hasNext();
                }

                @Override
                public InputStream nextElement() {
                    Object o = it.next();
                    if (o instanceof byte[] b) return new java.io.ByteArrayInputStream(b);
                    FilePiece f = (FilePiece) o;
                    try {
                        return Files.newInputStream(f.path);
                    } catch (IOException e) {
                        throw new java.io.UncheckedIOException("cannot open the multipart file " + f.path + ": " + e.getMessage(), e);
                    }
                }
            });
        }
    }

    /** {@code application/x-www-form-urlencoded} from a map. */
    public static Bytes form(Map<String, String> fields) {
        StringBuilder sb = new StringBuilder();
        for (Map.Entry<String, String> e : fields.entrySet()) {
            if (!sb.isEmpty()) sb.append('&');
            sb.append(java.net.URLEncoder.encode(e.getKey(), StandardCharsets.UTF_8)).append('=')
              .append(java.net.URLEncoder.encode(e.getValue(), StandardCharsets.UTF_8));
        }
        return new Bytes(sb.toString().getBytes(StandardCharsets.UTF_8), "application/x-www-form-urlencoded");
    }
}
