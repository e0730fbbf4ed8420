package io.jgpt.cli;

import java.util.concurrent.atomic.AtomicInteger;
import sun.misc.Signal;
import sun.misc.SignalHandler;

/**
 * Ctrl-C (SIGINT) while a command is doing long work: the first press asks the work to stop cleanly (the
 * trainer finishes its step and saves a checkpoint), a second quits at once. A signal handler rather than a
 * shutdown hook: a hook runs while the JVM is already shutting down, when nothing may register a hook or
 * start a thread any more (the plot's image encoder did: "Shutdown in progress"), and it cannot choose
 * the exit status or the last words.
 */
final class CtrlC implements AutoCloseable {
    /** The shell's status for a command ended by SIGINT (128 + 2). */
    static final int EXIT_CODE = 130;
    private static final Signal INT = new Signal("INT");

    private final SignalHandler previous;
    private final AtomicInteger presses = new AtomicInteger();

    /** @param firstPress what to say and do on the first Ctrl-C (on the signal's own thread: keep it short) */
    CtrlC(String whatHappens, Runnable firstPress) {
        previous = Signal.handle(INT, signal -> {
            if (presses.incrementAndGet() == 1) {
                System.err.println("jgpt: interrupted: " + whatHappens + " (Ctrl-C again to quit at once)");
                firstPress.run();
            } else {
                System.err.println("jgpt: interrupted again: quitting without saving");
                System.exit(EXIT_CODE);
            }
        });
    }

    boolean pressed() {
        return presses.get() > 0;
    }

    @Override
    public void close() {
        Signal.handle(INT, previous);
    }
}
