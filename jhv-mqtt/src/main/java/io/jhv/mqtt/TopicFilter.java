package io.jhv.mqtt;

/** Topic-name and topic-filter rules of MQTT (section 4.7): validation and {@code +}/{@code #} matching, {@code $share/} aware. */
public final class TopicFilter {
    private TopicFilter() {}

    /** Throws {@link IllegalArgumentException} unless {@code filter} is a valid topic filter (shared subscriptions included). */
    public static void validateFilter(String filter) {
        if (filter.isEmpty()) throw new IllegalArgumentException("empty topic filter");
        if (filter.indexOf('\0') >= 0) throw new IllegalArgumentException("topic filter contains U+0000");
        String f = filter;
        if (f.startsWith("$share/")) {
            int slash = f.indexOf('/', 7);
            if (slash <= 7 || slash == f.length() - 1) throw new IllegalArgumentException("shared subscription needs $share/{group}/{filter}: " + filter);
            String group = f.substring(7, slash);
            if (group.indexOf('+') >= 0 || group.indexOf('#') >= 0) throw new IllegalArgumentException("share name with a wildcard: " + filter);
            f = f.substring(slash + 1);
        }
        int n = f.length();
        for (int i = 0; i < n; i++) {
            char c = f.charAt(i);
            if (c == '+') {
                if ((i > 0 && f.charAt(i - 1) != '/') || (i + 1 < n && f.charAt(i + 1) != '/')) throw new IllegalArgumentException("'+' must fill a whole level: " + filter);
            } else if (c == '#') {
                if (i != n - 1 || (i > 0 && f.charAt(i - 1) != '/')) throw new IllegalArgumentException("'#' must be the last level: " + filter);
            }
        }
    }

    /** Throws {@link IllegalArgumentException} unless {@code topic} is a valid topic name (no wildcards). */
    public static void validateTopic(String topic) {
        if (topic.isEmpty()) throw new IllegalArgumentException("empty topic name");
        if (topic.indexOf('+') >= 0 || topic.indexOf('#') >= 0) throw new IllegalArgumentException("topic name with a wildcard: " + topic);
        if (topic.indexOf('\0') >= 0) throw new IllegalArgumentException("topic name contains U+0000");
    }

    /**
     * True if {@code topic} matches {@code filter}: {@code +} one level, {@code #} this level and all
     * below (also the parent: {@code a/#} matches {@code a}); topics starting with {@code $} match
     * no filter starting with a wildcard. A {@code $share/group/} prefix is skipped.
     */
    public static boolean matches(String filter, String topic) {
        if (filter.startsWith("$share/")) {
            int slash = filter.indexOf('/', 7);
            filter = filter.substring(slash + 1);
        }
        if (!topic.isEmpty() && topic.charAt(0) == '$' && !filter.isEmpty() && (filter.charAt(0) == '+' || filter.charAt(0) == '#')) return false;
        int fi = 0, ti = 0, fn = filter.length(), tn = topic.length();
        while (true) { // at the start of a level in both
            int fe = filter.indexOf('/', fi);
            if (fe < 0) fe = fn;
            if (fe - fi == 1 && filter.charAt(fi) == '#') return true;
            int te = topic.indexOf('/', ti);
            if (te < 0) te = tn;
            boolean plus = fe - fi == 1 && filter.charAt(fi) == '+';
            if (!plus && (fe - fi != te - ti || !filter.regionMatches(fi, topic, ti, fe - fi))) return false;
            boolean fLast = fe == fn, tLast = te == tn;
            if (fLast && tLast) return true;
            if (tLast) return fe + 2 == fn && filter.charAt(fe + 1) == '#'; // "a/#" matches "a"
            if (fLast) return false;
            fi = fe + 1;
            ti = te + 1;
        }
    }
}
