package io.jhv.http.server;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * The HTML listing {@link StaticFiles} answers for a directory without an index file (when
 * listing is on), and the HTML escaping and URL encoding it needs. Stateless; any thread.
 */
final class DirectoryListing {
    private DirectoryListing() {}

    static void list(Request req, Response res, Path dir, boolean atRoot, boolean hidden) throws IOException {
        record Entry(String name, boolean dir, long size, long mtime) {}
        List<Entry> entries = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
            for (Path p : ds) {
                String n = p.getFileName().toString();
                if (n.startsWith(".") && !hidden) continue;
                BasicFileAttributes a;
                try {
                    a = Files.readAttributes(p, BasicFileAttributes.class);
                } catch (IOException e) {
                    continue; // a dangling link, say
                }
                entries.add(new Entry(n, a.isDirectory(), a.size(), a.lastModifiedTime().toMillis()));
            }
        } catch (AccessDeniedException e) {
            res.sendStatus(403);
            return;
        }
        entries.sort(Comparator.comparing((Entry e) -> !e.dir).thenComparing(Entry::name));
        String path = req.path();
        StringBuilder sb = new StringBuilder(256 + entries.size() * 160);
        sb.append("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Index of ")
          .append(escapeHtml(path)).append("</title>\n<style>body{font-family:system-ui,sans-serif;margin:2em}"
                + "td{padding:0 1.5em 0 0}td.s{text-align:right}</style></head>\n<body><h1>Index of ")
          .append(escapeHtml(path)).append("</h1>\n<table>\n");
        if (!atRoot) sb.append("<tr><td><a href=\"../\">../</a></td><td></td><td></td></tr>\n");
        for (Entry e : entries) {
            String display = e.name + (e.dir ? "/" : "");
            sb.append("<tr><td><a href=\"").append(escapeHtml(encodeSegment(e.name))).append(e.dir ? "/" : "")
              .append("\">").append(escapeHtml(display)).append("</a></td><td class=\"s\">")
              .append(e.dir ? "-" : Long.toString(e.size)).append("</td><td>")
              .append(Validators.formatDate(e.mtime)).append("</td></tr>\n");
        }
        sb.append("</table></body></html>\n");
        res.setHeader("Cache-Control", "no-cache");
        res.html(sb.toString());
    }

    /** Escapes text for HTML element content and quoted attribute values. */
    static String escapeHtml(String s) {
        StringBuilder sb = null;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            String r = switch (c) {
                case '<' -> "&lt;";
                case '>' -> "&gt;";
                case '&' -> "&amp;";
                case '"' -> "&quot;";
                case '\'' -> "&#39;";
                default -> null;
            };
            if (r != null) {
                if (sb == null) sb = new StringBuilder(s.length() + 16).append(s, 0, i);
                sb.append(r);
            } else if (sb != null) {
                sb.append(c);
            }
        }
        return sb == null ? s : sb.toString();
    }

    /** Percent-encodes a path segment (all but RFC 3986 unreserved characters). */
    static String encodeSegment(String s) {
        StringBuilder sb = new StringBuilder(s.length() + 8);
        for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
            int c = b & 0xff;
            if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.'
                    || c == '_' || c == '~') {
                sb.append((char) c);
            } else {
                sb.append('%').append(Character.toUpperCase(Character.forDigit(c >> 4, 16)))
                  .append(Character.toUpperCase(Character.forDigit(c & 15, 16)));
            }
        }
        return sb.toString();
    }

    /** Percent-encodes each segment of {@code path}, keeping the slashes. */
    static String encodePath(String path) {
        StringBuilder sb = new StringBuilder(path.length() + 8);
        int start = 0;
        while (true) {
            int slash = path.indexOf('/', start);
            sb.append(encodeSegment(slash < 0 ? path.substring(start) : path.substring(start, slash)));
            if (slash < 0) return sb.toString();
            sb.append('/');
            start = slash + 1;
        }
    }
}
