package io.jhv.mqtt;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

class TopicFilterTest {

    @Test
    void matching() {
        String[][] yes = {
            {"a/b", "a/b"}, {"a/+", "a/b"}, {"+/b", "a/b"}, {"a/#", "a/b/c"}, {"a/#", "a"}, {"#", "a/b"},
            {"+", "a"}, {"a/+/c", "a/b/c"}, {"a/+", "a/"}, {"+/+", "/x"}, {"/+", "/x"}, {"a//b", "a//b"},
            {"a/+/#", "a/b"}, {"$SYS/#", "$SYS/x"}, {"$share/g/a/+", "a/b"}, {"a/b/#", "a/b"},
        };
        String[][] no = {
            {"a/b", "a/c"}, {"a/+", "a/b/c"}, {"a/+", "a"}, {"+", "a/b"}, {"a/b", "a"}, {"a", "a/b"},
            {"#", "$SYS/x"}, {"+/x", "$SYS/x"}, {"a/+/c", "a/b/d"}, {"ab", "a"}, {"a/b/#", "a/c"},
        };
        for (String[] c : yes) assertTrue(TopicFilter.matches(c[0], c[1]), c[0] + " should match " + c[1]);
        for (String[] c : no) assertFalse(TopicFilter.matches(c[0], c[1]), c[0] + " should not match " + c[1]);
    }

    @Test
    void validation() {
        for (String ok : new String[] {"a", "a/b", "+", "#", "a/+/c", "a/#", "/", "$share/g/a/#", "+/+"}) TopicFilter.validateFilter(ok);
        for (String bad : new String[] {"", "a+", "a/b#", "#/a", "a/#/b", "+a", "$share/g", "$share//a", "$share/g+/a", "a\0b"}) {
            assertThrows(IllegalArgumentException.class, () -> TopicFilter.validateFilter(bad), bad);
        }
        TopicFilter.validateTopic("a/b");
        for (String bad : new String[] {"", "a/+", "a/#", "\0"}) assertThrows(IllegalArgumentException.class, () -> TopicFilter.validateTopic(bad), bad);
    }
}
