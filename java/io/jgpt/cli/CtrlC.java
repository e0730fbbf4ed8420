package io.jgpt.cli;

import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import sun.misc.Signal;
import sun.misc.SignalHandler;

/**
 * Ctrl-C (SIGINT), or a polite kill (SIGTERM, what schedulers send), while a command is doing long work: the
 * first asks the work to stop cleanly (the trainer finishes its step and saves a checkpoint), a second quits
 * at once. Signal handlers rather than a shutdown hook: a hook runs while the JVM is already shutting down,
 * when nothing may register a hook or start a thread any more (the plot's image encoder did: "Shutdown in
 * progress"), and it cannot choose the exit status or the last words. A process started with SIGINT ignored
 * (a background job of a script) keeps ignoring it, as Unix programs do.
 */
final class CtrlC implements AutoCloseable {
    /** The shell's status for a command ended by SIGINT (128 + 2), used for any interrupted run. */
    static final int EXIT_CODE = 130;
    private static final List<Signal> SIGNALS = List.of(new Signal("INT"), new Signal("TERM"));

    private final List<SignalHandler> previous;
    private final AtomicInteger signals = new AtomicInteger();

    /** @param firstSignal what to say and do on the first one (on the signal's own thread: keep it short) */
    CtrlC(String whatHappens, Runnable firstSignal) {
        SignalHandler handler = signal -> {
            if (signals.incrementAndGet() == 1) {
                System.err.println("jgpt: interrupted (SIG" + signal.getName() + "): " + whatHappens + " (Ctrl-C again to quit at once)");
                firstSignal.run();
            } else {
                System.err.println("jgpt: interrupted again: quitting without saving");
                System.exit(EXIT_CODE);
            }
        };
        previous = SIGNALS.stream().map(s -> Signal.handle(s, handler)).toList();
    }

    @Override
    public void close() {
        for (int i = 0; i < SIGNALS.size(); i++) Signal.handle(SIGNALS.get(i), previous.get(i));
    }
}
