package io.jhv.http.internal.http1;

import io.jhv.http.HttpException;
import io.jhv.http.internal.FormDecoder;
import io.jhv.http.internal.MultipartParser;
import io.jhv.http.server.Part;

import java.io.IOException;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Decoding of request bodies by content type: the charset of a text body, and the fields of a form
 * ({@code application/x-www-form-urlencoded}, or the non-file parts of {@code multipart/form-data}).
 * JSON bodies go to the server's {@link io.jhv.http.JsonCodec}. Called lazily, on the thread that
 * reads the request.
 */
final class RequestBodies {
    private RequestBodies() {}

    /** The charset of a body of type {@code ct} (UTF-8 when none is named); 415 for an unknown one. */
    static Charset charset(String ct) {
        if (ct != null) {
            int i = ct.toLowerCase(java.util.Locale.ROOT).indexOf("charset=");
            if (i >= 0) {
                String cs = ct.substring(i + 8).trim();
                int semi = cs.indexOf(';');
                if (semi >= 0) cs = cs.substring(0, semi).trim();
                if (cs.startsWith("\"") && cs.endsWith("\"") && cs.length() > 1) cs = cs.substring(1, cs.length() - 1);
                try {
                    return Charset.forName(cs);
                } catch (RuntimeException e) {
                    throw new HttpException(415, "unknown charset " + cs);
                }
            }
        }
        return StandardCharsets.UTF_8;
    }

    /** The form fields of a body of type {@code ct} ({@code multipart} if it was multipart), unmodifiable. */
    static Map<String, String> form(String ct, byte[] body, int off, int len, MultipartParser multipart) {
        Map<String, String> m = new LinkedHashMap<>();
        if (ct != null && ct.regionMatches(true, 0, "application/x-www-form-urlencoded", 0, 33)) {
            FormDecoder.decode(body, off, len, charset(ct), m);
        } else if (multipart != null) {
            for (Part p : multipart.parts()) {
                if (p.filename() == null) {
                    try {
                        m.putIfAbsent(p.name(), p.string());
                    } catch (IOException e) {
                        throw new HttpException(500, "cannot read part " + p.name(), e);
                    }
                }
            }
        }
        return Collections.unmodifiableMap(m);
    }
}
