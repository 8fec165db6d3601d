package io.jhv.examples;

import io.jhv.core.loop.EventLoop;
import io.jhv.core.loop.Timer;

import java.util.function.Consumer;

/** Timers on a loop: a timeout, an interval that cancels itself, and a posted task. */
public final class Timers {
    private Timers() {}

    /** Prints through {@code out}; returns the running loop (stop it when done). */
    public static EventLoop start(Consumer<String> out) {
        EventLoop loop = EventLoop.create().start();
        loop.setTimeout(200, () -> out.accept("timeout after 200 ms"));
        int[] ticks = {0};
        Timer[] interval = new Timer[1];
        interval[0] = loop.setInterval(30, () -> {
            out.accept("tick " + ++ticks[0]);
            if (ticks[0] == 3) interval[0].cancel();
        });
        loop.post(() -> out.accept("posted task runs on " + Thread.currentThread().getName()));
        return loop;
    }

    public static void main(String[] args) throws InterruptedException {
        EventLoop loop = start(System.out::println);
        loop.setTimeout(400, loop::stop);
        loop.awaitTermination(java.time.Duration.ofSeconds(5));
    }
}
