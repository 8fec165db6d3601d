package io.jhv.cli;

/** The {@code hv} command: {@code hv <command> [options]}. */
public final class Main {
    private Main() {}

    static final String HELP = """
            usage: hv <command> [options]

            commands:
              httpd    %s
              echo     %s
              ws       %s
              cert     %s
              curl     %s
              bench    %s
              proxy    %s
              nc       %s
              mqtt     %s
              help     this text

            Each command takes --help.
            """.formatted(HttpdCommand.USAGE, EchoCommand.USAGE, WsCommand.USAGE, CertCommand.USAGE,
                    CurlCommand.USAGE, BenchCommand.USAGE, ProxyCommand.USAGE, NcCommand.USAGE, MqttCommand.USAGE);

    public static void main(String[] argv) {
        System.exit(run(argv));
    }

    /** Runs a command; returns the exit code (2 for a bad command line). */
    static int run(String[] argv) {
        if (argv.length == 0 || argv[0].equals("help") || argv[0].equals("--help") || argv[0].equals("-h")) {
            System.out.print(HELP);
            return argv.length == 0 ? 2 : 0;
        }
        try {
            return switch (argv[0]) {
                case "httpd" -> HttpdCommand.run(argv);
                case "echo" -> EchoCommand.run(argv);
                case "ws" -> WsCommand.run(argv);
                case "cert" -> CertCommand.run(argv);
                case "proxy" -> ProxyCommand.run(argv);
                case "nc" -> NcCommand.run(argv);
                case "mqtt" -> MqttCommand.run(argv);
                case "curl" -> CurlCommand.run(argv);
                case "bench" -> BenchCommand.run(argv);
                default -> throw new Args.UsageException("unknown command: " + argv[0]);
            };
        } catch (Args.UsageException e) {
            System.err.println("hv: " + e.getMessage());
            System.err.println("try: hv --help");
            return 2;
        } catch (RuntimeException e) {
            System.err.println("hv " + argv[0] + ": " + e.getMessage());
            return 1;
        }
    }
}
