package io.jhv.cli;

/**
 * Expands a curl {@code -w} format: {@code %{name}} and {@code %header{name}} variables, {@code %%},
 * and the escapes {@code \n}, {@code \r}, {@code \t} and {@code \\}. An unknown variable is left
 * out (curl warns and does the same).
 */
final class CurlWriteOut {
    /** A variable's value for an exit code, or null when there is no such variable. */
    @FunctionalInterface
    interface Variables {
        String get(String name, int exitCode);
    }

    private CurlWriteOut() {}

    static String format(String fmt, Variables vars, int exitCode) {
        StringBuilder sb = new StringBuilder(fmt.length() + 16);
        for (int i = 0; i < fmt.length(); i++) {
            char c = fmt.charAt(i);
            if (c == '%' && i + 1 < fmt.length()) {
                char n = fmt.charAt(i + 1);
                if (n == '%') {
                    sb.append('%');
                    i++;
                    continue;
                }
                String name = null;
                int end = -1;
                if (n == '{') {
                    end = fmt.indexOf('}', i + 2);
                    if (end > 0) name = fmt.substring(i + 2, end);
                } else if (fmt.startsWith("header{", i + 1)) {
                    end = fmt.indexOf('}', i + 8);
                    if (end > 0) name = fmt.substring(i + 1, end + 1);
                }
                if (name != null) {
                    String v = vars.get(name, exitCode);
                    if (v != null) sb.append(v);
                    i = end;
                    continue;
                }
                sb.append(c);
            } else if (c == '\\' && i + 1 < fmt.length()) {
                char n = fmt.charAt(i + 1);
                switch (n) {
                    case 'n' -> sb.append('\n');
                    case 'r' -> sb.append('\r');
                    case 't' -> sb.append('\t');
                    case '\\' -> sb.append('\\');
                    default -> sb.append(c).append(n);
                }
                i++;
            } else {
                sb.append(c);
            }
        }
        return sb.toString();
    }
}
