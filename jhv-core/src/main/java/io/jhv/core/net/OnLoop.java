package io.jhv.core.net;

import io.jhv.core.loop.EventLoop;

import java.io.IOException;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/** Setting up a socket on its loop from the thread that starts it. */
final class OnLoop {
    private OnLoop() {}

    /**
     * Runs {@code setup} on {@code loop} and waits up to 10 s for it; what it throws is thrown here
     * (an IOException as it is). Any thread; on the loop's own it runs at once.
     *
     * @throws IOException from {@code setup}, or when the loop did not run it in time or the wait
     *         was interrupted (the interrupt flag stays set)
     * @throws java.util.concurrent.RejectedExecutionException if the loop has terminated
     */
    static void run(EventLoop loop, Callable<Void> setup, String what) throws IOException {
        if (loop.inLoop()) {
            try {
                setup.call();
            } catch (IOException | RuntimeException e) {
                throw e;
            } catch (Exception e) {
                throw new IOException(what + " failed on " + loop.name(), e);
            }
            return;
        }
        try {
            loop.submit(setup).get(10, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            if (c instanceof IOException io) throw io;
            if (c instanceof RuntimeException r) throw r;
            if (c instanceof Error err) throw err;
            throw new IOException(what + " failed on " + loop.name(), c);
        } catch (TimeoutException e) {
            throw new IOException("loop " + loop.name() + " did not " + what + " within 10 s");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while waiting to " + what, e);
        }
    }
}
