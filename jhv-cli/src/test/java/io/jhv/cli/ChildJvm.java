package io.jhv.cli;

import java.io.File;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Starts {@code hv} (or another main) in a child JVM for tests that need a real process: signals, ports, supervisors. */
final class ChildJvm {
    private ChildJvm() {}

    /** The java executable running these tests. */
    static String java() {
        return ProcessHandle.current().info().command().orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    }

    /** The class path holding {@code classes} (their jars or class folders). */
    static String classPath(Class<?>... classes) throws Exception {
        StringBuilder cp = new StringBuilder();
        for (Class<?> c : classes) {
            if (cp.length() > 0) cp.append(File.pathSeparatorChar);
            cp.append(Path.of(c.getProtectionDomain().getCodeSource().getLocation().toURI()));
        }
        return cp.toString();
    }

    /** A process builder for {@code hv ARGS...} (jhv-cli, jhv-http and jhv-core on the class path). */
    static ProcessBuilder hv(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(java(), "--add-exports", "java.base/sun.nio.ch=ALL-UNNAMED", "-cp",
                classPath(Main.class, io.jhv.http.server.HttpServer.class, io.jhv.core.net.TcpServer.class), "io.jhv.cli.Main"));
        cmd.addAll(List.of(args));
        return new ProcessBuilder(cmd);
    }
}
