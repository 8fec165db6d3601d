package io.jhv.cli;

import io.jhv.core.tls.SelfSignedCertificate;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;

/** {@code hv cert}: writes a self-signed development certificate and key (cert.pem, key.pem). */
final class CertCommand {
    static final String USAGE = "hv cert [--out DIR] [--host NAME]... [--days 365] [--force]";

    private CertCommand() {}

    static int run(String[] argv) {
        // --host may repeat; Args keeps one value per option, so collect the hosts here.
        List<String> hosts = new ArrayList<>();
        List<String> rest = new ArrayList<>();
        for (int i = 1; i < argv.length; i++) {
            String s = argv[i];
            if (s.equals("--host")) {
                if (i + 1 >= argv.length) throw new Args.UsageException("--host needs a value");
                hosts.add(argv[++i]);
            } else if (s.startsWith("--host=")) {
                hosts.add(s.substring(7));
            } else {
                rest.add(s);
            }
        }
        rest.add(0, "cert");
        Args a = Args.parse(rest.toArray(new String[0]), 1, Set.of("out", "days"), Set.of("force", "help"));
        if (a.has("help")) {
            System.out.println("usage: " + USAGE);
            System.out.println("Writes DIR/cert.pem and DIR/key.pem (default DIR: the current directory): an EC P-256");
            System.out.println("certificate signed by its own key, for tests and demos. Default host: localhost, which");
            System.out.println("also covers 127.0.0.1 and ::1. Never use it in production.");
            return 0;
        }
        for (String h : hosts) {
            if (h.isBlank() || h.contains(" ") || h.contains(",")) throw new Args.UsageException("bad --host: '" + h + "' (one name per --host)");
        }
        int days = a.getInt("days", 365, 1, 36500);
        Path dir = Path.of(a.get("out", "."));
        Path cert = dir.resolve("cert.pem"), key = dir.resolve("key.pem");
        if (!a.has("force")) {
            for (Path p : List.of(cert, key)) {
                if (Files.exists(p)) throw new IllegalStateException(p + " exists; use --force to overwrite it");
            }
        }
        if (hosts.isEmpty()) hosts.add("localhost");
        if (hosts.contains("localhost")) { // as SelfSignedCertificate.generate: localhost means loopback too
            if (!hosts.contains("127.0.0.1")) hosts.add("127.0.0.1");
            if (!hosts.contains("::1")) hosts.add("::1");
        }
        SelfSignedCertificate generated = SelfSignedCertificate.builder().hosts(hosts.toArray(new String[0]))
                .validity(Duration.ofDays(days)).build();
        SelfSignedCertificate.PemFiles files = generated.writeTo(dir);
        X509Certificate c = generated.certificate();
        System.out.println("wrote " + files.certificate() + " (self-signed certificate for " + String.join(", ", sans(c))
                + ", valid until " + c.getNotAfter().toInstant() + ")");
        System.out.println("  and " + files.privateKey() + " (its private key, readable by you only)");
        System.out.println("SHA-256 fingerprint: " + fingerprint(c));
        System.out.println("serve TLS echo with:  hv echo --tls --cert " + files.certificate() + " --key " + files.privateKey());
        System.out.println("and test it with:     openssl s_client -connect 127.0.0.1:7000 -CAfile " + files.certificate());
        return 0;
    }

    static List<String> sans(X509Certificate c) {
        List<String> out = new ArrayList<>();
        try {
            for (List<?> san : c.getSubjectAlternativeNames()) out.add(String.valueOf(san.get(1)));
        } catch (Exception e) {
            // none
        }
        return out;
    }

    static String fingerprint(X509Certificate c) {
        try {
            return HexFormat.ofDelimiter(":").withUpperCase().formatHex(MessageDigest.getInstance("SHA-256").digest(c.getEncoded()));
        } catch (Exception e) {
            return "?";
        }
    }
}
