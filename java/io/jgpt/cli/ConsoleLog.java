package io.jgpt.cli;

import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogManager;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/**
 * Where jgpt's SLF4J log lines go (through slf4j-jdk14 into java.util.logging): stderr, one line per event
 * in jgpt's own words, "warning: " in front of warnings and nothing in front of information: no thread,
 * logger name or level tag. Other libraries are heard only when they warn.
 */
public final class ConsoleLog extends Handler {
    private static volatile boolean installed;

    private ConsoleLog() {
        setLevel(Level.ALL);
    }

    /** Replaces the JDK's default console handler; idempotent. */
    public static synchronized void install() {
        if (installed) return;
        LogManager.getLogManager().reset();
        Logger root = Logger.getLogger("");
        root.setLevel(Level.WARNING);
        root.addHandler(new ConsoleLog());
        JGPT.setLevel(Level.INFO);
        installed = true;
    }

    /** Errors only, for the ranks of a data-parallel run other than rank 0 (which speaks for all). */
    public static void errorsOnly() {
        install();
        JGPT.setLevel(Level.SEVERE);
        Logger.getLogger("").setLevel(Level.SEVERE);
    }

    /** Held so that the level set on it is not lost to garbage collection (JUL keeps loggers weakly). */
    private static final Logger JGPT = Logger.getLogger("io.jgpt");

    @Override
    public void publish(LogRecord r) {
        if (!isLoggable(r)) return;
        String message = r.getParameters() == null ? r.getMessage() : java.text.MessageFormat.format(r.getMessage(), r.getParameters());
        String prefix = r.getLevel().intValue() >= Level.SEVERE.intValue() ? "error: "
                : r.getLevel().intValue() >= Level.WARNING.intValue() ? "warning: " : "";
        // System.err looked up on every line: tests (and the progress bar) may swap it.
        System.err.println(prefix + message + (r.getThrown() == null ? "" : " (" + r.getThrown() + ")"));
    }

    @Override
    public void flush() {
        System.err.flush();
    }

    @Override
    public void close() {}
}
