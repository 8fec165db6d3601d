package io.jhv.cli.proxy;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * Which destinations a forward proxy may connect to: {@code --allow} and {@code --deny} patterns
 * {@code HOST[:PORT]}. HOST is a glob ({@code *} is any run of characters, case-insensitive; an IPv6
 * address in brackets); PORT is a number, a range {@code LOW-HIGH} or {@code *} (no PORT: any). A
 * destination matching a deny pattern is refused; if there are allow patterns, one must match.
 *
 * <p>The patterns are matched against the host as the client named it (a name or an address
 * literal), not against the addresses a name resolves to: {@code --deny '10.*'} refuses the literal
 * 10.0.0.1, not a name that resolves to it. Immutable; thread-safe.
 */
public final class Destinations {
    /** Allows everything. */
    public static final Destinations ANY = new Destinations(List.of(), List.of());

    private final List<Rule> allow, deny;

    private Destinations(List<Rule> allow, List<Rule> deny) {
        this.allow = allow;
        this.deny = deny;
    }

    /** @throws IllegalArgumentException for a malformed pattern, saying which */
    public static Destinations of(List<String> allow, List<String> deny) {
        List<Rule> a = new ArrayList<>(), d = new ArrayList<>();
        for (String s : allow) a.add(Rule.parse(s));
        for (String s : deny) d.add(Rule.parse(s));
        return new Destinations(List.copyOf(a), List.copyOf(d));
    }

    /** Whether the proxy may connect to {@code host:port}. */
    public boolean allows(String host, int port) {
        String h = host.toLowerCase(Locale.ROOT);
        if (h.startsWith("[") && h.endsWith("]")) h = h.substring(1, h.length() - 1);
        for (Rule r : deny) if (r.matches(h, port)) return false;
        if (allow.isEmpty()) return true;
        for (Rule r : allow) if (r.matches(h, port)) return true;
        return false;
    }

    private record Rule(Pattern host, int low, int high) {
        static Rule parse(String s) {
            String host = s, port = null;
            if (s.startsWith("[")) {
                int end = s.indexOf(']');
                if (end < 0) throw new IllegalArgumentException("bad destination pattern (no ']'): " + s);
                host = s.substring(1, end);
                String rest = s.substring(end + 1);
                if (!rest.isEmpty()) {
                    if (!rest.startsWith(":")) throw new IllegalArgumentException("bad destination pattern: " + s);
                    port = rest.substring(1);
                }
            } else {
                int colon = s.lastIndexOf(':');
                if (colon >= 0 && s.indexOf(':') == colon) {
                    host = s.substring(0, colon);
                    port = s.substring(colon + 1);
                }
            }
            if (host.isEmpty()) throw new IllegalArgumentException("bad destination pattern (no host): " + s);
            int low = 0, high = 65535;
            if (port != null && !port.equals("*")) {
                try {
                    int dash = port.indexOf('-');
                    low = Integer.parseInt(dash < 0 ? port : port.substring(0, dash));
                    high = dash < 0 ? low : Integer.parseInt(port.substring(dash + 1));
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException("bad port in destination pattern: " + s);
                }
                if (low < 0 || high > 65535 || low > high) throw new IllegalArgumentException("bad port range in destination pattern: " + s);
            }
            String regex = globToRegex(host.toLowerCase(Locale.ROOT));
            return new Rule(Pattern.compile(regex), low, high);
        }

        private static String globToRegex(String glob) {
            StringBuilder re = new StringBuilder();
            int start = 0;
            for (int i = 0; i < glob.length(); i++) {
                if (glob.charAt(i) == '*') {
                    if (i > start) re.append(Pattern.quote(glob.substring(start, i)));
                    re.append(".*");
                    start = i + 1;
                }
            }
            if (start < glob.length()) re.append(Pattern.quote(glob.substring(start)));
            return re.toString();
        }

        boolean matches(String h, int port) {
            return port >= low && port <= high && host.matcher(h).matches();
        }
    }
}
