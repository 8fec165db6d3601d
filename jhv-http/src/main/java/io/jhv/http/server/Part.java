package io.jhv.http.server;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.List;

/**
 * One part of a {@code multipart/form-data} body: a form field or an uploaded file. Parts above the
 * server's in-memory threshold are streamed to a temporary file while the body arrives; the file is
 * deleted when the exchange ends unless you moved it ({@link #saveTo(Path)}).
 */
public interface Part {
    /** The form field name. */
    String name();

    /** The file name the client sent, or null for a plain field. */
    String filename();

    /** The part's Content-Type, or null. */
    String contentType();

    /** A header of the part (case-insensitive), or null. */
    String header(String name);

    /** The part's headers' names. */
    List<String> headerNames();

    /** The size in bytes. */
    long size();

    /** The content in memory (reads the file if the part is on disk). */
    byte[] bytes() throws IOException;

    /** The content as UTF-8. */
    String string() throws IOException;

    /** The content as a stream. */
    InputStream inputStream() throws IOException;

    /** The temporary file holding the content, or null if it is in memory. */
    Path file();

    /** Moves (or writes) the content to {@code target}. */
    void saveTo(Path target) throws IOException;
}
