package org.elasticsearch.io.ansi;

import java.util.function.Supplier;

/**
 * Stand-in for the distribution's lib/tools/ansi-console jar (not on Maven
 * Central): the server asks it for a terminal console; the test node has none.
 */
public class AnsiConsoleLoader implements Supplier<Object> {
    public Object get() {
        return null;
    }
}
