package io.jhv.cli;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Parses {@code --name value} and {@code --flag} options; a bad option is a {@link UsageException}.
 * An option given twice keeps its last value for {@link #get}; {@link #all} returns every value (for
 * repeatable options such as {@code --header}).
 */
final class Args {
    private final Map<String, String> values = new LinkedHashMap<>();
    private final Map<String, List<String>> every = new LinkedHashMap<>();
    private final List<String> operands = new ArrayList<>();

    private Args() {}

    /**
     * @param withValue option names that take a value
     * @param flags     option names that take none
     */
    static Args parse(String[] argv, int from, Set<String> withValue, Set<String> flags) {
        return parse(argv, from, withValue, flags, 0);
    }

    /**
     * As {@link #parse(String[], int, Set, Set)}, also taking up to {@code maxOperands} arguments
     * that are not options (a URL), anywhere among the options; {@code --} ends the options.
     */
    static Args parse(String[] argv, int from, Set<String> withValue, Set<String> flags, int maxOperands) {
        Args a = new Args();
        boolean optionsEnded = false;
        for (int i = from; i < argv.length; i++) {
            String s = argv[i];
            if (!optionsEnded && s.equals("--") && maxOperands > 0) {
                optionsEnded = true;
                continue;
            }
            if (optionsEnded || !s.startsWith("--")) {
                if (a.operands.size() >= maxOperands) throw new UsageException("unexpected argument: " + s);
                a.operands.add(s);
                continue;
            }
            String name = s.substring(2);
            String value = null;
            int eq = name.indexOf('=');
            if (eq >= 0) {
                value = name.substring(eq + 1);
                name = name.substring(0, eq);
            }
            if (flags.contains(name)) {
                if (value != null) throw new UsageException("--" + name + " takes no value");
                a.values.put(name, "true");
                a.every.computeIfAbsent(name, k -> new ArrayList<>()).add("true");
            } else if (withValue.contains(name)) {
                if (value == null) {
                    if (i + 1 >= argv.length) throw new UsageException("--" + name + " needs a value");
                    value = argv[++i];
                }
                a.values.put(name, value);
                a.every.computeIfAbsent(name, k -> new ArrayList<>()).add(value);
            } else {
                throw new UsageException("unknown option: --" + name);
            }
        }
        return a;
    }

    boolean has(String name) { return values.containsKey(name); }

    String get(String name, String def) { return values.getOrDefault(name, def); }

    /** Every value given for {@code name}, in order (empty if none). */
    List<String> all(String name) { return List.copyOf(every.getOrDefault(name, List.of())); }

    /** The arguments that are not options, in order. */
    List<String> operands() { return List.copyOf(operands); }

    int getInt(String name, int def, int min, int max) {
        String v = values.get(name);
        if (v == null) return def;
        try {
            int n = Integer.parseInt(v.trim());
            if (n < min || n > max) throw new UsageException("--" + name + " must be between " + min + " and " + max + ": " + v);
            return n;
        } catch (NumberFormatException e) {
            throw new UsageException("--" + name + " must be a number: " + v);
        }
    }

    /** A bad command line: printed with the usage, exit code 2. */
    static final class UsageException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        UsageException(String message) {
            super(message);
        }
    }
}
