package io.jhv.http.websocket.interop;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Where the interop peers are: the scripts in {@code src/test/resources/ws-interop}, Node with the
 * {@code ws} package that {@code ./test} installs into {@code target/npm} (or where
 * {@code -Djhv.interop.nodeModules} / {@code JHV_INTEROP_NODE_MODULES} says), and Debian's
 * {@code python3-websockets} run with {@code /usr/bin/python3}. A missing peer is a failure with a
 * message saying how to install it, never a skip: CI installs them.
 */
final class Peers {
    private Peers() {
    }

    /** The two implementations tested against. */
    enum Kind {
        NODE("Node ws"), PYTHON("python websockets");

        final String label;

        Kind(String label) {
            this.label = label;
        }
    }

    static final Path PYTHON = Path.of("/usr/bin/python3");

    /** The project's root: the first directory upwards holding find-jdk.sh. */
    static Path root() {
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            if (Files.isRegularFile(p.resolve("find-jdk.sh")) && Files.isDirectory(p.resolve("jhv-http"))) return p;
        }
        throw new AssertionError("cannot find the project root (a directory with find-jdk.sh) above " + Path.of("").toAbsolutePath());
    }

    static Path scripts() {
        return root().resolve("jhv-http/src/test/resources/ws-interop");
    }

    static Path nodeModules() {
        String p = System.getProperty("jhv.interop.nodeModules");
        if (p == null || p.isBlank()) p = System.getenv("JHV_INTEROP_NODE_MODULES");
        return p == null || p.isBlank() ? root().resolve("target/npm/node_modules") : Path.of(p);
    }

    /** Checks the peer is installed and returns its version line; fails with how to install it when not. */
    static String require(Kind kind) throws InterruptedException {
        return switch (kind) {
            case NODE -> requireNode();
            case PYTHON -> requirePython();
        };
    }

    private static String requireNode() throws InterruptedException {
        String node = run(List.of("node", "--version"), "Node (the `node` command) is missing: ./test installs it "
                + "(apt-get install nodejs npm)");
        Path pkg = nodeModules().resolve("ws/package.json");
        if (!Files.isRegularFile(pkg)) {
            throw new AssertionError("Node's ws package is missing (no " + pkg + "): ./test installs it "
                    + "(npm install --prefix target/npm ws@8 at the project root), or point -Djhv.interop.nodeModules "
                    + "or JHV_INTEROP_NODE_MODULES at a node_modules directory holding ws");
        }
        String version;
        try {
            Matcher m = Pattern.compile("\"version\"\\s*:\\s*\"([^\"]+)\"").matcher(Files.readString(pkg, StandardCharsets.UTF_8));
            version = m.find() ? m.group(1) : "?";
        } catch (IOException e) {
            throw new AssertionError("cannot read " + pkg, e);
        }
        return "node " + node.strip() + ", ws " + version;
    }

    private static String requirePython() throws InterruptedException {
        if (!Files.isExecutable(PYTHON)) {
            throw new AssertionError(PYTHON + " is missing: ./test installs python3-websockets (apt-get install python3-websockets)");
        }
        String v = run(List.of(PYTHON.toString(), "-c", "import websockets, sys; print(websockets.__version__, sys.version.split()[0])"),
                "Debian's python3-websockets is missing for " + PYTHON + ": ./test installs it (apt-get install python3-websockets)");
        String[] parts = v.strip().split(" ");
        return "python " + (parts.length > 1 ? parts[1] : "?") + ", websockets " + parts[0];
    }

    /** Runs a short command and returns its output; fails with {@code missing} and the output if it cannot. */
    private static String run(List<String> command, String missing) throws InterruptedException {
        PeerProcess p;
        try {
            p = PeerProcess.start(command.get(0), command, root(), env());
        } catch (IOException e) {
            throw new AssertionError(missing + " (" + e.getMessage() + ")", e);
        }
        try (p) {
            int exit = p.awaitExit(Duration.ofSeconds(30));
            if (exit != 0) throw new AssertionError(missing + p.describe());
            return p.output();
        }
    }

    /** The environment changes every peer runs with: Node finds ws, python runs Debian's own packages. */
    static Map<String, String> env() {
        Map<String, String> env = new HashMap<>();
        env.put("NODE_PATH", nodeModules().toString());
        env.put("PYTHONPATH", null);
        env.put("PYTHONHOME", null);
        env.put("PYTHONDONTWRITEBYTECODE", "1"); // no __pycache__ in the source tree
        env.put("PYTHONUNBUFFERED", "1");
        return env;
    }

    /** An echo server of {@code kind}; returns once it printed its port (the line {@code READY port=<n>}). */
    static PeerProcess server(Kind kind, boolean deflate) throws IOException {
        return server(kind, deflate, null);
    }

    /** {@link #server(Kind, boolean)} speaking {@code subprotocols} (comma-separated, in preference order). */
    static PeerProcess server(Kind kind, boolean deflate, String subprotocols) throws IOException {
        List<String> cmd = new ArrayList<>();
        switch (kind) {
            case NODE -> cmd.addAll(List.of("node", scripts().resolve("node-server.js").toString()));
            case PYTHON -> cmd.addAll(List.of(PYTHON.toString(), scripts().resolve("py-server.py").toString()));
        }
        cmd.add(deflate ? "on" : "off");
        if (subprotocols != null) cmd.add(subprotocols);
        return PeerProcess.start(kind.name().toLowerCase() + "-server", cmd, scripts(), env());
    }

    /** The port from a server's {@code READY port=<n>} line. */
    static int awaitPort(PeerProcess server) throws InterruptedException {
        String line = server.awaitLine("READY port=", Duration.ofSeconds(30));
        Matcher m = Pattern.compile("READY port=(\\d+)").matcher(line);
        if (!m.find()) throw new AssertionError("no port in \"" + line + "\"" + server.describe());
        return Integer.parseInt(m.group(1));
    }

    /**
     * A checking client of {@code kind} (see node-client.js): mode {@code client-close} or
     * {@code server-close}, with the close code and reason it closes with or asks for.
     */
    static PeerProcess client(Kind kind, String url, boolean deflate, int rounds, String mode, int code, String reason) throws IOException {
        return client(kind, url, deflate, rounds, mode, code, reason, null);
    }

    /** {@link #client(Kind, String, boolean, int, String, int, String)} offering {@code subprotocols} (comma-separated). */
    static PeerProcess client(Kind kind, String url, boolean deflate, int rounds, String mode, int code, String reason,
                              String subprotocols) throws IOException {
        List<String> cmd = new ArrayList<>();
        switch (kind) {
            case NODE -> cmd.addAll(List.of("node", scripts().resolve("node-client.js").toString()));
            case PYTHON -> cmd.addAll(List.of(PYTHON.toString(), scripts().resolve("py-client.py").toString()));
        }
        cmd.addAll(List.of(url, deflate ? "on" : "off", Integer.toString(rounds), mode, Integer.toString(code), reason));
        if (subprotocols != null) cmd.add(subprotocols);
        return PeerProcess.start(kind.name().toLowerCase() + "-client", cmd, scripts(), env());
    }
}
